// Fuzzes the xenstore protocol engine with requests from dom0 and three guests, mixed with
// toolstack calls, checking after every step that each request got exactly one well-formed reply
// and that the tree is consistent (every listed child exists, nothing is orphaned, ownership
// counts match). Bounds, not only correctness:
//   - memory: a guest's request never takes any guest past its entry quota (dom0 may give a guest
//     more, never the guest itself), and while only guests act the store grows by at most what
//     their requests may create or commit, each node within the node quota (no amplification);
//   - log volume: the whole input logs at most a burst per rate limiter (base/log_capture.h).
#include "fuzz_input.h"
#include <array>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "counted_log.h"
#include "base/rate_limit.h"
#include "xenstore/path.h"
#include "xenstore/server.h"
#include "xenstore/store.h"

using namespace xkvm;
using fuzz::check;
using fuzz::Input;
using namespace xkvm::xenstore;

namespace {



class CheckingSink final : public MessageSink {
public:
    void deliver(ConnId conn, const Message& msg) override
    {
        check(msg.payload.size() <= kPayloadMax);
        if (msg.msg_type() == MsgType::WatchEvent) {
            auto parts = split_strings(msg.payload);
            check(parts && parts->size() == 2 && msg.req_id == 0);
        } else {
            replies.push_back({ conn, msg.type, msg.req_id, msg.tx_id });
        }
        if (msg.msg_type() == MsgType::Error)
            check(!msg.payload.empty() && msg.payload.back() == '\0'
                  && error_from_name(msg.payload.c_str()).has_value());
    }
    // A reply's header: what the steps check once its payload has been checked here (copying
    // payloads of up to 4 KiB for every reply cost more than checking them).
    struct Delivered {
        ConnId conn;
        uint32_t type, req_id, tx_id;
        MsgType msg_type() const { return static_cast<MsgType>(type); }
    };
    std::vector<Delivered> replies;
};

// Returns the bytes of every node record in the tree.
size_t check_tree(const Store& store)
{
    std::map<DomId, int64_t> owned;
    size_t seen = 0, bytes = 0;
    std::vector<std::string> pending { "/" };
    while (!pending.empty()) {
        std::string path = std::move(pending.back());
        pending.pop_back();
        const Node* node = store.find(path);
        check(node != nullptr && !node->perms.empty());
        seen++;
        owned[node->perms[0].domid]++;
        bytes += node_record_size(*node);
        check(seen <= store.node_count());
        for (const auto& child : node->children)
            pending.push_back(join_path(path, child));
    }
    check(seen == store.node_count());
    for (auto [domid, count] : owned)
        check(store.entries_owned(domid) == count);
    return bytes;
}

std::array<int64_t, 4> guest_entries(const Server& server)
{
    std::array<int64_t, 4> e {};
    for (DomId d = 1; d < 4; ++d)
        e[d] = server.store().entries_owned(d);
    return e;
}

// After a guest's request that changed the store: no guest went past its quota by it.
void check_guest_entries(const Server& server, const std::array<int64_t, 4>& was, const Quota& quota)
{
    auto now = guest_entries(server);
    for (DomId d = 1; d < 4; ++d)
        check(now[d] <= std::max<int64_t>(quota.max_entries_per_domain, was[d]));
}

// Bytes the store may grow by through one guest request: the nodes it creates or (committing a
// transaction) touches, each within the node quota, plus their names in their parents.
size_t guest_growth_bound(const Quota& quota)
{
    return 2 * (size_t(quota.max_transaction_nodes) + 1) * quota.max_node_size;
}

bool mutates(uint32_t type)
{
    switch (static_cast<MsgType>(type)) {
    case MsgType::Write: case MsgType::Mkdir: case MsgType::SetPerms: case MsgType::TransactionEnd: return true;
    default: return false;
    }
}

constexpr ConnId kConns[] = { 10, 11, 12, 13 };
constexpr DomId kDoms[] = { 0, 1, 2, 3 };

Quota fuzz_quota()
{
    Quota quota;
    quota.max_entries_per_domain = 64;
    quota.max_watches_per_domain = 8;
    quota.max_transactions_per_domain = 3;
    quota.max_transaction_nodes = 64;
    return quota;
}

// Domain 1's tree, which every input starts from: built once and copied, as building it for every
// input cost more than most inputs' requests.
const Store& initial_tree()
{
    static CheckingSink sink;
    static Server server(sink, fuzz_quota());
    static const bool built = server.create_domain_tree(1, "one").has_value();
    check(built);
    return server.store();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    static log::LogCapture& log_lines = fuzz::counted_log("xenstore");
    uint64_t lines_before = log_lines.lines();
    Input in(data, size);
    CheckingSink sink;
    const Quota quota = fuzz_quota();
    Server server(sink, quota, initial_tree());
    for (int i = 0; i < 4; i++)
        check(server.open_connection(kConns[i], kDoms[i]).has_value());

    // Steps since the last tree walk: when only guests acted, the store grew within their bound.
    struct Window {
        size_t bytes = 0;
        bool only_guests = true;
        size_t guest_requests = 0;
    } window { check_tree(server.store()) };
    uint32_t req_id = 0;
    for (int steps = 0; !in.empty() && steps < 512; steps++) {
        uint8_t op = in.u8();
        size_t which = in.u8() % 4;
        ConnId conn = kConns[which];
        sink.replies.clear();
        if (op < 200) {
            Message req;
            req.type = in.u8() % 25;
            uint8_t tx = in.u8();
            req.tx_id = tx < 192 ? 0 : tx - 192;
            req.req_id = ++req_id;
            req.payload = in.text(in.u16() % 4200);
            bool guest_change = which != 0 && mutates(req.type);
            auto was = guest_change ? guest_entries(server) : std::array<int64_t, 4> {};
            auto st = server.handle(conn, req);
            if (guest_change)
                check_guest_entries(server, was, quota);
            if (which == 0)
                window.only_guests = false;
            else
                ++window.guest_requests;
            if (st.has_value()) {
                check(sink.replies.size() == 1);
                check(sink.replies[0].conn == conn && sink.replies[0].req_id == req.req_id
                      && sink.replies[0].tx_id == req.tx_id);
                check(sink.replies[0].type == req.type || sink.replies[0].msg_type() == MsgType::Error);
            } else {
                check(sink.replies.empty());
            }
        } else if (op < 210) {
            std::string raw = in.text(in.u16() % 4200);
            window.only_guests &= which != 0;
            window.guest_requests++;
            auto st = server.handle_bytes(conn, std::span(reinterpret_cast<const uint8_t*>(raw.data()), raw.size()));
            check(!st.has_value() || sink.replies.size() == 1);
        } else {
            DomId domid = static_cast<DomId>(1 + in.u8() % 4);
            window.only_guests = false; // the toolstack may give a domain anything
            switch (op % 8) {
            case 0: (void)server.create_domain_tree(domid, "fuzz"); break;
            case 1: (void)server.destroy_domain(domid); break;
            case 2: (void)server.introduce_domain(domid); break;
            case 3: (void)server.release_domain(domid); break;
            case 4: server.domain_shutdown(domid); break;
            case 5: server.reset_connection(conn); break;
            case 6:
                server.close_connection(conn);
                check(server.open_connection(conn, kDoms[which]).has_value());
                break;
            case 7: check(server.transaction_count(kDoms[which]) <= 1000); break;
            }
            check(sink.replies.empty());
        }
        for (DomId d : kDoms) {
            if (d == 0)
                continue;
            check(server.watch_count(d) <= quota.max_watches_per_domain);
            check(server.transaction_count(d) <= quota.max_transactions_per_domain);
        }
        if (steps % 8 == 7) {
            size_t bytes = check_tree(server.store());
            if (window.only_guests)
                check(bytes <= window.bytes + window.guest_requests * guest_growth_bound(quota));
            window = Window { bytes };
        }
    }
    check_tree(server.store());
    // The store's warnings about events it could not deliver: one burst per window, and an input
    // may straddle two windows.
    check(log_lines.lines() - lines_before <= 2 * xkvm::RateLimiter::kDefaultBurst);
    return 0;
}
