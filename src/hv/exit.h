// One vCPU exit as every backend reports it, and what a handler decides about it.
#pragma once

#include <cstdint>
#include <string>

#include "hv/introspection.h"

namespace xkvm::hv {

class Vcpu;

struct Exit {
    enum class Kind : uint8_t {
        PortIo,      // IN/OUT (and INS/OUTS, `count` elements): reads fill `data` before resuming
        Mmio,        // a load or store to guest-physical memory that is not RAM (or is read-only)
        MsrRead,     // RDMSR of an MSR the backend does not know: set msr.value / msr.fault
        MsrWrite,    // WRMSR likewise: set msr.fault to refuse
        Hypercall,   // VMCALL/VMMCALL trapped by the backend, already retired: arguments in GPRs
        Halt,        // HLT the backend did not keep to itself
        TripleFault, // the CPU shut down
        PowerOff,    // the platform asked to power off (KVM system event)
        Reset,       // the platform asked to reset
        Debug,       // a single-step or breakpoint trap
        Introspect,  // an access or instruction a monitor asked to see first: `introspect`
        Interrupted, // a kick, or an immediate-exit request: look at the state again
        Failed,      // the backend could not run the vCPU: `detail` says why
    };
    Kind kind = Kind::Interrupted;

    struct PortIo {
        uint16_t port = 0;
        uint8_t size = 0; // bytes per element
        bool write = false;
        uint32_t count = 1;
        uint8_t* data = nullptr; // count * size bytes, owned by the backend
    } io;
    struct Mmio {
        uint64_t gpa = 0;
        uint8_t size = 0;
        bool write = false;
        uint8_t* data = nullptr; // `size` bytes (at most 8), owned by the backend
    } mmio;
    struct Msr {
        uint32_t index = 0;
        uint64_t value = 0;
        bool fault = true; // unknown MSRs raise #GP unless a handler says otherwise
    } msr;
    IntrospectExit introspect;
    std::string detail;
};

// The handler's decision; the runner carries it out.
enum class ExitOutcome : uint8_t {
    Resume,   // re-enter the guest as is
    Pause,    // the handler set a pause reason (e.g. blocked); re-enter when it clears
    Shutdown, // the domain is going down; the vCPU stays out of the guest
};

struct ExitContext {
    Vcpu& vcpu;
    Exit& exit;
};

class ExitHandler {
public:
    virtual ~ExitHandler() = default;
    virtual ExitOutcome handle_exit(ExitContext& ctx) = 0;
    // Called on the vCPU thread before every entry into the guest (after kicks too): the place to
    // inject interrupts the backend's interrupt controllers do not know about. False keeps the
    // vCPU out of the guest this time (the handler set a pause reason, e.g. it is still blocked).
    virtual bool before_entry(Vcpu&) { return true; }
};

} // namespace xkvm::hv
