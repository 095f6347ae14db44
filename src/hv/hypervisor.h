// A backend that runs virtual machines: KVM, or the emulated CPU. What lies above names neither; it
// asks a Hypervisor for VMs and reads its capabilities.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "hv/cpuid_table.h"
#include "hv/vm.h"

namespace xkvm::hv {

enum class Accel : uint8_t { Auto, Kvm, Emu };

struct Capabilities {
    // VMCALL/VMMCALL reach the VMM as Exit::Kind::Hypercall (else the hypercall page traps with
    // a port write).
    bool vmcall_hypercalls = false;
};

struct VmOptions {
    // Guest-physical pages KVM needs for real-mode emulation on Intel; they must not be guest RAM.
    uint64_t tss_addr = 0xfffbd000;
    uint64_t identity_map_addr = 0xfffbc000;
};

class Hypervisor {
public:
    virtual ~Hypervisor() = default;
    virtual Accel accel() const = 0;
    virtual const Capabilities& capabilities() const = 0;
    // The CPUID leaves a guest may be offered (before the VMM adds its own).
    virtual const CpuidTable& supported_cpuid() const = 0;
    virtual Result<std::unique_ptr<Vm>> create_vm(const VmOptions& opts) = 0;
};

std::string_view accel_name(Accel accel);
// "auto", "kvm" or "emu"; EINVAL otherwise.
Result<Accel> parse_accel(std::string_view text);

} // namespace xkvm::hv
