// Fuzzes the VMM's glue between a guest's xenstore ring and xkvmd: vmm::XenstoreLink reading the
// ring page a hostile guest writes, vmm::DaemonXenstore queueing requests as frames and keeping the
// session a restarted daemon gets back, and a real xenstore::Server as the daemon's store answering
// them (or a hostile daemon sending any frame). Daemons die and come back mid-conversation.
//
// What must hold, besides no crash and no sanitizer report:
//   - memory stays bounded: the frames queued for the daemon, the session's recorded requests and
//     bytes, and the guest's nodes in the daemon's store (entries and bytes within its quota);
//   - log volume stays bounded: a guest can make the VMM log only a burst per rate limiter, however
//     it breaks its ring (counted per input through base/log_capture.h);
//   - every frame the glue sends the daemon is one well-formed xenstore message or the reset event.
#include "fuzz_input.h"
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "counted_log.h"
#include "base/rate_limit.h"
#include "ipc/json_message.h"
#include "vmm/daemon_xenstore.h"
#include "vmm/xenstore_link.h"
#include "xenstore/server.h"
#include "xenstore/store.h"

using namespace xkvm;
using fuzz::check;
using fuzz::Input;
using namespace xkvm::xenstore;

namespace {

constexpr uint16_t kDomid = 3;
constexpr ConnId kConn = 7;
constexpr unsigned kMaxRestarts = 4;
constexpr unsigned kMaxSteps = 1024;



// The domain's tree as the toolstack makes it, built once: every daemon (each input's, each
// restart's) starts from a copy, as building it each time cost more than most inputs' steps.
const Store& initial_tree(const Quota& quota)
{
    struct NoWatches final : MessageSink {
        void deliver(ConnId, const Message&) override { check(false); }
    };
    static NoWatches sink;
    static Server server(sink, quota);
    static const bool built = server.create_domain_tree(kDomid, "guest").has_value();
    check(built);
    return server.store();
}

// The daemon's store for this domain; what it answers is held until the daemon's loop sends it.
class Daemon final : public MessageSink {
public:
    Daemon() : server(*this, small_quota(), initial_tree(small_quota()))
    {
        check(server.introduce_domain(kDomid).has_value());
        check(server.open_connection(kConn, kDomid).has_value());
    }
    void deliver(ConnId conn, const Message& msg) override
    {
        check(conn == kConn);
        if (to_vmm.size() < 4096) // the daemon's channel caps what it queues for a VMM
            to_vmm.push_back(msg);
    }
    static Quota small_quota()
    {
        Quota q;
        q.max_entries_per_domain = 48;
        q.max_watches_per_domain = 8;
        q.max_transactions_per_domain = 3;
        q.max_transaction_nodes = 32;
        return q;
    }
    // The guest's nodes: no more than its quota of entries, none larger than a node may be.
    void check_bounds() const
    {
        const Quota& q = server.quota();
        check(server.store().entries_owned(kDomid) <= static_cast<int64_t>(q.max_entries_per_domain));
        check(server.watch_count(kDomid) <= q.max_watches_per_domain);
        check(server.transaction_count(kDomid) <= q.max_transactions_per_domain);
    }

    Server server;
    std::vector<Message> to_vmm;
};

struct Run {
    alignas(4096) std::array<uint8_t, 4096> page {};
    RingInterface& ring() { return *reinterpret_cast<RingInterface*>(page.data()); }
    std::unique_ptr<vmm::XenstoreLink> link;
    std::unique_ptr<vmm::DaemonXenstore> glue;
    std::unique_ptr<Daemon> daemon = std::make_unique<Daemon>();
    unsigned restarts = 0;
    uint64_t notifies = 0;
};

// The guest puts bytes on its request ring, honestly (indices follow) or not.
void guest_produce(Input& in, Run& run)
{
    auto& r = run.ring();
    auto bytes = in.bytes(in.u16() % 1200);
    for (uint8_t b : bytes) {
        if (r.req_prod - r.req_cons >= kRingSize)
            break;
        r.req[r.req_prod % kRingSize] = static_cast<char>(b);
        r.req_prod++;
    }
}

// A request the store will understand, so that sessions fill with nodes, watches and transactions.
void guest_request(Input& in, Run& run)
{
    static constexpr const char* kPaths[] = { "data/a", "data/b/c", "/local/domain/3/data/x", "control/shutdown",
                                              "@introduceDomain", "data" };
    std::string payload = kPaths[in.u8() % 6];
    payload.push_back('\0');
    auto tail = in.bytes(in.u8());
    payload.append(tail.begin(), tail.end());
    Message m { static_cast<uint32_t>(in.u8() % 26), in.u32(), in.u8() % 4u, std::move(payload) };
    auto encoded = m.encode();
    auto& r = run.ring();
    if (r.req_prod - r.req_cons + encoded.size() > kRingSize)
        return;
    for (uint8_t b : encoded)
        r.req[r.req_prod++ % kRingSize] = static_cast<char>(b);
}

// The daemon's loop: takes what the VMM sent, runs it through the store, sends the answers back.
void daemon_turn(Input& in, Run& run)
{
    auto frames = run.glue->take_outgoing(*run.link);
    check(frames.size() <= vmm::DaemonXenstore::kMaxQueued + vmm::XenstoreSession::kMaxInFlight + 3);
    for (auto& f : frames) {
        if (f.kind == ipc::FrameKind::Json) {
            auto j = ipc::parse_json(f);
            check(j.has_value() && j->value("event", "") == "xs-reset");
            run.daemon->server.reset_connection(kConn);
            continue;
        }
        check(f.kind == ipc::FrameKind::Xenstore);
        auto bytes = std::span(reinterpret_cast<const uint8_t*>(f.payload.data()), f.payload.size());
        check(decode_message(bytes).has_value());
        (void)run.daemon->server.handle_bytes(kConn, bytes);
    }
    size_t answer = in.u8() % 64;
    auto& out = run.daemon->to_vmm;
    size_t n = std::min(answer, out.size());
    for (size_t i = 0; i < n; ++i) {
        auto bytes = out[i].encode();
        (void)run.glue->deliver(*run.link, ipc::Frame::make(ipc::FrameKind::Xenstore, std::string(bytes.begin(), bytes.end())));
    }
    out.erase(out.begin(), out.begin() + static_cast<ptrdiff_t>(n));
}

// xkvmd died and a new one came: the store starts over, the session is replayed into it.
void daemon_restart(Run& run)
{
    if (run.restarts++ >= kMaxRestarts)
        return;
    run.daemon = std::make_unique<Daemon>();
    run.glue->requeue_for_new_daemon(*run.link);
}

void step(Input& in, Run& run)
{
    auto& r = run.ring();
    switch (in.u8() % 10) {
    case 0: guest_produce(in, run); break;
    case 1: guest_request(in, run); break;
    case 2: run.link->guest_notified(); break;
    case 3: daemon_turn(in, run); break;
    case 4: r.rsp_cons = (in.u8() & 1) ? r.rsp_prod : r.rsp_cons + in.u16() % 1100; break;
    case 5: { // a scribble anywhere on the page: indices, connection state, error, features
        uint16_t at = in.u16() % 4096;
        auto bytes = in.bytes(in.u8() % 16);
        std::memcpy(run.page.data() + at, bytes.data(), std::min<size_t>(bytes.size(), 4096 - at));
        break;
    }
    case 6: r.connection = kReconnect; break;
    case 7: daemon_restart(run); break;
    case 8: { // a hostile or broken daemon: any bytes as a xenstore frame
        auto bytes = in.bytes(in.u16() % 4200);
        (void)run.glue->deliver(*run.link, ipc::Frame::make(ipc::FrameKind::Xenstore, std::string(bytes.begin(), bytes.end())));
        break;
    }
    case 9: r.req_prod += in.u16(); break;
    }
}

void check_bounds(const Run& run)
{
    const auto& s = run.glue->session();
    check(s.in_flight() <= vmm::XenstoreSession::kMaxInFlight);
    check(s.recorded_bytes() <= vmm::XenstoreSession::kMaxRecordedBytes);
    run.daemon->check_bounds();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    // The loggers a guest can reach here (a broken ring's warnings among them).
    static log::LogCapture& xenstore_log = fuzz::counted_log("xenstore");
    static log::LogCapture& vmm_log = fuzz::counted_log("vmm");
    uint64_t lines_before = xenstore_log.lines() + vmm_log.lines();
    Input in(data, size);
    Run run;
    auto link = vmm::XenstoreLink::create(run.page.data(), [&run] { ++run.notifies; });
    auto glue = vmm::DaemonXenstore::create(kDomid);
    check(link.has_value() && glue.has_value());
    run.link = link.release_value();
    run.glue = glue.release_value();
    run.link->set_backend(run.glue.get());
    for (unsigned steps = 0; !in.empty() && steps < kMaxSteps; ++steps) {
        step(in, run);
        check_bounds(run);
    }
    // Rate-limited warnings: the link's and the ring's (a burst each, a window of a second may
    // straddle the input), the store's per daemon, plus one-off notes (flood, oversized session).
    uint64_t cap = RateLimiter::kDefaultBurst * (4 + 2 * (run.restarts + 1)) + 2 + run.restarts;
    check(xenstore_log.lines() + vmm_log.lines() - lines_before <= cap);
    return 0;
}
