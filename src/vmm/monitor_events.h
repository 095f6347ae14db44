// Exit state to vm_event requests, responses to what a vCPU does next, and XENMEM_access_op's
// access values to the backend's page limits: free functions over decoded state, unit-tested
// without a vCPU (monitor_events_test.cpp).
#pragma once

#include <cstdint>

#include "base/result.h"
#include "hv/introspection.h"
#include "vmevent/abi.h"
#include "vmevent/event_codec.h"
#include "x86/cpu_state.h"

namespace xkvm::vmm {

// Xen's INVALID_GFN: what an event names when RIP does not translate.
inline constexpr uint64_t kInvalidGfn = ~0ull;
// The linear address of CS:RIP (the segment base counts outside 64-bit code, as on Xen).
uint64_t rip_linear(const x86::CpuState& state);

// The request for an instruction the backend intercepted (reason and detail by its kind).
// `rip_gfn` is the frame CS:RIP translates to through the guest's page tables (breakpoints
// report it, as Xen does), or kInvalidGfn.
vmevent::Event introspect_request(uint32_t vcpu, const x86::CpuState& state, const hv::IntrospectExit& exit,
                                  uint64_t rip_gfn);
// A single-step trap: RIP is the next instruction to run; `rip_gfn` as above.
vmevent::Event singlestep_request(uint32_t vcpu, const x86::CpuState& state, uint64_t rip_gfn);
// HVMOP_guest_request_vm_event: the payload is the guest's registers as they were at the call.
// Xen takes its snapshot inside the hypercall, before the return value replaces RAX, so RAX is
// the hypercall number (`call_rax`) whatever the state says by now.
vmevent::Event guest_request(uint32_t vcpu, const x86::CpuState& state, uint64_t call_rax);

// How an intercepted instruction finishes after a response, as on Xen: a refused memory access and
// a breakpoint run again (the monitor lifted the limit, or moved RIP, or the event repeats); a
// register write completes. EMULATE runs it once regardless, DENY skips it.
hv::InterceptFinish finish_for(vmevent::Verdict verdict, hv::IntrospectExit::What what);

// xenmem_access_t -> hv::kAccess* bits (default: everything). EOPNOTSUPP for the automatic
// conversions (rx2rw, n2rwx), which need a backend that changes a page's access by itself; EINVAL
// past the last value.
Result<uint8_t> page_access_of(uint32_t xenmem_access);
// hv::kAccess* bits -> xenmem_access_t.
vmevent::XenmemAccess xenmem_access_of(uint8_t bits);

} // namespace xkvm::vmm
