/* Conformance: bringing up secondary vCPUs as an HVM guest does. Odd vCPUs start with
 * VCPUOP_initialise (HVM context: 64-bit, or 32-bit flat in the 32-bit build) + VCPUOP_up, even ones
 * with INIT-SIPI-SIPI through the LAPIC into a real-mode trampoline. Each must then run on its own
 * GDT/TSS/stacks with its own identity (CPUID, LAPIC id, Xen vCPU id), at CPL3 too. Command line:
 * vcpus=<n>. Cases that need a second vCPU SKIP on one. Built 32- and 64-bit. */
#include "conformance.h"

#define BOOT_US 3000000
#define WORK_US 3000000

static unsigned vcpus(void) { return (unsigned)conf_arg_ulong("vcpus", 1); }

struct identity {
    unsigned cpu, lapic, cpuid_vcpu, cpuid_apic;
    unsigned long tss, gdt;
    uint16_t tr;
};
static struct identity ident[SMP_MAX_CPUS];

static long read_identity(void* arg)
{
    struct identity* id = arg;
    struct desc_ptr_raw {
        uint16_t limit;
        unsigned long base;
    } __attribute__((packed)) gdtr;
    id->cpu = smp_cpu_id();
    id->lapic = lapic_id();
    id->cpuid_vcpu = cpuid(xen_info.cpuid_base + 4, 0).ebx;
    id->cpuid_apic = cpuid(1, 0).ebx >> 24;
    id->tss = (unsigned long)this_cpu()->tss;
    __asm__ volatile("sgdt %0; str %1" : "=m"(gdtr), "=r"(id->tr));
    id->gdt = gdtr.base;
    return 0;
}

static void check_identity(unsigned cpu)
{
    REQUIRE_EQ(smp_run_on(cpu, read_identity, &ident[cpu], WORK_US), 0);
    const struct identity* id = &ident[cpu];
    CHECK_EQ(id->cpu, cpu);
    CHECK_EQ(id->lapic, cpu);
    CHECK_EQ(id->cpuid_vcpu, cpu);
    CHECK_EQ(id->cpuid_apic, cpu);
    CHECK_EQ(id->tr, GDT_TSS);
    for (unsigned other = 0; other < cpu; other++) { /* tables of their own */
        CHECK_NE(id->tss, ident[other].tss);
        CHECK_NE(id->gdt, ident[other].gdt);
    }
}

/* Xen 4.19: xen/common/domain.c, do_vcpu_op (VCPUOP_is_up; domain_vcpu: -ENOENT past max_vcpus). */
TEST_CASE(vcpu_count_is_the_domains)
{
    CHECK_EQ(smp_vcpu_count(), vcpus());
    CHECK_EQ(hypercall_vcpu_op(VCPUOP_is_up, 0, NULL), 1);
    for (unsigned v = 1; v < vcpus(); v++)
        CHECK_EQ(hypercall_vcpu_op(VCPUOP_is_up, v, NULL), 0); /* nothing started them yet */
    check_identity(0);
}

/* Later cases do not depend on how (or whether) the boot cases managed. */
static bool ensure_online(unsigned v)
{
    int rc = smp_boot_cpu(v, SMP_BOOT_VCPUOP, BOOT_US);
    return rc == 0 || rc == -XEN_EEXIST;
}

static void boot(unsigned first, enum smp_boot_method how)
{
    if (vcpus() <= first)
        TEST_SKIP("needs %u vCPUs", first + 1);
    for (unsigned v = first; v < vcpus(); v += 2) {
        CHECK_EQ(smp_boot_cpu(v, how, BOOT_US), 0);
        REQUIRE(smp_cpu_online(v));
        /* A SIPI-started vCPU is up once it runs, as on Xen where the vLAPIC brings it up. */
        CHECK_EQ(hypercall_vcpu_op(VCPUOP_is_up, v, NULL), 1);
        check_identity(v);
    }
}

/* Xen 4.19: xen/common/domain.c, do_vcpu_op (VCPUOP_initialise, VCPUOP_up);
 * xen/arch/x86/hvm/domain.c, arch_set_info_hvm_guest. */
TEST_CASE(boot_with_vcpuop_initialise)
{
    boot(1, SMP_BOOT_VCPUOP);
}

/* Xen 4.19: xen/arch/x86/hvm/vlapic.c, vlapic_init_sipi_action. */
TEST_CASE(boot_with_init_sipi)
{
    boot(2, SMP_BOOT_SIPI);
}

/* Xen 4.19: xen/common/domain.c, do_vcpu_op (VCPUOP_initialise of an initialised vCPU: -EEXIST). */
TEST_CASE(initialise_twice_is_eexist)
{
    if (vcpus() < 2)
        TEST_SKIP("needs 2 vCPUs");
    REQUIRE(ensure_online(1));
    struct vcpu_hvm_context ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.mode = VCPU_HVM_MODE_32B;
    ctx.cpu_regs.x86_32.cr0 = CR0_PE;
    ctx.cpu_regs.x86_32.cs_limit = 0xffffffff;
    ctx.cpu_regs.x86_32.cs_ar = 0xc9b;
    /* Xen checks is_initialised before it looks at the context. */
    CHECK_EQ(hypercall_vcpu_op(VCPUOP_initialise, 1, &ctx), -XEN_EEXIST);
    CHECK_EQ(hypercall_vcpu_op(VCPUOP_up, 1, NULL), 0); /* already up: nothing to do */
    check_identity(1); /* and it still runs where it was */
}

static long user_work(void* arg)
{
    /* At CPL3: this CPU's id through GS, and a sum that needs this CPU's stack to survive. */
    volatile unsigned long acc[64];
    unsigned long sum = 0;
    for (unsigned i = 0; i < 64; i++)
        acc[i] = i * (unsigned long)(uintptr_t)arg;
    for (unsigned r = 0; r < 200; r++) /* 32-bit CPL3 code runs in the emulator here too */
        for (unsigned i = 0; i < 64; i++)
            sum += acc[i];
    return (long)((sum / 200 / 2016) * 100 + smp_cpu_id());
}

static long run_user(void* arg) { return guest_run_user(user_work, arg); }

/* Xen 4.19: xen/arch/x86/hvm/domain.c, arch_set_info_hvm_guest (each vCPU its own segment state). */
TEST_CASE(cpl3_on_every_cpu_at_once)
{
    unsigned n = vcpus();
    for (unsigned v = 1; v < n; v++)
        REQUIRE(ensure_online(v));
    for (unsigned v = 1; v < n; v++)
        REQUIRE_EQ(smp_start_cpu(v, run_user, (void*)(uintptr_t)(v + 1)), 0);
    CHECK_EQ(run_user((void*)1), 100);
    for (unsigned v = 1; v < n; v++)
        CHECK_EQ(smp_wait(v, WORK_US), (long)((v + 1) * 100 + v));
}

static long count_up(void* arg)
{
    volatile unsigned long* counter = arg;
    atomic_inc(counter);
    return 0;
}

/* Xen 4.19: xen/common/domain.c, do_vcpu_op (VCPUOP_down, VCPUOP_up). */
TEST_CASE(down_then_up_resumes)
{
    if (vcpus() < 2)
        TEST_SKIP("needs 2 vCPUs");
    unsigned v = vcpus() - 1;
    REQUIRE(ensure_online(v));
    static volatile unsigned long counter;
    CHECK_EQ(hypercall_vcpu_op(VCPUOP_down, v, NULL), 0);
    CHECK_EQ(hypercall_vcpu_op(VCPUOP_is_up, v, NULL), 0);
    REQUIRE_EQ(smp_start_cpu(v, count_up, (void*)&counter), 0);
    CHECK_EQ(smp_wait(v, 200000), -XEN_ETIMEDOUT); /* a down vCPU does not run */
    CHECK_EQ(counter, 0);
    CHECK_EQ(hypercall_vcpu_op(VCPUOP_up, v, NULL), 0);
    CHECK_EQ(hypercall_vcpu_op(VCPUOP_is_up, v, NULL), 1);
    lapic_send_ipi(v, SMP_WAKE_VECTOR); /* the wake-up sent while it was down may be gone */
    CHECK_EQ(smp_wait(v, WORK_US), 0);
    CHECK_EQ(counter, 1);
}
