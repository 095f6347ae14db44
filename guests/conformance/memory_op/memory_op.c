/* Conformance: memory_op. XENMEM_memory_map (entries, truncation, the 32-bit layout in the 32-bit
 * build), current/maximum reservation, and the negative cases of those and of add_to_physmap
 * (bad index, bad space, another domain, bad pointers, unknown sub-op). Mapping shared_info and its
 * layout are the shared_info guest's. Command line: memory_mib=<the domain's RAM>. Built 32- and 64-bit. */
#include "conformance.h"

static struct xen_e820_entry buf[32];

static long memory_map(unsigned room, struct xen_e820_entry* buffer, unsigned* out)
{
    struct xen_memory_map m = {.nr_entries = room, .buffer = buffer};
    long rc = hypercall_memory_op(XENMEM_memory_map, &m);
    *out = m.nr_entries;
    return rc;
}

/* Xen 4.19: xen/arch/x86/mm.c, arch_memory_op (XENMEM_memory_map: the e820 the toolstack set). */
TEST_CASE(memory_map_matches_start_info)
{
    const struct hvm_start_info* si = guest_start_info();
    REQUIRE(si != NULL);
    unsigned n = 0;
    REQUIRE_EQ(memory_map(ARRAY_SIZE(buf), buf, &n), 0);
    REQUIRE_EQ(n, si->memmap_entries);
    const struct hvm_memmap_table_entry* e = (const void*)(uintptr_t)si->memmap_paddr;
    for (unsigned i = 0; i < n; i++) {
        CHECK_EQ(buf[i].addr, e[i].addr);
        CHECK_EQ(buf[i].size, e[i].size);
        CHECK_EQ(buf[i].type, e[i].type);
    }
}

/* Xen 4.19: tools/libs/light/libxl_x86.c, libxl__arch_domain_construct_memmap. */
TEST_CASE(memory_map_describes_ram_and_special_pages)
{
    unsigned n = 0;
    REQUIRE_EQ(memory_map(ARRAY_SIZE(buf), buf, &n), 0);
    uint64_t ram = 0, store = 0;
    bool image_in_ram = false, store_reserved = false;
    REQUIRE_EQ(xen_get_param(HVM_PARAM_STORE_PFN, &store), 0);
    for (unsigned i = 0; i < n; i++) {
        uint64_t end = buf[i].addr + buf[i].size;
        if (i > 0)
            CHECK(buf[i].addr >= buf[i - 1].addr + buf[i - 1].size); /* sorted, no overlap */
        if (buf[i].type == XEN_HVM_MEMMAP_TYPE_RAM) {
            ram += buf[i].size;
            image_in_ram |= buf[i].addr <= (uintptr_t)__image_start && end >= (uintptr_t)__image_end;
        }
        if (buf[i].type == XEN_HVM_MEMMAP_TYPE_RESERVED)
            store_reserved |= buf[i].addr <= (store << PAGE_SHIFT) && end >= ((store + 1) << PAGE_SHIFT);
    }
    CHECK(image_in_ram);
    CHECK(store_reserved);
    unsigned long mib = conf_arg_ulong("memory_mib", 0);
    REQUIRE(mib != 0);
    CHECK(ram <= (uint64_t)mib << 20);
    CHECK(ram >= ((uint64_t)mib << 20) - (1 << 20)); /* less only the legacy hole below 1 MiB */
}

/* Xen 4.19: xen/arch/x86/mm.c, arch_memory_op (nr_entries = min(room, nr_e820)). */
TEST_CASE(memory_map_truncates_to_room)
{
    unsigned all = 0, n = 0;
    REQUIRE_EQ(memory_map(ARRAY_SIZE(buf), buf, &all), 0);
    REQUIRE(all >= 2);
    struct xen_e820_entry small[2];
    memset(small, 0x77, sizeof(small));
    CHECK_EQ(memory_map(1, small, &n), 0);
    CHECK_EQ(n, 1);
    CHECK_EQ(small[0].addr, buf[0].addr);
    CHECK_EQ(small[1].addr, 0x7777777777777777ULL); /* untouched */
    CHECK_EQ(memory_map(0, small, &n), 0);
    CHECK_EQ(n, 0);
}

/* Xen 4.19: xen/arch/x86/mm.c, arch_memory_op (copy_from_guest / copy_to_guest: -EFAULT). */
TEST_CASE(memory_map_bad_pointers_are_efault)
{
    unsigned n = 0;
    CHECK_EQ(memory_map(4, (struct xen_e820_entry*)CONF_BAD_GPA, &n), -XEN_EFAULT);
    CHECK_EQ(hypercall_memory_op(XENMEM_memory_map, (void*)CONF_BAD_GPA), -XEN_EFAULT);
}

static long reservation(unsigned cmd, domid_t domid)
{
    domid_t d = domid;
    return hypercall_memory_op(cmd, &d);
}

/* Xen 4.19: xen/common/memory.c, do_memory_op (XENMEM_current_reservation / maximum_reservation:
 * domain_tot_pages / max_pages). */
TEST_CASE(reservations)
{
    unsigned long mib = conf_arg_ulong("memory_mib", 0);
    REQUIRE(mib != 0);
    long cur = reservation(XENMEM_current_reservation, DOMID_SELF);
    long max = reservation(XENMEM_maximum_reservation, DOMID_SELF);
    CHECK_EQ(cur, (long)(mib * 256)); /* 4 KiB pages */
    CHECK(max >= cur);
    CHECK_EQ(reservation(XENMEM_current_reservation, (domid_t)xen_info.domid), cur);
}

/* Xen 4.19: xen/common/memory.c, do_memory_op (rcu_lock_domain_by_any_id,
 * xsm_memory_stat_reservation: -EPERM; copy_from_guest: -EFAULT). */
TEST_CASE(reservation_negative_cases)
{
    CHECK_EQ(reservation(XENMEM_current_reservation, 0), -XEN_EPERM);
    CHECK_EQ(reservation(XENMEM_maximum_reservation, 0), -XEN_EPERM);
    CHECK_EQ(hypercall_memory_op(XENMEM_current_reservation, (void*)CONF_BAD_GPA), -XEN_EFAULT);
}

static long add_to_physmap(domid_t domid, unsigned space, unsigned long idx, unsigned long gpfn)
{
    struct xen_add_to_physmap x = {.domid = domid, .space = space, .idx = idx, .gpfn = gpfn};
    return hypercall_memory_op(XENMEM_add_to_physmap, &x);
}

TEST_CASE(add_to_physmap_negative_cases)
{
    static uint8_t page[PAGE_SIZE] GUEST_PAGE_ALIGNED;
    unsigned long gpfn = (uintptr_t)page >> PAGE_SHIFT;
    page[0] = 0x5c;
    CHECK_EQ(add_to_physmap(DOMID_SELF, XENMAPSPACE_shared_info, 1, gpfn), -XEN_EINVAL); /* one frame */
    CHECK_EQ(add_to_physmap(DOMID_SELF, 99, 0, gpfn), -XEN_EINVAL);
    /* Domain 0 is modelled as a PVH (translated) dom0, so xatp_permission_check reaches the XSM
     * check: -EPERM (xen/common/memory.c). A PV dom0 would give -EACCES (not translated). */
    CHECK_EQ(add_to_physmap(0, XENMAPSPACE_shared_info, 0, gpfn), -XEN_EPERM);
    CHECK_EQ(hypercall_memory_op(XENMEM_add_to_physmap, (void*)CONF_BAD_GPA), -XEN_EFAULT);
    CHECK_EQ(READ_ONCE(page[0]), 0x5c); /* nothing was mapped over it */
}

/* Xen 4.19: xen/common/memory.c, do_memory_op (default: arch_memory_op, -ENOSYS). */
TEST_CASE(unknown_subop_is_enosys)
{
    domid_t d = DOMID_SELF;
    CHECK_EQ(hypercall_memory_op(60, &d), -XEN_ENOSYS);
}
