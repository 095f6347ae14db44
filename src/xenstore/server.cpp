#include "xenstore/server.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/log.h"
#include "xenstore/node_ops.h"
#include "xenstore/path.h"

namespace xkvm::xenstore {

namespace {

std::shared_ptr<spdlog::logger> logger()
{
    static auto l = log::get("xenstore");
    return l;
}

} // namespace

Server::Server(MessageSink& sink, Quota quota)
    : m_sink(sink)
    , m_quota(quota)
{
    for (auto special : { kIntroduceDomainPath, kReleaseDomainPath })
        m_special_perms.emplace(std::string(special), Perms { Perm { 0, kAccessNone } });
}

Server::Server(MessageSink& sink, Quota quota, const Store& tree) : Server(sink, quota)
{
    m_store = tree;
}

Server::~Server() = default;

Status Server::open_connection(ConnId conn, DomId domid)
{
    if (m_connections.contains(conn))
        return fail(EEXIST, "xenstore connection {} is already open", conn);
    Connection c;
    c.id = conn;
    c.domid = domid;
    m_connections.emplace(conn, std::move(c));
    return {};
}

void Server::close_connection(ConnId conn)
{
    m_connections.erase(conn);
}

void Server::reset_connection(ConnId conn)
{
    auto it = m_connections.find(conn);
    if (it == m_connections.end())
        return;
    it->second.watches.clear();
    it->second.transactions.clear();
    it->second.tx_deadlines.clear();
}

size_t Server::memory_used() const
{
    size_t n = m_store.bytes();
    for (const auto& [id, conn] : m_connections) {
        n += conn.watches.bytes();
        for (const auto& [tx_id, tx] : conn.transactions)
            n += tx ? tx->bytes() : 0;
    }
    return n;
}

Status Server::check_memory_cap(const Connection& conn, const Message& req) const
{
    if (m_quota.max_total_bytes == 0 || conn.domid == 0)
        return {};
    const auto type = req.msg_type();
    const bool grows = type == MsgType::Write || type == MsgType::Mkdir || type == MsgType::SetPerms
        || type == MsgType::Watch || type == MsgType::TransactionStart
        || (req.tx_id != 0 && type != MsgType::TransactionEnd); // a transaction keeps what it touches
    if (!grows)
        return {};
    if (const size_t used = memory_used(); used >= m_quota.max_total_bytes)
        return fail(ENOSPC, "xenstore holds {} bytes, at the daemon-wide cap", used);
    return {};
}

Server::Reply Server::admit_and_dispatch(Connection& conn, const Message& req)
{
    TRY(check_memory_cap(conn, req));
    return dispatch(conn, req);
}

Caller Server::caller_for(DomId domid) const
{
    Caller caller { domid, domid == 0, std::nullopt };
    if (auto it = m_domains.find(domid); it != m_domains.end())
        caller.target = it->second.target;
    return caller;
}

Result<std::string> Server::resolve(const Connection& conn, std::string_view input) const
{
    CanonicalPath canon = TRY(canonicalize(input, conn.domid));
    TRY(check_path_quota(caller_for(conn.domid), m_quota, canon.path));
    return std::move(canon.path);
}

Result<NodeView*> Server::view_for(Connection& conn, const Message& req)
{
    if (req.tx_id == 0)
        return static_cast<NodeView*>(&m_store);
    auto it = conn.transactions.find(req.tx_id);
    if (it == conn.transactions.end())
        return fail(ENOENT, "no transaction {}", req.tx_id);
    if (!it->second)
        return fail(EAGAIN, "transaction {} timed out", req.tx_id);
    return static_cast<NodeView*>(it->second.get());
}

void Server::announce(Connection& conn, const Message& req, std::vector<Change> changes)
{
    if (req.tx_id != 0) {
        if (auto it = conn.transactions.find(req.tx_id); it != conn.transactions.end() && it->second) {
            it->second->record(std::move(changes));
            return;
        }
    }
    for (auto& c : changes)
        m_pending_changes.push_back(std::move(c));
}

Change Server::special_change(std::string_view path) const
{
    auto it = m_special_perms.find(path);
    return Change { std::string(path), false, it == m_special_perms.end() ? Perms { Perm {} } : it->second };
}

void Server::send(ConnId conn, const Message& msg)
{
    if (msg.payload.size() > kPayloadMax) {
        if (msg.msg_type() == MsgType::WatchEvent) {
            if (auto dropped = m_drop_warnings.admit())
                logger()->warn("dropping a {}-byte watch event for connection {}{}", msg.payload.size(), conn,
                               suppressed_note(*dropped));
            return;
        }
        m_sink.deliver(conn, error_reply(msg, E2BIG));
        return;
    }
    m_sink.deliver(conn, msg);
}

void Server::fire(const std::vector<Change>& changes)
{
    if (changes.empty())
        return;
    // Events go out in the order of the changes; each watch hears about a path once per batch.
    std::map<std::pair<ConnId, size_t>, std::vector<std::string>> sent;
    for (const Change& change : changes) {
        for (const auto& [id, conn] : m_connections) {
            Caller caller = caller_for(conn.domid);
            const auto& watches = conn.watches.all();
            for (size_t i = 0; i < watches.size(); i++) {
                auto path = event_path(watches[i], change, conn.domid);
                if (!path || !allows(caller, change.perms, kAccessRead))
                    continue;
                auto& seen = sent[{ id, i }];
                if (std::find(seen.begin(), seen.end(), *path) != seen.end())
                    continue;
                send(id, watch_event(*path, watches[i].token));
                seen.push_back(std::move(*path));
            }
        }
    }
}

void Server::drop_domain_state(DomId domid)
{
    for (auto& [id, conn] : m_connections) {
        if (conn.domid != domid)
            continue;
        conn.watches.clear();
        conn.transactions.clear();
        conn.tx_deadlines.clear();
    }
}

Status Server::handle(ConnId id, const Message& req)
{
    auto it = m_connections.find(id);
    if (it == m_connections.end())
        return fail(ENOTCONN, "xenstore connection {} is not open", id);
    m_pending_changes.clear();
    m_pending_events.clear();

    Reply result = req.payload.size() > kPayloadMax ? Reply(fail(E2BIG, "payload of {} bytes", req.payload.size()))
                                                    : admit_and_dispatch(it->second, req);
    if (result) {
        send(id, reply_to(req, std::move(result.value())));
    } else {
        logger()->debug("conn {} {}: {}", id, msg_type_name(req.type), result.error().message);
        send(id, error_reply(req, result.error().code));
    }

    auto events = std::move(m_pending_events);
    auto changes = std::move(m_pending_changes);
    m_pending_events.clear();
    m_pending_changes.clear();
    for (const auto& [to, msg] : events)
        send(to, msg);
    fire(changes);
    return {};
}

Status Server::handle_bytes(ConnId id, std::span<const uint8_t> bytes)
{
    auto decoded = decode_message(bytes);
    if (decoded)
        return handle(id, decoded.value());
    if (!m_connections.contains(id))
        return fail(ENOTCONN, "xenstore connection {} is not open", id);
    Message header_only;
    if (bytes.size() >= kHeaderSize) {
        WireHeader h;
        std::memcpy(&h, bytes.data(), kHeaderSize);
        header_only = Message { h.type, h.req_id, h.tx_id, {} };
    }
    send(id, error_reply(header_only, decoded.error().code));
    return {};
}

Server::Reply Server::dispatch(Connection& conn, const Message& req)
{
    switch (req.msg_type()) {
    case MsgType::Read: return op_read(conn, req);
    case MsgType::Write: return op_write(conn, req);
    case MsgType::Mkdir: return op_mkdir(conn, req);
    case MsgType::Rm: return op_rm(conn, req);
    case MsgType::Directory: return op_directory(conn, req);
    case MsgType::DirectoryPart: return op_directory_part(conn, req);
    case MsgType::GetPerms: return op_get_perms(conn, req);
    case MsgType::SetPerms: return op_set_perms(conn, req);
    case MsgType::Watch: return op_watch(conn, req);
    case MsgType::Unwatch: return op_unwatch(conn, req);
    case MsgType::ResetWatches: return op_reset_watches(conn, req);
    case MsgType::TransactionStart: return op_transaction_start(conn, req);
    case MsgType::TransactionEnd: return op_transaction_end(conn, req);
    case MsgType::Introduce: return op_introduce(conn, req);
    case MsgType::Release: return op_release(conn, req);
    case MsgType::IsDomainIntroduced: return op_is_domain_introduced(conn, req);
    case MsgType::Resume: return op_resume(conn, req);
    case MsgType::SetTarget: return op_set_target(conn, req);
    case MsgType::GetDomainPath: return op_get_domain_path(conn, req);
    case MsgType::Control: return op_control(conn, req);
    default: return fail(ENOSYS, "message type {} is not a request", req.type);
    }
}

size_t Server::watch_count(DomId domid) const
{
    size_t n = 0;
    for (const auto& [id, conn] : m_connections)
        if (conn.domid == domid)
            n += conn.watches.size();
    return n;
}

size_t Server::transaction_count(DomId domid) const
{
    size_t n = 0;
    for (const auto& [id, conn] : m_connections)
        if (conn.domid == domid)
            n += conn.transactions.size();
    return n;
}

size_t Server::expire_transactions()
{
    auto now = m_now();
    size_t expired = 0;
    for (auto& [id, conn] : m_connections) {
        for (auto it = conn.tx_deadlines.begin(); it != conn.tx_deadlines.end();) {
            if (it->second > now) {
                ++it;
                continue;
            }
            if (auto tx = conn.transactions.find(it->first); tx != conn.transactions.end() && tx->second) {
                tx->second.reset();
                ++expired;
            }
            it = conn.tx_deadlines.erase(it);
        }
    }
    return expired;
}

std::optional<Server::Clock::time_point> Server::next_transaction_expiry() const
{
    std::optional<Clock::time_point> next;
    for (const auto& [id, conn] : m_connections)
        for (const auto& [tx, deadline] : conn.tx_deadlines)
            if (!next || deadline < *next)
                next = deadline;
    return next;
}

} // namespace xkvm::xenstore
