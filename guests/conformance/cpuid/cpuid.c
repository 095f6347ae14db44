/* Conformance: Xen's CPUID leaves at 0x40000000 as an HVM guest sees them.
 * Leaf 0 signature and range, leaf 1 version (= XENVER_version), leaf 2 hypercall page count and MSR,
 * leaf 3 time, leaf 4 HVM flags with this vCPU's id and the domain id. Built 32- and 64-bit. */
#include "conformance.h"

#define BASE XEN_CPUID_FIRST_LEAF

/* Xen 4.19: xen/arch/x86/traps.c, cpuid_hypervisor_leaves (leaf 0: XEN_CPUID_SIGNATURE_*,
 * public/arch-x86/cpuid.h). */
TEST_CASE(leaf0_signature_at_0x40000000)
{
    struct cpuid_regs r = cpuid(BASE, 0);
    CHECK_EQ(r.ebx, XEN_CPUID_SIGNATURE_EBX);
    CHECK_EQ(r.ecx, XEN_CPUID_SIGNATURE_ECX);
    CHECK_EQ(r.edx, XEN_CPUID_SIGNATURE_EDX);
    char text[13];
    memcpy(text, &r.ebx, 4);
    memcpy(text + 4, &r.ecx, 4);
    memcpy(text + 8, &r.edx, 4);
    text[12] = '\0';
    CHECK_STREQ(text, "XenVMMXenVMM");
}

/* Xen 4.19: xen/arch/x86/traps.c, cpuid_hypervisor_leaves (limit = base +
 * XEN_CPUID_MAX_NUM_LEAVES). */
TEST_CASE(leaf0_max_leaf_covers_leaf5)
{
    /* Xen: eax = base + XEN_CPUID_MAX_NUM_LEAVES (5) */
    CHECK_EQ(cpuid(BASE, 0).eax, BASE + XEN_CPUID_MAX_NUM_LEAVES);
}

/* Xen 4.19: xen/include/public/arch-x86/cpuid.h (XEN_CPUID_FIRST_LEAF). */
TEST_CASE(library_detects_xen_at_first_base)
{
    CHECK(xen_present());
    CHECK_EQ(xen_info.cpuid_base, BASE);
}

/* Xen 4.19: xen/arch/x86/traps.c, cpuid_hypervisor_leaves (leaf 1: xen_major_version() << 16 |
 * minor). */
TEST_CASE(leaf1_version_matches_xen_version)
{
    uint32_t v = cpuid(BASE + 1, 0).eax;
    CHECK_EQ(v >> 16, 4);        /* a Xen 4.x */
    CHECK(v & 0xffff);           /* minor is not 0 for any Xen a guest would care about */
    CHECK_EQ(hypercall_xen_version(XENVER_version, NULL), v);
}

/* Xen 4.19: xen/arch/x86/traps.c, cpuid_hypervisor_leaves (leaf 2: one page, MSR 0x40000000). */
TEST_CASE(leaf2_hypercall_pages_and_msr)
{
    struct cpuid_regs r = cpuid(BASE + 2, 0);
    CHECK_EQ(r.eax, 1);                  /* one hypercall page */
    CHECK_EQ(r.ebx, XEN_HYPERCALL_MSR);  /* MSR 0x40000000 */
    CHECK_EQ(r.ecx, 0);                  /* no feature flags set for HVM */
}

/* Xen 4.19: xen/arch/x86/traps.c, cpuid_hypervisor_leaves (leaf 3, XEN_CPUID_TSC_* in
 * public/arch-x86/cpuid.h). */
TEST_CASE(leaf3_time_leaf_present)
{
    struct cpuid_regs r = cpuid(BASE + 3, 0);
    CHECK(r.ebx <= 3);  /* tsc_mode: 0 default .. 3 pvrdtscp */
    CHECK_NE(r.ecx, 0); /* guest TSC kHz */
    CHECK_NE(cpuid(BASE + 3, 2).eax, 0); /* sub-leaf 2: host TSC kHz */
}

/* Xen 4.19: xen/arch/x86/traps.c, cpuid_hypervisor_leaves (leaf 4: XEN_HVM_CPUID_VCPU_ID_PRESENT,
 * XEN_HVM_CPUID_DOMID_PRESENT). */
TEST_CASE(leaf4_hvm_flags_vcpu_and_domid)
{
    struct cpuid_regs r = cpuid(BASE + 4, 0);
    CHECK(r.eax & XEN_HVM_CPUID_VCPU_ID_PRESENT);
    CHECK(r.eax & XEN_HVM_CPUID_DOMID_PRESENT);
    CHECK_EQ(r.ebx, 0); /* the boot vCPU */
    CHECK_NE(r.ecx, 0); /* a guest is never domain 0 */
    CHECK(r.ecx < DOMID_FIRST_RESERVED);
    unsigned long expected = conf_arg_ulong("domid", 0);
    REQUIRE(expected != 0); /* the host test says which domain this is: domid=<n> */
    CHECK_EQ(r.ecx, expected);
    CHECK_EQ(xen_info.domid, r.ecx);
    CHECK_EQ(xen_info.vcpu_id, 0);
}

/* Xen 4.19: xen/arch/x86/traps.c, cpuid_hypervisor_leaves (leaf 4 ECX = domain_id). */
TEST_CASE(leaf4_domid_matches_xenstore)
{
    char buf[16];
    REQUIRE(xs_read("domid", buf, sizeof(buf)) > 0);
    CHECK_EQ(strtoul(buf, NULL, 10), cpuid(BASE + 4, 0).ecx);
}

/* Xen 4.19: xen/arch/x86/traps.c, cpuid_hypervisor_leaves (sub-leaf != 0 and leaf 5 are PV-only or
 * empty). */
TEST_CASE(leaf4_subleaf1_and_leaf5_are_empty_for_hvm)
{
    /* Xen answers leaf 4 only for sub-leaf 0, and leaf 5 (PV parameters) not at all for HVM guests. */
    struct cpuid_regs a = cpuid(BASE + 4, 1), b = cpuid(BASE + 5, 0);
    CHECK_EQ(a.eax | a.ebx | a.ecx | a.edx, 0);
    CHECK_EQ(b.eax | b.ebx | b.ecx | b.edx, 0);
}
