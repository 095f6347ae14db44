// Differential test of the bit instructions against the host: BT/BTS/BTR/BTC, BSF/BSR, POPCNT,
// LZCNT, TZCNT (each only where the host's CPUID lists it: without it the encoding runs as
// something else) and BSWAP.
#include "emu/cpu/alu.h"

#include <cpuid.h>
#include <gtest/gtest.h>


#include "emu/cpu/alu_diff_host.h"
#include "emu/cpu/alu_diff_util.h"

namespace xkvm::emu::alu::difftest {
namespace {

struct HostFeatures {
    bool popcnt = false, lzcnt = false, bmi1 = false;
};

HostFeatures host_features()
{
    HostFeatures h;
    unsigned a, b, c, d;
    if (__get_cpuid(1, &a, &b, &c, &d))
        h.popcnt = c & (1u << 23);
    if (__get_cpuid(0x80000001, &a, &b, &c, &d))
        h.lzcnt = c & (1u << 5); // ABM / LZCNT
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d))
        h.bmi1 = b & (1u << 3); // TZCNT
    return h;
}

template<typename T> Outcome host_bit_op(BitOp op, T value, T bit, uint64_t flags)
{
    switch (op) {
    case BitOp::Bt: return host_bt(value, bit, flags);
    case BitOp::Bts: return host_bts(value, bit, flags);
    case BitOp::Btr: return host_btr(value, bit, flags);
    default: return host_btc(value, bit, flags);
    }
}

constexpr const char* kBitOpNames[] = { "BT", "BTS", "BTR", "BTC" };

// CF is the only flag BT* define. Intel's SDM has ZF unaffected, AMD's APM undefined: compare
// it on Intel hosts only (the ALU keeps it, as Intel documents).
template<typename T> void bit_tests(Checker& ck, Rng& rng, uint64_t defined)
{
    for (unsigned i = 0; i < scaled(200000); ++i) {
        const T value = operand<T>(rng);
        const T bit = T(rng.next() % bits_of<T>());
        const uint64_t flags = rng.flags();
        for (unsigned o = 0; o < 4; ++o) {
            uint64_t f = flags;
            const T r = bit_test(BitOp(o), value, bit, f);
            ck.check(kBitOpNames[o], bits_of<T>(), { value, bit }, flags,
                     host_bit_op(BitOp(o), value, bit, flags), { r, 0, f }, defined);
        }
    }
}

TEST(AluDiff, BitTests)
{
    Checker ck("BT BTS BTR BTC");
    Rng rng(20);
    const uint64_t defined = kCf | (host_is_intel() ? kZf : 0);
    bit_tests<uint16_t>(ck, rng, defined);
    bit_tests<uint32_t>(ck, rng, defined);
    bit_tests<uint64_t>(ck, rng, defined);
}

// A source with a random number of low (or high) zero bits, and sometimes zero.
template<typename T> T scan_source(Rng& rng)
{
    const T v = operand<T>(rng);
    const unsigned shift = unsigned(rng.next() % bits_of<T>());
    switch (rng.next() & 3) {
    case 0: return T(v << shift);
    case 1: return T(v >> shift);
    case 2: return 0;
    default: return v;
    }
}

template<typename T> void scans(Checker& ck, Rng& rng, const HostFeatures& host)
{
    for (unsigned i = 0; i < scaled(300000); ++i) {
        const T src = scan_source<T>(rng), old_dst = operand<T>(rng);
        const uint64_t flags = rng.flags();
        uint64_t f = flags;
        T r = bsf(src, old_dst, f);
        // Undefined after BSF/BSR: CF OF SF AF PF. A zero source leaves the destination alone.
        ck.check("BSF", bits_of<T>(), { src, old_dst }, flags, host_bsf(old_dst, src, flags),
                 { r, 0, f }, kZf);
        f = flags;
        r = bsr(src, old_dst, f);
        ck.check("BSR", bits_of<T>(), { src, old_dst }, flags, host_bsr(old_dst, src, flags),
                 { r, 0, f }, kZf);
        if (host.popcnt) {
            f = flags;
            r = popcnt(src, f);
            ck.check("POPCNT", bits_of<T>(), { src }, flags, host_popcnt(old_dst, src, flags),
                     { r, 0, f }, kArithFlags);
        }
        if (host.lzcnt) {
            f = flags;
            r = lzcnt(src, f);
            ck.check("LZCNT", bits_of<T>(), { src }, flags, host_lzcnt(old_dst, src, flags),
                     { r, 0, f }, kCf | kZf);
        }
        if (host.bmi1) {
            f = flags;
            r = tzcnt(src, f);
            ck.check("TZCNT", bits_of<T>(), { src }, flags, host_tzcnt(old_dst, src, flags),
                     { r, 0, f }, kCf | kZf);
        }
    }
}

TEST(AluDiff, BitScansAndCounts)
{
    const HostFeatures host = host_features();
    std::printf("[ alu-diff ] host: POPCNT %s, LZCNT %s, TZCNT (BMI1) %s\n",
                host.popcnt ? "tested" : "SKIPPED (not in CPUID)",
                host.lzcnt ? "tested" : "SKIPPED (not in CPUID)",
                host.bmi1 ? "tested" : "SKIPPED (not in CPUID)");
    Checker ck("BSF BSR POPCNT LZCNT TZCNT");
    Rng rng(21);
    scans<uint16_t>(ck, rng, host);
    scans<uint32_t>(ck, rng, host);
    scans<uint64_t>(ck, rng, host);
}

TEST(AluDiff, Bswap)
{
    Checker ck("BSWAP");
    Rng rng(22);
    for (unsigned i = 0; i < scaled(200000); ++i) {
        const uint64_t v = operand<uint64_t>(rng);
        ck.check("BSWAP", 32, { v }, 0, { host_bswap(uint32_t(v)), 0, 0 },
                 { bswap(uint32_t(v)), 0, 0 }, 0);
        ck.check("BSWAP", 64, { v }, 0, { host_bswap(v), 0, 0 }, { bswap(v), 0, 0 }, 0);
        // 16-bit BSWAP is undefined; the ALU's 0 is what this host does.
        ck.check("BSWAP", 16, { v }, 0, { host_bswap(uint16_t(v)), 0, 0 },
                 { bswap(uint16_t(v)), 0, 0 }, 0);
    }
}

} // namespace
} // namespace xkvm::emu::alu::difftest
