/* The guest library's own tests, built 32- and 64-bit. They need no Xen (Xen cases skip without it), so
 * they also run under QEMU TCG:
 *   qemu-system-x86_64 -accel tcg -kernel selftest64.elf -debugcon stdio -display none -no-reboot */
#include "guest/guest.h"

static char buf[128];

#define FMT(expected, ...)                                                                                    \
    do {                                                                                                      \
        int n_ = snprintf(buf, sizeof(buf), __VA_ARGS__);                                                     \
        CHECK_STREQ(buf, expected);                                                                           \
        CHECK_EQ(n_, (int)strlen(expected));                                                                  \
    } while (0)

TEST_CASE(printf_integers)
{
    FMT("0 -1 42 -2147483648", "%d %d %i %d", 0, -1, 42, (int)0x80000000);
    FMT("4294967295 ffffffff FFFFFFFF 777", "%u %x %X %o", 0xffffffffu, 0xffffffffu, 0xffffffffu, 0777);
    FMT("123456789abcdef0", "%llx", 0x123456789abcdef0ULL);
    FMT("18446744073709551615", "%llu", ~0ULL);
    FMT("-9223372036854775808", "%lld", (long long)(1ULL << 63));
    FMT("1234567890123", "%llu", 1234567890123ULL);
    FMT("deadbeef", "%lx", 0xdeadbeefUL);
    FMT("-12", "%ld", -12L);
    FMT("ff 7f", "%hhx %hx", 0x1ff, 0x1007f);
    FMT("42 2a", "%zu %zx", (size_t)42, (size_t)42);
}

TEST_CASE(printf_widths_and_flags)
{
    FMT("[   42]", "[%5d]", 42);
    FMT("[42   ]", "[%-5d]", 42);
    FMT("[00042]", "[%05d]", 42);
    FMT("[-0042]", "[%05d]", -42);
    FMT("[+42  42 -42]", "[%+d % d % d]", 42, 42, -42);
    FMT("[0x2a 0X2A]", "[%#x %#X]", 42, 42);
    FMT("[00ff]", "[%04x]", 255);
    FMT("[0000000000001000]", "[%016llx]", 0x1000ULL);
    FMT("[  007]", "[%5.3d]", 7);
    FMT("[   ab]", "[%*x]", 5, 0xab);
    FMT("[ab   ]", "[%-*x]", 5, 0xab);
}

TEST_CASE(printf_strings_chars_pointers)
{
    FMT("[abc]", "[%s]", "abc");
    FMT("[  abc]", "[%5s]", "abc");
    FMT("[abc  ]", "[%-5s]", "abc");
    FMT("[ab]", "[%.2s]", "abc");
    FMT("[ab]", "[%.*s]", 2, "abcdef");
    const char* volatile null_string = NULL; /* hidden from gcc's format checker */
    FMT("[(null)]", "[%s]", null_string);
    FMT("[x] [  y]", "[%c] [%3c]", 'x', 'y');
    FMT("100%", "100%%");
    FMT("0x1000", "%p", (void*)0x1000);
    FMT("0x0", "%p", (void*)0);
}

TEST_CASE(printf_truncation)
{
    char small[8];
    int n = snprintf(small, sizeof(small), "%s-%d", "abcdef", 12345);
    CHECK_EQ(n, 12);
    CHECK_STREQ(small, "abcdef-");
    CHECK_EQ(snprintf(NULL, 0, "%d", 123456), 6);
    char one[1] = {'z'};
    CHECK_EQ(snprintf(one, 1, "abc"), 3);
    CHECK_EQ(one[0], 0);
}

TEST_CASE(string_functions)
{
    char a[32];
    memset(a, 'x', sizeof(a));
    CHECK_EQ(a[31], 'x');
    memcpy(a, "hello", 6);
    CHECK_STREQ(a, "hello");
    CHECK_EQ(strlen(a), 5);
    CHECK_EQ(strnlen(a, 3), 3);
    memmove(a + 1, a, 6); /* overlapping, forwards */
    CHECK_STREQ(a, "hhello");
    memmove(a, a + 1, 6); /* overlapping, backwards */
    CHECK_STREQ(a, "hello");
    CHECK(memcmp("abc", "abd", 3) < 0);
    CHECK_EQ(memcmp("abc", "abc", 3), 0);
    CHECK(strcmp("a", "b") < 0);
    CHECK(strcmp("b", "a") > 0);
    CHECK_EQ(strcmp("same", "same"), 0);
    CHECK_EQ(strncmp("abcx", "abcy", 3), 0);
    CHECK(strchr("hello", 'l') != NULL);
    CHECK(strchr("hello", 'z') == NULL);
    CHECK_EQ(strlcpy(a, "truncate me", 5), 11);
    CHECK_STREQ(a, "trun");
    char* end;
    CHECK_EQ(strtoul("1234x", &end, 10), 1234);
    CHECK_EQ(*end, 'x');
    CHECK_EQ(strtoul("0x1f", NULL, 0), 31);
    CHECK_EQ(strtoul("  77", NULL, 8), 63);
}

TEST_CASE(division_64bit)
{
    volatile uint64_t n = 0x123456789abcdef0ULL, d32 = 10, d64 = 0x100000001ULL;
    volatile int64_t sn = -1000000000000LL, sd = 7;
    CHECK_EQ(n / d32, 0x1d208a5a912e318ULL);
    CHECK_EQ(n % d32, 0);
    CHECK_EQ(n / d64, 0x12345678ULL);
    CHECK_EQ(n % d64, 0x88888878ULL);
    CHECK_EQ(sn / sd, -142857142857LL);
    CHECK_EQ(sn % sd, -1);
    uint32_t rem;
    CHECK_EQ(div_u64_rem(0xffffffffffffffffULL, 3, &rem), 0x5555555555555555ULL);
    CHECK_EQ(rem, 0);
}

static unsigned long ud_seen_ip;
static void skip_2_bytes(struct trap_frame* f)
{
    ud_seen_ip = f->ip;
    f->ip += 2;
}

TEST_CASE(exception_handler_ud)
{
    guest_set_irq_handler(6, skip_2_bytes);
    unsigned long before = guest_irq_count(6);
    __asm__ volatile("ud2");
    guest_set_irq_handler(6, NULL);
    CHECK_EQ(guest_irq_count(6), before + 1);
    CHECK(ud_seen_ip >= (unsigned long)__image_start && ud_seen_ip < (unsigned long)__image_end);
}

static unsigned long gp_error;
static void gp_handler(struct trap_frame* f)
{
    gp_error = f->error_code;
    f->ip += 2; /* mov %ax, %ds is 8e d8 */
}

TEST_CASE(exception_handler_gp_error_code)
{
    guest_set_irq_handler(13, gp_handler);
    uint16_t bad_selector = 0x1230; /* beyond the GDT limit */
    __asm__ volatile(".byte 0x8e, 0xd8" ::"a"(bad_selector) : "memory"); /* mov %ax, %ds */
    guest_set_irq_handler(13, NULL);
    CHECK_EQ(gp_error, 0x1230);
}

static void de_handler(struct trap_frame* f)
{
    f->ax = 0x600d; /* the "quotient" */
    f->ip += 2;     /* divl %ecx is f7 f1 */
}

TEST_CASE(exception_handler_divide_error)
{
    guest_set_irq_handler(0, de_handler);
    uint32_t eax = 100, edx = 0, ecx = 0;
    __asm__ volatile(".byte 0xf7, 0xf1" : "+a"(eax), "+d"(edx) : "c"(ecx)); /* divl %ecx */
    guest_set_irq_handler(0, NULL);
    CHECK_EQ(eax, 0x600d);
}

#if defined(__x86_64__)
static unsigned long pf_cr2, pf_error;
static void pf_handler(struct trap_frame* f)
{
    pf_cr2 = read_cr2();
    pf_error = f->error_code;
    f->ip += 2; /* mov (%rax), %eax is 8b 00 */
}

TEST_CASE(exception_handler_page_fault_above_4g)
{
    guest_set_irq_handler(14, pf_handler);
    unsigned long addr = 0x100000000UL + 0x1230;
    uint32_t value;
    __asm__ volatile(".byte 0x8b, 0x00" : "=a"(value) : "a"(addr) : "memory"); /* mov (%rax), %eax */
    guest_set_irq_handler(14, NULL);
    CHECK_EQ(pf_cr2, addr);
    CHECK_EQ(pf_error, 0); /* not present, read, CPL0 */
}
#endif

static void ud_handler_changes_ax(struct trap_frame* f)
{
    f->ax = f->ax * 2 + 1;
    f->ip += 2;
}

TEST_CASE(handler_changes_registers_others_preserved)
{
    guest_set_irq_handler(6, ud_handler_changes_ax);
    unsigned long ax = 20, bx = 0x1111, cx = 0x4444, dx = 0x5555, si = 0x2222, di = 0x3333;
    __asm__ volatile("ud2" : "+a"(ax), "+b"(bx), "+c"(cx), "+d"(dx), "+S"(si), "+D"(di)::"memory");
    guest_set_irq_handler(6, NULL);
    CHECK_EQ(ax, 41);
    CHECK_EQ(bx, 0x1111);
    CHECK_EQ(cx, 0x4444);
    CHECK_EQ(dx, 0x5555);
    CHECK_EQ(si, 0x2222);
    CHECK_EQ(di, 0x3333);
    CHECK(!irqs_enabled()); /* interrupt gates cleared IF; the return restored it (clear) */
}

static void ipi_handler(struct trap_frame* f)
{
    (void)f;
    lapic_eoi();
}

TEST_CASE(lapic_self_ipi_reaches_handler)
{
    if (!lapic_present())
        TEST_SKIP("no local APIC");
    guest_set_irq_handler(0x40, ipi_handler);
    lapic_enable(0xff);
    unsigned long before = guest_irq_count(0x40);
    lapic_send_self_ipi(0x40);
    CHECK_EQ(guest_irq_count(0x40), before); /* IF is clear: still pending */
    irq_enable();
    for (int i = 0; i < 1000 && guest_irq_count(0x40) == before; i++)
        cpu_relax();
    irq_disable();
    guest_set_irq_handler(0x40, NULL);
    CHECK_EQ(guest_irq_count(0x40), before + 1);
}

struct user_job {
    unsigned cpl;
    unsigned long iterations;
    uint32_t checksum;
    long sys_unknown;
};

static long user_work(void* arg)
{
    struct user_job* job = arg;
    job->cpl = cpu_cpl();
    uint32_t x = 1;
    for (unsigned long i = 0; i < job->iterations; i++)
        x = x * 1664525u + 1013904223u;
    job->checksum = x;
    job->sys_unknown = user_syscall(99, 0, 0);
    user_printf("selftest: hello from CPL%u\n", job->cpl);
    return 12345;
}

static long user_exits_early(void* arg)
{
    (void)arg;
    user_exit(-7);
}

TEST_CASE(run_at_cpl3)
{
    struct user_job job = {.iterations = 20000};
    long rc = guest_run_user(user_work, &job);
    CHECK_EQ(rc, 12345);
    CHECK_EQ(job.cpl, 3);
    CHECK_EQ(job.sys_unknown, -XEN_ENOSYS);
    uint32_t x = 1;
    for (unsigned long i = 0; i < job.iterations; i++) /* the same sum at CPL0 */
        x = x * 1664525u + 1013904223u;
    CHECK_EQ(job.checksum, x);
    CHECK_EQ(cpu_cpl(), 0);
    CHECK_EQ(guest_run_user(user_exits_early, NULL), -7); /* and again: the gate is reusable */
    CHECK(!irqs_enabled());
}

TEST_CASE(boot_information)
{
    enum guest_boot_mode mode = guest_boot_mode();
    CHECK(mode == GUEST_BOOT_PVH || mode == GUEST_BOOT_HVM);
    if (mode == GUEST_BOOT_PVH) {
        const struct hvm_start_info* si = guest_start_info();
        REQUIRE(si != NULL);
        CHECK_EQ(si->magic, XEN_HVM_START_MAGIC_VALUE);
    } else {
        CHECK(guest_start_info() == NULL);
        CHECK_STREQ(guest_cmdline(), "");
    }
    struct guest_mem_region map[32];
    int n = guest_memory_map(map, ARRAY_SIZE(map));
    if (n < 0)
        TEST_SKIP("no memory map (%s)", xen_strerror(n));
    bool image_in_ram = false;
    for (int i = 0; i < n; i++)
        if (map[i].type == XEN_HVM_MEMMAP_TYPE_RAM && map[i].addr <= (uintptr_t)__image_start &&
            map[i].addr + map[i].size >= (uintptr_t)__image_end)
            image_in_ram = true;
    CHECK(image_in_ram);
}

TEST_CASE(page_allocator)
{
    uint8_t* a = guest_alloc_pages(1);
    uint8_t* b = guest_alloc_pages(2);
    if (!a)
        TEST_SKIP("no memory map to allocate from");
    REQUIRE(b != NULL);
    CHECK_EQ((uintptr_t)a & (PAGE_SIZE - 1), 0);
    CHECK((uintptr_t)a >= (uintptr_t)__image_end);
    CHECK((uintptr_t)b >= (uintptr_t)a + PAGE_SIZE);
    CHECK_EQ(a[0] | a[PAGE_SIZE - 1] | b[2 * PAGE_SIZE - 1], 0);
    b[0] = 1;
    CHECK_EQ(a[0], 0);
    CHECK(guest_alloc_pages(0) == NULL);
}

TEST_CASE(hypercalls_without_xen_fail_cleanly)
{
    if (xen_hypercalls_ready())
        TEST_SKIP("Xen is here");
    CHECK_EQ(hypercall_xen_version(XENVER_version, NULL), -XEN_ENOSYS);
    CHECK_EQ(xen_hypercall(XEN_HYPERCALL_sched_op, SCHEDOP_yield, 0, 0, 0, 0), -XEN_ENOSYS);
    CHECK_EQ(console_write_xen("x", 1), -XEN_ENOSYS);
}

TEST_CASE(xen_basics)
{
    if (!xen_hypercalls_ready())
        TEST_SKIP("no Xen");
    CHECK(xen_info.cpuid_base >= XEN_CPUID_FIRST_LEAF);
    long v = hypercall_xen_version(XENVER_version, NULL);
    CHECK(v > 0);
    CHECK_EQ((unsigned long)v, xen_info.cpuid_version);
    CHECK_EQ(xen_hypercall(XEN_HYPERCALL_xen_version, XENVER_version, 0, 0, 0, 0), v);
    CHECK_EQ(xen_hypercall(200, 0, 0, 0, 0, 0), -XEN_ENOSYS);
    CHECK_EQ(console_write_xen("selftest: console_io\n", 21), 0);
    struct guest_mem_region map[32];
    CHECK(guest_memory_map_xen(map, ARRAY_SIZE(map)) > 0);
    CHECK(xen_shared_info() != NULL);
    CHECK_EQ(xen_yield(), 0);
    CHECK_EQ(xen_setup_hypercall_page(), 0); /* again: still recognised as filled */
    CHECK_EQ(hypercall_xen_version(XENVER_version, NULL), v);
}

TEST_CASE(xenstore_basics)
{
    if (!xen_hypercalls_ready())
        TEST_SKIP("no Xen");
    char value[64] = "";
    int n = xs_read("domid", value, sizeof(value));
    REQUIRE(n > 0); /* without a server every further call would wait for its timeout */
    CHECK_EQ(xs_read("no/such/node", value, sizeof(value)), -XEN_ENOENT);
    CHECK_EQ(xs_write("data/selftest", "42"), 0);
    CHECK_EQ(xs_read("data/selftest", value, sizeof(value)), 2);
    CHECK_STREQ(value, "42");
    char names[256];
    int children = xs_directory("data", names, sizeof(names));
    CHECK(children >= 1);
    bool found = false;
    for (const char* p = names; children > 0 && p < names + sizeof(names); p += strlen(p) + 1, children--)
        found |= strcmp(p, "selftest") == 0;
    CHECK(found);
    CHECK_EQ(xs_watch("data/selftest", "tok"), 0);
    char path[64], token[16];
    CHECK_EQ(xs_read_watch(path, sizeof(path), token, sizeof(token)), 0); /* fired on registration */
    CHECK_STREQ(token, "tok");
    CHECK_EQ(xs_unwatch("data/selftest", "tok"), 0);
    CHECK_EQ(xs_rm("data/selftest"), 0);
    CHECK_EQ(xs_read("data/selftest", value, sizeof(value)), -XEN_ENOENT);
}
