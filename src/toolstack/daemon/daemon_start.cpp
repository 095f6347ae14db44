// Starting and ending xkvmd: the rundir's lock and pid file, the log, the socket, the signals, the
// toolstack's own xenstore connection, CPU control and the re-adoption of running domains.
#include "toolstack/daemon/daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "base/log.h"
#include "ipc/rundir.h"
#include "ipc/socket.h"

namespace xkvm::toolstack {

Daemon::Daemon(DaemonOptions opts)
    : m_opts(std::move(opts))
    , m_store(*this, xenstore::Quota { .max_total_bytes = m_opts.xenstore_cap_bytes })
    , m_cpu(cpuctl::CpuGroups::detect("/", cpuctl::instance_name(m_opts.rundir)))
{
}

Result<std::unique_ptr<Daemon>> Daemon::create(DaemonOptions opts)
{
    TRY(ipc::prepare_rundir(opts.rundir));
    std::unique_ptr<Daemon> d(new Daemon(std::move(opts)));
    const std::string& rundir = d->m_opts.rundir;

    // The pid file's lock says who owns the rundir; it goes away with the process.
    std::string pid_path = ipc::daemon_pid_path(rundir);
    // Never through a planted symlink or hard link: it is truncated below.
    d->m_lock_fd = TRY(ipc::open_private_file(pid_path, O_RDWR));
    if (::flock(d->m_lock_fd.get(), LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK)
            return fail(EBUSY, "another xkvmd already serves {}", rundir);
        return make_unexpected(Error::from_errno("flock"));
    }
    // Empty until the daemon is ready: one that fails to start leaves no pid behind, not even a
    // previous daemon's, which another process may have by now.
    if (::ftruncate(d->m_lock_fd.get(), 0) < 0)
        return make_unexpected(Error::from_errno("truncate pid file"));

    if (!d->m_opts.log_file.empty()) {
        // Only the daemon that holds the lock may rotate the log.
        d->m_log = TRY(DaemonLog::create(d->m_opts.log_file));
        TRY(d->m_log->redirect_stderr());
    }

    std::string sock = ipc::daemon_socket_path(rundir);
    ::unlink(sock.c_str()); // a stale one from a daemon that died; we hold the lock
    d->m_listener = TRY(ipc::listen_unix(sock));

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    if (::sigprocmask(SIG_BLOCK, &mask, nullptr) < 0)
        return make_unexpected(Error::from_errno("sigprocmask"));
    ::signal(SIGPIPE, SIG_IGN);
    d->m_signal_fd = UniqueFd(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!d->m_signal_fd)
        return make_unexpected(Error::from_errno("signalfd"));

    TRY(d->open_toolstack());
    d->start_cpu_control();
    if (d->m_opts.vmm_namespaces && ::geteuid() != 0) {
        log::get("xkvmd")->info("VMM namespaces: off (they need root)");
        d->m_opts.vmm_namespaces = false;
    }
    // Domains a previous daemon left running (daemon_adopt.cpp).
    d->readopt_domains();
    std::string pid = fmt::format("{}\n", ::getpid());
    if (::pwrite(d->m_lock_fd.get(), pid.data(), pid.size(), 0) < 0)
        return make_unexpected(Error::from_errno("write pid file"));
    return d;
}

Status Daemon::open_toolstack()
{
    TRY(m_store.open_connection(kToolstackConn, 0));
    // What xl sets up for the host at boot: dom0's name and id, and the parent of every domain's home.
    TRY(xs_call(xenstore::MsgType::Write, std::string("/local/domain/0/name") + '\0' + "Domain-0"));
    TRY(xs_call(xenstore::MsgType::Write, std::string("/local/domain/0/domid") + '\0' + "0"));
    return {};
}

Daemon::~Daemon()
{
    shutdown_all();
    stop_cpu_control();
    if (m_log)
        m_log->drain(SIZE_MAX);
    if (m_listener) {
        ::unlink(ipc::daemon_socket_path(m_opts.rundir).c_str());
        ::unlink(ipc::daemon_pid_path(m_opts.rundir).c_str());
    }
}

} // namespace xkvm::toolstack
