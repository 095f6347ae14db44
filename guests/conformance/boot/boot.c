/* Conformance: how the guest was started. Booted twice by the host tests:
 *   PVH (--type pvh --cmdline CONF_BOOT_CMDLINE): ebx = struct hvm_start_info with the magic,
 *       version 1, flags 0, its memory map equal to XENMEM_memory_map, the command line, no modules,
 *       all of it in RAM and clear of the image.
 *   HVM firmware (--type hvm): entered at the ELF entry with ebx = 0; the memory map comes from
 *       XENMEM_memory_map.
 * The two sets of cases have different names, so the host test can tell which ran. Built 32- and
 * 64-bit. */
#include "conformance.h"

#define CONF_BOOT_CMDLINE "conformance boot a=1 b=two-words c=\"quoted\""

static struct guest_mem_region xen_map[32];
static int xen_entries;

static bool in_ram(uint64_t addr, uint64_t len)
{
    for (int i = 0; i < xen_entries; i++)
        if (xen_map[i].type == XEN_HVM_MEMMAP_TYPE_RAM && addr >= xen_map[i].addr &&
            addr + len <= xen_map[i].addr + xen_map[i].size)
            return true;
    return false;
}

static bool clear_of_image(uint64_t addr, uint64_t len)
{
    return addr + len <= (uintptr_t)__image_start || addr >= (uintptr_t)__image_end;
}

static void pvh_start_info(void)
{
    const struct hvm_start_info* si = guest_start_info();
    REQUIRE(si != NULL);
    CHECK_EQ(guest_boot_ebx(), (uintptr_t)si);
    CHECK_EQ(si->magic, XEN_HVM_START_MAGIC_VALUE);
    CHECK_EQ(si->version, 1);
    CHECK_EQ(si->flags, 0); /* neither privileged nor the initial domain */
    CHECK_EQ(si->nr_modules, 0);
    CHECK(in_ram((uintptr_t)si, sizeof(*si)));
    CHECK(clear_of_image((uintptr_t)si, sizeof(*si)));
}

static void pvh_memmap_matches_xen(void)
{
    const struct hvm_start_info* si = guest_start_info();
    REQUIRE(si != NULL);
    struct guest_mem_region map[32];
    int n = guest_memory_map_start_info(map, ARRAY_SIZE(map));
    REQUIRE_EQ(n, xen_entries);
    CHECK_EQ(si->memmap_entries, (uint32_t)n);
    uint64_t table_len = (uint64_t)si->memmap_entries * sizeof(struct hvm_memmap_table_entry);
    CHECK(in_ram(si->memmap_paddr, table_len));
    CHECK(clear_of_image(si->memmap_paddr, table_len));
    for (int i = 0; i < n; i++) {
        CHECK_EQ(map[i].addr, xen_map[i].addr);
        CHECK_EQ(map[i].size, xen_map[i].size);
        CHECK_EQ(map[i].type, xen_map[i].type);
    }
}

static void pvh_cmdline(void)
{
    const struct hvm_start_info* si = guest_start_info();
    REQUIRE(si != NULL);
    REQUIRE(si->cmdline_paddr != 0);
    CHECK_STREQ(guest_cmdline(), CONF_BOOT_CMDLINE);
    CHECK(in_ram(si->cmdline_paddr, sizeof(CONF_BOOT_CMDLINE)));
    CHECK(clear_of_image(si->cmdline_paddr, sizeof(CONF_BOOT_CMDLINE)));
}

static void hvm_ebx_is_zero(void)
{
    CHECK_EQ(guest_boot_ebx(), 0);
    CHECK(guest_start_info() == NULL);
    CHECK_STREQ(guest_cmdline(), "");
}

static void hvm_memory_map_from_xen(void)
{
    CHECK(in_ram((uintptr_t)__image_start, (uintptr_t)(__image_end - __image_start)));
    uint64_t store = 0;
    REQUIRE_EQ(xen_get_param(HVM_PARAM_STORE_PFN, &store), 0);
    CHECK(!in_ram(store << PAGE_SHIFT, PAGE_SIZE));
}

static void xen_is_usable(void)
{
    CHECK(xen_present());
    CHECK(xen_hypercalls_ready());
    CHECK(xen_entries > 0);
    char domid[16];
    CHECK(xs_read("domid", domid, sizeof(domid)) > 0);
}

static void bad_ebx(void) { TEST_FAIL("ebx=%#x is neither 0 nor a start info", guest_boot_ebx()); }

int guest_main(void)
{
    xen_entries = guest_memory_map_xen(xen_map, ARRAY_SIZE(xen_map));
    test_run_fn("xen_is_usable", xen_is_usable);
    switch (guest_boot_mode()) {
    case GUEST_BOOT_PVH:
        test_run_fn("pvh_start_info", pvh_start_info);
        test_run_fn("pvh_memmap_matches_xen", pvh_memmap_matches_xen);
        test_run_fn("pvh_cmdline", pvh_cmdline);
        break;
    case GUEST_BOOT_HVM:
        test_run_fn("hvm_ebx_is_zero", hvm_ebx_is_zero);
        test_run_fn("hvm_memory_map_from_xen", hvm_memory_map_from_xen);
        break;
    case GUEST_BOOT_BAD:
        test_run_fn("ebx_is_start_info_or_zero", bad_ebx);
        break;
    }
    test_finish();
}
