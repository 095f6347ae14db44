/* Elapsed time from the TSC, for timeouts. The TSC rate comes from Xen's CPUID time leaf when there is
 * one, else from the architectural CPUID leaves, else a guess. */
#include "guest/guest.h"

static uint32_t tsc_mhz;

static uint32_t detect_tsc_khz(void)
{
    if (xen_info.present && xen_info.cpuid_max_leaf >= xen_info.cpuid_base + 3) {
        uint32_t khz = cpuid(xen_info.cpuid_base + 3, 0).ecx;
        if (khz)
            return khz;
    }
    uint32_t max_basic = cpuid(0, 0).eax;
    if (max_basic >= 0x15) {
        struct cpuid_regs r = cpuid(0x15, 0); /* TSC = crystal * ebx / eax */
        if (r.eax && r.ebx && r.ecx)
            return (uint32_t)((uint64_t)r.ecx * r.ebx / r.eax / 1000);
    }
    if (max_basic >= 0x16) {
        uint32_t mhz = cpuid(0x16, 0).eax & 0xffff;
        if (mhz)
            return mhz * 1000;
    }
    return 2000000; /* 2 GHz: good enough to bound a timeout */
}

uint32_t guest_tsc_khz(void)
{
    if (!tsc_mhz) {
        uint32_t mhz = detect_tsc_khz() / 1000;
        tsc_mhz = mhz ? mhz : 1;
    }
    return tsc_mhz * 1000;
}

uint64_t guest_time_us(void)
{
    uint32_t rem;
    guest_tsc_khz();
    return div_u64_rem(rdtsc(), tsc_mhz, &rem);
}

void guest_udelay(uint64_t us)
{
    uint64_t end = guest_time_us() + us;
    while (guest_time_us() < end)
        cpu_relax();
}
