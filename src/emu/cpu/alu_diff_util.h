// Shared pieces of the ALU differential tests: operands (edge values and random ones), the
// comparison of a host run with an emulator run, and the run-size knob.
#pragma once

#include <cpuid.h>
#include <gtest/gtest.h>

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "emu/cpu/alu.h"

namespace xkvm::emu::alu::difftest {

// Sanitized builds run a fraction of the random cases so that the binary stays within a minute.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr unsigned kScale = 4;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr unsigned kScale = 4;
#else
inline constexpr unsigned kScale = 1;
#endif
#else
inline constexpr unsigned kScale = 1;
#endif

inline unsigned scaled(unsigned n) { return n / kScale; }

// splitmix64: fast, and a fixed seed makes a failure reproducible.
class Rng {
public:
    explicit Rng(uint64_t seed) : m_state(seed) {}
    uint64_t next()
    {
        uint64_t z = (m_state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    // Random CF PF AF ZF SF OF, plus the always-one bit 1; DF stays clear for the ABI.
    uint64_t flags() { return (next() & kArithFlags) | 2; }

private:
    uint64_t m_state;
};

template<typename T> std::vector<T> edge_values()
{
    const T max = T(~T(0)), min_signed = T(T(1) << (sizeof(T) * 8 - 1));
    return { T(0), T(1), T(2), T(0x0f), T(0x10), T(0x7f), T(0x80), T(0xff), max, T(max - 1),
             min_signed, T(min_signed - 1), T(min_signed + 1), T(max >> 2), T(max / 3) };
}

// Mostly uniform random, with edge values, small values and single bits mixed in.
template<typename T> T operand(Rng& rng)
{
    static const std::vector<T> kEdges = edge_values<T>();
    const uint64_t x = rng.next();
    switch (x & 7) {
    case 0: return kEdges[(x >> 8) % kEdges.size()];
    case 1: return T((x >> 8) & 0x1f);
    case 2: return T(T(1) << ((x >> 8) % (sizeof(T) * 8)));
    case 3: return T(~T((x >> 8) & 0x1f));
    default: return T(rng.next());
    }
}

// What an instruction produced: up to two values (result, or low/high, quotient/remainder) and
// the flags.
struct Outcome {
    uint64_t r0 = 0, r1 = 0, flags = 0;
};

inline std::string flag_names(uint64_t f)
{
    std::string s;
    const std::pair<uint64_t, const char*> names[] = {
        { kCf, "CF" }, { kPf, "PF" }, { kAf, "AF" }, { kZf, "ZF" }, { kSf, "SF" }, { kOf, "OF" },
    };
    for (const auto& [bit, name] : names)
        if (f & bit)
            s += std::string(s.empty() ? "" : " ") + name;
    return "{" + s + "}";
}

// Counts cases, reports the first mismatches in full and the total at the end.
class Checker {
public:
    explicit Checker(const char* what) : m_what(what) {}
    ~Checker()
    {
        std::printf("[ alu-diff ] %-28s %10" PRIu64 " cases, %" PRIu64 " mismatches\n", m_what,
                    m_cases, m_mismatches);
        EXPECT_EQ(m_mismatches, 0u) << m_what;
    }
    Checker(const Checker&) = delete;
    Checker& operator=(const Checker&) = delete;

    void check(const char* op, unsigned bits, std::initializer_list<uint64_t> inputs,
               uint64_t flags_in, const Outcome& host, const Outcome& emu, uint64_t flag_mask)
    {
        ++m_cases;
        const bool same = host.r0 == emu.r0 && host.r1 == emu.r1 &&
                          ((host.flags ^ emu.flags) & flag_mask) == 0;
        if (same || ++m_mismatches > kMaxReported)
            return;
        std::string in;
        for (uint64_t v : inputs)
            in += fmt_hex(v) + " ";
        ADD_FAILURE() << op << " (" << bits << "-bit) inputs " << in << "flags in "
                      << flag_names(flags_in) << "\n  host: " << fmt_hex(host.r0) << " "
                      << fmt_hex(host.r1) << " flags " << flag_names(host.flags)
                      << "\n  emu:  " << fmt_hex(emu.r0) << " " << fmt_hex(emu.r1) << " flags "
                      << flag_names(emu.flags) << "\n  compared flags " << flag_names(flag_mask);
    }
    uint64_t cases() const { return m_cases; }

private:
    static std::string fmt_hex(uint64_t v)
    {
        char buf[24];
        std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
        return buf;
    }
    static constexpr uint64_t kMaxReported = 20;
    const char* m_what;
    uint64_t m_cases = 0, m_mismatches = 0;
};

template<typename T> constexpr unsigned bits_of() { return sizeof(T) * 8; }

// The flags the SDM defines, shared with the instruction-level test (insn_diff_*).
inline constexpr uint64_t kLogicFlags = kArithFlags & ~kAf; // AF is undefined after AND/OR/XOR
inline constexpr uint64_t kMulFlags = kCf | kOf; // SF ZF AF PF are undefined after MUL/IMUL

// The flags the SDM defines for a shift or rotate by `count`.
template<typename T> uint64_t shift_defined_flags(ShiftOp op, uint8_t count)
{
    const unsigned c = count & (bits_of<T>() == 64 ? 0x3f : 0x1f);
    if (c == 0)
        return kArithFlags; // nothing changes
    const uint64_t of = c == 1 ? kOf : 0;
    switch (op) {
    case ShiftOp::Rol:
    case ShiftOp::Ror:
    case ShiftOp::Rcl:
    case ShiftOp::Rcr: return kCf | kPf | kAf | kZf | kSf | of; // SF ZF AF PF are unaffected
    case ShiftOp::Sar: return kCf | kPf | kZf | kSf | of;
    default: // SHL, SHR: CF is undefined for counts of the width or more
        return (c < bits_of<T>() ? kCf : 0) | kPf | kZf | kSf | of;
    }
}


// Some behaviour is documented differently by Intel and AMD; tests compare it on Intel only.
inline bool host_is_intel()
{
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d))
        return false;
    char vendor[13] = {};
    std::memcpy(vendor, &b, 4);
    std::memcpy(vendor + 4, &d, 4);
    std::memcpy(vendor + 8, &c, 4);
    return std::strcmp(vendor, "GenuineIntel") == 0;
}

} // namespace xkvm::emu::alu::difftest
