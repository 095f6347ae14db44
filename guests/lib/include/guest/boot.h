/* What the guest learned at boot: how it was started, its memory map, free memory. */
#pragma once
#include "guest/base.h"
#include "xen/abi/hvm.h"

enum guest_boot_mode {
    GUEST_BOOT_PVH, /* ebx pointed at a valid struct hvm_start_info */
    GUEST_BOOT_HVM, /* ebx was 0 (firmware_override= / HVM firmware boot) */
    GUEST_BOOT_BAD, /* ebx was non-zero but not a start info (bad magic) */
};

enum guest_boot_mode guest_boot_mode(void);
uint32_t guest_boot_ebx(void);
/* NULL unless booted through PVH with a valid magic. */
const struct hvm_start_info* guest_start_info(void);
/* The PVH command line, or "" when there is none. */
const char* guest_cmdline(void);

struct guest_mem_region {
    uint64_t addr;
    uint64_t size;
    uint32_t type; /* XEN_HVM_MEMMAP_TYPE_* (= e820 types) */
};

/* Each returns the number of entries written (at most max) or a negative Xen errno. */
int guest_memory_map_start_info(struct guest_mem_region* out, unsigned max);
int guest_memory_map_xen(struct guest_mem_region* out, unsigned max); /* XENMEM_memory_map */
/* Start info when there is one, else XENMEM_memory_map. */
int guest_memory_map(struct guest_mem_region* out, unsigned max);
const char* memory_type_name(uint32_t type);

/* Zeroed, page-aligned, identity-mapped pages from RAM above the image (a bump allocator that never
 * frees). NULL when out of memory or no memory map is available. */
void* guest_alloc_pages(unsigned count);

/* The image, from the linker script. */
extern char __image_start[], __image_end[];
#if defined(__x86_64__)
/* Boot page tables: identity map of the low 4 GiB in 2 MiB pages (PTE_U set everywhere). */
extern uint64_t guest_pml4[512], guest_pdpt[512], guest_pd[2048];
#endif
