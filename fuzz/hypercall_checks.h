// What hypercall_fuzz checks after its steps (the invariants are listed in hypercall_fuzz.cpp).
#pragma once

#include <array>
#include <cstdlib>
#include <cstring>

#include "hypercall_input.h"
#include "xen/domain.h"
#include "xen/hypercall.h"
#include "xen/xen_errno.h"
#include "xen_fuzz_platform.h"

namespace xkvm::fuzz {

inline void check(bool ok)
{
    if (!ok)
        std::abort();
}

inline void check_result(const xen::HypercallContext& ctx, int64_t rc)
{
    bool known_op = ctx.op < xen::hypercall_table().size() && xen::hypercall_table()[ctx.op];
    if (ctx.cpl != 0)
        check(rc == -XEN_EPERM);
    else if (!known_op)
        check(rc == -XEN_ENOSYS);
    if (rc < 0) {
        check(rc >= -4095 && xen::to_xen_errno(static_cast<int>(-rc)) == -rc);
        check(ctx.effect == xen::HypercallEffect::None);
    }
    if (ctx.effect == xen::HypercallEffect::Shutdown)
        check(ctx.shutdown_reason <= 0xff); // Xen passes any 8-bit reason on
}

// A page of one byte value, compared with memcmp: a byte loop here would be instrumented for
// coverage and dominate the run.
struct FilledPage {
    explicit FilledPage(uint8_t v) { bytes.fill(v); }
    bool matches(const uint8_t* p) const { return std::memcmp(p, bytes.data(), bytes.size()) == 0; }
    std::array<uint8_t, kPage> bytes;
};

// What holds whatever another vCPU is doing at the same time.
inline void check_fixed_pages(FuzzPlatform& p)
{
    static const FilledPage canary(kCanaryByte), read_only(kReadOnlyByte);
    check(canary.matches(p.mem->host_base() + kCanaryOffset));
    check(read_only.matches(p.mem->host_base() + kReadOnlyPage));
}

// Only while no other vCPU runs: a shared_info move in flight is seen half done.
inline void check_memory(FuzzPlatform& p, xen::Domain& d)
{
    check_fixed_pages(p);
    auto gfn = d.shared_info_gfn();
    unsigned shared_mappings = 0;
    uint64_t prev_end = 0;
    for (const auto& m : p.mem->mappings()) {
        check(m.gpa >= prev_end && m.size > 0);
        prev_end = m.end();
        if (m.offset == kSharedInfoOffset) {
            check(m.size == kPage && gfn && m.gpa == (*gfn << 12) && m.prot == memory::Protection::ReadWrite);
            ++shared_mappings;
        } else if (m.prot == memory::Protection::ReadOnly) {
            check(m.offset == kReadOnlyPage && m.size == kPage && m.gpa == kReadOnlyPage);
        } else {
            // RAM, still at its own address (the shared_info page may only punch holes in it).
            check(m.offset + m.size <= kRamBytes && m.gpa == m.offset && m.offset + m.size > m.offset);
        }
    }
    check(shared_mappings == (gfn ? 1u : 0u));
}

} // namespace xkvm::fuzz
