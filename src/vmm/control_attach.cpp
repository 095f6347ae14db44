// Outliving xkvmd. The domain does not depend on the daemon being there: when the control channel
// closes, the VMM keeps its vCPUs, timers, console and interdomain channels running, holds the
// guest's xenstore requests (and its session, daemon_xenstore.h) and waits on
// <rundir>/<domid>/control.sock. A restarted xkvmd connects there (only the uid that made our
// original channel may: root when the daemon runs as root, whatever uid this process has since
// dropped to) and sends `adopt`; from then on it is the control channel.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "ipc/rundir.h"
#include "ipc/socket.h"
#include "vmm/control_loop.h"

namespace xkvm::vmm {

Status ControlLoop::listen_for_daemon(const std::string& rundir, uint32_t domid)
{
    m_control_path = ipc::control_socket_path(rundir, domid);
    ::unlink(m_control_path.c_str());
    m_daemon_listener = TRY(ipc::listen_unix(m_control_path, 4));
    return {};
}

void ControlLoop::detach(std::string_view why)
{
    m_chan.reset();
    if (!m_machine) {
        m_exit = true; // nothing built: nothing to keep running
        return;
    }
    // What the old daemon never answered, and the guest's watches and nodes, go to the next one.
    m_xs->requeue_for_new_daemon(m_machine->xenstore());
    log::get("vmm")->warn("domain {}: xkvmd is gone ({}); the domain runs on, waiting for a daemon at {}", m_domid, why,
                   m_control_path);
}

void ControlLoop::accept_daemon()
{
    for (;;) {
        auto fd = ipc::accept_unix(m_daemon_listener.get());
        if (!fd)
            return;
        auto cred = ipc::peer_credentials(fd->get());
        if (!cred || cred->uid != m_daemon_uid) {
            log::get("vmm")->warn("domain {}: refused a control connection from uid {} (only uid {} may adopt us)", m_domid,
                           cred ? cred->uid : uid_t(-1), m_daemon_uid);
            continue;
        }
        if (m_chan) {
            // One daemon at a time; the rundir's lock says there is only one anyway.
            log::get("vmm")->warn("domain {}: refused a second daemon (pid {}) while one is attached", m_domid, cred->pid);
            continue;
        }
        auto chan = ipc::Channel::create(fd.release_value());
        if (!chan)
            continue;
        m_chan = chan.release_value();
        log::get("vmm")->info("domain {}: xkvmd pid {} connected", m_domid, cred->pid);
    }
}

Result<ipc::Json> ControlLoop::adopt(const Call& call)
{
    // The new daemon's log: our stderr was the old one's pipe, which nobody reads any more.
    if (!call.fds.empty()) {
        struct stat st;
        if (::fstat(call.fds[0].get(), &st) < 0 || !S_ISFIFO(st.st_mode))
            return fail(EINVAL, "adopt: the log descriptor is not a pipe");
        // Only stderr: the sandbox allows dup2 onto nothing else (src/sandbox/syscall_tables.cpp).
        if (::dup2(call.fds[0].get(), STDERR_FILENO) < 0)
            return make_unexpected(Error::from_errno("adopt: dup2"));
    }
    // A shutdown while no daemon was there is reported now, after this reply.
    m_shutdown_reported = false;
    uint64_t one = 1;
    (void)!::write(m_shutdown_wake.get(), &one, sizeof(one));
    log::get("vmm")->info("domain {}: adopted by a new xkvmd", m_domid);
    return ipc::Json { { "domid", m_domid }, { "pid", ::getpid() }, { "paused", m_machine->paused() } };
}

} // namespace xkvm::vmm
