// The guest's page walk (none, 32-bit with PSE, PAE, 4-level): A/D updates and permission checks
// as the CPU makes them, the monitor's limits on the page-table pages it reads and writes, and the
// same walk without side effects for Cpu::translate().
#include <optional>

#include "emu/cpu/cpu_impl.h"

namespace xkvm::emu {

namespace {

constexpr uint64_t kPteP = 1, kPteW = 2, kPteU = 4, kPteA = 0x20, kPteD = 0x40, kPtePs = 0x80;
constexpr uint64_t kPteNx = 1ull << 63;
constexpr uint32_t kPfP = 1, kPfW = 2, kPfU = 4, kPfRsvd = 8, kPfI = 16;

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

} // namespace xkvm::emu
