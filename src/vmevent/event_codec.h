// Between xkvm's CPU state and Xen's event layout: the registers a request carries, and what a
// monitor's response asks for, checked field by field (the response parser is fuzzed:
// fuzz/vmevent_response_fuzz.cpp).
#pragma once

#include <cstdint>
#include <optional>

#include "base/result.h"
#include "vmevent/abi.h"
#include "x86/cpu_state.h"

namespace xkvm::vmevent {

// A request of `reason` from `vcpu`, version 7, its registers from `state` (flags and detail empty).
Event make_request(uint32_t reason, uint32_t vcpu, const x86::CpuState& state);

// What happens to an intercepted instruction after the response.
enum class Verdict : uint8_t {
    Retry,   // run it again under the limits then in force
    Emulate, // VM_EVENT_FLAG_EMULATE: run it once despite them
    Deny,    // VM_EVENT_FLAG_DENY: skip it
};

struct ResponseAction {
    uint32_t vcpu = 0;
    bool unpause = false;           // VM_EVENT_FLAG_VCPU_PAUSED
    bool toggle_singlestep = false; // VM_EVENT_FLAG_TOGGLE_SINGLESTEP
    Verdict verdict = Verdict::Retry;
    std::optional<x86::Regs> regs;  // VM_EVENT_FLAG_SET_REGISTERS: GPRs, RFLAGS, RIP (Xen's set)
};

// Checks a response from the monitor: interface version 7, a vCPU below `vcpus`. EPROTO otherwise
// (Xen drops such responses too).
Result<ResponseAction> decode_response(const Event& response, uint32_t vcpus);

// The registers of a response as x86::Regs (what VM_EVENT_FLAG_SET_REGISTERS loads).
x86::Regs regs_of(const RegsX86& r);

} // namespace xkvm::vmevent
