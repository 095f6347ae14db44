// Linear -> guest-physical -> host translation: a software TLB of host pointers filled from the
// page walk (walk.cpp) and checked against the monitor's limits, linear and physical access. MMIO
// pages never enter the TLB; their accesses go to the bus or leave as exits.
#include <algorithm>

#include "emu/cpu/cpu_impl.h"

namespace xkvm::emu {

uint64_t CpuImpl::read_phys(uint64_t gpa, unsigned size)
{
    size = size > 8 ? 8 : size;
    uint64_t v = 0;
    uint8_t* page = bus.ram_page(gpa & ~(kPageSize - 1), false);
    if (page && (gpa & (kPageSize - 1)) + size <= kPageSize) {
        std::memcpy(&v, page + (gpa & (kPageSize - 1)), size);
        return v;
    }
    if (page) { // straddles a page: byte by byte
        for (unsigned k = 0; k < size; ++k)
            v |= read_phys(gpa + k, 1) << (8 * k);
        return v;
    }
    if (bus.local_mmio(gpa, &v, size, false))
        return v;
    if (m_delivering_event)
        return size_mask(size);
    CpuExit e;
    e.kind = CpuExit::Kind::MmioRead;
    e.gpa = gpa;
    e.size = uint8_t(size);
    return read_from_vmm(e);
}

void CpuImpl::write_phys(uint64_t gpa, unsigned size, uint64_t v)
{
    size = size > 8 ? 8 : size;
    uint8_t* page = bus.ram_page(gpa & ~(kPageSize - 1), true);
    if (page && (gpa & (kPageSize - 1)) + size <= kPageSize) {
        std::memcpy(page + (gpa & (kPageSize - 1)), &v, size);
        return;
    }
    if (page) {
        for (unsigned k = 0; k < size; ++k)
            write_phys(gpa + k, 1, v >> (8 * k));
        return;
    }
    if (bus.local_mmio(gpa, &v, size, true) || m_delivering_event)
        return;
    m_stop.io_done = true;
    CpuExit e;
    e.kind = CpuExit::Kind::MmioWrite;
    e.gpa = gpa;
    e.size = uint8_t(size);
    e.value = v & size_mask(size);
    if (!m_stop.have_post_exit)
        post_exit(e);
    else if (m_queued_count < 4)
        m_queued[m_queued_count++] = e;
}

void CpuImpl::flush_tlb()
{
    m_fetch_page = 0;
    for (auto& e : m_tlb)
        e.tag = 0;
}

// The accesses a TLB entry serves without a walk. Writes need the dirty bit already set; SMAP's
// supervisor accesses to user pages always take the slow path (they depend on EFLAGS.AC).
static uint8_t allow_bits(const CpuImpl& c, uint8_t perm)
{
    bool smap = c.m_has_smap && (c.st.cr4 & kCr4Smap);
    bool smep = c.m_has_smep && (c.st.cr4 & kCr4Smep);
    bool wp = c.st.cr0 & x86::kCr0Wp;
    bool user_page = perm & kPermUser;
    uint8_t bits = 0;
    for (bool user : { false, true }) {
        bool reach = user ? user_page : !(user_page && smap);
        bool read = reach;
        bool write = reach && (perm & kPermDirty) && ((perm & kPermWrite) || (!user && !wp));
        bool fetch = (user ? user_page : !(user_page && smep)) && !(perm & kPermNx);
        uint8_t b = uint8_t((read ? kAllowRead : 0) | (write ? kAllowWrite : 0) | (fetch ? kAllowFetch : 0));
        bits |= uint8_t(b << (user ? kAllowUserShift : 0));
    }
    return bits;
}

uint8_t* CpuImpl::translate(uint64_t lin, uint8_t acc, uint64_t& gpa)
{
    if (const TlbEntry* hit = tlb_hit(lin, acc)) {
        gpa = hit->gpa_page | (lin & (kPageSize - 1));
        return hit->host + (lin & (kPageSize - 1));
    }
    Walk w;
    m_walk_uncacheable = false;
    if (st.cr0 & x86::kCr0Pg) {
        w = walk(lin, acc);
    } else {
        w.gpa = lin & 0xfffff000ull;
        w.perm = kPermUser | kPermWrite | kPermDirty;
    }
    gpa = w.gpa | (lin & (kPageSize - 1));
    uint8_t* host = bus.ram_page(w.gpa, false);
    if (!host)
        return nullptr; // MMIO: never cached
    // A monitor's limits: checked here, and the entry keeps only what they allow, so limited
    // accesses never take the fast paths (even while m_bypass lets one instruction through).
    uint8_t allow = bus.page_allow(w.gpa);
    if (allow != kPageAll)
        check_page_allow(lin, w.gpa, acc, allow);
    // Read-only RAM (ROM) enters the TLB without kPermDirty, so every write takes the slow path
    // and leaves as an MMIO write.
    if (!bus.ram_page(w.gpa, true)) {
        w.perm &= uint8_t(~kPermDirty);
        if (acc & kAccWrite)
            return nullptr;
    }
    if (m_walk_uncacheable || m_walk_quiet)
        return host + (lin & (kPageSize - 1));
    TlbEntry& t = m_tlb[(lin >> 12) % kTlbSize];
    t.tag = (lin & ~(kPageSize - 1)) | 1;
    t.host = host;
    t.gpa_page = w.gpa;
    t.perm = w.perm;
    t.allow = allow_bits(*this, w.perm);
    if (allow != kPageAll) {
        uint8_t keep = uint8_t(((allow & kPageRead) ? kAllowRead : 0) | ((allow & kPageWrite) ? kAllowWrite : 0) |
                               ((allow & kPageExec) ? kAllowFetch : 0));
        t.allow &= uint8_t(keep | keep << kAllowUserShift);
    }
    return host + (lin & (kPageSize - 1));
}

uint64_t CpuImpl::read_lin_slow(uint64_t lin, unsigned size, uint8_t acc)
{
    uint64_t gpa;
    unsigned off = lin & (kPageSize - 1);
    if (off + size <= kPageSize) {
        uint8_t* h = translate(lin, acc, gpa);
        uint64_t v = 0;
        if (h) {
            std::memcpy(&v, h, size);
            return v;
        }
        return read_phys(gpa, size);
    }
    // Straddles two pages: both must translate before anything is read.
    unsigned first = kPageSize - off;
    uint64_t g1, g2;
    uint64_t lin2 = lin + first;
    if (!long64())
        lin2 &= 0xffffffffull;
    translate(lin, acc, g1);
    translate(lin2, acc, g2);
    uint64_t lo = read_lin(lin, first, acc);
    uint64_t hi = read_lin(lin2, size - first, acc);
    return lo | (hi << (8 * first));
}

void CpuImpl::write_lin_slow(uint64_t lin, unsigned size, uint64_t v, uint8_t acc)
{
    uint64_t gpa;
    unsigned off = lin & (kPageSize - 1);
    if (off + size <= kPageSize) {
        uint8_t* h = translate(lin, acc | kAccWrite, gpa);
        if (h)
            std::memcpy(h, &v, size);
        else
            write_phys(gpa, size, v);
        return;
    }
    unsigned first = kPageSize - off;
    uint64_t lin2 = lin + first;
    if (!long64())
        lin2 &= 0xffffffffull;
    uint64_t g1, g2;
    translate(lin, acc | kAccWrite, g1);
    translate(lin2, acc | kAccWrite, g2);
    write_lin(lin, first, v, acc);
    write_lin(lin2, size - first, v >> (8 * first), acc);
}

uint8_t* CpuImpl::host_for_rmw(uint64_t lin, unsigned size)
{
    if (!long64())
        lin &= 0xffffffffull;
    // An operand that crosses a cache line would be a host split lock, which some hosts punish by
    // killing the process (split_lock_detect=fatal): a guest must not be able to do that to us.
    constexpr uint64_t kCacheLine = 64;
    if ((lin & (kCacheLine - 1)) + size > kCacheLine)
        return nullptr;
    uint64_t gpa;
    if (!tlb_hit(lin, kAccRead))
        translate(lin, kAccRead, gpa); // a locked read-modify-write reads too (read limits)
    return translate(lin, kAccWrite, gpa);
}

uint64_t CpuImpl::linear_slow(uint8_t seg, uint64_t off, unsigned size, bool write)
{
    const x86::Segment& s = st.seg[seg];
    if (long64()) {
        uint64_t lin = (seg >= SegFs ? s.base : 0) + off;
        if (!canonical(lin) || !canonical(lin + size - 1))
            seg == SegSs ? fault(kSs, 0) : fault(kGp, 0);
        return lin;
    }
    uint8_t vec = seg == SegSs ? kSs : kGp;
    if (protected_mode() && (s.unusable || !s.present))
        fault(vec, 0);
    if (protected_mode()) {
        bool code = s.type & 8;
        if (write && (code || !(s.type & 2)))
            fault(vec, 0);
        if (!write && code && !(s.type & 2) && seg != SegCs)
            fault(vec, 0);
    }
    uint64_t last = off + size - 1;
    if (!(s.type & 8) && (s.type & 4)) { // expand-down data
        uint64_t top = s.db ? 0xffffffffull : 0xffff;
        if (off <= s.limit || last > top)
            fault(vec, 0);
    } else if (last > s.limit) {
        fault(vec, 0);
    }
    return (s.base + off) & 0xffffffffull;
}

} // namespace xkvm::emu
