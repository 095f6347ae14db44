// Per-connection state requests: WATCH, UNWATCH, RESET_WATCHES, TRANSACTION_START/END.
#include <cerrno>

#include "xenstore/node_ops.h"
#include "xenstore/path.h"
#include "xenstore/server.h"

namespace xkvm::xenstore {

// "<path>\0<token>\0" (a third, depth argument is accepted and ignored).
Server::Reply Server::op_watch(Connection& conn, const Message& req)
{
    auto args = split_strings(req.payload);
    if (!args || args->size() < 2 || args->size() > 3)
        return fail(EINVAL, "WATCH needs a path and a token");
    std::string_view input = (*args)[0];
    Watch watch;
    watch.token = std::string((*args)[1]);
    if (is_special(input)) {
        TRY(validate_special(input));
        watch.path = std::string(input);
    } else {
        CanonicalPath canon = TRY(canonicalize(input, conn.domid));
        TRY(check_path_quota(caller_for(conn.domid), m_quota, canon.path));
        watch.path = std::move(canon.path);
        watch.relative = canon.relative;
    }
    for (const auto& w : conn.watches.all())
        if (w.path == watch.path && w.token == watch.token)
            return fail(EEXIST, "already watching {}", watch.path);
    if (caller_for(conn.domid).unprivileged() && watch_count(conn.domid) >= m_quota.max_watches_per_domain)
        return fail(E2BIG, "domain {} holds {} watches already", conn.domid, m_quota.max_watches_per_domain);

    // The first event fires straight away, reporting the path as the client wrote it.
    Message first = watch_event(watch.client_path(conn.domid), watch.token);
    TRY(conn.watches.add(std::move(watch)));
    m_pending_events.emplace_back(conn.id, std::move(first));
    return kOkPayload;
}

Server::Reply Server::op_unwatch(Connection& conn, const Message& req)
{
    auto args = split_strings(req.payload);
    if (!args || args->size() < 2 || args->size() > 3)
        return fail(EINVAL, "UNWATCH needs a path and a token");
    std::string_view input = (*args)[0];
    std::string path;
    if (is_special(input)) {
        TRY(validate_special(input));
        path = std::string(input);
    } else {
        CanonicalPath canon = TRY(canonicalize(input, conn.domid));
        path = std::move(canon.path);
    }
    TRY(conn.watches.remove(path, (*args)[1]));
    return kOkPayload;
}

Server::Reply Server::op_reset_watches(Connection& conn, const Message&)
{
    conn.watches.clear();
    conn.transactions.clear();
    conn.tx_deadlines.clear();
    return kOkPayload;
}

Server::Reply Server::op_transaction_start(Connection& conn, const Message& req)
{
    if (req.tx_id != 0)
        return fail(EBUSY, "TRANSACTION_START inside transaction {}", req.tx_id);
    Caller caller = caller_for(conn.domid);
    if (caller.unprivileged() && transaction_count(conn.domid) >= m_quota.max_transactions_per_domain)
        return fail(ENOSPC, "domain {} has {} transactions open", conn.domid,
                    m_quota.max_transactions_per_domain);
    uint32_t id = conn.next_tx_id;
    while (id == 0 || conn.transactions.contains(id))
        id++;
    conn.next_tx_id = id + 1;
    uint32_t max_nodes = caller.unprivileged() ? m_quota.max_transaction_nodes : 0;
    conn.transactions.emplace(id, std::make_unique<Transaction>(m_store, id, max_nodes));
    if (caller.unprivileged() && m_quota.transaction_timeout.count() > 0)
        conn.tx_deadlines[id] = m_now() + m_quota.transaction_timeout;
    std::string out = std::to_string(id);
    out.push_back('\0');
    return out;
}

// "T\0" commits, "F\0" discards. Either way the transaction is gone afterwards.
Server::Reply Server::op_transaction_end(Connection& conn, const Message& req)
{
    auto it = conn.transactions.find(req.tx_id);
    if (req.tx_id == 0 || it == conn.transactions.end())
        return fail(ENOENT, "no transaction {}", req.tx_id);
    auto args = split_strings(req.payload);
    if (!args || args->size() != 1 || ((*args)[0] != "T" && (*args)[0] != "F"))
        return fail(EINVAL, "TRANSACTION_END needs T or F");
    bool commit = (*args)[0] == "T";
    std::unique_ptr<Transaction> tx = std::move(it->second);
    conn.transactions.erase(it);
    conn.tx_deadlines.erase(req.tx_id);
    if (!tx)
        return fail(EAGAIN, "transaction {} timed out", req.tx_id);
    if (!commit)
        return kOkPayload;
    auto changes = TRY(tx->commit(caller_for(conn.domid), m_quota));
    for (auto& c : changes)
        m_pending_changes.push_back(std::move(c));
    return kOkPayload;
}

} // namespace xkvm::xenstore
