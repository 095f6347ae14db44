#include "xen/hypercall_page.h"

namespace xkvm::xen {

HypercallPage build_hypercall_page(HypercallTrap trap)
{
    HypercallPage page;
    for (std::size_t i = 0; i + 1 < page.size(); i += 2) {
        page[i] = 0x0f; // ud2
        page[i + 1] = 0x0b;
    }
    for (uint32_t nr = 0; nr < XEN_HYPERCALL_COUNT; ++nr) {
        if (nr == XEN_HYPERCALL_iret)
            continue;
        uint8_t* p = page.data() + nr * XEN_HYPERCALL_STUB_SIZE;
        std::size_t n = 0;
        p[n++] = 0xb8; // mov $nr, %eax
        p[n++] = static_cast<uint8_t>(nr);
        p[n++] = static_cast<uint8_t>(nr >> 8);
        p[n++] = static_cast<uint8_t>(nr >> 16);
        p[n++] = static_cast<uint8_t>(nr >> 24);
        switch (trap) {
        case HypercallTrap::PortIo:
            p[n++] = 0xe6; // out %al, $port (the VMM reads the hypercall number from rax)
            p[n++] = static_cast<uint8_t>(kHypercallPort);
            break;
        case HypercallTrap::Vmcall:
            p[n++] = 0x0f, p[n++] = 0x01, p[n++] = 0xc1;
            break;
        case HypercallTrap::Vmmcall:
            p[n++] = 0x0f, p[n++] = 0x01, p[n++] = 0xd9;
            break;
        }
        p[n++] = 0xc3; // ret
    }
    return page;
}

} // namespace xkvm::xen
