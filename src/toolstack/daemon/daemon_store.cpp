// xkvmd's xenstore: one xenstore::Server; the toolstack is a dom0 connection, each domain's
// connection is fed by its VMM (FrameKind::Xenstore frames both ways).
#include "toolstack/daemon/daemon.h"

#include <charconv>

#include "base/log.h"

namespace xkvm::toolstack {

namespace {

int errno_from_name(std::string_view name)
{
    static const std::pair<std::string_view, int> table[] = {
        { "ENOENT", ENOENT }, { "EACCES", EACCES }, { "EINVAL", EINVAL }, { "EEXIST", EEXIST },
        { "EISDIR", EISDIR }, { "ENOSPC", ENOSPC }, { "ENOTEMPTY", ENOTEMPTY }, { "EPERM", EPERM },
        { "E2BIG", E2BIG },   { "EAGAIN", EAGAIN }, { "EBUSY", EBUSY },         { "EROFS", EROFS },
    };
    for (auto& [n, e] : table)
        if (n == name)
            return e;
    return EIO;
}

} // namespace

void Daemon::deliver(xenstore::ConnId conn, const xenstore::Message& msg)
{
    if (conn == kToolstackConn) {
        m_toolstack_inbox.push_back(msg);
        return;
    }
    // A guest connection's id is its domid.
    auto* rec = m_table.find(static_cast<uint32_t>(conn));
    VmmLink* link = rec ? link_of(*rec) : nullptr;
    if (!link || !link->channel_open())
        return;
    auto bytes = msg.encode();
    if (auto r = link->channel().send(ipc::Frame::make(ipc::FrameKind::Xenstore, std::string(bytes.begin(), bytes.end())));
        !r) {
        // A VMM that stops reading while its guest keeps asking must not fill the log either.
        if (auto dropped = m_flood_warnings.admit())
            log::get("xkvmd")->warn("domain {}: xenstore reply lost: {}{}", rec->domid, r.error().message,
                                    suppressed_note(*dropped));
    }
}

Result<std::string> Daemon::xs_call(xenstore::MsgType type, std::string payload)
{
    m_toolstack_inbox.clear();
    TRY(m_store.handle(kToolstackConn, xenstore::Message::make(type, m_next_xs_req++, 0, std::move(payload))));
    if (m_toolstack_inbox.empty())
        return fail(EIO, "xenstore gave no reply");
    xenstore::Message reply = std::move(m_toolstack_inbox.front());
    m_toolstack_inbox.clear();
    if (reply.msg_type() == xenstore::MsgType::Error) {
        std::string name = reply.payload;
        while (!name.empty() && name.back() == '\0')
            name.pop_back();
        return fail(errno_from_name(name), "xenstore: {}", name);
    }
    return reply.payload;
}

Status Daemon::introduce(const DomainRecord& rec)
{
    TRY(m_store.create_domain_tree(static_cast<xenstore::DomId>(rec.domid), rec.name));
    // libxl's /vm/<uuid> entries, which tools use to find a domain by uuid.
    std::string vm = "/vm/" + uuid_string(rec.uuid);
    TRY(xs_call(xenstore::MsgType::Write, fmt::format("{}/name", vm) + '\0' + rec.name));
    TRY(xs_call(xenstore::MsgType::Write, fmt::format("{}/uuid", vm) + '\0' + uuid_string(rec.uuid)));
    TRY(xs_call(xenstore::MsgType::Write,
                fmt::format("/local/domain/{}/vm", rec.domid) + '\0' + vm));
    // What libxl tells a guest about its resources: memory in KiB (the balloon driver reads the
    // target), and which vCPUs it may bring online (cpu hotplug watches these).
    TRY(write_memory_kib(rec, "static-max", rec.config.maxmem_mib * 1024));
    TRY(write_memory_kib(rec, "target", rec.config.memory_mib * 1024));
    TRY(set_vcpu_availability(rec, rec.config.vcpus));
    TRY(m_store.introduce_domain(static_cast<xenstore::DomId>(rec.domid)));
    TRY(m_store.open_connection(rec.domid, static_cast<xenstore::DomId>(rec.domid)));
    return {};
}

Status Daemon::set_vcpu_availability(const DomainRecord& rec, uint32_t online)
{
    for (uint32_t v = 0; v < rec.config.maxvcpus; ++v)
        TRY(xs_call(xenstore::MsgType::Write, fmt::format("/local/domain/{}/cpu/{}/availability", rec.domid, v) + '\0'
                        + (v < online ? "online" : "offline")));
    return {};
}

Result<uint64_t> Daemon::read_memory_kib(const DomainRecord& rec, std::string_view key)
{
    auto text = TRY(xs_call(xenstore::MsgType::Read, fmt::format("/local/domain/{}/memory/{}", rec.domid, key) + '\0'));
    uint64_t kib = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), kib);
    if (ec != std::errc() || end != text.data() + text.size())
        return fail(EIO, "xenstore: memory/{} of domain {} is '{}', not a number of KiB", key, rec.domid, text);
    return kib;
}

Status Daemon::write_memory_kib(const DomainRecord& rec, std::string_view key, uint64_t kib)
{
    TRY(xs_call(xenstore::MsgType::Write, fmt::format("/local/domain/{}/memory/{}", rec.domid, key) + '\0' + std::to_string(kib)));
    return {};
}

void Daemon::forget(uint32_t domid)
{
    m_store.close_connection(domid);
    if (auto* rec = m_table.find(domid)) {
        // Another record may share the uuid (rename-restart keeps the old domain): keep /vm then.
        bool shared = false;
        for (auto* other : m_table.all())
            shared = shared || (other != rec && other->uuid == rec->uuid);
        if (!shared)
            (void)xs_call(xenstore::MsgType::Rm, "/vm/" + uuid_string(rec->uuid) + '\0');
    }
    (void)m_store.destroy_domain(static_cast<xenstore::DomId>(domid));
}

} // namespace xkvm::toolstack
