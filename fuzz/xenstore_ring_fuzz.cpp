// Fuzzes RingConnection as a hostile guest would drive it: honest and dishonest producers,
// indices set to anything, reconnect requests, scribbles on the server's own fields. Bounds, not
// only correctness: replies waiting for room never exceed max_pending_output bytes, a poll never
// consumes more than the ring holds, and however broken the ring, the input logs at most a burst
// of the ring's rate-limited warnings (counted through base/log_capture.h).
#include "fuzz_input.h"
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "base/log_capture.h"
#include "base/rate_limit.h"
#include "xenstore/ring.h"

using namespace xkvm::xenstore;

using xkvm::fuzz::check;
using xkvm::fuzz::Input;

namespace {



} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    static xkvm::log::LogCapture log_lines("xenstore");
    uint64_t lines_before = log_lines.lines();
    Input in(data, size);
    alignas(4096) static std::array<std::byte, 4096> page;
    page.fill(std::byte { 0 });
    auto& intf = *reinterpret_cast<RingInterface*>(page.data());

    RingOptions opts;
    opts.features = in.u8() & (kFeatureReconnection | kFeatureError);
    opts.max_pending_output = 64 + in.u16();
    intf.req_cons = intf.req_prod = in.u32();
    intf.rsp_cons = intf.rsp_prod = in.u32();

    auto created = RingConnection::create(std::span(page.data(), page.size()), opts);
    check(created.has_value());
    RingConnection ring = created.release_value();
    std::vector<Message> got;

    for (int steps = 0; !in.empty() && steps < 4096; steps++) {
        switch (in.u8() % 9) {
        case 0: { // honest producer
            auto bytes = in.bytes(in.u16() % 1500);
            for (uint8_t b : bytes) {
                if (intf.req_prod - intf.req_cons >= kRingSize)
                    break;
                intf.req[intf.req_prod % kRingSize] = static_cast<char>(b);
                intf.req_prod++;
            }
            break;
        }
        case 1: intf.req_prod = in.u32(); break;
        case 2: intf.req_prod += in.u16() % 2048; break;
        case 3: {
            got.clear();
            RingPoll poll = ring.read_requests(got, 1 + in.u8() % 8);
            check(poll.messages == got.size());
            check(poll.bytes_consumed <= kRingSize);
            for (const auto& m : got)
                check(m.payload.size() <= kPayloadMax);
            if (poll.status == RingStatus::Broken)
                check(ring.broken());
            break;
        }
        case 4: {
            Message m { in.u8(), in.u32(), 0, {} };
            m.payload.resize(in.u16() % (kPayloadMax + 64), 'r');
            auto st = ring.queue_response(m);
            if (m.payload.size() > kPayloadMax)
                check(!st.has_value());
            check(ring.pending_output() <= opts.max_pending_output);
            break;
        }
        case 5: {
            size_t before = ring.pending_output();
            size_t n = ring.flush_responses();
            check(n <= kRingSize && n <= before);
            check(ring.pending_output() == before - n);
            if (in.u8() & 1)
                intf.rsp_cons = intf.rsp_prod; // the guest drains
            break;
        }
        case 6: intf.rsp_cons = in.u32(); break;
        case 7:
            intf.connection = in.u8() & 1 ? kReconnect : kConnected;
            if (ring.reconnect_requested() && (in.u8() & 1)) {
                ring.complete_reconnect();
                check(!ring.broken() && ring.pending_output() == 0 && intf.connection == kConnected);
            }
            break;
        case 8: // scribbles on fields the guest must not write
            intf.req_cons = in.u32();
            intf.rsp_prod = in.u32();
            intf.error = in.u32();
            intf.server_features = in.u32();
            break;
        }
    }
    // One window's burst, or two when the input straddles a window.
    check(log_lines.lines() - lines_before <= 2 * xkvm::RateLimiter::kDefaultBurst);
    return 0;
}
