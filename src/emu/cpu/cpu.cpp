// The run loop: events at instruction boundaries, fetch through the decode cache, execute,
// retire.
#include "emu/cpu/cpu.h"

#include "emu/cpu/cpu_impl.h"

namespace xkvm::emu {

CpuImpl::CpuImpl(CpuBus& b) : bus(b), m_decode_storage(new DecodeEntry[kDecodeCacheSize])
{
    m_decode = m_decode_storage.get();
    state_changed();
}

void CpuImpl::state_changed()
{
    CpuidRegs max_ext = bus.cpuid(0x80000000u, 0);
    m_maxphys = 36;
    if (max_ext.eax >= 0x80000008u) {
        uint8_t p = uint8_t(bus.cpuid(0x80000008u, 0).eax & 0xff);
        if (p >= 32 && p <= 52)
            m_maxphys = p;
    }
    CpuidRegs l7 = bus.cpuid(0, 0).eax >= 7 ? bus.cpuid(7, 0) : CpuidRegs{};
    m_has_smep = l7.ebx & (1u << 7);
    m_has_smap = l7.ebx & (1u << 20);
    m_has_umip = l7.ecx & (1u << 2);
    update_modes();
    flush_tlb();
}

void CpuImpl::update_modes()
{
    m_fetch_page = 0; // fetch permission depends on CPL
    const x86::Segment& cs = st.seg[SegCs];
    m_long64 = long_mode() && cs.l;
    if (m_long64)
        m_code_size = 8;
    else if (protected_mode() && !(st.rflags & kRflagsVm))
        m_code_size = cs.db ? 4 : 2;
    else
        m_code_size = 2;
    m_stack_size = m_long64 ? 8 : (protected_mode() && st.seg[SegSs].db) ? 4 : 2;
    m_mode_key = m_code_size == 8 ? 2 : m_code_size == 4 ? 1 : 0;
    m_user_shift = cpl() == 3 ? kAllowUserShift : 0;
    m_rip_mask = size_mask(m_code_size);
}

void CpuImpl::flush_decode_cache()
{
    for (unsigned k = 0; k < kDecodeCacheSize; ++k)
        m_decode[k].key = ~0ull;
}

uint64_t CpuImpl::read_from_vmm(const CpuExit& e)
{
    m_stop.io_done = true;
    uint64_t v = 0;
    if (consume_replay(v))
        return v & size_mask(e.size);
    exit_before_commit(e);
}

bool CpuImpl::consume_replay(uint64_t& v)
{
    if (m_replay_used < m_replay_count) {
        v = m_replay[m_replay_used++];
        return true;
    }
    return false;
}

// Interrupts, NMIs and the halted state at an instruction boundary. True: keep running.
bool CpuImpl::take_events()
{
    uint32_t ev = m_events.load(std::memory_order_relaxed);
    if (m_nmi_pending && !st.nmi_blocked && !st.interrupt_shadow) {
        m_nmi_pending = false;
        st.run_state = RunState::Running;
        try {
            if (deliver_between(kNmi, true))
                st.nmi_blocked = true;
        } catch (const GuestFault& f) {
            deliver_fault(f);
        }
        return true;
    }
    if ((ev & kEventAttention) && (st.rflags & kRflagsIf) && !st.interrupt_shadow) {
        // Clear before asking: a raise_attention() racing with an empty answer must not be lost.
        m_events.fetch_and(~kEventAttention, std::memory_order_acq_rel);
        std::optional<uint8_t> v = bus.acknowledge_interrupt();
        if (v) {
            m_events.fetch_or(kEventAttention, std::memory_order_relaxed); // there may be more
            st.run_state = RunState::Running;
            try {
                deliver_between(*v, false);
            } catch (const GuestFault& f) {
                deliver_fault(f);
            }
        }
    }
    return st.run_state == RunState::Running;
}


} // namespace xkvm::emu

namespace xkvm::emu {

void CpuImpl::reset_replay()
{
    m_replay_count = m_replay_used = 0;
    m_msr_completed = false;
}

// Whether the 16 bytes at `p` still hold the entry's instruction (two 8-byte loads).
[[gnu::always_inline]] static inline bool same_bytes(const uint8_t* p, const DecodeEntry& e)
{
    uint64_t a0, a1;
    std::memcpy(&a0, p, 8);
    std::memcpy(&a1, p + 8, 8);
    return (((a0 ^ e.bytes[0]) & e.mask[0]) | ((a1 ^ e.bytes[1]) & e.mask[1])) == 0;
}

// The instruction at RIP, from the decode cache when its bytes still match (the VMM and the guest
// itself may have rewritten them), decoded and cached otherwise. Inlined into the run loops.
[[gnu::always_inline]] inline const Insn& CpuImpl::fetch()
{
    uint64_t lin;
    if (long64()) {
        lin = st.rip;
        // m_fetch_page only ever holds a canonical page, so a hit on it needs no canonical check.
        if ((lin & ~(kPageSize - 1)) + 1 != m_fetch_page && !canonical(lin))
            fault(kGp, 0);
    } else {
        const x86::Segment& cs = st.seg[SegCs];
        if (st.rip > cs.limit)
            fault(kGp, 0);
        lin = (cs.base + st.rip) & 0xffffffffull;
    }
    unsigned off = lin & (kPageSize - 1);
    // Fast path: the page of the last fetch, and an entry whose bytes still match, within the page.
    if ((lin & ~(kPageSize - 1)) + 1 != m_fetch_page) {
        if (const TlbEntry* t = tlb_hit(lin, kAccFetch)) {
            m_fetch_page = (lin & ~(kPageSize - 1)) + 1;
            m_fetch_host = t->host;
            m_fetch_gpa = t->gpa_page;
            m_fetch_key = (t->gpa_page << 2) | m_mode_key; // (a mode change clears m_fetch_page)
        } else {
            m_fetch_page = 0;
        }
    }
    if (m_fetch_page && off <= kPageSize - 16) {
        uint64_t gpa = m_fetch_gpa | off;
        DecodeEntry& e = m_decode[(gpa ^ (gpa >> 14)) % kDecodeCacheSize];
        if (e.key == (m_fetch_key | uint64_t(off) << 2) && same_bytes(m_fetch_host + off, e))
            return e.insn;
    }
    return fetch_slow(lin, m_mode_key);
}

// The decoding of the `len` bytes in `buf` (more fetched into it if the instruction needs them),
// as an entry without a key. Decoding depends on the bytes and the code size alone, so the last
// valid instruction decoded serves again wherever the same bytes come next: through a run of
// identical instructions (a zeroed page is one of ADD [rAX], AL) the address-keyed cache misses
// at every address, and the decoder had run for each.
template<typename F> const DecodeEntry& CpuImpl::decode_fresh(uint8_t* buf, unsigned len, uint64_t mode, F&& fetch_more)
{
    DecodeEntry& d = m_last_decode;
    if (d.key == mode && d.cmp_len <= len && same_bytes(buf, d))
        return d;
    Insn insn;
    bool need_more = false;
    if (!decode_insn(buf, len, code_size(), insn, need_more) && need_more) {
        fetch_more();
        len = 16;
        decode_insn(buf, len, code_size(), insn, need_more);
    }
    // Invalid bytes stay out of m_last_decode: where Zydis gave up may depend on how many it had.
    d.key = insn.length ? mode : ~0ull;
    d.cmp_len = insn.length;
    if (insn.length == 0) { // undecodable: #UD, valid for exactly the bytes Zydis looked at
        insn.handler = handler_for(0);
        insn.length = 1;
        d.cmp_len = uint8_t(std::min(15u, len));
    }
    std::memcpy(d.bytes, buf, 16);
    d.mask[0] = d.cmp_len >= 8 ? ~0ull : (1ull << (8 * d.cmp_len)) - 1;
    d.mask[1] = d.cmp_len >= 16 ? ~0ull : d.cmp_len <= 8 ? 0 : (1ull << (8 * (d.cmp_len - 8))) - 1;
    d.insn = insn;
    return d;
}

// Gathers the bytes (across a page boundary when the instruction needs it) and decodes them.
const Insn& CpuImpl::fetch_slow(uint64_t lin, uint64_t mode)
{
    const x86::Segment& cs = st.seg[SegCs];
    uint64_t gpa;
    uint8_t* h = translate(lin, kAccFetch, gpa);
    unsigned off = lin & (kPageSize - 1);
    unsigned avail = std::min<unsigned>(16, unsigned(kPageSize - off));
    uint8_t buf[16];
    std::memset(buf, 0xff, sizeof(buf)); // open bus for code outside RAM
    if (h)
        std::memcpy(buf, h, avail);
    uint64_t key = (gpa << 2) | mode;
    DecodeEntry& e = m_decode[(gpa ^ (gpa >> 14)) % kDecodeCacheSize];
    bool second_fetched = false;
    auto fetch_second = [&] {
        uint64_t lin2 = lin + avail;
        if (!long64())
            lin2 &= 0xffffffffull;
        uint64_t gpa2;
        uint8_t* h2 = translate(lin2, kAccFetch, gpa2);
        if (h2)
            std::memcpy(buf + avail, h2, 16 - avail);
        second_fetched = true;
    };
    if (h && e.key == key) {
        if (e.cmp_len > avail)
            fetch_second();
        if (same_bytes(buf, e))
            return e.insn;
    }
    const DecodeEntry& d = decode_fresh(buf, second_fetched ? 16 : avail, mode, fetch_second);
    if (!long64() && st.rip + d.insn.length - 1 > cs.limit)
        fault(kGp, 0);
    if (!h) {
        // Code from a non-RAM page is not cached (no bytes to validate against).
        static thread_local Insn uncached;
        uncached = d.insn;
        return uncached;
    }
    e = d;
    e.key = key;
    return e.insn;
}

// The length of the instruction at RIP, fetched past any page limits.
uint8_t CpuImpl::insn_length_at_rip()
{
    bool saved = m_bypass;
    uint64_t cr2 = st.cr2; // a #PF here is not the guest's
    m_bypass = true;
    m_walk_quiet = true; // nor are A/D bits set on the way, which limits may forbid
    uint8_t len = 0;
    try {
        len = fetch().length;
    } catch (const GuestFault&) {
    }
    m_walk_quiet = false;
    m_bypass = saved;
    st.cr2 = cr2;
    return len;
}

void CpuImpl::on_fault(const GuestFault& f)
{
    reset_replay();
    m_bypass = false;
    st.interrupt_shadow = false;
    deliver_fault(f);
}

void CpuImpl::on_exit_signal()
{
    // Nothing committed: the next run() re-executes with the completed value.
    m_replay_used = 0;
    m_stop.exit_pending_pre = true;
    m_delivering = kNotDelivering; // (an INT n whose frame a page's limits refused)
    if (m_exit.kind == CpuExit::Kind::Introspect && m_exit.introspect.what == CpuExit::Introspect::What::MemAccess)
        m_exit.introspect.insn_len = insn_length_at_rip(); // for Skip
}

// One instruction with every rule an instruction boundary can need: the TF trap, the replay of
// reads the VMM completed, the end of an interrupt shadow.
void CpuImpl::step()
{
    clear_insn_flags();
    m_event_delivered = false;
    bool tf = st.rflags & kRflagsTf;
    try {
        const Insn& i = fetch();
        m_next = (st.rip + i.length) & m_rip_mask;
        i.handler(*this, i);
        st.rip = m_next;
        m_retired += m_stop.rep_yield ? 0 : 1;
        if (m_replay_count | m_msr_completed)
            reset_replay();
        m_bypass = false;
        st.interrupt_shadow = m_stop.set_shadow;
        if (tf && !m_event_delivered) {
            st.dr[6] |= 1u << 14; // BS
            deliver_between(kDb, false);
        }
    } catch (const GuestFault& f) {
        on_fault(f);
    } catch (const ExitSignal&) {
        on_exit_signal();
    }
}

// Whether the next instruction needs step() rather than the fast path.
bool CpuImpl::needs_step() const
{
    return (st.rflags & kRflagsTf) || m_replay_count || m_msr_completed || m_bypass || st.interrupt_shadow ||
           after_pending();
}

// Instructions back to back while none of them needs anything at its boundary: no TF, no replay,
// no interrupt shadow, nothing in m_stop, no request from another thread. The per-instruction
// bookkeeping of step() is left to the instruction that makes one of those true, which ends the
// loop; what it left is sorted out here. `stop`: the run ends with the returned exit.
CpuExit CpuImpl::run_fast(uint64_t& n, uint64_t budget, bool& stop)
{
    stop = false;
    try {
        do {
            if (n >= budget) {
                stop = true;
                return CpuExit{};
            }
            ++n; // (a fault counts against the budget too)
            const Insn& i = fetch();
            m_next = (st.rip + i.length) & m_rip_mask;
            i.handler(*this, i);
            st.rip = m_next;
            ++m_retired;
        } while (!(after_pending() | (st.rflags & kRflagsTf)) && !events_due());
        m_retired -= m_stop.rep_yield ? 1 : 0;
        st.interrupt_shadow = m_stop.set_shadow;
        clear_insn_flags();
    } catch (const GuestFault& f) {
        clear_insn_flags();
        on_fault(f);
    } catch (const ExitSignal&) {
        clear_insn_flags();
        on_exit_signal();
    }
    if (stop_pending()) {
        stop = true;
        return stop_exit();
    }
    return CpuExit{};
}

// What the run loop returns after an instruction that set one of the stop flags.
CpuExit CpuImpl::stop_exit()
{
    if (m_stop.triple)
        return CpuExit{ CpuExit::Kind::TripleFault };
    if (m_stop.exit_pending_pre) {
        m_stop.exit_pending_pre = false;
        m_intercepted = m_exit.kind == CpuExit::Kind::Introspect;
        return m_exit;
    }
    if (m_stop.have_post_exit) {
        m_stop.have_post_exit = false;
        return m_exit;
    }
    return CpuExit{ CpuExit::Kind::Debug }; // single step
}

CpuExit CpuImpl::run(uint64_t budget)
{
    m_intercepted = false;
    if (m_queued_next < m_queued_count)
        return m_queued[m_queued_next++];
    m_queued_count = m_queued_next = 0;
    uint64_t n = 0;
    for (;;) {
        // The boundary checks: stop requests, the run state, events.
        if (m_events.load(std::memory_order_relaxed) & kEventStop) {
            m_events.fetch_and(~kEventStop, std::memory_order_relaxed);
            return CpuExit{};
        }
        if (m_stop.triple)
            return CpuExit{ CpuExit::Kind::TripleFault };
        if (st.run_state == RunState::WaitForSipi)
            return CpuExit{};
        if (m_held.kind != HeldEvent::Kind::None) {
            redeliver_held();
            if (exit_pending())
                return stop_exit();
        }
        // An instruction waiting for its completed read runs before any event is taken.
        bool replay_pending = m_replay_count != 0 || m_msr_completed || m_bypass;
        if (!replay_pending && ((m_events.load(std::memory_order_relaxed) & kEventAttention) ||
                                m_nmi_pending || st.run_state != RunState::Running)) {
            if (!take_events())
                return CpuExit{ CpuExit::Kind::Halt };
            if (exit_pending()) // a triple fault, or an event a page limit held
                return stop_exit();
        }
        // Instructions up to the next boundary that needs the checks above.
        do {
            if (needs_step()) {
                if (n >= budget)
                    return CpuExit{};
                step();
                ++n;
                if (stop_pending())
                    return stop_exit();
            } else {
                bool stop;
                CpuExit e = run_fast(n, budget, stop);
                if (stop)
                    return e;
            }
        } while (!events_due());
        // (NMIs and INIT arrive between runs, and HLT ends the run through its exit, so only
        // the other threads' requests and IF can change what the boundary checks decide meanwhile.)
    }
}

} // namespace xkvm::emu
