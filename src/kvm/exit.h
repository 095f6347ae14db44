// What a vCPU exit handler sees and what it decides.
#pragma once

#include <cstdint>
#include <linux/kvm.h>
#include <string>

namespace xkvm::kvm {

class Vcpu;

// The handler's decision; the runner carries it out.
enum class ExitOutcome : uint8_t {
    Resume,           // re-enter the guest as is
    AdvanceAndResume, // skip ctx.instruction_length bytes of the faulting instruction, re-enter
    Pause,            // the handler set a pause reason (e.g. blocked); re-enter when it clears
    Shutdown,         // the domain is going down; the vCPU stays out of the guest
    InjectFault,      // deliver ctx.fault to the guest, then re-enter
};

struct Fault {
    uint8_t vector = 13; // #GP
    bool has_error_code = true;
    uint32_t error_code = 0;
};

// Exit reason used when KVM_RUN itself failed (the error text is in `detail`).
inline constexpr uint32_t kExitRunFailed = 0xffff0001;

struct ExitContext {
    Vcpu& vcpu;
    kvm_run& run;
    uint32_t reason; // KVM_EXIT_* or kExitRunFailed

    // Filled in by the handler, as its outcome needs.
    uint8_t instruction_length = 0;
    Fault fault {};
    std::string detail;
};

class ExitHandler {
public:
    virtual ~ExitHandler() = default;
    virtual ExitOutcome handle_exit(ExitContext& ctx) = 0;
    // Called on the vCPU thread before every entry into the guest (after kicks too): the place to
    // inject pending interrupts that the in-kernel LAPIC does not know about. False keeps the vCPU
    // out of the guest this time (the handler set a pause reason, e.g. it is still blocked).
    virtual bool before_entry(Vcpu&) { return true; }
};

} // namespace xkvm::kvm
