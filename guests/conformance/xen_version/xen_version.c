/* Conformance: xen_version. Version, extraversion, capabilities, changeset, the feature submap an HVM
 * guest gets, guest handle, and the negative cases (bad sub-op, bad pointer, bad submap index,
 * privileged sub-ops). Built 32- and 64-bit (pointer arguments in different registers). */
#include "conformance.h"

static bool has_nul(const char* s, size_t n) { return strnlen(s, n) < n; }

/* Xen 4.19: xen/common/kernel.c, do_xen_version (XENVER_version). */
TEST_CASE(version_is_4_x)
{
    long v = hypercall_xen_version(XENVER_version, NULL);
    CHECK_EQ(v >> 16, 4);
    CHECK_EQ(v, cpuid(XEN_CPUID_FIRST_LEAF + 1, 0).eax);
}

/* Xen 4.19: xen/common/kernel.c, do_xen_version (XENVER_extraversion). */
TEST_CASE(extraversion)
{
    char buf[XEN_EXTRAVERSION_LEN + 8];
    memset(buf, 0x55, sizeof(buf));
    REQUIRE_EQ(hypercall_xen_version(XENVER_extraversion, buf), 0);
    CHECK(has_nul(buf, XEN_EXTRAVERSION_LEN));
    CHECK_EQ(buf[0], '.'); /* "4.19" + ".0-xyz" */
    CHECK_EQ((uint8_t)buf[XEN_EXTRAVERSION_LEN], 0x55); /* exactly 16 bytes written */
}

/* Xen 4.19: xen/common/kernel.c, do_xen_version (XENVER_capabilities); xen/arch/x86/setup.c,
 * arch_get_xen_caps. */
TEST_CASE(capabilities_list_hvm_guest_types)
{
    static char caps[XEN_CAPABILITIES_INFO_LEN];
    REQUIRE_EQ(hypercall_xen_version(XENVER_capabilities, caps), 0);
    REQUIRE(has_nul(caps, sizeof(caps)));
    static const char* const want[] = {"hvm-3.0-x86_32 ", "hvm-3.0-x86_32p ", "hvm-3.0-x86_64"};
    for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
        bool found = false;
        size_t n = strlen(want[i]);
        for (const char* p = caps; *p && !found; p++)
            found = strncmp(p, want[i], n) == 0;
        if (!found)
            TEST_FAIL("capabilities \"%s\" lack \"%s\"", caps, want[i]);
    }
}

/* Xen 4.19: xen/common/kernel.c, do_xen_version (XENVER_changeset, XENVER_compile_info). */
TEST_CASE(changeset_and_compile_info)
{
    char cs[XEN_CHANGESET_INFO_LEN];
    REQUIRE_EQ(hypercall_xen_version(XENVER_changeset, cs), 0);
    CHECK(has_nul(cs, sizeof(cs)));
    struct xen_compile_info ci;
    REQUIRE_EQ(hypercall_xen_version(XENVER_compile_info, &ci), 0);
    CHECK(has_nul(ci.compiler, sizeof(ci.compiler)));
    CHECK(has_nul(ci.compile_date, sizeof(ci.compile_date)));
}

TEST_CASE(platform_parameters_in_caller_layout)
{
    /* virt_start is an unsigned long: 8 bytes for a 64-bit caller, 4 for 32-bit. It is a PV guest's
     * hypervisor hole; Xen writes 0 for HVM and PVH callers (xen/common/kernel.c, do_xen_version,
     * XENVER_platform_parameters). */
    uint32_t out[3] = {0x11111111, 0x22222222, 0x33333333};
    REQUIRE_EQ(hypercall_xen_version(XENVER_platform_parameters, out), 0);
#if defined(__x86_64__)
    CHECK_EQ(((uint64_t)out[1] << 32) | out[0], 0);
    CHECK_EQ(out[2], 0x33333333);
#else
    CHECK_EQ(out[0], 0);
    CHECK_EQ(out[1], 0x22222222); /* nothing beyond the 32-bit field */
#endif
}

/* Xen 4.19: xen/common/kernel.c, do_xen_version (XENVER_get_features, submap 0: translated, not
 * direct-mapped, not PV). */
TEST_CASE(features_hvm_bits_set)
{
    struct xen_feature_info fi = {.submap_idx = 0, .submap = 0xdeadbeef};
    REQUIRE_EQ(hypercall_xen_version(XENVER_get_features, &fi), 0);
    CHECK_EQ(fi.submap_idx, 0);
    static const unsigned want[] = {XENFEAT_writable_page_tables, XENFEAT_auto_translated_physmap,
                                    XENFEAT_hvm_callback_vector, XENFEAT_hvm_safe_pvclock,
                                    XENFEAT_memory_op_vnode_supported, XENFEAT_not_direct_mapped};
    for (size_t i = 0; i < ARRAY_SIZE(want); i++)
        if (!(fi.submap & (1u << want[i])))
            TEST_FAIL("XENFEAT bit %u missing from %#x", want[i], fi.submap);
    /* Xen 4.18+ offers both for every domain; xkvm has neither vcpu_op behind them. */
    CHECK_EQ(fi.submap & ((1u << XENFEAT_runstate_phys_area) | (1u << XENFEAT_vcpu_time_phys_area)), 0);
    TEST_DIFF(no_phys_area_ops, "XENFEAT_runstate_phys_area and _vcpu_time_phys_area clear (Xen 4.18+: set)");
}

TEST_CASE(features_pv_and_dom0_bits_clear)
{
    /* What Xen gives PV guests, dom0 or direct-mapped domains only (xen/common/kernel.c,
     * do_xen_version, XENVER_get_features). supervisor_mode_kernel was PVHv1's: Xen 4.19 sets it
     * for no guest. hvm_pirqs needs PIRQ emulation, which libxl 4.19 leaves off unless the config
     * asks (tools/libs/light/libxl_create.c, libxl__domain_build_info_setdefault: hvm.pirq false). */
    struct xen_feature_info fi = {.submap_idx = 0};
    REQUIRE_EQ(hypercall_xen_version(XENVER_get_features, &fi), 0);
    static const unsigned unwanted[] = {XENFEAT_mmu_pt_update_preserve_ad, XENFEAT_highmem_assist,
                                        XENFEAT_gnttab_map_avail_bits, XENFEAT_dom0, XENFEAT_hvm_pirqs,
                                        XENFEAT_supervisor_mode_kernel, XENFEAT_direct_mapped,
                                        XENFEAT_pae_pgdir_above_4gb};
    for (size_t i = 0; i < ARRAY_SIZE(unwanted); i++)
        if (fi.submap & (1u << unwanted[i]))
            TEST_FAIL("XENFEAT bit %u set in %#x", unwanted[i], fi.submap);
}

/* Xen 4.19: xen/common/kernel.c, do_xen_version (submap_idx >= XENFEAT_NR_SUBMAPS: -EINVAL). */
TEST_CASE(features_bad_submap_index_is_einval)
{
    struct xen_feature_info fi = {.submap_idx = XENFEAT_NR_SUBMAPS, .submap = 0x1234};
    CHECK_EQ(hypercall_xen_version(XENVER_get_features, &fi), -XEN_EINVAL);
    fi.submap_idx = 0xffffffff;
    CHECK_EQ(hypercall_xen_version(XENVER_get_features, &fi), -XEN_EINVAL);
}

/* Xen 4.19: xen/common/kernel.c, do_xen_version (XENVER_guest_handle). */
TEST_CASE(guest_handle_is_16_bytes)
{
    uint8_t h[XEN_DOMAIN_HANDLE_LEN + 4];
    memset(h, 0xa5, sizeof(h));
    REQUIRE_EQ(hypercall_xen_version(XENVER_guest_handle, h), 0);
    CHECK_EQ(h[XEN_DOMAIN_HANDLE_LEN], 0xa5);
}

/* Xen 4.19: xen/common/kernel.c, do_xen_version (copy_to_guest: -EFAULT). */
TEST_CASE(bad_pointers_are_efault)
{
    void* bad = (void*)CONF_BAD_GPA;
    CHECK_EQ(hypercall_xen_version(XENVER_extraversion, bad), -XEN_EFAULT);
    CHECK_EQ(hypercall_xen_version(XENVER_capabilities, bad), -XEN_EFAULT);
    CHECK_EQ(hypercall_xen_version(XENVER_get_features, bad), -XEN_EFAULT);
#if defined(__x86_64__)
    CHECK_EQ(hypercall_xen_version(XENVER_changeset, (void*)CONF_UNMAPPED_VA), -XEN_EFAULT);
#endif
}

/* Xen 4.19: xen/common/kernel.c, do_xen_version (default: -ENOSYS). */
TEST_CASE(unknown_subop_is_enosys)
{
    char buf[64];
    CHECK_EQ(hypercall_xen_version(99, buf), -XEN_ENOSYS);
    CHECK_EQ(hypercall_xen_version(0x7fffffff, buf), -XEN_ENOSYS);
}

/* Xen 4.19: xen/common/kernel.c, do_xen_version (XENVER_build_id: xsm_xen_version refuses an
 * unprivileged domain: -EPERM). */
TEST_CASE(build_id_is_eperm)
{
    static char buf[256];
    CHECK_EQ(hypercall_xen_version(XENVER_build_id, buf), -XEN_EPERM);
}

/* Xen 4.19: xen/common/kernel.c, do_xen_version (xsm_xen_version: "<denied>" for
 * XENVER_commandline). */
TEST_CASE(commandline_is_denied_string)
{
    /* Xen copies "<denied>" for sub-ops the domain may not see, and succeeds. */
    static char buf[XEN_COMMANDLINE_LEN];
    memset(buf, 'x', sizeof(buf));
    CHECK_EQ(hypercall_xen_version(XENVER_commandline, buf), 0);
    buf[16] = '\0'; /* keep a failure message short */
    CHECK_STREQ(buf, "<denied>");
}

/* Xen 4.19: xen/common/kernel.c, do_xen_version (XENVER_pagesize with a non-NULL argument:
 * -EINVAL). */
TEST_CASE(pagesize_takes_null_argument)
{
    CHECK_EQ(hypercall_xen_version(XENVER_pagesize, NULL), 4096);
    char buf[8];
    CHECK_EQ(hypercall_xen_version(XENVER_pagesize, buf), -XEN_EINVAL);
}
