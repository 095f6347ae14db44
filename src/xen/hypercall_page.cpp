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
        case HypercallTrap::PortIo: {
            // At CPL > 0 the OUT would #GP on the I/O permission check before any exit, where Xen
            // answers -EPERM; so the stub checks CPL itself. Only eax and flags change, as with
            // Xen's stubs, and the bytes mean the same to 32-bit callers (0x48 is `dec %eax`
            // there, overwritten by the `mov $-1` it prefixes).
            static constexpr uint8_t kCheckedOut[] = {
                0x51,             // push %rcx
                0x8c, 0xc9,       // mov %cs, %ecx
                0xf6, 0xc1, 0x03, // test $3, %cl
                0x59,             // pop %rcx
                0x75, 0x03,       // jnz user
                0xe6, static_cast<uint8_t>(kHypercallPort), // out %al, $port (number in rax)
                0xc3,             // ret
                0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff, // user: mov $-1 (-EPERM), %rax
            };
            for (uint8_t b : kCheckedOut)
                p[n++] = b;
            break;
        }
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
