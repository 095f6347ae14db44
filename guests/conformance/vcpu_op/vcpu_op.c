/* Conformance: vcpu_op as far as a guest can use it without starting secondary vCPUs: is_up for the
 * boot vCPU and a vCPU that was never brought up, VCPUOP_up without a start state, and the negative
 * cases (vCPU that does not exist, unknown sub-op, bad pointer). Command line: vcpus=<max vCPUs>. 64-bit. */
#include "conformance.h"

static unsigned vcpus(void) { return (unsigned)conf_arg_ulong("vcpus", 0); }

/* Xen 4.19: xen/common/domain.c, do_vcpu_op (VCPUOP_is_up). */
TEST_CASE(boot_vcpu_is_up)
{
    CHECK_EQ(hypercall_vcpu_op(VCPUOP_is_up, 0, NULL), 1);
}

/* Xen 4.19: xen/common/domain.c, do_vcpu_op (VCPUOP_is_up: _VPF_down set until VCPUOP_up). */
TEST_CASE(secondary_vcpu_starts_down)
{
    REQUIRE(vcpus() >= 2);
    for (unsigned v = 1; v < vcpus(); v++)
        CHECK_EQ(hypercall_vcpu_op(VCPUOP_is_up, v, NULL), 0);
}

/* Xen 4.19: xen/common/domain.c, do_vcpu_op (VCPUOP_up: !v->is_initialised: -EINVAL). */
TEST_CASE(up_without_initialise_is_einval)
{
    REQUIRE(vcpus() >= 2);
    CHECK_EQ(hypercall_vcpu_op(VCPUOP_up, 1, NULL), -XEN_EINVAL);
    CHECK_EQ(hypercall_vcpu_op(VCPUOP_is_up, 1, NULL), 0);
}

/* Xen 4.19: xen/common/domain.c, do_vcpu_op (domain_vcpu: -ENOENT before the sub-op). */
TEST_CASE(missing_vcpu_is_enoent)
{
    /* Xen looks the vCPU up before anything else: -ENOENT whatever the sub-op. */
    REQUIRE(vcpus() >= 1);
    CHECK_EQ(hypercall_vcpu_op(VCPUOP_is_up, vcpus(), NULL), -XEN_ENOENT);
    CHECK_EQ(hypercall_vcpu_op(VCPUOP_is_up, 0xffffffffu, NULL), -XEN_ENOENT);
    CHECK_EQ(hypercall_vcpu_op(99, vcpus() + 7, NULL), -XEN_ENOENT);
}

/* Xen 4.19: xen/common/domain.c, do_vcpu_op (default: arch_do_vcpu_op, -ENOSYS). */
TEST_CASE(unknown_subop_is_enosys)
{
    CHECK_EQ(hypercall_vcpu_op(99, 0, NULL), -XEN_ENOSYS);
    CHECK_EQ(hypercall_vcpu_op(0x7fffffff, 0, NULL), -XEN_ENOSYS);
}

/* Xen 4.19: xen/common/domain.c, do_vcpu_op (copy_from_guest: -EFAULT); xen/arch/x86/domain.c,
 * arch_initialise_vcpu. */
TEST_CASE(bad_pointer_is_efault)
{
    CHECK_EQ(hypercall_vcpu_op(VCPUOP_register_vcpu_info, 0, (void*)CONF_BAD_GPA), -XEN_EFAULT);
    CHECK_EQ(hypercall_vcpu_op(VCPUOP_initialise, 1, (void*)CONF_BAD_GPA), -XEN_EFAULT);
    CHECK_EQ(hypercall_vcpu_op(VCPUOP_is_up, 1, NULL), 0);
}
