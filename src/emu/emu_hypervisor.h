// The emulated-CPU backend's hv::Hypervisor: no device to open, a CPUID that announces only what the
// interpreter implements, VMCALL as the hypercall trap.
#pragma once

#include "hv/hypervisor.h"

namespace xkvm::emu {

class EmuHypervisor final : public hv::Hypervisor {
public:
    static Result<std::unique_ptr<EmuHypervisor>> create();

    hv::Accel accel() const override { return hv::Accel::Emu; }
    const hv::Capabilities& capabilities() const override { return m_caps; }
    const hv::CpuidTable& supported_cpuid() const override { return m_cpuid; }
    Result<std::unique_ptr<hv::Vm>> create_vm(const hv::VmOptions& opts) override;

private:
    EmuHypervisor() = default;
    hv::Capabilities m_caps { .vmcall_hypercalls = true };
    hv::CpuidTable m_cpuid;
};

// The CPUID of the emulated CPU (exposed for tests): an Intel-compatible x86-64 integer CPU with a
// LAPIC/x2APIC, SYSCALL/SYSENTER, NX, PAE/PSE/PGE, CMPXCHG8B/16B and RDTSCP; no x87/SSE yet.
hv::CpuidTable emulated_cpuid();

// The host TSC's rate, measured once per process against CLOCK_MONOTONIC (the emulated guest TSC
// runs at the host's rate).
uint32_t host_tsc_khz();

} // namespace xkvm::emu
