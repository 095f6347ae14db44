#include "guest_runner.h"

#include <cerrno>
#include <cstdlib>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sstream>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace xkvm::test {

namespace {

using Clock = std::chrono::steady_clock;

class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : m_fd(fd) { }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }
    int get() const { return m_fd; }
    void reset()
    {
        if (m_fd >= 0)
            ::close(m_fd);
        m_fd = -1;
    }
    int* out() { return &m_fd; }

private:
    int m_fd = -1;
};

struct Pipe {
    Fd read, write;
    bool open()
    {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) < 0)
            return false;
        *read.out() = fds[0];
        *write.out() = fds[1];
        return true;
    }
};

// Reads what is available; false at EOF or on error.
bool drain(int fd, std::string& into)
{
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof(buf));
        if (n > 0) {
            into.append(buf, static_cast<size_t>(n));
            if (static_cast<size_t>(n) < sizeof(buf))
                return true;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
}

// Hands the lines of `text` completed since `*seen` to `on_line`.
void observe_lines(const std::string& text, size_t* seen, pid_t pid, const LineObserver& on_line)
{
    if (!on_line)
        return;
    for (size_t nl; (nl = text.find('\n', *seen)) != std::string::npos; *seen = nl + 1)
        on_line(pid, text.substr(*seen, nl - *seen));
}

void record_status(int status, ProcessResult& r)
{
    if (WIFEXITED(status))
        r.exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        r.term_signal = WTERMSIG(status);
}

} // namespace

ProcessResult run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          const LineObserver& on_line)
{
    ProcessResult r;
    const auto start = Clock::now();
    const auto deadline = start + timeout;
    Pipe out, err;
    if (argv.empty() || !out.open() || !err.open()) {
        r.spawn_error = argv.empty() ? "no program" : std::string("pipe2: ") + std::strerror(errno);
        return r;
    }

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out.write.get(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err.write.get(), STDERR_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    out.write.reset();
    err.write.reset();
    if (rc != 0) {
        r.spawn_error = std::string("posix_spawn ") + argv[0] + ": " + std::strerror(rc);
        return r;
    }
    r.started = true;
    ::fcntl(out.read.get(), F_SETFL, O_NONBLOCK);
    ::fcntl(err.read.get(), F_SETFL, O_NONBLOCK);
    // The child's exit is an event to poll as well; without pidfds, EOF on both pipes stands in for it.
    Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));

    bool out_open = true, err_open = true, exited = false;
    size_t out_seen = 0;
    int status = 0;
    while (out_open || err_open || (!exited && pidfd.get() >= 0)) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            r.timed_out = true;
            break;
        }
        pollfd fds[3];
        nfds_t n = 0;
        int out_i = -1, err_i = -1, pid_i = -1;
        auto add = [&](int fd) {
            fds[n] = { fd, POLLIN, 0 };
            return static_cast<int>(n++);
        };
        if (out_open)
            out_i = add(out.read.get());
        if (err_open)
            err_i = add(err.read.get());
        if (!exited && pidfd.get() >= 0)
            pid_i = add(pidfd.get());
        int ready = ::poll(fds, n, static_cast<int>(std::min<long long>(left.count(), 1 << 30)));
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0)
            break;
        if (out_i >= 0 && fds[out_i].revents) {
            out_open = drain(out.read.get(), r.out);
            observe_lines(r.out, &out_seen, pid, on_line);
        }
        if (err_i >= 0 && fds[err_i].revents)
            err_open = drain(err.read.get(), r.err);
        if (pid_i >= 0 && fds[pid_i].revents && ::waitpid(pid, &status, WNOHANG) == pid)
            exited = true;
    }
    if (!exited) {
        if (r.timed_out)
            ::kill(pid, SIGKILL);
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        // Whatever the child wrote before it died.
        drain(out.read.get(), r.out);
        drain(err.read.get(), r.err);
    }
    record_status(status, r);
    r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    return r;
}

std::vector<std::string> vmm_arguments(const GuestOptions& o)
{
    std::vector<std::string> a = { "--kernel", o.kernel, "--type", o.type, "--memory", std::to_string(o.memory_mib),
                                   "--vcpus", std::to_string(o.vcpus), "--name", o.name, "--console" };
    if (!o.cmdline.empty()) {
        a.push_back("--cmdline");
        a.push_back(o.cmdline);
    }
    if (o.max_vcpus) {
        a.push_back("--maxvcpus");
        a.push_back(std::to_string(o.max_vcpus));
    }
    for (const auto& c : o.cpuid) {
        a.push_back("--cpuid");
        a.push_back(c);
    }
    a.insert(a.end(), o.vmm_args.begin(), o.vmm_args.end());
    return a;
}

void parse_console(const std::string& console, GuestRun& run)
{
    std::istringstream in(console);
    std::string line;
    auto after = [&](const char* prefix) -> std::optional<std::string> {
        size_t n = std::strlen(prefix);
        if (line.compare(0, n, prefix) == 0)
            return line.substr(n);
        return std::nullopt;
    };
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (auto s = after("PASS: "))
            run.passes.push_back(*s);
        else if (auto f = after("FAIL: "))
            run.fails.push_back(*f);
        else if (auto k = after("SKIP: "))
            run.skips.push_back(*k);
        else if (auto d = after("DIFF: "))
            run.diffs.push_back(*d);
        else if (auto res = after("RESULT: "))
            run.result = *res;
    }
}

GuestRun run_guest(const std::string& vmm, const GuestOptions& opts)
{
    std::vector<std::string> argv { vmm };
    for (auto& a : vmm_arguments(opts))
        argv.push_back(std::move(a));
    GuestRun run;
    run.process = run_process(argv, opts.timeout, opts.on_console_line);
    parse_console(run.process.out, run);
    return run;
}

std::string GuestRun::describe() const
{
    std::ostringstream s;
    const ProcessResult& p = process;
    s << "--- xkvm-vmm ";
    if (!p.started)
        s << "did not start: " << p.spawn_error;
    else if (p.timed_out)
        s << "timed out and was killed";
    else if (p.term_signal)
        s << "died of signal " << p.term_signal;
    else
        s << "exited " << p.exit_code;
    s << " after " << p.elapsed.count() << " ms\n--- console:\n" << p.out << "\n--- stderr:\n" << p.err;
    return s.str();
}

bool GuestRun::passed(const std::string& name) const
{
    for (const auto& p : passes)
        if (p == name)
            return true;
    return false;
}

std::string shutdown_message(const std::string& name, const std::string& reason)
{
    return "xkvm-vmm: domain " + name + ": " + reason + " (";
}

std::string vmm_path()
{
    if (const char* env = std::getenv("XKVM_VMM"); env && *env)
        return env;
    return XKVM_VMM_PATH;
}

} // namespace xkvm::test
