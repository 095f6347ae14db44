// A monitor's side of the vm_event ring and slots, written by the fuzzer: the response producer,
// the entries and the slot states are arbitrary bytes, as a hostile or broken monitor may leave
// them. The VMM's fronts and the response decoder must never read outside the areas, never take
// more responses than requests in flight, and never loop without end.
#include "fuzz_input.h"
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "vmevent/event_codec.h"
#include "vmevent/ring.h"
#include "vmevent/slots.h"

using namespace xkvm;
using namespace xkvm::vmevent;

using xkvm::fuzz::check;

namespace {

constexpr uint32_t kVcpus = 4;


} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size < 2)
        return 0;
    // The ring: one page, filled from the input after a few requests are in flight.
    alignas(8) static std::byte ring_page[4096];
    alignas(8) static std::byte slot_page[4096];
    std::memset(ring_page, 0, sizeof(ring_page));
    RingFront front({ ring_page, sizeof(ring_page) });
    SlotsFront slots({ slot_page, sizeof(slot_page) }, kVcpus);
    uint32_t requests = data[0] % (front.size() + 1);
    Event request {};
    for (uint32_t i = 0; i < requests; ++i)
        check(front.put_request(request));
    for (uint32_t v = 0; v < kVcpus; ++v)
        if (data[1] & (1u << v))
            check(slots.submit(v, request));
    size_t n = std::min(size - 2, sizeof(ring_page));
    std::memcpy(ring_page, data + 2, n);
    if (size - 2 > sizeof(ring_page))
        std::memcpy(slot_page, data + 2 + sizeof(ring_page), std::min(size - 2 - sizeof(ring_page), sizeof(slot_page)));

    uint32_t taken = 0;
    Event rsp;
    for (;;) {
        auto r = front.take_response(rsp);
        if (!r || !*r)
            break;
        ++taken;
        check(taken <= requests);
        if (auto a = decode_response(rsp, kVcpus))
            check(a->vcpu < kVcpus);
    }
    check(front.in_flight() == requests - taken);
    for (uint32_t v = 0; v < kVcpus; ++v)
        if (slots.take_response(v, rsp)) {
            check(data[1] & (1u << v));
            (void)decode_response(rsp, kVcpus);
        }
    return 0;
}
