// The PV clock: how TSC ticks become nanoseconds of system time, and the vcpu_time_info record the
// guest reads. All vCPUs share one TSC (the VMM gives them the same offset) and the host TSC is
// invariant, so one record per vCPU, written once, stays right: it carries the TSC-stable flag.
#pragma once

#include <cstdint>

namespace xkvm::xen {

struct ClockParams {
    uint32_t tsc_khz = 0;
    uint32_t mul = 0;  // ns = ((ticks shifted by `shift`) * mul) >> 32
    int8_t shift = 0;
    bool tsc_stable = false;
};

// The most precise (mul, shift) for a TSC running at `tsc_khz`.
ClockParams clock_params_for(uint32_t tsc_khz, bool tsc_stable);

// Ticks to ns with the guest's formula, without losing bits on the way (128-bit intermediate).
uint64_t ticks_to_ns(uint64_t ticks, const ClockParams& p);

// Rewrite the time record inside a vcpu_info (`vcpu_info` is its host address) following the
// ABI's seqlock: version odd while updating, even afterwards.
void write_vcpu_time(uint8_t* vcpu_info, uint64_t tsc_timestamp, uint64_t system_time_ns, const ClockParams& p);

} // namespace xkvm::xen
