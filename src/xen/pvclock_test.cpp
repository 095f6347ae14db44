#include <gtest/gtest.h>

#include "xen/abi/xen.h"
#include "xen/pvclock.h"

using namespace xkvm::xen;

// Xen 4.19: xen/arch/x86/time.c, set_time_scale (tsc_to_system_mul, tsc_shift).
TEST(PvClock, ScaleIsPreciseForCommonFrequencies)
{
    for (uint32_t khz : { 1'000'000u, 2'100'000u, 2'995'200u, 3'700'000u, 100'000u, 5'000'000u }) {
        ClockParams p = clock_params_for(khz, true);
        ASSERT_NE(p.mul, 0u) << khz;
        // One second of ticks is one second of ns, within a few ns.
        uint64_t ticks = uint64_t(khz) * 1000;
        int64_t err = int64_t(ticks_to_ns(ticks, p)) - 1'000'000'000;
        EXPECT_LE(std::abs(err), 4) << "khz " << khz << " shift " << int(p.shift) << " mul " << p.mul;
        // An hour, too (no overflow on the way).
        EXPECT_NEAR(double(ticks_to_ns(ticks * 3600, p)), 3600e9, 3600 * 4.0);
    }
    EXPECT_EQ(clock_params_for(0, false).mul, 0u);
}

// Xen 4.19: xen/arch/x86/time.c, __update_vcpu_system_time (odd version while writing);
// public/xen.h.
TEST(PvClock, RecordFollowsTheSeqlockAndFlags)
{
    vcpu_info vi {};
    ClockParams p = clock_params_for(2'000'000, true);
    write_vcpu_time(reinterpret_cast<uint8_t*>(&vi), 1234, 5678, p);
    EXPECT_EQ(vi.time.version, 2u);
    EXPECT_EQ(vi.time.tsc_timestamp, 1234u);
    EXPECT_EQ(vi.time.system_time, 5678u);
    EXPECT_EQ(vi.time.tsc_to_system_mul, p.mul);
    EXPECT_EQ(vi.time.tsc_shift, p.shift);
    EXPECT_EQ(vi.time.flags, XEN_PVCLOCK_TSC_STABLE_BIT);
    write_vcpu_time(reinterpret_cast<uint8_t*>(&vi), 1, 2, clock_params_for(2'000'000, false));
    EXPECT_EQ(vi.time.version, 4u);
    EXPECT_EQ(vi.time.flags, 0);
}
