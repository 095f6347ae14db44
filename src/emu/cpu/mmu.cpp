// Linear -> guest-physical -> host translation: the guest's page tables (none, 32-bit with PSE,
// PAE, 4-level), A/D updates, permission checks, and a software TLB of host pointers. MMIO pages
// never enter the TLB; their accesses go to the bus or leave as exits.
#include <algorithm>
#include <optional>

#include "emu/cpu/cpu_impl.h"

namespace xkvm::emu {

namespace {

constexpr uint64_t kPteP = 1, kPteW = 2, kPteU = 4, kPteA = 0x20, kPteD = 0x40, kPtePs = 0x80;
constexpr uint64_t kPteNx = 1ull << 63;
constexpr uint32_t kPfP = 1, kPfW = 2, kPfU = 4, kPfRsvd = 8, kPfI = 16;

} // namespace

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

namespace {

// Atomically sets `bits` in a page-table entry of `size` bytes at `gpa` (other vCPUs walk and
// update the same tables). Entries outside RAM read as not present.
bool pte_load(CpuBus& bus, uint64_t gpa, unsigned size, uint64_t& out, uint64_t*& host64, uint32_t*& host32)
{
    uint8_t* page = bus.ram_page(gpa & ~(kPageSize - 1), false);
    if (!page)
        return false;
    uint8_t* p = page + (gpa & (kPageSize - 1));
    if (size == 8) {
        host64 = reinterpret_cast<uint64_t*>(p);
        out = __atomic_load_n(host64, __ATOMIC_RELAXED);
    } else {
        host32 = reinterpret_cast<uint32_t*>(p);
        out = __atomic_load_n(host32, __ATOMIC_RELAXED);
    }
    return true;
}

void pte_set(uint64_t* h64, uint32_t* h32, uint64_t bits)
{
    if (h64)
        __atomic_fetch_or(h64, bits, __ATOMIC_RELAXED);
    else if (h32)
        __atomic_fetch_or(h32, uint32_t(bits), __ATOMIC_RELAXED);
}

} // namespace

// The W, U and I bits of a #PF error code for an access.
static uint32_t access_bits(const CpuImpl& c, uint8_t acc)
{
    uint32_t err = 0;
    if (acc & kAccWrite)
        err |= kPfW;
    if (c.cpl() == 3 && !(acc & kAccSystem))
        err |= kPfU;
    if ((acc & kAccFetch) && ((c.st.efer & x86::kEferNx) || (c.st.cr4 & kCr4Smep)))
        err |= kPfI;
    return err;
}

// Whether an access with `acc` may use a page with `perm`; 0 or the #PF error bits for it.
static uint32_t check_perm(const CpuImpl& c, uint8_t perm, uint8_t acc)
{
    bool write = acc & kAccWrite, fetch = acc & kAccFetch;
    bool user = c.cpl() == 3 && !(acc & kAccSystem);
    uint32_t err = kPfP | access_bits(c, acc);
    if (user && !(perm & kPermUser))
        return err;
    if (write && !(perm & kPermWrite) && (user || (c.st.cr0 & x86::kCr0Wp)))
        return err;
    if (fetch && (perm & kPermNx))
        return err;
    if (!user && (perm & kPermUser)) {
        if (fetch && c.m_has_smep && (c.st.cr4 & kCr4Smep))
            return err;
        bool ac_ok = (c.st.rflags & kRflagsAc) && !(acc & kAccSystem);
        if (!fetch && c.m_has_smap && (c.st.cr4 & kCr4Smap) && !ac_ok)
            return err;
    }
    return 0;
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

namespace {

struct WalkMode {
    bool pae, nxe, lm;
    uint64_t rsvd; // reserved address bits of every PAE-format entry
};

[[noreturn]] void page_fault(CpuImpl& c, uint64_t lin, uint32_t err)
{
    c.st.cr2 = lin;
    c.fault(kPf, err);
}

// The 4 KiB frame a leaf entry maps `lin` to (4 KiB, 2 MiB, 1 GiB or PSE 4 MiB pages).
uint64_t leaf_frame(uint64_t e, unsigned shift, uint64_t lin, bool pae, bool large)
{
    uint64_t frame_mask = pae ? 0x000ffffffffff000ull : 0xfffff000ull;
    uint64_t off_mask = (1ull << shift) - 1;
    if (large && pae)
        return (e & frame_mask & ~off_mask) | (lin & off_mask & ~(kPageSize - 1));
    if (large) // PSE-36: bits 13-20 of the entry are address bits 32-39
        return (e & 0xffc00000u) | ((e >> 13) & 0xff) << 32 | (lin & 0x3ff000u);
    return e & frame_mask;
}

// Reserved bits an entry at `level` must not have.
uint64_t reserved_bits(const WalkMode& m, unsigned level)
{
    uint64_t bad = m.rsvd;
    if (m.pae && !m.lm && level == 3)
        bad |= 0x1e6 | kPteNx; // PAE PDPTEs
    if (m.lm && level == 4)
        bad |= kPtePs;
    return bad;
}

} // namespace

// The guest's page tables for `lin`: frame and accumulated permissions, A/D bits set as the CPU
// sets them. Faults with #PF (CR2 = lin) when the access is not allowed.
Walk CpuImpl::walk(uint64_t lin, uint8_t acc)
{
    Walk w;
    uint32_t err = 0;
    if (!walk_tables(lin, acc, true, w, err))
        page_fault(*this, lin, err);
    return w;
}

std::optional<uint64_t> CpuImpl::probe(uint64_t lin)
{
    if (!(st.cr0 & x86::kCr0Pg))
        return lin & (long_mode() ? ~0ull : 0xffffffffull);
    Walk w;
    uint32_t err = 0;
    if (!walk_tables(lin, kAccRead | kAccSystem, false, w, err))
        return std::nullopt;
    return w.gpa | (lin & (kPageSize - 1));
}

// A paging-structure access the monitor's limits refuse leaves as a MemAccess exit before it
// happens, as an EPT violation during a walk does on Xen. The walk reads every entry and writes
// those whose accessed or dirty bit it must set. One let through by an Execute'd instruction
// keeps the walk's result out of the TLB, so the next access walks (and is reported) again.
void CpuImpl::check_walk_access(uint64_t lin, uint64_t entry_gpa, uint8_t page_bit)
{
    uint8_t allow = bus.page_allow(entry_gpa & ~(kPageSize - 1));
    if (allow & page_bit)
        return;
    if (m_bypass) {
        m_walk_uncacheable = true;
        return;
    }
    CpuExit::Introspect x;
    x.what = CpuExit::Introspect::What::MemAccess;
    x.access = page_bit;
    x.lin = lin;
    x.lin_valid = true;
    x.in_walk = true;
    intercept(x, 0, entry_gpa);
}

// The walk behind walk() and probe(): false with the #PF error code of the access in `err` (which
// may be 0). `effects`: check permissions and, unless m_walk_quiet, the monitor's limits and set
// A/D bits; without it only the frame is looked up.
bool CpuImpl::walk_tables(uint64_t lin, uint8_t acc, bool effects, Walk& w, uint32_t& err)
{
    bool touch = effects && !m_walk_quiet;
    WalkMode m{ bool(st.cr4 & x86::kCr4Pae), bool(st.efer & x86::kEferNx), long_mode(), 0 };
    if (m.pae)
        m.rsvd = ((~0ull << m_maxphys) & ~kPteNx & 0x000fffffffffffffull) | (m.nxe ? 0 : kPteNx);
    unsigned esize = m.pae ? 8 : 4;
    uint64_t table = !m.pae ? st.cr3 & 0xfffff000u : m.lm ? st.cr3 & 0x000ffffffffff000ull : st.cr3 & 0xffffffe0u;
    bool user_ok = true, write_ok = true, nx = false;
    for (unsigned level = m.lm ? 4 : m.pae ? 3 : 2;; --level) {
        unsigned shift = 12 + (m.pae ? 9 : 10) * (level - 1);
        // PAE PDPTEs are not read by the walk: VT-x loads them from the VMCS (no EPT check).
        bool pdpte = m.pae && !m.lm && level == 3;
        unsigned idx_bits = pdpte ? 2 : (m.pae ? 9 : 10);
        uint64_t e = 0;
        uint64_t* h64 = nullptr;
        uint32_t* h32 = nullptr;
        uint64_t eaddr = table + ((lin >> shift) & ((1ull << idx_bits) - 1)) * esize;
        if (touch && !pdpte)
            check_walk_access(lin, eaddr, kPageRead);
        if (!pte_load(bus, eaddr, esize, e, h64, h32) || !(e & kPteP)) {
            err = access_bits(*this, acc);
            return false;
        }
        if (e & reserved_bits(m, level)) {
            err = kPfRsvd | kPfP | access_bits(*this, acc);
            return false;
        }
        bool large = level > 1 && (e & kPtePs) && (level == 2 || (level == 3 && m.lm)) &&
                     (m.pae || (st.cr4 & x86::kCr4Pse));
        if (!pdpte) {
            user_ok &= bool(e & kPteU);
            write_ok &= bool(e & kPteW);
            nx |= m.nxe && (e & kPteNx);
        }
        if (level == 1 || large) {
            w.gpa = leaf_frame(e, shift, lin, m.pae, large);
            w.perm = uint8_t((user_ok ? kPermUser : 0) | (write_ok ? kPermWrite : 0) | (nx ? kPermNx : 0));
            err = effects ? finish_leaf(lin, acc, touch, eaddr, e, h64, h32, w) : 0;
            return err == 0;
        }
        if (touch && !pdpte)
            set_entry_bits(lin, eaddr, e, h64, h32, kPteA);
        table = e & (m.pae ? 0x000ffffffffff000ull : 0xfffff000ull);
    }
}

// The leaf's permission check (0, or the #PF error code, which then has P set) and, if `touch`,
// its A (and, for a write, D) bit.
uint32_t CpuImpl::finish_leaf(uint64_t lin, uint8_t acc, bool touch, uint64_t eaddr, uint64_t e, uint64_t* h64,
                              uint32_t* h32, Walk& w)
{
    if (uint32_t err = check_perm(*this, w.perm, acc))
        return err;
    bool write = acc & kAccWrite;
    if (touch)
        set_entry_bits(lin, eaddr, e, h64, h32, kPteA | (write ? kPteD : 0));
    if (write || (e & kPteD))
        w.perm |= kPermDirty;
    return 0;
}

void CpuImpl::set_entry_bits(uint64_t lin, uint64_t eaddr, uint64_t e, uint64_t* h64, uint32_t* h32, uint64_t bits)
{
    if ((e & bits) == bits)
        return;
    check_walk_access(lin, eaddr, kPageWrite);
    pte_set(h64, h32, bits);
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
