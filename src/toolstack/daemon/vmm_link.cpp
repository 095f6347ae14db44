#include "toolstack/daemon/vmm_link.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>

#include "ipc/socket.h"

namespace xkvm::toolstack {

std::string find_vmm_binary()
{
    if (const char* env = std::getenv("XKVM_VMM"); env && *env)
        return env;
    std::error_code ec;
    auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        auto dir = self.parent_path();
        for (auto candidate : { dir / "xkvm-vmm", dir / "../../vmm/xkvm-vmm" })
            if (::access(candidate.c_str(), X_OK) == 0)
                return std::filesystem::weakly_canonical(candidate, ec).string();
    }
#ifdef XKVM_BUILD_VMM_PATH
    return XKVM_BUILD_VMM_PATH;
#else
    return "xkvm-vmm";
#endif
}

Result<std::unique_ptr<VmmLink>> VmmLink::spawn(const std::string& vmm_path, uint32_t domid, bool& namespaces)
{
    auto [ours, theirs] = TRY(ipc::socket_pair());
    std::string fd_arg = std::to_string(theirs.get());
    pid_t pid = -1;
    if (namespaces) {
        // As fork(), into new namespaces: the daemon is single-threaded, and the child only makes
        // async-signal-safe calls before exec.
        pid = static_cast<pid_t>(::syscall(SYS_clone, CLONE_NEWPID | CLONE_NEWNS | SIGCHLD, nullptr, nullptr, nullptr, nullptr));
        if (pid < 0 && (errno == EPERM || errno == EINVAL || errno == ENOSPC || errno == EUSERS))
            namespaces = false;
    }
    if (!namespaces)
        pid = ::fork();
    if (pid < 0)
        return make_unexpected(Error::from_errno("fork"));
    if (pid == 0) {
        // Child: only async-signal-safe calls until exec. No PR_SET_PDEATHSIG: the domain
        // outlives a daemon that crashes.
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        // A session of its own: where there is no CPU cgroup, the kernel's autogroups then share
        // CPU time between domains rather than between all their threads (src/cpuctl/).
        ::setsid();
        ::fcntl(theirs.get(), F_SETFD, 0);
        int devnull = ::open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            ::dup2(devnull, 0);
        const char* argv[] = { vmm_path.c_str(), "--control-fd", fd_arg.c_str(), namespaces ? "--private-root" : nullptr,
                               nullptr };
        ::execv(vmm_path.c_str(), const_cast<char* const*>(argv));
        ::_exit(127);
    }
    return adopt(pid, domid, std::move(ours));
}

Result<std::unique_ptr<VmmLink>> VmmLink::adopt(pid_t pid, uint32_t domid, UniqueFd control)
{
    auto chan = TRY(ipc::Channel::create(std::move(control)));
    // A VMM that stops reading does not make us buffer without end (replies to it are dropped).
    chan->set_max_queued_bytes(kMaxQueuedBytes);
    return std::unique_ptr<VmmLink>(new VmmLink(pid, domid, std::move(chan)));
}

void VmmLink::kill()
{
    if (m_pidfd)
        ::syscall(SYS_pidfd_send_signal, m_pidfd.get(), SIGKILL, nullptr, 0); // glibc 2.36's wrapper lacks C linkage
    else
        ::kill(m_pid, SIGKILL);
}

void VmmLink::request(std::string_view op, ipc::Json args, Callback done, std::chrono::milliseconds timeout)
{
    request(op, std::move(args), {}, [done = std::move(done)](Result<ipc::Json> r, std::vector<UniqueFd>) {
        done(std::move(r));
    }, timeout);
}

void VmmLink::request(std::string_view op, ipc::Json args, std::vector<UniqueFd> fds, FdCallback done,
                      std::chrono::milliseconds timeout)
{
    if (!m_open) {
        done(fail(ECONNRESET, "the VMM of domain {} is gone", m_domid), {});
        return;
    }
    if (m_pending.size() >= kMaxPending) {
        done(fail(EBUSY, "domain {} has {} requests in flight already", m_domid, m_pending.size()), {});
        return;
    }
    uint64_t id = m_next_id++;
    if (!args.is_object())
        args = ipc::Json::object();
    args["op"] = std::string(op);
    args["id"] = id;
    ipc::Frame frame = ipc::json_frame(args);
    frame.fds = std::move(fds);
    if (auto r = m_chan->send(std::move(frame)); !r) {
        done(make_unexpected(r.release_error()), {});
        return;
    }
    m_pending.emplace(id, Pending { std::move(done), Clock::now() + timeout });
}

void VmmLink::reply(uint64_t id, Result<ipc::Json> r, std::vector<UniqueFd> fds)
{
    if (!m_open)
        return;
    ipc::Frame frame = ipc::json_frame(r ? ipc::ok_reply(id, r.release_value()) : ipc::error_reply(id, r.error()));
    if (r)
        frame.fds = std::move(fds);
    (void)m_chan->send(std::move(frame));
}

bool VmmLink::complete(ipc::Json& msg, std::vector<UniqueFd>& fds)
{
    if (msg.contains("event") || msg.contains("op"))
        return false;
    auto id = ipc::get_uint(msg, "id");
    if (!id)
        return false;
    auto it = m_pending.find(*id);
    if (it == m_pending.end())
        return true; // late reply to an expired request
    auto done = std::move(it->second.done);
    m_pending.erase(it);
    done(ipc::reply_result(std::move(msg)), std::move(fds));
    return true;
}

void VmmLink::fail_all(const Error& e)
{
    auto pending = std::move(m_pending);
    m_pending.clear();
    for (auto& [id, p] : pending)
        p.done(make_unexpected(e), {});
}

std::optional<VmmLink::Clock::time_point> VmmLink::expire(Clock::time_point now)
{
    // Collect first: a callback may send another request on this link.
    std::vector<FdCallback> expired;
    for (auto it = m_pending.begin(); it != m_pending.end();) {
        if (it->second.deadline <= now) {
            expired.push_back(std::move(it->second.done));
            it = m_pending.erase(it);
        } else {
            ++it;
        }
    }
    for (auto& done : expired)
        done(fail(ETIMEDOUT, "the VMM of domain {} did not answer", m_domid), {});
    std::optional<Clock::time_point> next;
    for (auto& [id, p] : m_pending)
        if (!next || p.deadline < *next)
            next = p.deadline;
    if (kill_deadline && (!next || *kill_deadline < *next))
        next = kill_deadline;
    return next;
}

void VmmLink::close_channel()
{
    m_open = false;
    fail_all(Error { ECONNRESET, fmt::format("the VMM of domain {} is gone", m_domid) });
}

} // namespace xkvm::toolstack
