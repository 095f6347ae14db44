// The event-channel broker: VMMs bind interdomain channels through the daemon, which checks who is
// asking (the channel it came on, never the message) and passes the eventfds between them. Events
// themselves never pass through here (src/vmm/evtchn_relay.h has the protocol).
#include "ipc/ops.h"
#include "base/log.h"
#include "toolstack/daemon/daemon.h"
#include "xen/abi/xen.h"

namespace xkvm::toolstack {

namespace {
constexpr uint64_t kMaxDomid = DOMID_FIRST_RESERVED - 1;
} // namespace

VmmLink* Daemon::running_link(uint32_t domid)
{
    auto* rec = m_table.find(domid);
    if (!rec || rec->state != DomainState::Running)
        return nullptr;
    VmmLink* link = link_of(*rec);
    return link && link->channel_open() ? link : nullptr;
}

void Daemon::vmm_request(VmmLink& link, const ipc::Json& req, std::vector<UniqueFd> fds)
{
    auto op = ipc::get_string(req, "op", 64);
    auto id = ipc::get_uint(req, "id");
    if (!op || !id) {
        if (auto dropped = m_flood_warnings.admit())
            log::get("xkvmd")->warn("VMM of domain {}: malformed request{}", link.domid(), suppressed_note(*dropped));
        return;
    }
    if (*op == ipc::ops::kEvtchnBind) {
        evtchn_bind(link, *id, req, std::move(fds));
    } else if (*op == ipc::ops::kDomainExists) {
        auto dom = ipc::get_uint(req, "domid", UINT16_MAX);
        if (!dom)
            link.reply(*id, make_unexpected(dom.release_error()));
        else
            link.reply(*id, ipc::Json { { "exists", *dom == 0 || m_table.find(static_cast<uint32_t>(*dom)) != nullptr } });
    } else
        link.reply(*id, fail(EOPNOTSUPP, "unknown request '{}'", *op));
}

void Daemon::evtchn_bind(VmmLink& from, uint64_t id, const ipc::Json& req, std::vector<UniqueFd> fds)
{
    auto remote_dom = ipc::get_uint(req, "remote_dom", kMaxDomid);
    auto remote_port = ipc::get_uint(req, "remote_port", UINT32_MAX);
    auto local_port = ipc::get_uint(req, "local_port", UINT32_MAX);
    if (!remote_dom || !remote_port || !local_port || fds.size() != 1) {
        from.reply(id, fail(EINVAL, "malformed evtchn-bind"));
        return;
    }
    uint32_t self = from.domid();
    // Domain 0 is the toolstack: it has no guest ports to bind to.
    if (*remote_dom == 0 || *remote_dom == self) {
        from.reply(id, fail(EINVAL, "domain {} has no port {} for domain {}", *remote_dom, *remote_port, self));
        return;
    }
    VmmLink* target = running_link(static_cast<uint32_t>(*remote_dom));
    if (!target) {
        from.reply(id, fail(ESRCH, "domain {} does not exist", *remote_dom));
        return;
    }
    // One domain's binds must not fill another's request queue: the guest retries on EAGAIN.
    if (from.forwarded >= VmmLink::kMaxForwarded) {
        from.reply(id, fail(EAGAIN, "domain {} has {} interdomain requests in flight", self, from.forwarded));
        return;
    }
    ipc::Json args { { "port", *remote_port }, { "remote_dom", self }, { "remote_port", *local_port } };
    pid_t from_pid = from.pid();
    ++from.forwarded;
    target->request(ipc::ops::kEvtchnConnect, std::move(args), std::move(fds),
                    [this, from_pid, id](Result<ipc::Json> r, std::vector<UniqueFd> reply_fds) {
                        auto it = m_vmms.find(from_pid);
                        if (it == m_vmms.end())
                            return; // the asker is gone; its end closes with it
                        --it->second->forwarded;
                        if (r && reply_fds.size() != 1)
                            r = fail(EINVAL, "the far side answered without a notification socket");
                        it->second->reply(id, std::move(r), std::move(reply_fds));
                    });
}

void Daemon::evtchn_closed(VmmLink& from, const ipc::Json& ev)
{
    auto port = ipc::get_uint(ev, "port", UINT32_MAX);
    auto remote_dom = ipc::get_uint(ev, "remote_dom", kMaxDomid);
    auto remote_port = ipc::get_uint(ev, "remote_port", UINT32_MAX);
    if (!port || !remote_dom || !remote_port)
        return;
    VmmLink* target = running_link(static_cast<uint32_t>(*remote_dom));
    if (!target)
        return;
    if (from.forwarded >= VmmLink::kMaxForwarded) {
        if (auto dropped = m_flood_warnings.admit())
            log::get("xkvmd")->warn("domain {}: too many interdomain closes in flight; dropped one{}", from.domid(),
                           suppressed_note(*dropped));
        return;
    }
    ipc::Json args { { "port", *remote_port }, { "remote_dom", from.domid() }, { "remote_port", *port } };
    pid_t from_pid = from.pid();
    ++from.forwarded;
    target->request(ipc::ops::kEvtchnPeerClosed, std::move(args), [this, from_pid](Result<ipc::Json>) {
        if (auto it = m_vmms.find(from_pid); it != m_vmms.end())
            --it->second->forwarded;
    });
}

void Daemon::evtchn_domain_gone(uint32_t domid)
{
    for (auto& [pid, link] : m_vmms)
        if (link->domid() != domid && link->channel_open())
            link->request(ipc::ops::kEvtchnDomainGone, ipc::Json { { "domid", domid } }, [](Result<ipc::Json>) { });
}

} // namespace xkvm::toolstack
