// A hypercall as the handlers see it, and the dispatch table that routes it.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "base/result.h"
#include "x86/guest_virtual.h"
#include "xen/abi/xen.h"

namespace xkvm::xen {

class Domain;

// What a hypercall asks of the vCPU besides a return value.
enum class HypercallEffect : uint8_t {
    None,
    Block,    // wait for an event (SCHEDOP_block/poll): the vCPU is parked until woken
    Shutdown, // the domain shut down (SCHEDOP_shutdown): reason in shutdown_reason
    GuestRequest, // HVMOP_guest_request_vm_event: an event for the domain's monitor, if it has one
};

struct HypercallContext {
    Domain& domain;
    uint32_t vcpu_id;
    bool mode64;    // 64-bit caller: 64-bit argument registers and structure layouts
    uint8_t cpl;
    uint64_t op;    // hypercall number
    std::array<uint64_t, 6> args {};
    x86::GuestVirtual guest; // guest pointers are read and written only through this

    HypercallEffect effect = HypercallEffect::None;
    unsigned shutdown_reason = 0;

    uint64_t arg(size_t i) const { return mode64 ? args[i] : (args[i] & 0xffffffffu); }
    // Sub-op argument as Xen reads it: an int (commands) or unsigned long (pointers).
    unsigned cmd(size_t i) const { return static_cast<unsigned>(args[i]); }
};

// The hypercall number and arguments in the caller's registers: rax; rdi rsi rdx r10 r8 r9 for
// 64-bit code, eax; ebx ecx edx esi edi ebp (truncated to 32 bits) otherwise.
struct HypercallRegs {
    uint64_t op = 0;
    std::array<uint64_t, 6> args {};
};
HypercallRegs decode_hypercall_regs(const x86::Regs& regs, bool mode64);
// The value to leave in rax (a 32-bit caller sees the low half, upper bits cleared).
uint64_t hypercall_return_value(int64_t result, bool mode64);

using HypercallResult = Result<int64_t>;
using HypercallHandler = HypercallResult (*)(HypercallContext&);

// One entry per hypercall number; empty entries answer -ENOSYS.
const std::array<HypercallHandler, XEN_HYPERCALL_COUNT>& hypercall_table();
const char* hypercall_name(uint64_t op);

// Runs the handler and returns the value for the guest's return register (negative Xen errno on
// failure). Never throws; every guest value is validated by the handlers.
int64_t dispatch_hypercall(HypercallContext& ctx);

// A sub-op that names a domain, as Xen checks it (rcu_lock_domain_by_any_id, then the XSM dummy
// policy's XSM_TARGET): the caller's own domain passes, a domain nobody has is -ESRCH, any other
// needs privilege (-EPERM). Domain 0 always exists.
Status check_target_domain(const HypercallContext& ctx, domid_t domid, const char* what);

// One handler per hypercall family, each in its own file.
HypercallResult do_xen_version(HypercallContext&);
HypercallResult do_console_io(HypercallContext&);
HypercallResult do_sched_op(HypercallContext&);
HypercallResult do_set_timer_op(HypercallContext&);
HypercallResult do_hvm_op(HypercallContext&);
HypercallResult do_memory_op(HypercallContext&);
// The balloon sub-ops of memory_op (memory_reservation.cpp).
HypercallResult memory_reservation_op(HypercallContext&, unsigned op);
HypercallResult do_vcpu_op(HypercallContext&);
HypercallResult do_event_channel_op(HypercallContext&);

} // namespace xkvm::xen
