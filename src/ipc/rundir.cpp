#include "ipc/rundir.h"

#include <cstdlib>
#include <filesystem>
#include <sys/stat.h>

#include <fmt/format.h>

namespace xkvm::ipc {

std::string runtime_dir()
{
    const char* env = std::getenv("XKVM_RUNDIR");
    return env && *env ? std::string(env) : std::string(kDefaultRundir);
}

std::string daemon_socket_path(const std::string& rundir) { return rundir + "/xkvmd.sock"; }
std::string daemon_pid_path(const std::string& rundir) { return rundir + "/xkvmd.pid"; }
std::string daemon_log_path(const std::string& rundir) { return rundir + "/xkvmd.log"; }
std::string domain_dir(const std::string& rundir, uint32_t domid) { return fmt::format("{}/{}", rundir, domid); }
std::string console_socket_path(const std::string& rundir, uint32_t domid)
{
    return domain_dir(rundir, domid) + "/console.sock";
}

Status make_dirs(const std::string& path, unsigned mode)
{
    std::string partial;
    size_t pos = 0;
    while (pos != std::string::npos) {
        pos = path.find('/', pos + 1);
        partial = path.substr(0, pos);
        if (partial.empty())
            continue;
        if (::mkdir(partial.c_str(), mode) < 0 && errno != EEXIST)
            return make_unexpected(Error::from_errno(fmt::format("mkdir {}", partial)));
    }
    struct stat st;
    if (::stat(path.c_str(), &st) < 0 || !S_ISDIR(st.st_mode))
        return fail(ENOTDIR, "{} is not a directory", path);
    return {};
}

void remove_tree(const std::string& path)
{
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
}

} // namespace xkvm::ipc
