#include "cli_harness.h"

#include <algorithm>

#include "cpuctl/cpu_groups.h"

#include "../backend.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace xkvm::testing {

namespace {

std::string binary(const std::string& argv0)
{
    return std::string(XKVM_CLI_DIR) + "/" + argv0;
}

pid_t spawn(const std::vector<std::string>& args, const std::string& argv0, int out_fd, int err_fd)
{
    std::string bin = binary(argv0);
    std::vector<std::string> argv_s;
    argv_s.push_back(bin);
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
        int null = ::open("/dev/null", O_RDONLY);
        ::dup2(null, 0);
        ::dup2(out_fd, 1);
        ::dup2(err_fd, 2);
        ::execv(bin.c_str(), argv.data());
        ::_exit(127);
    }
    return pid;
}

std::string environ_of(pid_t pid)
{
    std::ifstream in(fmt::format("/proc/{}/environ", pid), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string comm_of(pid_t pid)
{
    std::ifstream in(fmt::format("/proc/{}/comm", pid));
    std::string s;
    std::getline(in, s);
    return s;
}

} // namespace

bool process_alive(pid_t pid)
{
    // A zombie is not alive for our purposes.
    std::ifstream in(fmt::format("/proc/{}/stat", pid));
    std::string line;
    if (!std::getline(in, line))
        return false;
    auto close = line.rfind(')');
    return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

double process_cpu_seconds(pid_t pid)
{
    std::ifstream in(fmt::format("/proc/{}/stat", pid));
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto close = stat.rfind(')');
    if (close == std::string::npos || close + 2 >= stat.size())
        return 0;
    std::istringstream rest(stat.substr(close + 2)); // from field 3, the state
    std::string field;
    for (int i = 3; i < 14 && rest >> field; ++i)
        ;
    double utime = 0, stime = 0;
    rest >> utime >> stime;
    return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

void CliTest::SetUp()
{
    XKVM_SKIP_IF_BACKEND_UNAVAILABLE();
    char tmpl[] = "/tmp/xkvm-cli-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    m_rundir = tmpl;
    ::setenv("XKVM_RUNDIR", m_rundir.c_str(), 1);
    ::setenv("XKVM_DAEMON_IDLE_MS", "2000", 1);
    ::unsetenv("XKVM_LOG");
}

void CliTest::TearDown()
{
    if (m_rundir.empty())
        return;
    // The daemon kills its VMMs on SIGTERM, and removes their CPU groups; anything else started for
    // this rundir goes too.
    auto groups = cpuctl::CpuGroups::detect("/", cpuctl::instance_name(m_rundir));
    if (auto pid = daemon_pid()) {
        ::kill(*pid, SIGTERM);
        bool ended = eventually([&] { return !process_alive(*pid); }, 5s);
        ::kill(*pid, SIGKILL);
        if (ended) {
            EXPECT_TRUE(groups.groups_present().empty()) << "xkvmd left CPU groups behind: " << groups.group_prefix() << "*";
        }
    }
    std::string needle = "XKVM_RUNDIR=" + m_rundir + '\0';
    std::vector<pid_t> killed;
    for (auto& entry : std::filesystem::directory_iterator("/proc")) {
        pid_t pid = static_cast<pid_t>(std::atoi(entry.path().filename().c_str()));
        if (pid <= 0 || pid == ::getpid())
            continue;
        if (environ_of(pid).find(needle) != std::string::npos && ::kill(pid, SIGKILL) == 0)
            killed.push_back(pid);
    }
    while (::waitpid(-1, nullptr, WNOHANG) > 0) { }
    // What a test's killed daemon could not remove: groups empty once their VMMs are gone.
    eventually([&] { return std::none_of(killed.begin(), killed.end(), process_alive); }, 5s);
    groups.remove_unused();
    std::error_code ec;
    std::filesystem::remove_all(m_rundir, ec);
}

RunResult CliTest::run(const std::vector<std::string>& args, std::chrono::milliseconds timeout, const std::string& argv0)
{
    int out[2], err[2];
    EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(err, O_CLOEXEC), 0);
    pid_t pid = spawn(args, argv0, out[1], err[1]);
    ::close(out[1]);
    ::close(err[1]);
    RunResult r;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    bool open_out = true, open_err = true;
    char buf[4096];
    while (open_out || open_err) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            break;
        pollfd fds[2] = { { open_out ? out[0] : -1, POLLIN, 0 }, { open_err ? err[0] : -1, POLLIN, 0 } };
        if (::poll(fds, 2, static_cast<int>(left.count())) <= 0)
            continue;
        for (int i = 0; i < 2; ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP)))
                continue;
            ssize_t n = ::read(fds[i].fd, buf, sizeof(buf));
            if (n <= 0)
                (i == 0 ? open_out : open_err) = false;
            else
                (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
        }
    }
    ::close(out[0]);
    ::close(err[0]);
    int status = 0;
    if (!eventually([&] { return ::waitpid(pid, &status, WNOHANG) == pid; },
                    std::max<std::chrono::milliseconds>(1ms, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                                 deadline - std::chrono::steady_clock::now())))) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        ADD_FAILURE() << "xkvm " << ::testing::PrintToString(args) << " did not finish in time";
        return r;
    }
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

Background CliTest::start(const std::vector<std::string>& args, const std::string& out_file)
{
    Background bg;
    bg.out_path = m_rundir + "/" + out_file;
    int fd = ::open(bg.out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int err = ::open((bg.out_path + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bg.pid = spawn(args, "xkvm", fd, err);
    ::close(fd);
    ::close(err);
    return bg;
}

bool CliTest::wait_exit(Background& bg, std::chrono::milliseconds timeout)
{
    if (bg.exit_code)
        return true;
    int status = 0;
    if (!eventually([&] { return ::waitpid(bg.pid, &status, WNOHANG) == bg.pid; }, timeout))
        return false;
    bg.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return true;
}

std::string CliTest::read_file(const std::string& path) const
{
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string CliTest::write_config(const std::string& name, const std::string& body)
{
    std::string path = m_rundir + "/" + name + ".cfg";
    std::ofstream(path) << body;
    return path;
}

Background CliTest::attach(const std::string& name, const std::string& out)
{
    auto domid = domid_of(name);
    EXPECT_TRUE(domid);
    std::string sock = fmt::format("{}/{}/console.sock", m_rundir, domid.value_or(0));
    Background bg = start({ "console", name }, out);
    EXPECT_TRUE(eventually([&] { return socket_users(sock) >= 2; })) << "console did not connect";
    return bg;
}

std::string CliTest::guest_config(const std::string& name, const std::string& elf, const std::string& extra)
{
    return write_config(name, fmt::format("name = \"{}\"\ntype = \"pvh\"\nkernel = \"{}\"\nmemory = 32\n{}", name,
                                          elf, extra));
}

bool CliTest::eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    auto step = 2ms;
    for (;;) {
        if (pred())
            return true;
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(step);
        step = std::min<std::chrono::milliseconds>(step * 2, 50ms);
    }
}

std::optional<std::string> CliTest::list_row(const std::string& name)
{
    auto r = run({ "list" });
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);)
        if (line.rfind(name + " ", 0) == 0)
            return line;
    return std::nullopt;
}

std::optional<uint32_t> CliTest::domid_of(const std::string& name)
{
    auto r = run({ "domid", name });
    if (r.rc != 0)
        return std::nullopt;
    return static_cast<uint32_t>(std::stoul(r.out));
}

std::vector<pid_t> CliTest::processes(const std::string& comm) const
{
    std::vector<pid_t> out;
    std::string needle = "XKVM_RUNDIR=" + m_rundir + '\0';
    for (auto& entry : std::filesystem::directory_iterator("/proc")) {
        pid_t pid = static_cast<pid_t>(std::atoi(entry.path().filename().c_str()));
        if (pid <= 0 || pid == ::getpid() || !process_alive(pid))
            continue;
        if (comm_of(pid) == comm && environ_of(pid).find(needle) != std::string::npos)
            out.push_back(pid);
    }
    return out;
}

std::optional<pid_t> CliTest::daemon_pid() const
{
    std::ifstream in(m_rundir + "/xkvmd.pid");
    pid_t pid = 0;
    if (!(in >> pid) || pid <= 0 || !process_alive(pid))
        return std::nullopt;
    return pid;
}

std::optional<pid_t> CliTest::vmm_of(const std::string& name) const
{
    std::string want = "/memfd:xkvm-" + name + " (deleted)";
    for (pid_t pid : processes("xkvm-vmm")) {
        std::ifstream maps(fmt::format("/proc/{}/maps", pid));
        for (std::string line; std::getline(maps, line);)
            if (line.size() >= want.size() && line.compare(line.size() - want.size(), want.size(), want) == 0)
                return pid;
    }
    return std::nullopt;
}

std::optional<pid_t> CliTest::vcpu_thread(pid_t pid, uint32_t vcpu) const
{
    std::error_code ec;
    for (auto& task : std::filesystem::directory_iterator(fmt::format("/proc/{}/task", pid), ec)) {
        std::ifstream in(task.path() / "comm");
        std::string comm;
        std::getline(in, comm);
        if (comm == fmt::format("vcpu{}", vcpu))
            return static_cast<pid_t>(std::atoi(task.path().filename().c_str()));
    }
    return std::nullopt;
}

std::vector<std::string> CliTest::domain_dirs() const
{
    std::vector<std::string> out;
    for (auto& entry : std::filesystem::directory_iterator(m_rundir))
        // "domains" is the daemon's own (its records, for a restart): present while domains are.
        if (entry.is_directory() && entry.path().filename() != "domains")
            out.push_back(entry.path().filename().string());
    return out;
}

int CliTest::socket_users(const std::string& path)
{
    std::ifstream in("/proc/net/unix");
    int n = 0;
    for (std::string line; std::getline(in, line);)
        if (line.size() >= path.size() && line.compare(line.size() - path.size(), path.size(), path) == 0)
            ++n;
    return n;
}

} // namespace xkvm::testing
