/* The vm_event guest (issue 10): it makes events for a monitor attached to its VMM and checks
 * that it runs on correctly afterwards. Command line:
 *   mode=request  every vCPU makes count= HVMOP_guest_request_vm_event calls; the payload is in
 *                 the registers: rdx = VMEVENT_MAGIC | cpu << 32 | sequence number, r10 = ~rdx
 *   mode=write    writes to a watched page (tests/vmevent_test.cpp answers each phase differently)
 *   mode=singlestep, mode=breakpoint, mode=cr3, mode=msr, mode=desc   see their functions below
 *   vcpus=N       vCPUs taking part (default 1)
 *   count=N       events per vCPU (default 100)
 * The other modes tell the monitor where they are with marks: guest requests whose rdx is
 * MARK_MAGIC | mark, with arguments in r10 and r8 (tests/vmevent_test.cpp knows the numbers).
 * Each vCPU reports "vcpu <id> requests <n> cycles <tsc cycles>", then the whole run
 * "BENCH vmevent_request_cycles <events> <mean cycles per event>" and "BENCH tsc_khz 1 <kHz>". */
#include "conformance.h"
#include "guest/boot.h"
#include "guest/smp.h"

#define VMEVENT_MAGIC 0x5e00000000000000ul
#define WAIT_US 1200000000ull /* a monitor may hold a vCPU as long as it likes; a hang fails the test */

static unsigned vcpus;
static unsigned long count;
static volatile unsigned long failures[SMP_MAX_CPUS];
static volatile uint64_t cycles[SMP_MAX_CPUS];

static long guest_request(unsigned long payload)
{
    return XG_HCALL(XEN_HYPERCALL_hvm_op, HVMOP_guest_request_vm_event, 0, payload, ~payload, 0);
}

#define MARK_MAGIC 0x5f00000000000000ul
enum mark {
    MARK_WATCH = 1,   /* r10: the page to watch for writes */
    MARK_DENY = 2,    /* the next write is to be denied */
    MARK_LIFT = 3,    /* the next write is to be let through by lifting the limit */
    MARK_SETREGS = 4, /* answer with rax = SETREGS_RAX */
    MARK_SS_START = 5, /* r10, r8: the block to single-step; answer by turning single-step on */
    MARK_SS_STOP = 6,  /* answer by turning it off */
    MARK_BP = 7,       /* r10, r8: the two breakpoints */
    MARK_CR3 = 8,      /* r10: the CR3 write */
    MARK_DESC = 9,     /* descriptor-table stores follow: SIDT, then SGDT */
    MARK_BP_ALIAS = 10, /* r10: an INT3's address through an alias mapping, r8: the same through the identity */
};
#define SETREGS_RAX 0x600dul

static long mark(enum mark what, unsigned long a, unsigned long b)
{
    return XG_HCALL(XEN_HYPERCALL_hvm_op, HVMOP_guest_request_vm_event, 0, MARK_MAGIC | what, a, b);
}

static long request_storm(void* arg)
{
    (void)arg;
    unsigned cpu = smp_cpu_id();
    uint64_t t0 = rdtsc();
    for (unsigned long seq = 0; seq < count; seq++) {
        long rc = guest_request(VMEVENT_MAGIC | (unsigned long)cpu << 32 | seq);
        if (rc != 0) {
            if (failures[cpu]++ == 0)
                printf("vcpu %u: guest request %lu returned %ld\n", cpu, seq, rc);
        }
    }
    cycles[cpu] = rdtsc() - t0;
    return 0;
}

static bool run_everywhere(long (*fn)(void*))
{
    for (unsigned c = 1; c < vcpus; c++)
        if (smp_start_cpu(c, fn, NULL) != 0) {
            printf("vcpu %u did not start\n", c);
            return false;
        }
    fn(NULL);
    for (unsigned c = 1; c < vcpus; c++)
        if (smp_wait(c, WAIT_US) != 0) {
            printf("vcpu %u did not finish\n", c);
            return false;
        }
    return true;
}

static bool mode_request(void)
{
    if (!run_everywhere(request_storm))
        return false;
    uint64_t total = 0;
    unsigned long failed = 0;
    for (unsigned c = 0; c < vcpus; c++) {
        printf("vcpu %u requests %lu cycles %llu\n", c, count, (unsigned long long)cycles[c]);
        total += cycles[c];
        failed += failures[c];
    }
    printf("BENCH tsc_khz 1 %u\n", (unsigned)guest_tsc_khz());
    printf("BENCH vmevent_request_cycles %lu %llu\n", count * vcpus,
           (unsigned long long)(total / (count * vcpus)));
    return failed == 0;
}

/* mode=write: every vCPU writes count= words into its own part of a watched page, each answered
 * with EMULATE (the write happens, the page stays limited); then one write is denied (it must not
 * happen) and one let through by lifting the limit (it and the ones after it happen, unreported). */
static volatile uint64_t watched[512] __attribute__((aligned(4096)));

static uint64_t word_value(unsigned cpu, unsigned long i)
{
    return 0x77000000000000ull | (uint64_t)cpu << 32 | i;
}

static long write_storm(void* arg)
{
    (void)arg;
    unsigned cpu = smp_cpu_id();
    for (unsigned long i = 0; i < count; i++)
        watched[cpu * count + i] = word_value(cpu, i);
    return 0;
}

static bool mode_write(void)
{
    if (vcpus * count > 500) {
        printf("vcpus * count must stay below 500\n");
        return false;
    }
    bool ok = mark(MARK_WATCH, (unsigned long)watched, 0) == 0 && run_everywhere(write_storm);
    for (unsigned c = 0; c < vcpus; c++)
        for (unsigned long i = 0; i < count; i++)
            if (watched[c * count + i] != word_value(c, i)) {
                printf("word %lu of vcpu %u is %#llx\n", i, c, (unsigned long long)watched[c * count + i]);
                ok = false;
            }
    mark(MARK_DENY, 0, 0);
    watched[511] = 0xdead;
    if (watched[511] != 0) {
        printf("a denied write happened\n");
        ok = false;
    }
    mark(MARK_LIFT, 0, 0);
    for (unsigned i = 0; i < 3; i++)
        watched[510] = 0x1000 + i;
    if (watched[510] != 0x1002) {
        printf("writes after the limit was lifted: %#llx\n", (unsigned long long)watched[510]);
        ok = false;
    }
    long rax = mark(MARK_SETREGS, 0, 0);
    if (rax != (long)SETREGS_RAX) {
        printf("the monitor's rax did not arrive: %#lx\n", rax);
        ok = false;
    }
    return ok;
}

/* mode=singlestep: a block of instructions of 1, 2, 3, 4 and 1 bytes, single-stepped between two
 * marks; the monitor must see each of its instruction pointers in turn. */
extern char ss_block[], ss_end[];

__attribute__((noinline)) static void stepped_block(void)
{
    __asm__ volatile(".global ss_block\nss_block:\n"
                     "nop\n"
                     ".byte 0x66, 0x90\n"             /* xchg %ax,%ax */
                     ".byte 0x0f, 0x1f, 0x00\n"       /* nopl (%rax) */
                     ".byte 0x0f, 0x1f, 0x40, 0x00\n" /* nopl 0(%rax) */
                     "nop\n"
                     ".global ss_end\nss_end:\n" ::: "memory");
}

static bool mode_singlestep(void)
{
    mark(MARK_SS_START, (unsigned long)ss_block, (unsigned long)ss_end);
    stepped_block();
    mark(MARK_SS_STOP, 0, 0);
    return true;
}

/* mode=breakpoint: two INT3s, planted at run time over NOPs as a debugger plants them (the image
 * itself holds none: guests/cmake/check_guest_elf.cmake); the monitor moves RIP past the first
 * (SET_REGISTERS) and lets the second reach the guest's own #BP handler (EMULATE). A third runs
 * from an alias of its code page, whose linear address is not its frame's: the monitor steps over
 * it (SET_REGISTERS). */
extern char bp1[], bp2[];
static volatile unsigned bp_handled;
static volatile unsigned long bp_frame_rip;

static void on_breakpoint(struct trap_frame* f)
{
    bp_handled++;
    bp_frame_rip = f->ip;
}

__attribute__((noinline)) static void breakpoints(void)
{
    __asm__ volatile(".global bp1\nbp1: nop\n.global bp2\nbp2: nop\nnop\n" ::: "memory");
}

/* The alias: a second PML4 slot sharing the first one's tables maps everything again 512 GiB up. */
#define ALIAS_OFFSET (1ul << 39)
extern char bp_alias[];

__attribute__((noinline)) static void alias_breakpoint(void)
{
    __asm__ volatile(".global bp_alias\nbp_alias: nop\n" ::: "memory");
}

static bool breakpoint_through_alias(void)
{
    guest_pml4[1] = guest_pml4[0];
    *(volatile uint8_t*)bp_alias = 0xcc;
    void (*aliased)(void) = (void (*)(void))((unsigned long)alias_breakpoint + ALIAS_OFFSET);
    mark(MARK_BP_ALIAS, (unsigned long)bp_alias + ALIAS_OFFSET, (unsigned long)bp_alias);
    aliased();
    if (bp_handled != 1) {
        printf("the aliased INT3 reached the guest\n");
        return false;
    }
    return true;
}

static bool mode_breakpoint(void)
{
    guest_set_irq_handler(3, on_breakpoint);
    *(volatile uint8_t*)bp1 = 0xcc;
    *(volatile uint8_t*)bp2 = 0xcc;
    mark(MARK_BP, (unsigned long)bp1, (unsigned long)bp2);
    breakpoints();
    if (bp_handled != 1 || bp_frame_rip != (unsigned long)bp2 + 1) {
        printf("#BP reached the guest %u times (rip %#lx)\n", bp_handled, bp_frame_rip);
        return false;
    }
    return breakpoint_through_alias();
}

/* mode=cr3: every vCPU reloads CR3 count= times at one instruction. */
extern char cr3_write[];

__attribute__((noinline)) static void reload_cr3(void)
{
    unsigned long v;
    __asm__ volatile("mov %%cr3, %0\n.global cr3_write\ncr3_write: mov %0, %%cr3" : "=&r"(v)::"memory");
}

static long cr3_storm(void* arg)
{
    (void)arg;
    for (unsigned long i = 0; i < count; i++)
        reload_cr3();
    return 0;
}

static bool mode_cr3(void)
{
    mark(MARK_CR3, (unsigned long)cr3_write, 0);
    return run_everywhere(cr3_storm);
}

/* mode=msr: count= writes to SYSENTER_CS, one denied (the monitor marks it), then the old value
 * back; the guest reads each back. */
#define MSR_SYSENTER_CS 0x174

static bool mode_msr(void)
{
    bool ok = true;
    uint64_t old = rdmsr(MSR_SYSENTER_CS);
    for (unsigned long i = 0; i < count; i++) {
        wrmsr(MSR_SYSENTER_CS, 0x1000 + i);
        if (rdmsr(MSR_SYSENTER_CS) != 0x1000 + i) {
            printf("MSR write %lu did not happen\n", i);
            ok = false;
        }
    }
    mark(MARK_DENY, 0, 0);
    wrmsr(MSR_SYSENTER_CS, 0xbad);
    if (rdmsr(MSR_SYSENTER_CS) != 0x1000 + count - 1) {
        printf("a denied MSR write happened\n");
        ok = false;
    }
    wrmsr(MSR_SYSENTER_CS, old);
    return ok;
}

/* mode=desc: SIDT and SGDT, after a mark; what they store must be the real tables. */
static bool mode_desc(void)
{
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) idt = { 0, 0 }, gdt = { 0, 0 };
    mark(MARK_DESC, 0, 0);
    __asm__ volatile("sidt %0" : "=m"(idt));
    __asm__ volatile("sgdt %0" : "=m"(gdt));
    if (idt.limit == 0 || gdt.limit == 0) {
        printf("SIDT/SGDT stored nothing\n");
        return false;
    }
    return true;
}

static const struct {
    const char* name;
    bool (*run)(void);
} modes[] = {
    { "request", mode_request }, { "write", mode_write }, { "singlestep", mode_singlestep },
    { "breakpoint", mode_breakpoint }, { "cr3", mode_cr3 }, { "msr", mode_msr }, { "desc", mode_desc },
};

int guest_main(void)
{
    vcpus = (unsigned)conf_arg_ulong("vcpus", 1);
    count = conf_arg_ulong("count", 100);
    const char* mode = conf_arg("mode");
    bool ok = false, known = false;
    if (vcpus == 0 || vcpus > smp_vcpu_count()) {
        printf("vcpus=%u but the domain has %u\n", vcpus, smp_vcpu_count());
        known = true;
    }
    for (unsigned i = 0; !known && i < sizeof(modes) / sizeof(modes[0]); i++)
        if (strcmp(mode, modes[i].name) == 0) {
            known = true;
            ok = modes[i].run();
        }
    if (!known)
        printf("unknown mode '%s'\n", mode);
    printf("RESULT: %s\n", ok ? "PASS" : "FAIL");
    return 0;
}
