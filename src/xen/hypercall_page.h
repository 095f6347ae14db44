// The contents of the hypercall page the guest asks for by writing the hypercall MSR.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "xen/abi/xen.h"

namespace xkvm::xen {

// How a stub traps into the VMM. Without in-kernel Xen support, an OUT to a port the VMM owns is the
// trap the VMM can see; with KVM_CAP_XEN_HVM the native VMCALL/VMMCALL would be used instead.
enum class HypercallTrap : uint8_t { PortIo, Vmcall, Vmmcall };

inline constexpr uint16_t kHypercallPort = 0xe4;

using HypercallPage = std::array<uint8_t, 4096>;

// 128 stubs of 32 bytes: `mov $nr, %eax; <trap>; ret` (the port-I/O trap checks CPL first). Padding and the iret slot (unsupported for
// HVM, as in Xen) hold `ud2` so a stray jump faults instead of sliding into the next stub.
HypercallPage build_hypercall_page(HypercallTrap trap);

} // namespace xkvm::xen
