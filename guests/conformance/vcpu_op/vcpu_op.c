/* Conformance: vcpu_op as far as a guest can use it without starting secondary vCPUs: is_up for the
 * boot vCPU and a vCPU that was never brought up, VCPUOP_up without a start state, and the negative
 * cases (vCPU that does not exist, unknown sub-op, bad pointer). Command line: vcpus=<max vCPUs>. 64-bit. */
#include "conformance.h"

static unsigned vcpus(void) { return (unsigned)conf_arg_ulong("vcpus", 0); }

TEST_CASE(boot_vcpu_is_up)
{
    CHECK_EQ(hypercall_vcpu_op(VCPUOP_is_up, 0, NULL), 1);
}

TEST_CASE(secondary_vcpu_starts_down)
{
    REQUIRE(vcpus() >= 2);
    for (unsigned v = 1; v < vcpus(); v++)
        CHECK_EQ(hypercall_vcpu_op(VCPUOP_is_up, v, NULL), 0);
}

TEST_CASE(up_without_initialise_is_einval)
{
    REQUIRE(vcpus() >= 2);
    CHECK_EQ(hypercall_vcpu_op(VCPUOP_up, 1, NULL), -XEN_EINVAL);
    CHECK_EQ(hypercall_vcpu_op(VCPUOP_is_up, 1, NULL), 0);
}

TEST_CASE(missing_vcpu_is_enoent)
{
    /* Xen looks the vCPU up before anything else: -ENOENT whatever the sub-op. */
    REQUIRE(vcpus() >= 1);
    CHECK_EQ(hypercall_vcpu_op(VCPUOP_is_up, vcpus(), NULL), -XEN_ENOENT);
    CHECK_EQ(hypercall_vcpu_op(VCPUOP_is_up, 0xffffffffu, NULL), -XEN_ENOENT);
    CHECK_EQ(hypercall_vcpu_op(99, vcpus() + 7, NULL), -XEN_ENOENT);
}

TEST_CASE(unknown_subop_is_enosys)
{
    CHECK_EQ(hypercall_vcpu_op(99, 0, NULL), -XEN_ENOSYS);
    CHECK_EQ(hypercall_vcpu_op(0x7fffffff, 0, NULL), -XEN_ENOSYS);
}

TEST_CASE(bad_pointer_is_efault)
{
    CHECK_EQ(hypercall_vcpu_op(VCPUOP_register_vcpu_info, 0, (void*)CONF_BAD_GPA), -XEN_EFAULT);
    CHECK_EQ(hypercall_vcpu_op(VCPUOP_initialise, 1, (void*)CONF_BAD_GPA), -XEN_EFAULT);
    CHECK_EQ(hypercall_vcpu_op(VCPUOP_is_up, 1, NULL), 0);
}
