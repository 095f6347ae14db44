#include "xen/pvclock.h"

#include <cstddef>

#include "xen/abi/xen.h"

namespace xkvm::xen {

namespace {

unsigned __int128 scale_mul(uint32_t tsc_khz, int shift)
{
    // mul = 2^32 * (ns per tick) / 2^shift, with ns per tick = 1e6 / tsc_khz.
    unsigned __int128 num = static_cast<unsigned __int128>(1'000'000) << 32;
    unsigned __int128 den = tsc_khz;
    if (shift >= 0)
        den <<= shift;
    else
        num <<= -shift;
    return num / den;
}

} // namespace

ClockParams clock_params_for(uint32_t tsc_khz, bool tsc_stable)
{
    ClockParams p;
    p.tsc_khz = tsc_khz;
    p.tsc_stable = tsc_stable;
    if (tsc_khz == 0)
        return p;
    // The smallest shift whose multiplier still fits in 32 bits keeps the most precision.
    for (int shift = -31; shift <= 31; ++shift) {
        unsigned __int128 mul = scale_mul(tsc_khz, shift);
        if (mul <= 0xffffffffu) {
            p.mul = static_cast<uint32_t>(mul);
            p.shift = static_cast<int8_t>(shift);
            return p;
        }
    }
    return p;
}

uint64_t ticks_to_ns(uint64_t ticks, const ClockParams& p)
{
    unsigned __int128 t = ticks;
    if (p.shift >= 0)
        t <<= p.shift;
    else
        t >>= -p.shift;
    return static_cast<uint64_t>((t * p.mul) >> 32);
}

void write_vcpu_time(uint8_t* vi, uint64_t tsc_timestamp, uint64_t system_time_ns, const ClockParams& p)
{
    auto* t = reinterpret_cast<vcpu_time_info*>(vi + offsetof(vcpu_info, time));
    __atomic_fetch_add(&t->version, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&t->tsc_timestamp, tsc_timestamp, __ATOMIC_RELAXED);
    __atomic_store_n(&t->system_time, system_time_ns, __ATOMIC_RELAXED);
    __atomic_store_n(&t->tsc_to_system_mul, p.mul, __ATOMIC_RELAXED);
    __atomic_store_n(&t->tsc_shift, p.shift, __ATOMIC_RELAXED);
    __atomic_store_n(&t->flags, static_cast<uint8_t>(p.tsc_stable ? XEN_PVCLOCK_TSC_STABLE_BIT : 0), __ATOMIC_RELAXED);
    __atomic_fetch_add(&t->version, 1, __ATOMIC_SEQ_CST);
}

} // namespace xkvm::xen
