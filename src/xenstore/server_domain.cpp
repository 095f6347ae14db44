// Domain management: INTRODUCE, RELEASE, IS_DOMAIN_INTRODUCED, RESUME, SET_TARGET,
// GET_DOMAIN_PATH, CONTROL, and the toolstack helpers that build and tear down a domain's tree.
#include <cerrno>

#include <fmt/format.h>

#include "base/log.h"
#include "xenstore/node_ops.h"
#include "xenstore/path.h"
#include "xenstore/server.h"

namespace xkvm::xenstore {

namespace {

Result<DomId> parse_domid(std::string_view text)
{
    auto id = parse_decimal(text, 0xffff);
    if (!id)
        return fail(EINVAL, "'{}' is not a domain id", text);
    return static_cast<DomId>(*id);
}

// A domain other than dom0 that can actually exist.
Result<DomId> parse_guest_domid(std::string_view text)
{
    DomId id = TRY(parse_domid(text));
    if (id == 0 || id >= kDomIdFirstReserved)
        return fail(EINVAL, "domain id {} is not a guest", id);
    return id;
}

Status check_guest_domid(DomId id)
{
    if (id == 0 || id >= kDomIdFirstReserved)
        return fail(EINVAL, "domain id {} is not a guest", id);
    return {};
}

Result<std::vector<std::string_view>> args_between(const Message& req, size_t min, size_t max)
{
    auto args = split_strings(req.payload);
    if (!args || args->size() < min || args->size() > max)
        return fail(EINVAL, "{} has the wrong number of arguments", msg_type_name(req.type));
    return std::move(*args);
}

Status need_privilege(const Caller& caller, const Message& req)
{
    if (caller.unprivileged())
        return fail(EACCES, "{} is for the toolstack only", msg_type_name(req.type));
    return {};
}

// The mfn is sent in signed decimal; keep its bits.
Result<uint64_t> parse_mfn(std::string_view text)
{
    bool negative = !text.empty() && text.front() == '-';
    auto v = parse_decimal(negative ? text.substr(1) : text, negative ? (1ull << 63) : UINT64_MAX);
    if (!v)
        return fail(EINVAL, "'{}' is not a frame number", text);
    return negative ? static_cast<uint64_t>(0) - *v : *v;
}

} // namespace

bool Server::is_introduced(DomId domid) const
{
    if (domid == 0)
        return true;
    auto it = m_domains.find(domid);
    return it != m_domains.end() && it->second.introduced;
}

std::vector<Change> Server::do_introduce(DomId domid, uint64_t mfn, uint32_t evtchn)
{
    DomainInfo& info = m_domains[domid];
    info.mfn = mfn;
    info.evtchn = evtchn;
    if (info.introduced)
        return {};
    info.introduced = true;
    info.release_fired = false;
    return { special_change(kIntroduceDomainPath) };
}

std::vector<Change> Server::do_release(DomId domid)
{
    if (auto it = m_domains.find(domid); it != m_domains.end())
        it->second.introduced = false;
    drop_domain_state(domid);
    return { special_change(kReleaseDomainPath) };
}

// "<domid>\0<mfn>\0<evtchn>\0" and possibly a reserved argument.
Server::Reply Server::op_introduce(Connection& conn, const Message& req)
{
    TRY(need_privilege(caller_for(conn.domid), req));
    auto args = TRY(args_between(req, 3, 4));
    DomId domid = TRY(parse_guest_domid(args[0]));
    uint64_t mfn = TRY(parse_mfn(args[1]));
    auto evtchn = parse_decimal(args[2], UINT32_MAX);
    if (!evtchn)
        return fail(EINVAL, "'{}' is not an event channel", args[2]);
    for (auto& c : do_introduce(domid, mfn, static_cast<uint32_t>(*evtchn)))
        m_pending_changes.push_back(std::move(c));
    return kOkPayload;
}

Server::Reply Server::op_release(Connection& conn, const Message& req)
{
    TRY(need_privilege(caller_for(conn.domid), req));
    auto args = TRY(args_between(req, 1, 1));
    DomId domid = TRY(parse_guest_domid(args[0]));
    if (!is_introduced(domid))
        return fail(ENOENT, "domain {} is not introduced", domid);
    for (auto& c : do_release(domid))
        m_pending_changes.push_back(std::move(c));
    return kOkPayload;
}

Server::Reply Server::op_is_domain_introduced(Connection&, const Message& req)
{
    auto args = TRY(args_between(req, 1, 1));
    DomId domid = TRY(parse_domid(args[0]));
    return std::string(is_introduced(domid) ? "T" : "F", 2);
}

Server::Reply Server::op_resume(Connection& conn, const Message& req)
{
    TRY(need_privilege(caller_for(conn.domid), req));
    auto args = TRY(args_between(req, 1, 1));
    DomId domid = TRY(parse_guest_domid(args[0]));
    if (!is_introduced(domid))
        return fail(ENOENT, "domain {} is not introduced", domid);
    m_domains[domid].release_fired = false;
    return kOkPayload;
}

// "<domid>\0<target domid>\0": <domid> acts with <target>'s rights.
Server::Reply Server::op_set_target(Connection& conn, const Message& req)
{
    TRY(need_privilege(caller_for(conn.domid), req));
    auto args = TRY(args_between(req, 2, 2));
    DomId domid = TRY(parse_guest_domid(args[0]));
    DomId target = TRY(parse_guest_domid(args[1]));
    if (!is_introduced(domid))
        return fail(ENOENT, "domain {} is not introduced", domid);
    m_domains[domid].target = target;
    return kOkPayload;
}

Server::Reply Server::op_get_domain_path(Connection&, const Message& req)
{
    auto args = TRY(args_between(req, 1, 1));
    DomId domid = TRY(parse_domid(args[0]));
    std::string out = home_path(domid);
    out.push_back('\0');
    return out;
}

// Minimal: "help", "print\0<text>", "quota".
Server::Reply Server::op_control(Connection& conn, const Message& req)
{
    TRY(need_privilege(caller_for(conn.domid), req));
    auto args = TRY(args_between(req, 1, 8));
    std::string out;
    if (args[0] == "help") {
        out = "help\nprint\nquota\n";
    } else if (args[0] == "print" && args.size() == 2) {
        log::get("xenstore")->info("control print: {}", args[1]);
        return kOkPayload;
    } else if (args[0] == "quota" && args.size() == 1) {
        out = fmt::format("entries {}\nwatches {}\ntransactions {}\nnode-size {}\nperms {}\n"
                          "transaction-nodes {}\npath-length {}\n",
                          m_quota.max_entries_per_domain, m_quota.max_watches_per_domain,
                          m_quota.max_transactions_per_domain, m_quota.max_node_size,
                          m_quota.max_perms_per_node, m_quota.max_transaction_nodes,
                          m_quota.max_path_length);
    } else {
        return fail(EINVAL, "unknown control command");
    }
    out.push_back('\0');
    return out;
}

Status Server::introduce_domain(DomId domid, uint64_t mfn, uint32_t evtchn)
{
    TRY(check_guest_domid(domid));
    fire(do_introduce(domid, mfn, evtchn));
    return {};
}

Status Server::release_domain(DomId domid)
{
    TRY(check_guest_domid(domid));
    if (!is_introduced(domid))
        return fail(ENOENT, "domain {} is not introduced", domid);
    fire(do_release(domid));
    return {};
}

void Server::domain_shutdown(DomId domid)
{
    auto it = m_domains.find(domid);
    if (it == m_domains.end() || !it->second.introduced || it->second.release_fired)
        return;
    it->second.release_fired = true;
    fire({ special_change(kReleaseDomainPath) });
}

Status Server::destroy_domain(DomId domid)
{
    TRY(check_guest_domid(domid));
    Caller dom0 { 0, true, std::nullopt };
    std::vector<Change> changes;
    std::string home = home_path(domid);
    if (m_store.find(home))
        changes = TRY(xenstore::op_rm(OpContext { m_store, dom0, m_quota }, home));
    drop_domain_state(domid);
    m_domains.erase(domid);
    changes.push_back(special_change(kReleaseDomainPath));
    fire(changes);
    return {};
}

Status Server::create_domain_tree(DomId domid, std::string_view name)
{
    TRY(check_guest_domid(domid));
    if (m_quota.max_total_bytes != 0 && memory_used() >= m_quota.max_total_bytes)
        return fail(ENOSPC, "xenstore holds {} MiB, at the daemon's memory cap of {} MiB: destroy a domain or "
                    "start xkvmd with a larger --xenstore-cap-mib", memory_used() >> 20, m_quota.max_total_bytes >> 20);
    Caller dom0 { 0, true, std::nullopt };
    OpContext ctx { m_store, dom0, m_quota };
    const std::string home = home_path(domid);
    const Perms readable { Perm { 0, kAccessNone }, Perm { domid, kAccessRead } };
    const Perms guest_owned { Perm { domid, kAccessNone } };
    std::vector<Change> changes;
    auto keep = [&](std::vector<Change> more) {
        for (auto& c : more)
            changes.push_back(std::move(c));
    };
    auto at = [&](std::string_view rel) { return join_path(home, rel); };

    if (m_store.find(home))
        keep(TRY(xenstore::op_rm(ctx, home)));
    keep(TRY(xenstore::op_mkdir(ctx, home)));
    keep(TRY(xenstore::op_set_perms(ctx, home, readable)));
    keep(TRY(xenstore::op_write(ctx, at("domid"), std::to_string(domid))));
    keep(TRY(xenstore::op_write(ctx, at("name"), name)));
    for (auto dir : { "cpu", "memory", "device", "control" })
        keep(TRY(xenstore::op_mkdir(ctx, at(dir))));
    keep(TRY(xenstore::op_write(ctx, at("control/platform-feature-xs_reset_watches"), "1")));
    keep(TRY(xenstore::op_write(ctx, at("control/platform-feature-multiprocessor-suspend"), "1")));
    for (auto dir : { "control/shutdown", "control/feature-poweroff", "control/feature-reboot",
                      "control/feature-suspend", "control/sysrq", "device/suspend/event-channel",
                      "data", "drivers", "feature", "attr", "error" }) {
        keep(TRY(xenstore::op_mkdir(ctx, at(dir))));
        keep(TRY(xenstore::op_set_perms(ctx, at(dir), guest_owned)));
    }
    fire(changes);
    return {};
}

} // namespace xkvm::xenstore
