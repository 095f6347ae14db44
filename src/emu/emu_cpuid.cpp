// The CPUID leaves the emulated CPU answers with. Only what the interpreter implements is announced:
// a guest that tests a feature bit must be able to rely on it.
#include <chrono>
#include <cstring>
#include <ctime>
#include <x86intrin.h>

#include "emu/emu_hypervisor.h"

namespace xkvm::emu {

namespace {

constexpr uint32_t bit(unsigned n) { return 1u << n; }

// Leaf 1 EDX: PSE TSC MSR PAE CX8 APIC SEP PGE CMOV PAT CLFSH; DE (debug extensions) too.
constexpr uint32_t kLeaf1Edx = bit(2) | bit(3) | bit(4) | bit(5) | bit(6) | bit(8) | bit(9) | bit(11) | bit(13)
    | bit(15) | bit(16) | bit(19);
// Leaf 1 ECX: CX16, x2APIC, POPCNT, TSC-deadline.
constexpr uint32_t kLeaf1Ecx = bit(13) | bit(21) | bit(23) | bit(24);
// 0x80000001 EDX: SYSCALL, NX, RDTSCP, LM; ECX: LAHF/SAHF in 64-bit mode, LZCNT.
constexpr uint32_t kExt1Edx = bit(11) | bit(20) | bit(27) | bit(29);
constexpr uint32_t kExt1Ecx = bit(0) | bit(5);

uint32_t chars(const char* four)
{
    uint32_t v;
    std::memcpy(&v, four, 4);
    return v;
}

void set_brand(hv::CpuidTable& t)
{
    char brand[48] = "xkvm emulated x86-64 CPU";
    for (uint32_t i = 0; i < 3; ++i) {
        const char* p = brand + i * 16;
        t.set(0x80000002 + i, 0, { chars(p), chars(p + 4), chars(p + 8), chars(p + 12) });
    }
}

} // namespace

hv::CpuidTable emulated_cpuid()
{
    hv::CpuidTable t;
    t.set(0, 0, { 0xd, chars("Genu"), chars("ntel"), chars("ineI") });
    // Family 6, model 0x3a, stepping 9; CLFLUSH line 8 quadwords, one logical processor per package.
    t.set(1, 0, { 0x000306a9, (8u << 8) | (1u << 16), kLeaf1Ecx, kLeaf1Edx });
    t.set(7, 0, { 0, 0, 0, 0 }, true);
    t.set(0xd, 0, { 0, 0, 0, 0 }, true);
    t.set(0x80000000, 0, { 0x80000008, 0, 0, 0 });
    t.set(0x80000001, 0, { 0, 0, kExt1Ecx, kExt1Edx });
    set_brand(t);
    // 40 physical and 48 linear address bits.
    t.set(0x80000008, 0, { 0x3028, 0, 0, 0 });
    return t;
}

uint32_t host_tsc_khz()
{
    static const uint32_t khz = [] {
        auto ns_now = [] {
            timespec ts;
            clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
            return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
        };
        uint64_t t0 = ns_now(), c0 = __rdtsc();
        uint64_t t1 = t0;
        while (t1 - t0 < 20000000) // 20 ms: a few ppm of error at most
            t1 = ns_now();
        uint64_t c1 = __rdtsc();
        return static_cast<uint32_t>((c1 - c0) * 1000000 / (t1 - t0));
    }();
    return khz;
}

} // namespace xkvm::emu
