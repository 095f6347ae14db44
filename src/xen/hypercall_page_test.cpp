#include <cstring>
#include <gtest/gtest.h>

#include "xen/hypercall_msr.h"
#include "xen/hypercall_page.h"

using namespace xkvm;
using namespace xkvm::xen;

// Xen 4.19: xen/arch/x86/hvm/vmx/vmx.c, vmx_init_hypercall_page (mov $nr,%eax first, ud2 for iret);
// the trap itself is xkvm's.
TEST(HypercallPage, PortIoStubsLoadNumberTrapAndReturn)
{
    auto page = build_hypercall_page(HypercallTrap::PortIo);
    const uint8_t* stub = page.data() + XEN_HYPERCALL_xen_version * 32;
    const uint8_t expect[] = { 0xb8, 17, 0, 0, 0, 0x51, 0x8c, 0xc9, 0xf6, 0xc1, 0x03, 0x59, 0x75, 0x03,
                               0xe6, kHypercallPort, 0xc3, 0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff, 0xc3 };
    EXPECT_EQ(std::memcmp(stub, expect, sizeof(expect)), 0);
    static_assert(sizeof(expect) <= XEN_HYPERCALL_STUB_SIZE);
    // The iret slot is not a hypercall for HVM guests: it faults.
    const uint8_t* iret = page.data() + XEN_HYPERCALL_iret * 32;
    EXPECT_EQ(iret[0], 0x0f);
    EXPECT_EQ(iret[1], 0x0b);
    // Padding after a stub faults too (ud2 pairs from the page's start).
    EXPECT_EQ(stub[sizeof(expect) + 1], 0x0f);
    EXPECT_EQ(stub[sizeof(expect) + 2], 0x0b);
}

// Xen 4.19: xen/arch/x86/hvm/vmx/vmx.c, vmx_init_hypercall_page / svm.c, svm_init_hypercall_page.
TEST(HypercallPage, VmcallVariantForKernelsWithXenSupport)
{
    auto page = build_hypercall_page(HypercallTrap::Vmcall);
    const uint8_t* stub = page.data() + 5 * 32;
    const uint8_t expect[] = { 0xb8, 5, 0, 0, 0, 0x0f, 0x01, 0xc1, 0xc3 };
    EXPECT_EQ(std::memcmp(stub, expect, sizeof(expect)), 0);
}

// Xen 4.19: xen/arch/x86/traps.c, guest_wrmsr_xen.
TEST(HypercallMsr, FillsTheNamedPageAndRejectsBadValues)
{
    auto mem = memory::Physmap::create(1 * memory::MiB, "msr").release_value();
    ASSERT_TRUE(mem->map(0, 1 * memory::MiB, 0));
    ASSERT_TRUE(write_hypercall_msr(*mem, 0x3000, HypercallTrap::PortIo));
    EXPECT_EQ(mem->read_obj<uint8_t>(0x3000 + 17 * 32).value(), 0xb8);
    EXPECT_EQ(write_hypercall_msr(*mem, 0x3001, HypercallTrap::PortIo).error().code, EINVAL);
    EXPECT_EQ(write_hypercall_msr(*mem, 0x80000000, HypercallTrap::PortIo).error().code, EFAULT);
}
