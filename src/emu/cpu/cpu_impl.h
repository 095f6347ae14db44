// The interpreter's private state and the helpers its handlers share. Included only by src/emu/cpu.
//
// Guest architectural faults unwind as a GuestFault (a small C++ exception) caught once per
// instruction in CpuImpl::step(): a fault can arise many calls deep (a page walk under a string
// operation under a REP loop) and nothing between needs to clean up, so exceptions keep every
// handler free of error plumbing. Exits that must be taken before an instruction commits (port
// and MMIO reads, unknown MSRs) unwind the same way as an ExitSignal. Neither leaves the library.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>

#include "emu/cpu/bus.h"
#include "emu/cpu/cpu.h"
#include "emu/cpu/cpu_exit.h"
#include "emu/cpu/cpu_state.h"
#include "emu/cpu/cpu_types.h"

namespace xkvm::emu {

class CpuImpl {
public:
    explicit CpuImpl(CpuBus& bus);

    // ---- run loop (cpu.cpp)
    CpuExit run(uint64_t budget);
    CpuExit stop_exit();
    void state_changed();
    void step();
    CpuExit run_fast(uint64_t& n, uint64_t budget, bool& stop);
    bool needs_step() const;
    void on_fault(const GuestFault& f);
    void on_exit_signal();
    const Insn& fetch();
    const Insn& fetch_slow(uint64_t lin, uint64_t mode);
    template<typename F> const DecodeEntry& decode_fresh(uint8_t* buf, unsigned len, uint64_t mode, F&& fetch_more);
    void reset_replay();
    bool take_events();

    // ---- modes
    bool long64() const { return m_long64; }
    uint8_t code_size() const { return m_code_size; }
    uint8_t stack_size() const { return m_stack_size; }
    bool protected_mode() const { return st.cr0 & x86::kCr0Pe; }
    bool long_mode() const { return st.efer & x86::kEferLma; }
    uint8_t cpl() const { return st.seg[SegCs].dpl; }
    uint8_t iopl() const { return (st.rflags >> 12) & 3; }

    // ---- faults
    [[noreturn]] void fault(uint8_t vector) { throw GuestFault{ vector, false, 0 }; }
    [[noreturn]] void fault(uint8_t vector, uint32_t error) { throw GuestFault{ vector, true, error }; }
    [[noreturn]] void exit_before_commit(const CpuExit& e)
    {
        m_exit = e;
        throw ExitSignal{};
    }
    void post_exit(const CpuExit& e)
    {
        m_exit = e;
        m_stop.have_post_exit = true;
    }

    // ---- registers
    uint64_t reg(unsigned r, unsigned size) const { return st.gpr[r & 15] & size_mask(size); }
    void set_reg(unsigned r, unsigned size, uint64_t v)
    {
        uint64_t& g = st.gpr[r & 15];
        switch (size) {
        case 1: g = (g & ~0xffull) | (v & 0xff); break;
        case 2: g = (g & ~0xffffull) | (v & 0xffff); break;
        case 4: g = v & 0xffffffffull; break; // 32-bit writes zero the upper half
        default: g = v; break;
        }
    }

    // ---- memory (mmu.cpp)
    [[gnu::always_inline]] uint64_t linear(uint8_t seg, uint64_t off, unsigned size, bool write)
    {
        if (m_long64) {
            uint64_t lin = (seg >= SegFs ? st.seg[seg].base : 0) + off;
            if (canonical(lin) && canonical(lin + size - 1))
                return lin;
        }
        return linear_slow(seg, off, size, write);
    }
    uint64_t linear_slow(uint8_t seg, uint64_t off, unsigned size, bool write);
    // Accesses are 1-8 bytes: wider operands are split by their handlers.
    [[gnu::always_inline]] uint64_t read_lin(uint64_t lin, unsigned size, uint8_t acc = kAccRead)
    {
        size = size > 8 ? 8 : size;
        if (!m_long64 && !((acc & kAccSystem) && long_mode()))
            lin &= 0xffffffffull;
        if ((lin & (kPageSize - 1)) + size <= kPageSize) {
            if (const TlbEntry* t = tlb_hit(lin, acc)) {
                uint64_t v = 0;
                std::memcpy(&v, t->host + (lin & (kPageSize - 1)), size);
                return v;
            }
        }
        return read_lin_slow(lin, size, acc);
    }
    [[gnu::always_inline]] void write_lin(uint64_t lin, unsigned size, uint64_t v, uint8_t acc = kAccWrite)
    {
        size = size > 8 ? 8 : size;
        if (!m_long64 && !((acc & kAccSystem) && long_mode()))
            lin &= 0xffffffffull;
        if ((lin & (kPageSize - 1)) + size <= kPageSize) {
            if (const TlbEntry* t = tlb_hit(lin, acc | kAccWrite)) {
                std::memcpy(t->host + (lin & (kPageSize - 1)), &v, size);
                return;
            }
        }
        write_lin_slow(lin, size, v, acc);
    }
    uint64_t read_lin_slow(uint64_t lin, unsigned size, uint8_t acc);
    void write_lin_slow(uint64_t lin, unsigned size, uint64_t v, uint8_t acc);
    // The TLB entry that lets `acc` at `lin` go straight to host memory, or nullptr.
    [[gnu::always_inline]] const TlbEntry* tlb_hit(uint64_t lin, uint8_t acc) const
    {
        const TlbEntry& t = m_tlb[(lin >> 12) % kTlbSize];
        if (t.tag != ((lin & ~(kPageSize - 1)) | 1))
            return nullptr;
        uint8_t need = (acc & kAccWrite) ? kAllowWrite : (acc & kAccFetch) ? kAllowFetch : kAllowRead;
        need = uint8_t(need << ((acc & kAccSystem) ? 0 : m_user_shift));
        return (t.allow & need) ? &t : nullptr;
    }
    // Inlined everywhere: with a constant size (the specialised handlers) a TLB hit is one host
    // load or store.
    [[gnu::always_inline]] uint64_t read_mem(uint8_t seg, uint64_t off, unsigned size)
    {
        return read_lin(linear(seg, off, size, false), size);
    }
    [[gnu::always_inline]] void write_mem(uint8_t seg, uint64_t off, unsigned size, uint64_t v)
    {
        write_lin(linear(seg, off, size, true), size, v);
    }
    // The host byte for `lin` (nullptr: not RAM, m_last_gpa says where). Faults as the access would.
    uint8_t* translate(uint64_t lin, uint8_t acc, uint64_t& gpa);
    Walk walk(uint64_t lin, uint8_t acc);
    // Where `lin` leads through the current tables, touching nothing (no A/D bits, CR2, limits).
    std::optional<uint64_t> probe(uint64_t lin);
    bool walk_tables(uint64_t lin, uint8_t acc, bool effects, Walk& w, uint32_t& err);
    uint32_t finish_leaf(uint64_t lin, uint8_t acc, bool touch, uint64_t eaddr, uint64_t e, uint64_t* h64,
                         uint32_t* h32, Walk& w);
    // Sets `bits` in the entry at `eaddr` (value `e`) unless they are set, under the limits.
    void set_entry_bits(uint64_t lin, uint64_t eaddr, uint64_t e, uint64_t* h64, uint32_t* h32, uint64_t bits);
    uint8_t* host_for_rmw(uint64_t lin, unsigned size); // nullptr unless RAM within one cache line
    uint64_t read_phys(uint64_t gpa, unsigned size);
    void write_phys(uint64_t gpa, unsigned size, uint64_t v);
    void flush_tlb();
    void flush_decode_cache();

    // ---- I/O
    uint64_t port_in(uint16_t port, unsigned size);
    void port_out(uint16_t port, unsigned size, uint64_t v);
    bool consume_replay(uint64_t& v);
    // A port or MMIO read nobody local handled: the VMM's completed value when this is the
    // instruction's re-execution, else an exit before the instruction commits.
    uint64_t read_from_vmm(const CpuExit& e);

    // ---- operands
    [[gnu::always_inline]] uint64_t ea(const Insn& i) const
    {
        const MemRef& m = i.mem;
        uint64_t a = uint64_t(m.disp);
        if (m.base == kRipReg)
            a += st.rip + i.length;
        else if (m.base != kNoReg)
            a += st.gpr[m.base];
        if (m.index != kNoReg && m.index != kRipReg)
            a += st.gpr[m.index] * m.scale;
        return a & size_mask(i.asize);
    }
    uint64_t get(const Insn& i, unsigned n)
    {
        const Operand& o = i.op[n];
        switch (o.kind) {
        case OpKind::Gpr: return reg(o.reg, o.size);
        case OpKind::GprHigh: return (st.gpr[o.reg] >> 8) & 0xff;
        case OpKind::Seg: return st.seg[o.reg].selector;
        case OpKind::Mem:
            if (o.size == 0 || o.size > 8) // pseudo-descriptors and far pointers are read field by field
                fault(kUd);
            return read_mem(i.mem.seg, ea(i), o.size);
        case OpKind::Imm: return (o.reg ? i.imm2 : i.imm) & size_mask(o.size);
        default: return 0;
        }
    }
    void set(const Insn& i, unsigned n, uint64_t v)
    {
        const Operand& o = i.op[n];
        switch (o.kind) {
        case OpKind::Gpr: set_reg(o.reg, o.size, v); break;
        case OpKind::GprHigh: st.gpr[o.reg] = (st.gpr[o.reg] & ~0xff00ull) | ((v & 0xff) << 8); break;
        case OpKind::Mem:
            if (o.size == 0 || o.size > 8)
                fault(kUd);
            write_mem(i.mem.seg, ea(i), o.size, v);
            break;
        default: break;
        }
    }
    uint64_t next_rip(const Insn& i) const { return st.rip + i.length; }
    // The stack at SS:RSP with the stack size's wrap; RSP changes only once the access worked.
    uint64_t sp_mask() const { return size_mask(stack_size()); }
    [[gnu::always_inline]] void push(uint64_t v, unsigned size)
    {
        uint64_t mask = sp_mask();
        uint64_t sp = (st.gpr[x86::Rsp] - size) & mask;
        write_mem(SegSs, sp, size, v);
        st.gpr[x86::Rsp] = (st.gpr[x86::Rsp] & ~mask) | sp;
    }
    [[gnu::always_inline]] uint64_t pop(unsigned size)
    {
        uint64_t mask = sp_mask();
        uint64_t sp = st.gpr[x86::Rsp] & mask;
        uint64_t v = read_mem(SegSs, sp, size);
        st.gpr[x86::Rsp] = (st.gpr[x86::Rsp] & ~mask) | ((sp + size) & mask);
        return v;
    }
    // A near branch: the target checked against CS (64-bit: canonical), then RIP after the
    // instruction. Inline: every taken Jcc comes here.
    void jump(uint64_t target, unsigned osize)
    {
        target &= size_mask(osize);
        if (m_long64 ? !canonical(target) : protected_mode() && target > st.seg[SegCs].limit)
            fault(kGp, 0);
        m_next = target;
    }

    // ---- introspection (introspect.cpp)
    // Exits before `acc` at `lin` (frame `gpa_page`) when the page's limits `allow` refuse it.
    void check_page_allow(uint64_t lin, uint64_t gpa_page, uint8_t acc, uint8_t allow);
    // Exits before the walk for `lin` reads (kPageRead) or updates (kPageWrite) the entry at
    // `entry_gpa` when its page's limits refuse that.
    void check_walk_access(uint64_t lin, uint64_t entry_gpa, uint8_t page_bit);
    bool intercepting() const { return !m_bypass; }
    bool intercepts_cr(unsigned n) const { return !m_bypass && ((m_intercepts.cr_writes >> n) & 1); }
    bool intercepts_msr(uint32_t index) const;
    [[noreturn]] void intercept(CpuExit::Introspect x, uint8_t insn_len, uint64_t gpa = 0);
    uint8_t insn_length_at_rip(); // 0 where its fetch faults
    bool finish_intercept(InterceptFinish how);
    // An event between instructions (a fault's delivery, an NMI, an external interrupt, the
    // single-step trap) whose IDT, GDT, TSS or stack access a page limit refused. Nothing of it
    // committed; the run ends with the Introspect exit and the next run() delivers it again.
    struct HeldEvent {
        enum class Kind : uint8_t { None, Fault, Direct } kind = Kind::None;
        GuestFault fault{};            // the exception, or the vector delivered directly
        uint8_t prev = kNotDelivering; // Fault: the delivery it interrupted (for #DF, triple fault)
        bool nmi = false;              // Direct: an NMI, which blocks NMIs once delivered
    };
    // `before`: m_exit before the delivery, which a refused access overwrote.
    void hold_event(const HeldEvent& ev, const CpuExit& before);
    // Delivers `vector` as NMIs, external interrupts and the single-step trap are; false when a
    // page limit held it. Faults of the delivery propagate.
    bool deliver_between(uint8_t vector, bool nmi);
    void redeliver_held();

    // ---- segments (segment.cpp)
    Descriptor read_descriptor(uint16_t sel, uint8_t vector_on_fault);
    void load_segment(uint8_t seg, uint16_t sel);
    void load_cs(uint16_t sel, const Descriptor& d, uint8_t cpl);
    void set_segment_from_descriptor(x86::Segment& s, uint16_t sel, const Descriptor& d);
    void real_mode_segment(uint8_t seg, uint16_t sel);
    void far_jump(uint16_t sel, uint64_t off, bool call, unsigned osize);
    void far_return(unsigned osize, uint16_t pop_bytes);
    void iret(unsigned osize);
    void set_flags(uint64_t v, uint64_t writable);

    // ---- events (exception.cpp)
    void deliver(uint8_t vector, bool has_error, uint32_t error, bool software, bool external);
    void deliver_fault(const GuestFault& f);
    void update_modes();

    CpuBus& bus;
    EmuState st;
    std::atomic<uint32_t> m_events{ 0 }; // kEventStop | kEventAttention
    static constexpr uint32_t kEventStop = 1, kEventAttention = 2;
    // Whether the requests in m_events need the run loop's boundary checks now. An interrupt
    // waiting for IF does not, unless an NMI is pending as well: without the exception, a guest
    // that runs with IF clear and an interrupt pending took those checks after every instruction.
    bool events_due() const
    {
        uint32_t ev = m_events.load(std::memory_order_relaxed);
        return ev != 0 && (ev != kEventAttention || (st.rflags & kRflagsIf) || m_nmi_pending);
    }

    // Anything the run loop must look at after an instruction, read as one word: zero while
    // instructions simply retire, so the fast path tests one load per instruction.
    struct AfterFlags {
        bool triple = false;           // a fault while delivering #DF
        bool exit_pending_pre = false; // an exit taken before the instruction committed
        bool have_post_exit = false;   // an exit reported after the instruction retired
        bool single_step = false;      // set_single_step(): a Debug exit after each instruction
        // Per instruction (cleared before the next one):
        bool set_shadow = false; // MOV SS, POP SS, STI: no events before the next instruction ends
        bool rep_yield = false;  // a REP instruction stopped between elements (not retired yet)
        bool io_done = false;    // an MMIO/port access happened: REP loops stop after this element
        bool unused = false;
    } m_stop;
    static_assert(sizeof(AfterFlags) == 8);
    bool stop_pending() const // the first four: the run ends
    {
        uint32_t w;
        std::memcpy(&w, &m_stop, sizeof(w));
        return w != 0;
    }
    bool after_pending() const
    {
        uint64_t w;
        std::memcpy(&w, &m_stop, sizeof(w));
        return w != 0;
    }
    // An exit to report before the next instruction. Single-stepping is not one: its trap follows an
    // instruction, so a boundary that only delivered events must still run one.
    bool exit_pending() const { return m_stop.triple || m_stop.exit_pending_pre || m_stop.have_post_exit; }
    void clear_insn_flags() { m_stop.set_shadow = m_stop.rep_yield = m_stop.io_done = false; }

    // Per-instruction context.
    uint64_t m_next = 0;           // RIP after the instruction; branches set it
    bool m_event_delivered = false; // the instruction delivered an event (INT n, fault in REP...)
    // Event delivery cannot stop half-way for the VMM: IDT, GDT, TSS or stack accesses that hit
    // MMIO read as all-ones and drop writes (open bus) instead of exiting.
    bool m_delivering_event = false;
    CpuExit m_exit;

    // Replay of reads the VMM completed: values in order of the instruction's reads.
    uint64_t m_replay[4] = {};
    unsigned m_replay_count = 0, m_replay_used = 0;
    bool m_msr_completed = false, m_msr_fault = false;
    uint64_t m_msr_value = 0;
    // MMIO writes of one instruction beyond the first, reported by the following runs.
    CpuExit m_queued[4];
    unsigned m_queued_count = 0, m_queued_next = 0;

    bool m_nmi_pending = false;
    uint64_t m_retired = 0;
    uint8_t m_delivering = kNotDelivering; // the vector being delivered (for #DF / triple fault)

    bool m_long64 = false;
    uint8_t m_code_size = 2, m_stack_size = 2;
    uint8_t m_user_shift = 0;       // kAllowUserShift at CPL3: which TLB permission bits apply
    uint8_t m_mode_key = 0;         // the decode cache's code-size class: 0 16-bit, 1 32-bit, 2 64-bit
    uint64_t m_rip_mask = 0xffff;   // RIP wraps at the code size
    uint8_t m_maxphys = 36;
    bool m_has_smep = false, m_has_smap = false, m_has_umip = false;

    alignas(64) TlbEntry m_tlb[kTlbSize]; // (two entries per cache line, whatever comes before)
    // The page instructions were last fetched from (a copy of its TLB entry), for the fast path.
    uint64_t m_fetch_page = 0; // linear page | 1 while valid
    uint8_t* m_fetch_host = nullptr;
    uint64_t m_fetch_gpa = 0;
    uint64_t m_fetch_key = 0; // the decode-cache key of the page's offset 0 in the current mode
    DecodeEntry* m_decode = nullptr;
    std::unique_ptr<DecodeEntry[]> m_decode_storage;
    DecodeEntry m_last_decode; // key: the code-size class; ~0 while it holds nothing reusable

    // Introspection: the instructions that exit first; m_bypass while an Execute'd instruction runs
    // (events wait for it, as for a replay); m_intercepted after an Introspect exit until the next run.
    CpuIntercepts m_intercepts;
    bool m_bypass = false;
    // m_walk_quiet: walks set no A/D bits, check no page-table limits and fill no TLB entry (a
    // look at the instruction for the VMM, not the guest's). m_walk_uncacheable: the last walk
    // went through page-table limits only because of m_bypass.
    bool m_walk_quiet = false;
    bool m_walk_uncacheable = false;
    bool m_intercepted = false;
    HeldEvent m_held;
};

// Handlers' lookup (dispatch.cpp): the handler for a Zydis mnemonic, or the #UD handler.
Handler handler_for(unsigned mnemonic);
// A handler specialised for the decoded form of a hot instruction (ops_fast.cpp), or nullptr.
Handler fast_form(const Insn& i);
// Decoding (decode.cpp): bytes -> Insn; false when Zydis rejects them (#UD).
bool decode_insn(const uint8_t* bytes, unsigned len, uint8_t code_size, Insn& out, bool& need_more);

// Sized dispatch: calls f.template operator()<T>() for T of `size` bytes.
template<typename F> inline auto with_size(unsigned size, F&& f)
{
    switch (size) {
    case 1: return f.template operator()<uint8_t>();
    case 2: return f.template operator()<uint16_t>();
    case 4: return f.template operator()<uint32_t>();
    default: return f.template operator()<uint64_t>();
    }
}


} // namespace xkvm::emu
