// Introspection: the page limits a monitor set, checked where translations enter the TLB, and the
// instructions that exit before they execute (their handlers ask here); how an intercepted
// instruction is finished.
#include <algorithm>
#include <utility>

#include "emu/cpu/cpu_impl.h"

namespace xkvm::emu {

namespace {

uint8_t page_bit(uint8_t acc)
{
    return (acc & kAccWrite) ? kPageWrite : (acc & kAccFetch) ? kPageExec : kPageRead;
}

} // namespace

void CpuImpl::check_page_allow(uint64_t lin, uint64_t gpa_page, uint8_t acc, uint8_t allow)
{
    uint8_t bit = page_bit(acc);
    if ((allow & bit) || m_bypass)
        return;
    // INT n, INT3 and INTO deliver inside their instruction, which the exit re-executes; other
    // events are held (hold_event) and delivered again by the next run.
    CpuExit::Introspect x;
    x.what = CpuExit::Introspect::What::MemAccess;
    x.access = bit;
    x.lin = lin;
    x.lin_valid = true; // every access checked here is to a linear address (walks: check_walk_access)
    // (insn_len: on_exit_signal() fetches the instruction once RIP is back on it.)
    intercept(x, 0, gpa_page | (lin & (kPageSize - 1)));
}

bool CpuImpl::intercepts_msr(uint32_t index) const
{
    return !m_bypass && std::binary_search(m_intercepts.msr_writes.begin(), m_intercepts.msr_writes.end(), index);
}

void CpuImpl::intercept(CpuExit::Introspect x, uint8_t insn_len, uint64_t gpa)
{
    CpuExit e;
    e.kind = CpuExit::Kind::Introspect;
    e.gpa = gpa;
    e.introspect = x;
    e.introspect.insn_len = insn_len;
    exit_before_commit(e);
}

void CpuImpl::hold_event(const HeldEvent& ev, const CpuExit& before)
{
    m_delivering = kNotDelivering;
    if (m_exit.kind != CpuExit::Kind::Introspect) {
        m_stop.triple = true; // (delivery reads MMIO as open bus, so only limits should get here)
        return;
    }
    m_held = ev;
    if (m_stop.have_post_exit) {
        // The retired instruction's exit (a port or MMIO write before its single-step trap) is
        // reported first; the next run delivers the event again and exits then.
        m_exit = before;
        return;
    }
    m_stop.exit_pending_pre = true; // insn_len stays 0: there is no instruction to skip
}

bool CpuImpl::deliver_between(uint8_t vector, bool nmi)
{
    const CpuExit before = m_exit;
    try {
        deliver(vector, false, 0, false, true);
        return true;
    } catch (const ExitSignal&) {
        hold_event(HeldEvent{ HeldEvent::Kind::Direct, GuestFault{ vector, false, 0 }, kNotDelivering, nmi }, before);
        return false;
    }
}

void CpuImpl::redeliver_held()
{
    HeldEvent ev = std::exchange(m_held, HeldEvent{});
    if (ev.kind == HeldEvent::Kind::Fault) {
        m_delivering = ev.prev; // as when it was held: a fault of this delivery is a #DF (or worse)
        deliver_fault(ev.fault);
    } else {
        try {
            if (deliver_between(ev.fault.vector, ev.nmi) && ev.nmi)
                st.nmi_blocked = true;
        } catch (const GuestFault& f) {
            deliver_fault(f);
        }
    }
    m_bypass = false; // Execute lets the delivery through, not the handler's first instruction
}

bool CpuImpl::finish_intercept(InterceptFinish how)
{
    if (!m_intercepted)
        return false;
    m_intercepted = false;
    if (m_held.kind != HeldEvent::Kind::None) {
        // An event is not an instruction: nothing to skip, so Skip keeps it as Retry does.
        m_bypass = how == InterceptFinish::Execute;
        return true;
    }
    switch (how) {
    case InterceptFinish::Retry: break;
    case InterceptFinish::Execute: m_bypass = true; break;
    case InterceptFinish::Skip:
        // As if it retired doing nothing. Without a length (its fetch faulted) it stays, and the
        // next run() raises that fault.
        st.rip = (st.rip + m_exit.introspect.insn_len) & m_rip_mask;
        st.rflags &= ~kRflagsRf;
        st.interrupt_shadow = false;
        reset_replay();
        break;
    }
    return true;
}

} // namespace xkvm::emu
