// The xenstore protocol engine of xkvmd: takes one complete request from a connection and produces
// its reply and any watch events through a MessageSink. Pure logic: no sockets, no threads; the
// caller serialises calls.
//
// A connection belongs to one domain. Domain 0 is privileged (toolstack): it bypasses permissions
// and quotas and alone may use INTRODUCE, RELEASE, RESUME, SET_TARGET and CONTROL. Relative paths
// resolve under /local/domain/<domid> of the connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/rate_limit.h"
#include "base/result.h"
#include "xenstore/message.h"
#include "xenstore/quota.h"
#include "xenstore/store.h"
#include "xenstore/transaction.h"
#include "xenstore/watches.h"

namespace xkvm::xenstore {

using ConnId = uint64_t;

class MessageSink {
public:
    virtual ~MessageSink() = default;
    // Every reply and watch event, in the order the client must see them. Must not call back
    // into the Server.
    virtual void deliver(ConnId conn, const Message& msg) = 0;
};

class Server {
public:
    explicit Server(MessageSink& sink, Quota quota = {});
    // Starts with a copy of `tree` (another server's store), no connections, domains or watches:
    // the fuzz targets copy domain trees built once instead of building them for every input.
    Server(MessageSink& sink, Quota quota, const Store& tree);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // ---- Connections ----
    // EEXIST when `conn` is already open.
    Status open_connection(ConnId conn, DomId domid);
    // Drops the connection with its watches and transactions. Unknown ids are ignored.
    void close_connection(ConnId conn);
    // Ring reconnect: drops watches and transactions, keeps the connection.
    void reset_connection(ConnId conn);

    // ---- Requests ----
    // Exactly one reply (the answer or an ERROR) goes to `conn`, followed by any watch events this
    // request caused. ENOTCONN (nothing delivered) when `conn` is not open.
    Status handle(ConnId conn, const Message& request);
    // The same for one message as raw bytes; a malformed one gets an ERROR reply.
    Status handle_bytes(ConnId conn, std::span<const uint8_t> bytes);

    // ---- Toolstack helpers (act as dom0; watches fire) ----
    // Creates /local/domain/<domid> the way libxl lays it out: the home, `domid`, `name` and the
    // read-only directories belong to dom0 and are readable by the guest; data, drivers, feature,
    // attr, error and the control/ entries the guest answers belong to the guest. An old tree
    // is removed first. EINVAL for dom0 or a reserved id.
    Status create_domain_tree(DomId domid, std::string_view name);
    // As INTRODUCE: fires @introduceDomain the first time.
    Status introduce_domain(DomId domid, uint64_t mfn = 0, uint32_t evtchn = 0);
    // As RELEASE: ENOENT when not introduced. Fires @releaseDomain.
    Status release_domain(DomId domid);
    // The domain shut down or crashed: fires @releaseDomain once, until RESUME.
    void domain_shutdown(DomId domid);
    // The domain is gone: removes its tree, its connections' watches and transactions, and fires
    // @releaseDomain.
    Status destroy_domain(DomId domid);
    bool is_introduced(DomId domid) const;

    // ---- Introspection ----
    const Store& store() const { return m_store; }
    const Quota& quota() const { return m_quota; }
    void set_quota(const Quota& quota) { m_quota = quota; }
    size_t watch_count(DomId domid) const;
    size_t transaction_count(DomId domid) const;
    size_t connection_count() const { return m_connections.size(); }
    // Bytes the store, every open transaction and every watch hold (against Quota::max_total_bytes).
    size_t memory_used() const;

    // ---- Time ----
    using Clock = std::chrono::steady_clock;
    // For tests: the clock transaction timeouts are measured on.
    void set_clock(std::function<Clock::time_point()> now) { m_now = std::move(now); }
    // Discards transactions past Quota::transaction_timeout; how many. The owner calls this at
    // next_transaction_expiry() (xkvmd: from its poll loop).
    size_t expire_transactions();
    std::optional<Clock::time_point> next_transaction_expiry() const;

private:
    struct Connection {
        ConnId id = 0;
        DomId domid = 0;
        WatchSet watches;
        // An expired transaction stays as a null entry (its memory freed) until the guest ends it.
        std::map<uint32_t, std::unique_ptr<Transaction>> transactions;
        std::map<uint32_t, Clock::time_point> tx_deadlines; // of the unexpired ones that have a limit
        uint32_t next_tx_id = 1;
    };
    struct DomainInfo {
        bool introduced = false;
        bool release_fired = false;
        std::optional<DomId> target;
        uint64_t mfn = 0;
        uint32_t evtchn = 0;
    };
    using Reply = Result<std::string>;

    Reply dispatch(Connection& conn, const Message& req);
    Reply admit_and_dispatch(Connection& conn, const Message& req);
    Caller caller_for(DomId domid) const;
    Result<std::string> resolve(const Connection& conn, std::string_view input) const;
    Result<NodeView*> view_for(Connection& conn, const Message& req);
    void announce(Connection& conn, const Message& req, std::vector<Change> changes);
    void send(ConnId conn, const Message& msg);
    void fire(const std::vector<Change>& changes);
    Change special_change(std::string_view path) const;
    void drop_domain_state(DomId domid);
    // ENOSPC when the daemon-wide cap is reached and `req` from `conn` could add memory.
    Status check_memory_cap(const Connection& conn, const Message& req) const;

    // Database (server_ops.cpp)
    Reply op_read(Connection& conn, const Message& req);
    Reply op_write(Connection& conn, const Message& req);
    Reply op_mkdir(Connection& conn, const Message& req);
    Reply op_rm(Connection& conn, const Message& req);
    Reply op_directory(Connection& conn, const Message& req);
    Reply op_directory_part(Connection& conn, const Message& req);
    Reply op_get_perms(Connection& conn, const Message& req);
    Reply op_set_perms(Connection& conn, const Message& req);
    // Watches and transactions (server_session.cpp)
    Reply op_watch(Connection& conn, const Message& req);
    Reply op_unwatch(Connection& conn, const Message& req);
    Reply op_reset_watches(Connection& conn, const Message& req);
    Reply op_transaction_start(Connection& conn, const Message& req);
    Reply op_transaction_end(Connection& conn, const Message& req);
    // Domains (server_domain.cpp)
    Reply op_introduce(Connection& conn, const Message& req);
    Reply op_release(Connection& conn, const Message& req);
    Reply op_is_domain_introduced(Connection& conn, const Message& req);
    Reply op_resume(Connection& conn, const Message& req);
    Reply op_set_target(Connection& conn, const Message& req);
    Reply op_get_domain_path(Connection& conn, const Message& req);
    Reply op_control(Connection& conn, const Message& req);
    std::vector<Change> do_introduce(DomId domid, uint64_t mfn, uint32_t evtchn);
    std::vector<Change> do_release(DomId domid);

    MessageSink& m_sink;
    Quota m_quota;
    Store m_store;
    std::map<ConnId, Connection> m_connections;
    std::map<DomId, DomainInfo> m_domains;
    std::map<std::string, Perms, std::less<>> m_special_perms;
    // Filled while a request runs; delivered after its reply.
    std::vector<Change> m_pending_changes;
    std::vector<std::pair<ConnId, Message>> m_pending_events;
    // Guests can make watch events that do not fit (long tokens): warn about a few, count the rest.
    RateLimiter m_drop_warnings;
    std::function<Clock::time_point()> m_now = &Clock::now;
};

} // namespace xkvm::xenstore
