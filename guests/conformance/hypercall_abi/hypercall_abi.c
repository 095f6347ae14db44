/* Conformance: the hypercall MSR and page, hypercall numbers Xen does not implement for HVM, and
 * hypercalls made from CPL3. The guest installs the page itself. Built 32- and 64-bit.
 *
 * The host test also checks that neither "CPL3-LEAK" marker reaches the console: a refused hypercall
 * must have no effect. */
#include "conformance.h"

GUEST_CONFIG(.no_auto_hypercall_page = true);

#define PAGE_GPA ((uint64_t)(uintptr_t)xen_hypercall_page)
#define EFLAGS_IOPL3 0x3000UL

static uint8_t before[64];

static void snapshot(void) { memcpy(before, xen_hypercall_page, sizeof(before)); }
static bool page_unchanged(void) { return memcmp(before, xen_hypercall_page, sizeof(before)) == 0; }

/* Xen 4.19: xen/arch/x86/traps.c, guest_wrmsr_xen (page index > 0: #GP). */
TEST_CASE(msr_page_index_nonzero_is_gp)
{
    snapshot();
    CHECK(conf_wrmsr_faults(XEN_HYPERCALL_MSR, PAGE_GPA | 1)); /* Xen has one page: index 1 is #GP */
    CHECK(conf_wrmsr_faults(XEN_HYPERCALL_MSR, PAGE_GPA | 0x800));
    CHECK(page_unchanged());
    CHECK(!xen_hypercalls_ready());
}

/* Xen 4.19: xen/arch/x86/traps.c, guest_wrmsr_xen (no RAM page at the gfn: #GP). */
TEST_CASE(msr_page_outside_ram_is_gp)
{
    CHECK(conf_wrmsr_faults(XEN_HYPERCALL_MSR, CONF_BAD_GPA));
}

/* Xen 4.19: xen/arch/x86/traps.c, guest_rdmsr_xen (the hypercall MSR reads 0). */
TEST_CASE(msr_reads_as_zero)
{
    /* Xen: the hypercall page MSR is write-only and reads as zero (no #GP). */
    bool faulted = conf_rdmsr_faults(XEN_HYPERCALL_MSR);
    CHECK(!faulted);
    if (!faulted)
        CHECK_EQ(rdmsr(XEN_HYPERCALL_MSR), 0);
}

/* Xen 4.19: xen/arch/x86/traps.c, guest_wrmsr_xen; xen/arch/x86/hvm/hypercall.c (hypercall page
 * stubs, 32 bytes each). */
TEST_CASE(msr_write_fills_page)
{
    REQUIRE_EQ(xen_setup_hypercall_page(), 0);
    CHECK(xen_hypercalls_ready());
    CHECK_EQ(hypercall_xen_version(XENVER_version, NULL), xen_info.cpuid_version);
}

/* Xen 4.19: xen/arch/x86/hvm/vmx/vmx.c, vmx_init_hypercall_page (mov $nr,%eax; vmcall; ret; ud2 in
 * the iret slot). */
TEST_CASE(page_layout_matches_xen)
{
    /* Each 32-byte stub starts `mov $nr, %eax`; the iret slot is ud2 (not available to HVM guests). */
    unsigned bad = 0;
    for (unsigned nr = 0; nr < XEN_HYPERCALL_COUNT; nr++) {
        const uint8_t* p = xen_hypercall_page + nr * XEN_HYPERCALL_STUB_SIZE;
        uint32_t imm;
        memcpy(&imm, p + 1, 4);
        bool ok = nr == XEN_HYPERCALL_iret ? (p[0] == 0x0f && p[1] == 0x0b) : (p[0] == 0xb8 && imm == nr);
        if (!ok && bad++ < 4)
            TEST_FAIL("stub %u starts %02x %02x %02x", nr, p[0], p[1], p[2]);
    }
    CHECK_EQ(bad, 0);
}

/* Xen 4.19: xen/arch/x86/traps.c, guest_wrmsr_xen (each write fills the page named). */
TEST_CASE(msr_rewrite_keeps_page_working)
{
    CHECK(!conf_wrmsr_faults(XEN_HYPERCALL_MSR, PAGE_GPA));
    CHECK_EQ(hypercall_xen_version(XENVER_version, NULL), xen_info.cpuid_version);
}

/* Xen 4.19: xen/arch/x86/hvm/hypercall.c, hvm_hypercall (no HVM handler: -ENOSYS). */
TEST_CASE(unknown_hypercalls_are_enosys)
{
    /* PV-only ones (Xen's hypercall table has no HVM entry for them) and numbers Xen never assigned.
     * sched_op_compat, PV-only as well, has a case of its own in the sched_op guest. */
    static const unsigned nrs[] = {XEN_HYPERCALL_set_trap_table, XEN_HYPERCALL_mmu_update, XEN_HYPERCALL_set_gdt,
                                   XEN_HYPERCALL_event_channel_op_compat, XEN_HYPERCALL_physdev_op_compat,
                                   60, 99, 127};
    for (size_t i = 0; i < ARRAY_SIZE(nrs); i++)
        CHECK_EQ(xen_hypercall(nrs[i], 0, 0, 0, 0, 0), -XEN_ENOSYS);
    /* The dispatcher survives them. */
    CHECK_EQ(hypercall_xen_version(XENVER_version, NULL), xen_info.cpuid_version);
}

/* CPL3: a hypercall stub trapped with #GP is stepped over with this value in eax. */
#define GP_SENTINEL 0x6b6bL
static volatile unsigned user_gp_count;

static void user_gp_handler(struct trap_frame* f)
{
    const uint8_t* insn = (const uint8_t*)f->ip;
    if ((f->cs & 3) != 3 || insn[0] != 0xe6) /* only `out %al, $imm8` of a stub at CPL3 */
        panic("unexpected #GP at %#lx (cs %#lx)", f->ip, f->cs);
    user_gp_count++;
    f->ax = (unsigned long)GP_SENTINEL;
    f->ip += 2;
}

#if defined(__x86_64__)
/* Lets CPL3 reach the stub's port: a TSS with an I/O bitmap that allows port 0xe4 (as an OS does for
 * ioperm()), loaded in place of the library's for the duration of one case. */
struct tss_io {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
    uint8_t iomap[256 / 8 + 1]; /* ports 0-255, then the 0xff terminator the CPU may read */
} __attribute__((packed));
extern uint64_t guest_gdt[];
extern uint8_t guest_tss[104]; /* the library's TSS (guests/lib/src/desc.c) */
static struct tss_io io_tss __attribute__((aligned(16)));
static uint8_t io_tss_stack[8192] __attribute__((aligned(16)));

static void load_tss(const void* base, uint32_t limit)
{
    uint64_t b = (uintptr_t)base;
    guest_gdt[GDT_TSS / 8] = (limit & 0xffff) | ((b & 0xffffff) << 16) | (0x89ULL << 40) |
                             ((uint64_t)(limit >> 16) << 48) | (((b >> 24) & 0xff) << 56);
    guest_gdt[GDT_TSS / 8 + 1] = b >> 32;
    __asm__ volatile("ltr %w0" ::"r"(GDT_TSS) : "memory");
}

static void allow_port_at_cpl3(bool allow)
{
    if (!allow) {
        load_tss(guest_tss, sizeof(guest_tss) - 1);
        return;
    }
    memcpy(&io_tss, guest_tss, sizeof(guest_tss)); /* keeps the #DF stack */
    io_tss.rsp[0] = (uintptr_t)io_tss_stack + sizeof(io_tss_stack);
    io_tss.iomap_base = offsetof(struct tss_io, iomap);
    memset(io_tss.iomap, 0xff, sizeof(io_tss.iomap));
    io_tss.iomap[0xe4 / 8] &= (uint8_t)~(1u << (0xe4 % 8));
    load_tss(&io_tss, sizeof(io_tss) - 1);
}
#endif

static char marker_a[] = "CPL3-LEAK-A\n", marker_b[] = "CPL3-LEAK-B\n";

static long user_console_hypercall(void* marker)
{
    const char* s = marker;
    return XG_HCALL(XEN_HYPERCALL_console_io, CONSOLEIO_write, strlen(s), s, 0, 0);
}

/* Xen 4.19: xen/arch/x86/hvm/hypercall.c, hvm_hypercall (hvm_get_cpl() != 0: -EPERM). */
TEST_CASE(cpl3_hypercall_is_eperm)
{
    /* Xen answers a hypercall made at CPL3 with -EPERM in eax, whatever the guest's I/O permissions. */
    user_gp_count = 0;
    guest_set_irq_handler(13, user_gp_handler);
    long rc = guest_run_user(user_console_hypercall, marker_a);
    guest_set_irq_handler(13, NULL);
    CHECK_EQ(user_gp_count, 0);
    CHECK_EQ(rc, -XEN_EPERM);
    CHECK_EQ(cpu_cpl(), 0);
}

/* Xen 4.19: xen/arch/x86/hvm/hypercall.c, hvm_hypercall (hvm_get_cpl() != 0: -EPERM, no effect). */
TEST_CASE(cpl3_hypercall_reaching_hypervisor_is_eperm)
{
    /* With the port open to CPL3 the stub's trap reaches the hypervisor from CPL3: it must refuse it
     * and do nothing. */
    user_gp_count = 0;
    guest_set_irq_handler(13, user_gp_handler);
#if defined(__x86_64__)
    allow_port_at_cpl3(true);
    long rc = guest_run_user(user_console_hypercall, marker_b);
    allow_port_at_cpl3(false);
#else
    /* sysexit keeps EFLAGS, so IOPL 3 set here holds at CPL3; guest_run_user restores these flags. */
    unsigned long flags = read_flags();
    __asm__ volatile("push %0; popf" ::"r"(flags | EFLAGS_IOPL3) : "memory", "cc");
    long rc = guest_run_user(user_console_hypercall, marker_b);
    __asm__ volatile("push %0; popf" ::"r"(flags) : "memory", "cc");
#endif
    guest_set_irq_handler(13, NULL);
    CHECK_EQ(user_gp_count, 0);
    CHECK_EQ(rc, -XEN_EPERM);
    CHECK_EQ(read_flags() & EFLAGS_IOPL3, 0);
    CHECK_EQ(hypercall_xen_version(XENVER_version, NULL), xen_info.cpuid_version);
}
