// The decimal and ASCII adjustments (DAA DAS AAA AAS AAM AAD), after the SDM's descriptions.
// Invalid in 64-bit mode; the interpreter uses them for legacy and compatibility-mode code.
#include "emu/cpu/alu.h"

namespace xkvm::emu::alu {

using detail::set_flags;
using detail::szp_flags;

namespace {

uint8_t low_nibble(uint16_t ax) { return uint8_t(ax & 0xf); }

uint16_t with_al(uint16_t ax, uint8_t al) { return uint16_t((ax & 0xff00) | al); }

bool needs_nibble_adjust(uint16_t ax, uint64_t rflags)
{
    return low_nibble(ax) > 9 || (rflags & kAf);
}

} // namespace

uint16_t daa(uint16_t ax, uint64_t& rflags)
{
    const uint8_t old_al = uint8_t(ax);
    const bool old_cf = rflags & kCf;
    const bool af = needs_nibble_adjust(ax, rflags);
    const bool cf = old_al > 0x99 || old_cf;
    const uint8_t al = uint8_t(old_al + (af ? 0x06 : 0) + (cf ? 0x60 : 0));
    rflags = set_flags(rflags, kArithFlags, (cf ? kCf : 0) | (af ? kAf : 0) | szp_flags(al));
    return with_al(ax, al);
}

uint16_t das(uint16_t ax, uint64_t& rflags)
{
    const uint8_t old_al = uint8_t(ax);
    const bool old_cf = rflags & kCf;
    const bool af = needs_nibble_adjust(ax, rflags);
    // CF also takes the borrow of AL - 6, which the second step (taken on the old CF and AL
    // only) does not see.
    const bool borrow = af && old_al < 6;
    const bool cf = old_al > 0x99 || old_cf || borrow;
    const bool high_adjust = old_al > 0x99 || old_cf;
    const uint8_t al = uint8_t(old_al - (af ? 0x06 : 0) - (high_adjust ? 0x60 : 0));
    rflags = set_flags(rflags, kArithFlags, (cf ? kCf : 0) | (af ? kAf : 0) | szp_flags(al));
    return with_al(ax, al);
}

// AAA/AAS: the adjustment carries into AH through the full AX (AX + 106H, AX - 6 then AH - 1),
// as the SDM describes it for current processors.
uint16_t aaa(uint16_t ax, uint64_t& rflags)
{
    const bool adjust = needs_nibble_adjust(ax, rflags);
    const uint16_t sum = uint16_t(ax + (adjust ? 0x106 : 0));
    const uint8_t al = uint8_t(sum & 0xf);
    const uint64_t af_cf = adjust ? kAf | kCf : 0;
    rflags = set_flags(rflags, kArithFlags, af_cf | szp_flags(al));
    return with_al(sum, al);
}

uint16_t aas(uint16_t ax, uint64_t& rflags)
{
    const bool adjust = needs_nibble_adjust(ax, rflags);
    const uint16_t diff = uint16_t(ax - (adjust ? 0x106 : 0));
    const uint8_t al = uint8_t(diff & 0xf);
    const uint64_t af_cf = adjust ? kAf | kCf : 0;
    rflags = set_flags(rflags, kArithFlags, af_cf | szp_flags(al));
    return with_al(diff, al);
}

std::optional<uint16_t> aam(uint16_t ax, uint8_t base, uint64_t& rflags)
{
    if (base == 0)
        return std::nullopt;
    const uint8_t al = uint8_t(uint8_t(ax) % base);
    const uint8_t ah = uint8_t(uint8_t(ax) / base);
    rflags = set_flags(rflags, kArithFlags, szp_flags(al));
    return uint16_t(ah << 8 | al);
}

uint16_t aad(uint16_t ax, uint8_t base, uint64_t& rflags)
{
    const uint8_t al = uint8_t((ax & 0xff) + (ax >> 8) * base);
    rflags = set_flags(rflags, kArithFlags, szp_flags(al));
    return al;
}

} // namespace xkvm::emu::alu
