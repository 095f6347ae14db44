#include "ipc/rundir.h"

#include <cstdlib>
#include <filesystem>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

namespace xkvm::ipc {

std::string runtime_dir()
{
    const char* env = std::getenv("XKVM_RUNDIR");
    return env && *env ? std::string(env) : std::string(kDefaultRundir);
}

std::string log_dir(const std::string& rundir)
{
    const char* env = std::getenv("XKVM_LOGDIR");
    if (env && *env)
        return env;
    return rundir == kDefaultRundir ? kDefaultLogdir : rundir;
}

std::string daemon_socket_path(const std::string& rundir) { return rundir + "/xkvmd.sock"; }
std::string daemon_pid_path(const std::string& rundir) { return rundir + "/xkvmd.pid"; }
std::string daemon_log_path(const std::string& rundir) { return log_dir(rundir) + "/xkvmd.log"; }
std::string domain_dir(const std::string& rundir, uint32_t domid) { return fmt::format("{}/{}", rundir, domid); }
std::string console_socket_path(const std::string& rundir, uint32_t domid)
{
    return domain_dir(rundir, domid) + "/console.sock";
}

std::string monitor_socket_path(const std::string& rundir, uint32_t domid)
{
    return domain_dir(rundir, domid) + "/monitor.sock";
}

std::string control_socket_path(const std::string& rundir, uint32_t domid)
{
    return domain_dir(rundir, domid) + "/control.sock";
}

std::string domain_records_dir(const std::string& rundir) { return rundir + "/domains"; }
std::string domain_record_path(const std::string& rundir, uint32_t domid)
{
    return fmt::format("{}/{}.json", domain_records_dir(rundir), domid);
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

Status prepare_rundir(const std::string& path)
{
    TRY(make_dirs(path));
    UniqueFd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir)
        return fail(EPERM, "runtime directory {}: {} (a symlink is not accepted)", path, errno_string(errno));
    struct stat st;
    if (::fstat(dir.get(), &st) < 0)
        return make_unexpected(Error::from_errno(fmt::format("stat {}", path)));
    if (st.st_uid != ::geteuid())
        return fail(EPERM, "runtime directory {} belongs to uid {}, not to us (uid {})", path, st.st_uid, ::geteuid());
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return fail(EPERM, "runtime directory {} is writable by others (mode {:o}); make it 0700 or 0755", path,
                    st.st_mode & 07777);
    return {};
}

Result<UniqueFd> open_private_file(const std::string& path, int flags)
{
    UniqueFd fd(::open(path.c_str(), flags | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0644));
    if (!fd)
        return make_unexpected(Error::from_errno(fmt::format("open {}", path)));
    struct stat st;
    if (::fstat(fd.get(), &st) < 0)
        return make_unexpected(Error::from_errno(fmt::format("stat {}", path)));
    if (!S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_uid != ::geteuid())
        return fail(EPERM, "{} is not a plain file of ours (a link or another user's file?)", path);
    return fd;
}

void remove_tree(const std::string& path)
{
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
}

} // namespace xkvm::ipc
