// Domain create to first console byte, two ways side by side in one run:
//
//   vmm  `xkvm-vmm --kernel tsguest.elf --console`: process start to the first byte on its stdout.
//   xl   `xkvm create -c cfg` against a daemon in a private XKVM_RUNDIR: process start to the first
//        byte the CLI relays from the domain's console.
//
// The toolstack keeps no console log file (the VMM serves the console on a socket and replays its
// history to each client), so the byte `create -c` prints is the first one a user can see, as with
// xl's `create -c`. The guest is tsguest in "ticker" mode, which keeps printing until it is ended:
// `create -c` attaches only after the domain is running, and a guest that powers off at once (hello)
// can be gone before it does. Each run waits for the guest's first line, then ends the domain
// (`xkvm destroy`, or killing the standalone VMM). The first toolstack create also starts xkvmd; it
// is timed on its own ("cold") so the medians compare steady-state creates. The two paths alternate
// so drift in the host's load hits both alike.
//
// The domains run on the backend XKVM_ACCEL (default auto) selects: KVM where /dev/kvm opens, else the
// emulated CPU. Usage: create_bench [repetitions]   (default 10). Prints a table and RESULT lines
// whose names end in the backend (_kvm, _emu).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "bench_util.h"
#include "xkvm/guest_paths.h"

extern char** environ;

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using xkvm::Error;
using xkvm::fail;
using xkvm::make_unexpected;
using xkvm::Result;
using xkvm::Status;
using xkvm::UniqueFd;

constexpr auto kDeadline = 30s;                   // for each wait; a hung guest or CLI fails the run
constexpr char kGuestLine[] = "tsguest: mode 'ticker'\n"; // the guest's first line

double ms_between(Clock::time_point a, Clock::time_point b)
{
    return std::chrono::duration<double, std::milli>(b - a).count();
}

int ms_left(Clock::time_point deadline)
{
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return static_cast<int>(std::clamp<int64_t>(left, 0, 1'000'000));
}

// Waits for `pid` to exit by the deadline on a pidfd (it need not be our child); true if it did.
bool wait_gone(pid_t pid, Clock::time_point deadline)
{
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd)
        return errno == ESRCH;
    pollfd p { pidfd.get(), POLLIN, 0 };
    while (::poll(&p, 1, ms_left(deadline)) < 0)
        if (errno != EINTR)
            return false;
    return p.revents & POLLIN;
}

// A child process with its stdout and stderr on pipes. Destroying it kills and reaps it if needed.
class Child {
public:
    static Result<Child> spawn(const std::vector<std::string>& args)
    {
        int out[2], err[2];
        if (::pipe2(out, O_CLOEXEC) < 0)
            return make_unexpected(Error::from_errno("pipe"));
        UniqueFd out_rd(out[0]), out_wr(out[1]);
        if (::pipe2(err, O_CLOEXEC) < 0)
            return make_unexpected(Error::from_errno("pipe"));
        UniqueFd err_rd(err[0]), err_wr(err[1]);
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, out_wr.get(), 1);
        posix_spawn_file_actions_adddup2(&fa, err_wr.get(), 2);
        std::vector<char*> argv;
        for (const auto& a : args)
            argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        Child c;
        c.m_name = args[0];
        c.m_start = Clock::now();
        int rc = posix_spawn(&c.m_pid, argv[0], &fa, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        if (rc != 0)
            return make_unexpected(Error::from_errno("spawning " + args[0], rc));
        c.m_out = std::move(out_rd);
        c.m_err = std::move(err_rd);
        return c;
    }
    Child(Child&& o) noexcept
        : m_name(std::move(o.m_name)), m_pid(std::exchange(o.m_pid, -1)), m_out(std::move(o.m_out)),
          m_err(std::move(o.m_err)), m_start(o.m_start), m_first_byte(o.m_first_byte),
          m_stdout(std::move(o.m_stdout)), m_stderr(std::move(o.m_stderr))
    {
    }
    Child& operator=(Child&&) = delete;
    ~Child()
    {
        if (m_pid > 0) {
            ::kill(m_pid, SIGKILL);
            ::waitpid(m_pid, nullptr, 0);
        }
    }

    // Reads until stdout holds `needle`; returns ms from the spawn to its first stdout byte.
    Result<double> first_byte_ms(const std::string& needle)
    {
        auto deadline = Clock::now() + kDeadline;
        while (m_stdout.find(needle) == std::string::npos) {
            if (!m_out)
                return fail(EIO, "{} ended before printing '{}' (stdout: {}; stderr: {})", m_name, needle,
                            m_stdout, m_stderr);
            TRY(read_some(deadline));
        }
        return ms_between(m_start, *m_first_byte);
    }
    // Reads both pipes to their end, then reaps the process; its wait status.
    Result<int> finish()
    {
        auto deadline = Clock::now() + kDeadline;
        while (m_out || m_err)
            TRY(read_some(deadline));
        int status = 0;
        ::waitpid(std::exchange(m_pid, -1), &status, 0); // both pipes closed: it is exiting
        return status;
    }
    void kill(int sig) const { ::kill(m_pid, sig); }
    const std::string& err() const { return m_stderr; }

private:
    Child() = default;

    Status read_some(Clock::time_point deadline)
    {
        pollfd p[2] = { { m_out.get(), POLLIN, 0 }, { m_err.get(), POLLIN, 0 } };
        int n = ::poll(p, 2, ms_left(deadline));
        if (n < 0 && errno == EINTR)
            return {};
        if (n <= 0)
            return fail(ETIMEDOUT, "{} gave no output within {} s (stdout: {}; stderr: {})", m_name,
                        kDeadline.count(), m_stdout, m_stderr);
        auto now = Clock::now();
        UniqueFd* fds[2] = { &m_out, &m_err };
        std::string* bufs[2] = { &m_stdout, &m_stderr };
        for (int i = 0; i < 2; ++i) {
            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char buf[4096];
            ssize_t got = ::read(fds[i]->get(), buf, sizeof(buf));
            if (got <= 0) {
                fds[i]->reset();
                continue;
            }
            if (i == 0 && !m_first_byte)
                m_first_byte = now;
            bufs[i]->append(buf, static_cast<size_t>(got));
        }
        return {};
    }

    std::string m_name;
    pid_t m_pid = -1;
    UniqueFd m_out, m_err;
    Clock::time_point m_start;
    std::optional<Clock::time_point> m_first_byte;
    std::string m_stdout, m_stderr;
};

// A private runtime directory: the daemon started in it and everything in it go when this does.
class Rundir {
public:
    static Result<Rundir> create()
    {
        char tmpl[] = "/tmp/xkvm-create-bench-XXXXXX";
        if (!::mkdtemp(tmpl))
            return make_unexpected(Error::from_errno("mkdtemp"));
        return Rundir(tmpl);
    }
    Rundir(Rundir&& o) noexcept : m_path(std::exchange(o.m_path, {})) { }
    Rundir& operator=(Rundir&&) = delete;
    ~Rundir()
    {
        if (m_path.empty())
            return;
        stop_daemon();
        std::error_code ec;
        std::filesystem::remove_all(m_path, ec);
    }
    const std::string& path() const { return m_path; }

private:
    explicit Rundir(std::string p) : m_path(std::move(p)) { }

    // SIGTERM makes xkvmd kill its VMMs and exit; it is not our child, so wait on a pidfd.
    void stop_daemon() const
    {
        std::ifstream in(m_path + "/xkvmd.pid");
        pid_t pid = 0;
        if (!(in >> pid) || pid <= 0)
            return;
        if (::kill(pid, SIGTERM) == 0 && !wait_gone(pid, Clock::now() + 10s))
            ::kill(pid, SIGKILL);
    }

    std::string m_path;
};

Result<std::string> write_config(const Rundir& dir, const std::string& name)
{
    std::string path = dir.path() + "/" + name + ".cfg";
    std::ofstream cfg(path);
    cfg << "name = \"" << name << "\"\ntype = \"pvh\"\nkernel = \"" << XKVM_GUEST_ELF("tsguest")
        << "\"\ncmdline = \"ticker\"\nmemory = 64\nvcpus = 1\n";
    if (!cfg.flush())
        return fail(EIO, "cannot write {}", path);
    return path;
}

// One toolstack create; `xkvm destroy` then ends the domain, its console, and so `create -c`.
Result<double> toolstack_once(const Rundir& dir, unsigned rep)
{
    std::string name = "bench" + std::to_string(rep);
    std::string cfg = TRY(write_config(dir, name));
    Child create = TRY(Child::spawn({ XKVM_CLI_PATH, "create", "-q", "-c", cfg }));
    double ms = TRY(create.first_byte_ms(kGuestLine));
    Child destroy = TRY(Child::spawn({ XKVM_CLI_PATH, "destroy", name }));
    if (int st = TRY(destroy.finish()); st != 0)
        return fail(EIO, "xkvm destroy {} failed (status {:#x}): {}", name, st, destroy.err());
    if (int st = TRY(create.finish()); st != 0)
        return fail(EIO, "xkvm create -c {} ended with status {:#x}: {}", name, st, create.err());
    return ms;
}

// One standalone VMM, killed once the guest has spoken (it would tick forever).
Result<double> vmm_once()
{
    Child vmm = TRY(Child::spawn({ XKVM_VMM_PATH, "--kernel", XKVM_GUEST_ELF("tsguest"), "--cmdline", "ticker",
                                   "--memory", "64", "--console" }));
    double ms = TRY(vmm.first_byte_ms(kGuestLine));
    vmm.kill(SIGKILL);
    (void)TRY(vmm.finish());
    return ms;
}

struct Stats {
    double median = 0, min = 0, max = 0;
};

Stats stats_of(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return { median, v.front(), v.back() };
}

Status run(unsigned reps, const std::string& backend)
{
    const char* be = backend.c_str();
    Rundir dir = TRY(Rundir::create());
    ::setenv("XKVM_RUNDIR", dir.path().c_str(), 1);
    ::setenv("XKVM_DAEMON_IDLE_MS", "600000", 1); // stays up between repetitions; stopped at the end
    ::unsetenv("XKVM_LOG");

    (void)TRY(vmm_once()); // warm-up: page cache, KVM module state
    double cold = TRY(toolstack_once(dir, 0));
    std::vector<double> vmm, xl;
    for (unsigned i = 1; i <= reps; ++i) {
        vmm.push_back(TRY(vmm_once()));
        xl.push_back(TRY(toolstack_once(dir, i)));
    }
    Stats v = stats_of(vmm), x = stats_of(xl);

    std::printf("%-40s %5s %10s %10s %10s\n", "create -> first console byte", "reps", "median ms", "min ms", "max ms");
    std::printf("%-40s %5u %10.2f %10.2f %10.2f\n", "xkvm-vmm --kernel tsguest --console", reps, v.median, v.min, v.max);
    std::printf("%-40s %5u %10.2f %10.2f %10.2f\n", "xkvm create -c (xkvmd running)", reps, x.median, x.min, x.max);
    std::printf("%-40s %5u %10.2f %10s %10s\n", "xkvm create -c (cold: starts xkvmd)", 1u, cold, "-", "-");
    std::printf("RESULT create_to_first_console_byte_vmm_%s %.2f ms\n", be, v.median);
    std::printf("RESULT create_to_first_console_byte_xl_%s %.2f ms\n", be, x.median);
    std::printf("RESULT create_to_first_console_byte_xl_vs_vmm_%s %.2f ratio\n", be,
                x.median / v.median);
    return {};
}

} // namespace

int main(int argc, char** argv)
{
    auto backend = xkvm::bench::select_backend();
    if (!xkvm::bench::announce_backend("create_bench", backend))
        return 2;
    long reps = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 10;
    if (reps < 1 || reps > 1000) {
        std::fprintf(stderr, "usage: create_bench [repetitions 1..1000]\n");
        return 2;
    }
    if (auto r = run(static_cast<unsigned>(reps), backend.name); !r) {
        std::fprintf(stderr, "create_bench: %s\n", r.error().message.c_str());
        return 1;
    }
    return 0;
}
