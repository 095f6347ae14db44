#include <cstring>
#include <gtest/gtest.h>

#include "xen/hypercall_msr.h"
#include "xen/hypercall_page.h"

using namespace xkvm;
using namespace xkvm::xen;

TEST(HypercallPage, PortIoStubsLoadNumberTrapAndReturn)
{
    auto page = build_hypercall_page(HypercallTrap::PortIo);
    const uint8_t* stub = page.data() + XEN_HYPERCALL_xen_version * 32;
    const uint8_t expect[] = { 0xb8, 17, 0, 0, 0, 0xe6, kHypercallPort, 0xc3 };
    EXPECT_EQ(std::memcmp(stub, expect, sizeof(expect)), 0);
    // The iret slot is not a hypercall for HVM guests: it faults.
    const uint8_t* iret = page.data() + XEN_HYPERCALL_iret * 32;
    EXPECT_EQ(iret[0], 0x0f);
    EXPECT_EQ(iret[1], 0x0b);
    // Padding after a stub faults too.
    EXPECT_EQ(stub[8], 0x0f);
}

TEST(HypercallPage, VmcallVariantForKernelsWithXenSupport)
{
    auto page = build_hypercall_page(HypercallTrap::Vmcall);
    const uint8_t* stub = page.data() + 5 * 32;
    const uint8_t expect[] = { 0xb8, 5, 0, 0, 0, 0x0f, 0x01, 0xc1, 0xc3 };
    EXPECT_EQ(std::memcmp(stub, expect, sizeof(expect)), 0);
}

TEST(HypercallMsr, FillsTheNamedPageAndRejectsBadValues)
{
    auto mem = memory::Physmap::create(1 * memory::MiB, "msr").release_value();
    ASSERT_TRUE(mem->map(0, 1 * memory::MiB, 0));
    ASSERT_TRUE(write_hypercall_msr(*mem, 0x3000, HypercallTrap::PortIo));
    EXPECT_EQ(mem->read_obj<uint8_t>(0x3000 + 17 * 32).value(), 0xb8);
    EXPECT_EQ(write_hypercall_msr(*mem, 0x3001, HypercallTrap::PortIo).error().code, EINVAL);
    EXPECT_EQ(write_hypercall_msr(*mem, 0x80000000, HypercallTrap::PortIo).error().code, EFAULT);
}
