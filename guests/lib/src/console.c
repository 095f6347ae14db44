/* The four console paths. Each write is one block operation where the device allows it. */
#include "guest/guest.h"
#include "xen/abi/console.h"

#define DEBUG_CONSOLE_PORT 0xe9
#define UART_BASE 0x3f8
#define UART_THR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_LSR_THRE 0x20
#define UART_FIFO_SIZE 16
#define WAIT_SPINS 100000
#define PV_WAIT_US 1000000

static unsigned outputs = CONSOLE_E9;

unsigned console_set_outputs(unsigned mask)
{
    unsigned old = outputs;
    outputs = mask;
    return old;
}

unsigned console_outputs(void) { return outputs; }

/* One writer at a time so lines from different CPUs do not interleave (port 0xe9 takes a byte per
 * exit). A CPU that faults while it holds the lock may still print its report. */
static spinlock_t console_lock = SPINLOCK_INIT;
static volatile unsigned long console_owner = ~0UL;

void console_write(const char* buf, size_t len)
{
    unsigned long flags = irq_save();
    unsigned long me = smp_cpu_id();
    bool nested = READ_ONCE(console_owner) == me;
    if (!nested) {
        spin_lock(&console_lock);
        console_owner = me;
    }
    unsigned m = outputs;
    if (m & CONSOLE_E9)
        console_write_e9(buf, len);
    if (m & CONSOLE_XEN)
        console_write_xen(buf, len);
    if (m & CONSOLE_UART)
        console_write_uart(buf, len);
    if (m & CONSOLE_PV)
        console_write_pv(buf, len);
    if (!nested) {
        console_owner = ~0UL;
        spin_unlock(&console_lock);
    }
    irq_restore(flags);
}

void console_write_e9(const char* buf, size_t len) { outsb(DEBUG_CONSOLE_PORT, buf, len); }

int console_write_xen(const char* buf, size_t len)
{
    if (!xen_hypercalls_ready())
        return -XEN_ENOSYS;
    long rc = hypercall_console_io(CONSOLEIO_write, (unsigned)len, buf);
    return rc < 0 ? (int)rc : 0;
}

static bool uart_ready;

static void uart_init(void)
{
    outb(UART_BASE + UART_IER, 0x00);
    outb(UART_BASE + UART_LCR, 0x80); /* DLAB: divisor 1 = 115200 baud */
    outb(UART_BASE + 0, 0x01);
    outb(UART_BASE + 1, 0x00);
    outb(UART_BASE + UART_LCR, 0x03); /* 8N1 */
    outb(UART_BASE + UART_FCR, 0x07); /* enable and clear FIFOs */
    outb(UART_BASE + UART_MCR, 0x03); /* DTR, RTS */
    uart_ready = true;
}

int console_write_uart(const char* buf, size_t len)
{
    if (!uart_ready)
        uart_init();
    while (len) {
        unsigned spins = 0;
        while (!(inb(UART_BASE + UART_LSR) & UART_LSR_THRE)) {
            if (++spins == WAIT_SPINS)
                return -XEN_ETIMEDOUT;
            cpu_relax();
        }
        size_t chunk = len < UART_FIFO_SIZE ? len : UART_FIFO_SIZE; /* THR empty: the FIFO takes 16 */
        outsb(UART_BASE + UART_THR, buf, chunk);
        buf += chunk;
        len -= chunk;
    }
    return 0;
}

static struct xencons_interface* pv_ring;
static uint32_t pv_evtchn;

int console_pv_init(void)
{
    if (pv_ring)
        return 0;
    uint64_t pfn = 0, port = 0;
    int rc = xen_get_param(HVM_PARAM_CONSOLE_PFN, &pfn);
    if (rc == 0)
        rc = xen_get_param(HVM_PARAM_CONSOLE_EVTCHN, &port);
    if (rc)
        return rc;
    if (pfn == 0 || pfn >= (1ULL << (32 - PAGE_SHIFT))) /* must be in the identity-mapped low 4 GiB */
        return -XEN_ENXIO;
    pv_evtchn = (uint32_t)port;
    pv_ring = (struct xencons_interface*)(uintptr_t)(pfn << PAGE_SHIFT);
    return 0;
}

struct xencons_interface* console_pv_ring(void) { return pv_ring; }
uint32_t console_pv_evtchn(void) { return pv_evtchn; }

int console_write_pv(const char* buf, size_t len)
{
    int rc = console_pv_init();
    if (rc)
        return rc;
    struct xencons_interface* r = pv_ring;
    uint64_t deadline = 0;
    while (len) {
        XENCONS_RING_IDX cons = READ_ONCE(r->out_cons);
        XENCONS_RING_IDX prod = r->out_prod;
        rmb(); /* x86 keeps our later stores after this load of cons */
        uint32_t space = XENCONS_OUT_SIZE - (prod - cons);
        if (space == 0 || space > XENCONS_OUT_SIZE) {
            if (space > XENCONS_OUT_SIZE) /* the backend corrupted the indexes */
                return -XEN_EIO;
            xen_evtchn_send(pv_evtchn); /* the backend is behind: wake it, then wait */
            uint64_t now = guest_time_us();
            if (!deadline)
                deadline = now + PV_WAIT_US;
            else if (now >= deadline)
                return -XEN_ETIMEDOUT;
            xen_yield();
            continue;
        }
        size_t n = len < space ? len : space;
        size_t off = XENCONS_MASK(prod, XENCONS_OUT_SIZE);
        size_t first = n < XENCONS_OUT_SIZE - off ? n : XENCONS_OUT_SIZE - off;
        memcpy(r->out + off, buf, first);
        memcpy(r->out, buf + first, n - first);
        wmb(); /* data before the index */
        WRITE_ONCE(r->out_prod, prod + (XENCONS_RING_IDX)n);
        buf += n;
        len -= n;
    }
    return xen_evtchn_send(pv_evtchn);
}
