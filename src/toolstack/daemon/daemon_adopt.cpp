// Surviving our own crash. The VMMs do not die with the daemon (vmm_link.cpp); what the daemon knows
// of each domain is kept in <rundir>/domains/<domid>.json (domain_record.h), and each VMM listens on
// <rundir>/<domid>/control.sock (src/vmm/control_attach.cpp). A daemon starting on a rundir with
// records takes each domain back: same id, name and config; its xenstore tree rebuilt from the
// config (the VMM then replays the guest's own nodes, watches and unanswered requests); the VMM
// adopted with `adopt`, which also hands it our log. A domain whose VMM died meanwhile is handled as
// a crash (on_crash); a domain directory without a record (a VMM built just before the crash) is
// destroyed; a record that does not parse is set aside as <domid>.json.bad and its id skipped.
#include "ipc/ops.h"
#include "toolstack/daemon/daemon.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <filesystem>

#include "base/log.h"
#include "ipc/rundir.h"
#include "ipc/socket.h"
#include "toolstack/daemon/domain_record.h"
#include "xen/abi/sched.h"

namespace xkvm::toolstack {

namespace {

using ipc::Json;

Status send_destroy(UniqueFd control)
{
    auto chan = TRY(ipc::Channel::create(std::move(control)));
    TRY(chan->send(ipc::json_frame(Json { { "op", std::string(ipc::ops::kDestroy) }, { "id", 1 } })));
    return chan->flush_blocking(std::chrono::seconds(1));
}

} // namespace

void Daemon::sync_records()
{
    m_records_dirty = false;
    std::set<uint32_t> live;
    for (auto* rec : m_table.all()) {
        if (rec->state == DomainState::Creating)
            continue; // nothing to adopt yet: a VMM that never finished building exits with us
        live.insert(rec->domid);
        std::string text = record_to_json(*rec).dump();
        auto& saved = m_saved_records[rec->domid];
        if (saved == text)
            continue;
        if (auto r = save_record(m_opts.rundir, rec->domid, text); !r)
            log::get("xkvmd")->error("domain {}: cannot record it for a restart: {}", rec->domid, r.error().message);
        else
            saved = std::move(text);
    }
    for (auto it = m_saved_records.begin(); it != m_saved_records.end();) {
        if (live.count(it->first)) {
            ++it;
            continue;
        }
        remove_record(m_opts.rundir, it->first);
        it = m_saved_records.erase(it);
    }
}

void Daemon::readopt_domains()
{
    std::set<uint32_t> recorded;
    for (auto& l : load_records(m_opts.rundir)) {
        recorded.insert(l.domid);
        if (!l.record) {
            log::get("xkvmd")->error("{}: {}; domain {} is not taken back (the file is kept as {}.bad)", l.path,
                            l.record.error().message, l.domid, l.path);
            std::rename(l.path.c_str(), (l.path + ".bad").c_str());
            m_table.skip_past(l.domid); // its VMM may still run under that id
            continue;
        }
        readopt(l.record.release_value());
    }
    destroy_orphans(recorded);
    m_cpu.remove_unused(); // CPU groups of domains not taken back
    sync_records(); // what was handled as a crash leaves no record behind
}

void Daemon::readopt(DomainRecord from_disk)
{
    uint32_t domid = from_disk.domid;
    auto added = m_table.adopt(std::move(from_disk));
    if (!added) {
        log::get("xkvmd")->error("domain {}: {}; not taken back", domid, added.error().message);
        remove_record(m_opts.rundir, domid);
        return;
    }
    DomainRecord& rec = **added;
    m_saved_records[domid] = record_to_json(rec).dump();
    if (auto r = introduce(rec); !r)
        log::get("xkvmd")->error("domain {}: rebuilding its xenstore tree: {}", domid, r.error().message);
    auto link = connect_vmm(rec);
    if (!link) {
        log::get("xkvmd")->warn("domain {} ({}): its VMM is gone ({}); handled as a crash", domid, rec.name,
                       link.error().message);
        rec.vmm_pid = 0;
        ipc::remove_tree(ipc::domain_dir(m_opts.rundir, domid));
        if (rec.state == DomainState::Running)
            guest_shutdown(rec, SHUTDOWN_crash, "its VMM ended while xkvmd was down");
        return;
    }
    pid_t pid = (*link)->pid();
    rec.vmm_pid = pid;
    (*link)->name = rec.name;
    place_vmm(rec, pid); // finds its group again (and puts it back there if it was moved)
    if (rec.state == DomainState::Shutdown)
        m_store.domain_shutdown(static_cast<xenstore::DomId>(domid));
    std::vector<UniqueFd> fds;
    if (m_log)
        if (UniqueFd log_fd(::fcntl(m_log->write_fd(), F_DUPFD_CLOEXEC, 3)); log_fd)
            fds.push_back(std::move(log_fd));
    VmmLink& l = **link;
    m_vmms.emplace(pid, link.release_value());
    l.request(ipc::ops::kAdopt, Json::object(), std::move(fds),
              [this, domid, pid](Result<Json> r, std::vector<UniqueFd>) { adopted(domid, pid, std::move(r)); });
}

Result<std::unique_ptr<VmmLink>> Daemon::connect_vmm(const DomainRecord& rec)
{
    if (m_connect_vmm)
        return m_connect_vmm(rec);
    auto fd = TRY(ipc::connect_unix(ipc::control_socket_path(m_opts.rundir, rec.domid)));
    // The kernel says who listens there; the record's pid is only what we expected.
    auto cred = TRY(ipc::peer_credentials(fd.get()));
    if (cred.pid != rec.vmm_pid)
        log::get("xkvmd")->warn("domain {}: its VMM is pid {}, not {} as recorded", rec.domid, cred.pid, rec.vmm_pid);
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, cred.pid, 0))); // glibc 2.36's wrapper lacks C linkage
    if (!pidfd)
        return make_unexpected(Error::from_errno(fmt::format("pidfd_open {}", cred.pid)));
    auto link = TRY(VmmLink::adopt(cred.pid, rec.domid, std::move(fd)));
    link->set_pidfd(std::move(pidfd));
    return link;
}

void Daemon::adopted(uint32_t domid, pid_t pid, Result<Json> r)
{
    auto* rec = m_table.find(domid);
    if (!rec || rec->vmm_pid != pid)
        return; // destroyed meanwhile
    auto said = r ? ipc::get_uint(*r, "domid") : Result<uint64_t>(make_unexpected(r.error()));
    if (!said || *said != domid) {
        // Not the VMM we expected, or one that will not answer: it cannot stay in charge of the domain.
        log::get("xkvmd")->error("domain {}: the VMM (pid {}) did not accept adoption: {}; killing it", domid, pid,
                        said ? fmt::format("it is domain {}", *said) : said.error().message);
        if (auto* link = link_of(*rec))
            link->kill();
        return;
    }
    log::get("xkvmd")->info("domain {} ({}): VMM pid {} adopted", domid, rec->name, pid);
}

void Daemon::destroy_orphans(const std::set<uint32_t>& recorded)
{
    std::error_code ec;
    for (auto& entry : std::filesystem::directory_iterator(m_opts.rundir, ec)) {
        std::string file = entry.path().filename().string();
        uint32_t domid = 0;
        auto [end, err] = std::from_chars(file.data(), file.data() + file.size(), domid);
        if (err != std::errc() || end != file.data() + file.size() || recorded.count(domid) || !entry.is_directory())
            continue;
        // A VMM built just before the old daemon died, before it was recorded: its creator was
        // told the create failed. Nobody manages it, so it goes.
        if (auto fd = ipc::connect_unix(ipc::control_socket_path(m_opts.rundir, domid))) {
            log::get("xkvmd")->warn("domain {}: a VMM without a record; destroying it", domid);
            if (auto r = send_destroy(fd.release_value()); !r)
                log::get("xkvmd")->warn("domain {}: {}", domid, r.error().message);
        }
        m_table.skip_past(domid);
        ipc::remove_tree(entry.path().string());
    }
}

} // namespace xkvm::toolstack
