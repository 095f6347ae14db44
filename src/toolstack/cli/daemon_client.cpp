#include "toolstack/cli/daemon_client.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <filesystem>

#include "ipc/rundir.h"
#include "ipc/socket.h"

namespace xkvm::cli {

namespace {

using namespace std::chrono_literals;
constexpr auto kStartDeadline = 10s;

// Double fork so the daemon is nobody's child here (no zombie while a long `console` runs).
// Returns the read end of the ready pipe: one byte when the daemon listens, EOF if it gave up.
Result<UniqueFd> spawn_daemon(const std::string& rundir)
{
    std::string binary = find_daemon_binary();
    TRY(ipc::prepare_rundir(rundir));
    TRY(ipc::prepare_rundir(ipc::log_dir(rundir)));
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0)
        return make_unexpected(Error::from_errno("pipe"));
    UniqueFd rd(p[0]), wr(p[1]);
    std::string log = ipc::daemon_log_path(rundir);
    std::string fd_arg = std::to_string(wr.get());
    pid_t child = ::fork();
    if (child < 0)
        return make_unexpected(Error::from_errno("fork"));
    if (child == 0) {
        ::setsid();
        if (::fork() != 0)
            ::_exit(0);
        int null = ::open("/dev/null", O_RDWR);
        // Until the daemon holds the rundir and takes its log over (--log-file); never through a symlink.
        int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK, 0640);
        if (null >= 0)
            ::dup2(null, 0);
        if (out >= 0) {
            ::dup2(out, 1);
            ::dup2(out, 2);
        }
        ::fcntl(wr.get(), F_SETFD, 0);
        const char* argv[] = { binary.c_str(), "--rundir", rundir.c_str(), "--ready-fd", fd_arg.c_str(),
                               "--log-file", log.c_str(), nullptr };
        ::execv(binary.c_str(), const_cast<char* const*>(argv));
        ::_exit(127);
    }
    int status;
    ::waitpid(child, &status, 0);
    return rd;
}

// What the daemon started by spawn_daemon said on its ready pipe.
struct StartOutcome {
    enum { Ready, Gone, Failed, Late } kind;
    std::string reason; // Failed: the daemon's error
};

// "R" once it listens; "F<reason>" when it cannot start at all; EOF when it left without either
// (another daemon won the rundir, or that one is just leaving); nothing before the deadline.
StartOutcome wait_ready(int fd, std::chrono::steady_clock::time_point deadline)
{
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p { fd, POLLIN, 0 };
    if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left.count()))) <= 0)
        return { StartOutcome::Late, {} };
    char buf[PIPE_BUF];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0)
        return { StartOutcome::Gone, {} };
    if (buf[0] == 'F')
        return { StartOutcome::Failed, std::string(buf + 1, static_cast<size_t>(n) - 1) };
    return { StartOutcome::Ready, {} };
}

} // namespace

std::string find_daemon_binary()
{
    if (const char* env = std::getenv("XKVM_DAEMON"); env && *env)
        return env;
    std::error_code ec;
    auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        auto dir = self.parent_path();
        for (auto candidate : { dir / "xkvmd", dir / "../daemon/xkvmd" })
            if (::access(candidate.c_str(), X_OK) == 0)
                return std::filesystem::weakly_canonical(candidate, ec).string();
    }
#ifdef XKVM_BUILD_DAEMON_PATH
    return XKVM_BUILD_DAEMON_PATH;
#else
    return "xkvmd";
#endif
}

Result<std::unique_ptr<DaemonClient>> DaemonClient::connect(const std::string& rundir, bool start)
{
    std::string sock = ipc::daemon_socket_path(rundir);
    auto deadline = std::chrono::steady_clock::now() + kStartDeadline;
    Error last { 0, "" };
    for (;;) {
        auto fd = ipc::connect_unix(sock);
        if (fd) {
            auto chan = TRY(ipc::Channel::create(fd.release_value()));
            return std::unique_ptr<DaemonClient>(new DaemonClient(rundir, std::move(chan)));
        }
        last = fd.release_error();
        if (last.code != ENOENT && last.code != ECONNREFUSED)
            return make_unexpected(std::move(last));
        if (!start)
            return fail(last.code, "xkvmd is not running in {}", rundir);
        // Refused here, before anything is created in it or started for it.
        TRY(ipc::prepare_rundir(rundir));
        if (std::chrono::steady_clock::now() >= deadline)
            return fail(ETIMEDOUT, "xkvmd did not start in {} (see {})", rundir, ipc::daemon_log_path(rundir));
        auto ready = TRY(spawn_daemon(rundir));
        auto started = wait_ready(ready.get(), deadline);
        if (started.kind == StartOutcome::Failed)
            return fail(EIO, "xkvmd cannot start in {}: {}", rundir, started.reason);
        // Not ready (another daemon holds the rundir and is just starting or just leaving):
        // connect again; the deadline bounds the retries.
        if (started.kind != StartOutcome::Ready) {
            pollfd none {};
            ::poll(&none, 0, 20);
        }
    }
}

Result<ipc::Json> DaemonClient::call(std::string_view op, ipc::Json args, std::chrono::milliseconds timeout)
{
    args["op"] = std::string(op);
    for (int attempt = 0;; ++attempt) {
        uint64_t id = m_next_id++;
        args["id"] = id;
        auto frame = m_chan->call(ipc::json_frame(args), timeout);
        if (!frame) {
            if (frame.error().code == ECONNRESET && attempt == 0) {
                // The daemon closed without reading the request (it was leaving); start afresh.
                auto again = TRY(connect(m_rundir, true));
                m_chan = std::move(again->m_chan);
                continue;
            }
            if (frame.error().code == ETIMEDOUT)
                return fail(ETIMEDOUT, "xkvmd did not answer '{}' in time", op);
            return make_unexpected(frame.release_error());
        }
        auto j = TRY(ipc::parse_json(*frame));
        return ipc::reply_result(j);
    }
}

} // namespace xkvm::cli
