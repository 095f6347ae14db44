/* Conformance: every console path ends in the domain's console log. Each case writes one marker line
 * through one path; the host test checks each marker appears exactly once. Also console_io's
 * negative cases (bad sub-op, bad pointer) and that reads return nothing. Built 32- and 64-bit.
 *
 * Markers: "console-e9: ok", "console-xen: ok", "console-uart: ok", "console-pv: ok". */
#include "conformance.h"
#include "xen/abi/console.h"

#define UART 0x3f8
#define UART_SCR 7
#define UART_LSR 5
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

static void say(const char* s) { console_write_e9(s, strlen(s)); }

TEST_CASE(debug_port_e9)
{
    /* Xen's port 0xe9 handler takes writes only (xen/arch/x86/hvm/hvm.c, hvm_print_line): with no
     * device model behind it, the read floats high. Bochs and QEMU's debugcon answer 0xe9. */
    CHECK_EQ(inb(0xe9), 0xff);
    say("console-e9: ok\n");
}

/* Xen 4.19: xen/drivers/char/console.c, do_console_io (CONSOLEIO_write). */
TEST_CASE(console_io_write)
{
    static const char line[] = "console-xen: ok\n";
    CHECK_EQ(hypercall_console_io(CONSOLEIO_write, sizeof(line) - 1, line), 0);
    CHECK_EQ(hypercall_console_io(CONSOLEIO_write, 0, line), 0); /* empty write */
}

/* Xen 4.19: xen/drivers/char/console.c, do_console_io (CONSOLEIO_read: the console ring is
 * dom0's). */
TEST_CASE(console_io_read_returns_nothing)
{
    char buf[16];
    memset(buf, 'z', sizeof(buf));
    CHECK_EQ(hypercall_console_io(CONSOLEIO_read, sizeof(buf), buf), 0);
    CHECK_EQ(buf[0], 'z');
    CHECK_EQ(buf[15], 'z');
}

/* Xen 4.19: xen/drivers/char/console.c, guest_console_write (copy_from_guest: -EFAULT). */
TEST_CASE(console_io_bad_pointer_is_efault)
{
    CHECK_EQ(hypercall_console_io(CONSOLEIO_write, 16, (const void*)CONF_BAD_GPA), -XEN_EFAULT);
    /* Starts in RAM, runs off its end (the tests give the guest 64 MiB). Short, so that no part of it
     * is printed before the fault is found (Xen, too, prints what it copied before a fault). */
    CHECK_EQ(hypercall_console_io(CONSOLEIO_write, 8, (const void*)(64UL * 1024 * 1024 - 4)), -XEN_EFAULT);
#if defined(__x86_64__)
    CHECK_EQ(hypercall_console_io(CONSOLEIO_write, 4, (const void*)CONF_UNMAPPED_VA), -XEN_EFAULT);
#endif
}

/* Xen 4.19: xen/drivers/char/console.c, do_console_io (default: -ENOSYS). */
TEST_CASE(console_io_unknown_subop_is_enosys)
{
    CHECK_EQ(hypercall_console_io(2, 4, "abcd"), -XEN_ENOSYS);
    CHECK_EQ(hypercall_console_io(99, 4, "abcd"), -XEN_ENOSYS);
}

/* Xen 4.19: tools/libs/light/libxl_dm.c (an HVM guest's 16550 at 0x3f8 is the device model's). */
TEST_CASE(uart_16550)
{
    /* A 16550 answers: the scratch register keeps a value, the transmitter is idle. */
    outb(UART + UART_SCR, 0x5a);
    CHECK_EQ(inb(UART + UART_SCR), 0x5a);
    outb(UART + UART_SCR, 0xa5);
    CHECK_EQ(inb(UART + UART_SCR), 0xa5);
    static const char line[] = "console-uart: ok\n";
    CHECK_EQ(console_write_uart(line, sizeof(line) - 1), 0);
    CHECK_EQ(inb(UART + UART_LSR) & (LSR_THRE | LSR_TEMT), LSR_THRE | LSR_TEMT);
}

/* Xen 4.19: xen/include/public/io/console.h (xencons_interface ring indices). */
TEST_CASE(pv_console_ring)
{
    uint64_t pfn = 0, port = 0;
    REQUIRE_EQ(xen_get_param(HVM_PARAM_CONSOLE_PFN, &pfn), 0);
    REQUIRE_EQ(xen_get_param(HVM_PARAM_CONSOLE_EVTCHN, &port), 0);
    CHECK_NE(pfn, 0);
    CHECK_NE(port, 0);
    REQUIRE_EQ(console_pv_init(), 0);
    struct xencons_interface* r = console_pv_ring();
    CHECK_EQ((uintptr_t)r, pfn << PAGE_SHIFT);
    static const char line[] = "console-pv: ok\n";
    CHECK_EQ(console_write_pv(line, sizeof(line) - 1), 0);
    /* The backend consumes everything once notified; wait for it (bounded). */
    uint64_t deadline = guest_time_us() + 2000000;
    while (READ_ONCE(r->out_cons) != READ_ONCE(r->out_prod) && guest_time_us() < deadline)
        xen_yield();
    CHECK_EQ(READ_ONCE(r->out_cons), READ_ONCE(r->out_prod));
}
