#include "xen/hypercall_msr.h"

namespace xkvm::xen {

Status write_hypercall_msr(memory::Physmap& mem, uint64_t value, HypercallTrap trap)
{
    uint64_t index = value & (memory::kPageSize - 1);
    if (index != 0)
        return fail(EINVAL, "hypercall page index {} (there is one page)", index);
    uint64_t gpa = value & ~(memory::kPageSize - 1);
    static const HypercallPage page_port = build_hypercall_page(HypercallTrap::PortIo);
    static const HypercallPage page_vmcall = build_hypercall_page(HypercallTrap::Vmcall);
    static const HypercallPage page_vmmcall = build_hypercall_page(HypercallTrap::Vmmcall);
    const HypercallPage& page = trap == HypercallTrap::PortIo ? page_port
        : trap == HypercallTrap::Vmcall                       ? page_vmcall
                                                              : page_vmmcall;
    return mem.write(gpa, page);
}

} // namespace xkvm::xen
