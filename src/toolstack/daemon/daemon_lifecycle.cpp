// Domains coming and going: create (spawn + build), the guest's shutdown and on_poweroff/on_reboot/
// on_crash, destroy, restart, a VMM that dies under its domain, and ending them all on SIGTERM.
#include "ipc/ops.h"
#include "toolstack/daemon/daemon.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include <fstream>

#include "base/log.h"
#include "ipc/rundir.h"
#include "xen/abi/sched.h"
#include "xen/shutdown_reason.h"

namespace xkvm::toolstack {

namespace {

using ipc::Json;
using config::ShutdownAction;


std::array<uint8_t, 16> random_uuid()
{
    std::array<uint8_t, 16> u {};
    std::ifstream in("/dev/urandom", std::ios::binary);
    in.read(reinterpret_cast<char*>(u.data()), u.size());
    u[6] = static_cast<uint8_t>((u[6] & 0x0f) | 0x40); // version 4
    u[8] = static_cast<uint8_t>((u[8] & 0x3f) | 0x80); // RFC 4122 variant
    return u;
}

std::string describe_wait_status(int status)
{
    if (status < 0)
        return "ended (a previous daemon's child: no exit status)";
    if (WIFSIGNALED(status))
        return fmt::format("killed by signal {}", WTERMSIG(status));
    if (WIFEXITED(status))
        return fmt::format("exit code {}", WEXITSTATUS(status));
    return "ended";
}


} // namespace

void Daemon::start_domain(StartRequest req, Done done)
{
    auto added = m_table.add(req.config.name);
    if (!added) {
        done(make_unexpected(added.release_error()));
        return;
    }
    DomainRecord& rec = **added;
    rec.uuid = req.uuid ? *req.uuid : req.config.uuid ? req.config.uuid->bytes : random_uuid();
    rec.config = req.config;
    rec.hard = req.hard;
    rec.soft = req.soft;
    rec.nodes = req.nodes;
    rec.restarts = req.restarts;
    req.spec["domid"] = rec.domid;
    req.spec["uuid"] = rec.uuid;
    req.spec["name"] = rec.name;
    rec.spec = req.spec;
    uint32_t domid = rec.domid;

    if (auto r = introduce(rec); !r) {
        forget(domid);
        m_table.remove(domid);
        done(make_unexpected(r.release_error()));
        return;
    }
    bool namespaces = m_opts.vmm_namespaces;
    auto link = VmmLink::spawn(m_opts.vmm_path, domid, namespaces);
    if (namespaces != m_opts.vmm_namespaces) {
        log::get("xkvmd")->warn("VMM namespaces: off (the kernel refused new PID and mount namespaces)");
        m_opts.vmm_namespaces = false;
    }
    if (!link) {
        forget(domid);
        m_table.remove(domid);
        done(make_unexpected(link.release_error()));
        return;
    }
    pid_t pid = (*link)->pid();
    (*link)->name = rec.name;
    rec.vmm_pid = pid;
    place_vmm(rec, pid); // before its build: every thread it starts is in the group
    VmmLink& l = **link;
    m_vmms.emplace(pid, link.release_value());
    log::get("xkvmd")->info("domain {} ({}): VMM pid {}", domid, rec.name, pid);
    bool paused = req.paused;
    l.request(ipc::ops::kBuild, Json { { "spec", req.spec }, { "rundir", m_opts.rundir } },
              [this, domid, pid, paused, done](Result<Json> r) mutable {
                  build_finished(domid, pid, paused, std::move(r), std::move(done));
              },
              std::chrono::seconds(60));
}

void Daemon::build_finished(uint32_t domid, pid_t pid, bool paused, Result<Json> r, Done done)
{
    auto* rec = m_table.find(domid);
    if (!rec || rec->vmm_pid != pid) {
        done(fail(ECANCELED, "domain {} was destroyed while it was being built", domid));
        return;
    }
    if (!r) {
        abort_domain(domid, r.release_error(), std::move(done));
        return;
    }
    rec->state = DomainState::Running;
    rec->start_time = std::chrono::system_clock::now();
    Json result { { "domid", domid }, { "name", rec->name } };
    if (paused) {
        done(result);
        return;
    }
    link_of(*rec)->request(ipc::ops::kUnpause, Json::object(), [this, domid, result, done](Result<Json> u) mutable {
        if (!u)
            abort_domain(domid, u.release_error(), std::move(done));
        else
            done(result);
    });
}

void Daemon::abort_domain(uint32_t domid, Error e, Done done)
{
    // Nothing half-created: the record, its xenstore tree and (once the VMM is gone) its rundir
    // entries go; the caller hears of the failure only when the VMM process no longer exists.
    if (auto* rec = m_table.find(domid))
        destroy_domain(*rec);
    m_waiters.push_back(Waiter { domid, "", [done = std::move(done), e = std::move(e)]() mutable {
                                    done(make_unexpected(std::move(e)));
                                } });
}

void Daemon::vmm_event(VmmLink& link, const Json& ev)
{
    auto name = ipc::get_string(ev, "event", 64);
    auto* rec = m_table.find(link.domid());
    if (!name || !rec || rec->vmm_pid != link.pid())
        return;
    if (*name == "shutdown") {
        auto reason = ipc::get_uint(ev, "reason", 0xff); // any 8-bit code: Xen passes them all on
        auto detail = ipc::opt_string(ev, "detail", "", 1024);
        if (!reason || !detail) {
            log::get("xkvmd")->warn("domain {}: malformed shutdown event", rec->domid);
            return;
        }
        guest_shutdown(*rec, static_cast<unsigned>(*reason), detail.release_value());
    } else if (*name == "xs-reset") {
        m_store.reset_connection(rec->domid);
    } else if (*name == "evtchn-closed") {
        evtchn_closed(link, ev);
    }
}

void Daemon::guest_shutdown(DomainRecord& rec, unsigned reason, std::string detail)
{
    if (rec.state == DomainState::Shutdown)
        return;
    rec.shutdown_reason = reason;
    rec.shutdown_detail = detail;
    m_store.domain_shutdown(static_cast<xenstore::DomId>(rec.domid));
    ShutdownAction action = ShutdownAction::Destroy;
    switch (reason) {
    case SHUTDOWN_poweroff: action = rec.config.on_poweroff; break;
    case SHUTDOWN_reboot: action = rec.config.on_reboot; break;
    case SHUTDOWN_crash: action = rec.config.on_crash; break;
    case SHUTDOWN_watchdog: action = rec.config.on_watchdog; break;
    case SHUTDOWN_soft_reset: action = rec.config.on_soft_reset; break;
    case SHUTDOWN_suspend: action = ShutdownAction::Preserve; break; // kept for a later resume or destroy
    default: break; // an unknown reason destroys the domain, as libxl does
    }
    log::get("xkvmd")->info("domain {} ({}): {} ({}); action {}", rec.domid, rec.name, xen::shutdown_reason_name(reason), detail,
                   config::xl_name(action));
    switch (action) {
    case ShutdownAction::CoredumpDestroy:
        log::get("xkvmd")->warn("domain {}: coredump-destroy: core dumps are not supported; destroying", rec.domid);
        [[fallthrough]];
    case ShutdownAction::Destroy:
        destroy_domain(rec);
        break;
    case ShutdownAction::CoredumpRestart:
        log::get("xkvmd")->warn("domain {}: coredump-restart: core dumps are not supported; restarting", rec.domid);
        [[fallthrough]];
    case ShutdownAction::SoftReset: // a soft reset needs the memory kept; xkvm rebuilds the domain instead
    case ShutdownAction::Restart:
        restart_domain(rec, false);
        break;
    case ShutdownAction::RenameRestart:
        restart_domain(rec, true);
        break;
    case ShutdownAction::Preserve:
        rec.state = DomainState::Shutdown;
        if (auto* link = link_of(rec))
            link->request(ipc::ops::kEndConsole, Json::object(), [](Result<Json>) { });
        break;
    }
}

void Daemon::destroy_domain(DomainRecord& rec)
{
    uint32_t domid = rec.domid;
    VmmLink* link = link_of(rec);
    forget(domid);
    m_table.remove(domid);
    if (link) {
        link->request(ipc::ops::kDestroy, Json::object(), [](Result<Json>) { }, std::chrono::seconds(2));
        link->kill_deadline = Clock::now() + std::chrono::seconds(2);
    } else {
        ipc::remove_tree(ipc::domain_dir(m_opts.rundir, domid));
    }
}

void Daemon::restart_domain(DomainRecord& rec, bool rename_old)
{
    StartRequest req;
    req.config = rec.config;
    req.spec = rec.spec;
    req.uuid = rec.uuid;
    req.hard = rec.hard;
    req.soft = rec.soft;
    req.nodes = rec.nodes;
    req.restarts = rec.restarts + 1;
    std::string name = rec.name;
    if (rename_old) {
        // The old domain stays (shut down) under another name; a new one starts under this one.
        (void)m_table.rename(rec.domid, fmt::format("{}-old-{}", name, rec.domid));
        rec.state = DomainState::Shutdown;
        if (auto* link = link_of(rec)) {
            link->name = rec.name;
            link->request(ipc::ops::kEndConsole, Json::object(), [](Result<Json>) { });
        }
    } else {
        destroy_domain(rec);
    }
    start_domain(std::move(req), [name](Result<Json> r) {
        if (r)
            log::get("xkvmd")->info("domain {} restarted as domain {}", name, (*r)["domid"].get<uint32_t>());
        else
            log::get("xkvmd")->error("domain {}: restart failed: {}", name, r.error().message);
    });
}

void Daemon::vmm_exited(VmmLink& link)
{
    log::get("xkvmd")->info("VMM of domain {} (pid {}) ended: {}", link.domid(), link.pid(),
                   describe_wait_status(link.wait_status));
    link.close_channel(); // fails what was in flight (a build in progress aborts its domain)
    ipc::remove_tree(ipc::domain_dir(m_opts.rundir, link.domid()));
    m_cpu.remove(link.domid());
    evtchn_domain_gone(link.domid());
    auto* rec = m_table.find(link.domid());
    if (!rec || rec->vmm_pid != link.pid())
        return;
    rec->vmm_pid = 0;
    if (rec->state == DomainState::Running)
        guest_shutdown(*rec, SHUTDOWN_crash,
                       fmt::format("the VMM process died ({})", describe_wait_status(link.wait_status)));
}

void Daemon::vmm_ended(pid_t pid, int status)
{
    auto it = m_vmms.find(pid);
    if (it == m_vmms.end())
        return;
    // Its last words (a build error, a shutdown event) are still in the socket: read them first.
    if (it->second->channel_open())
        vmm_readable(*it->second);
    it = m_vmms.find(pid);
    if (it == m_vmms.end())
        return;
    it->second->exited = true;
    it->second->wait_status = status;
    vmm_exited(*it->second);
    m_vmms.erase(pid);
    m_records_dirty = true;
}

void Daemon::shutdown_all()
{
    for (auto* rec : m_table.all())
        forget(rec->domid);
    for (auto& [pid, link] : m_vmms) {
        link->kill();
        int status;
        if (link->our_child()) {
            ::waitpid(pid, &status, 0);
        } else {
            pollfd p { link->pidfd(), POLLIN, 0 };
            ::poll(&p, 1, 2000);
        }
        ipc::remove_tree(ipc::domain_dir(m_opts.rundir, link->domid()));
        m_cpu.remove(link->domid());
    }
    // Stopping the daemon ends its domains: nothing is left to re-adopt.
    ipc::remove_tree(ipc::domain_records_dir(m_opts.rundir));
    m_vmms.clear();
    for (auto* rec : m_table.all())
        ipc::remove_tree(ipc::domain_dir(m_opts.rundir, rec->domid));
}

} // namespace xkvm::toolstack
