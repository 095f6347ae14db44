/* Console output: four paths that all end in the domain's console log, and a small printf. */
#pragma once
#include "guest/base.h"

enum console_output {
    CONSOLE_E9 = 1 << 0,   /* port 0xe9 debug console: one `rep outsb` per write (the default) */
    CONSOLE_XEN = 1 << 1,  /* console_io(CONSOLEIO_write) hypercall */
    CONSOLE_UART = 1 << 2, /* 16550 at 0x3f8, 16-byte FIFO bursts */
    CONSOLE_PV = 1 << 3,   /* PV console ring (HVM_PARAM_CONSOLE_PFN/EVTCHN) */
};

/* Which outputs console_write() (and so printf) uses; returns the previous mask. Each selected output
 * gets every byte, so select one unless you mean to see lines twice in the log. */
unsigned console_set_outputs(unsigned mask);
unsigned console_outputs(void);
void console_write(const char* buf, size_t len);

/* Individual paths. The int-returning ones give 0 or a negative Xen errno. */
void console_write_e9(const char* buf, size_t len);
int console_write_xen(const char* buf, size_t len);
int console_write_uart(const char* buf, size_t len);
int console_write_pv(const char* buf, size_t len);
/* Reads the PV console params (done lazily by console_write_pv); 0 or -errno. */
int console_pv_init(void);
/* PV console ring and its event channel after console_pv_init() (NULL/0 before). */
struct xencons_interface* console_pv_ring(void);
uint32_t console_pv_evtchn(void);

/* Formats into a stack buffer and emits one console_write per line-sized chunk.
 * Conversions: %d %i %u %x %X %o %c %s %p %%, length h hh l ll z j t, flags - 0 + space #, width, .precision, '*'. */
int printf(const char* fmt, ...) GUEST_PRINTF(1, 2);
int vprintf(const char* fmt, va_list ap);
int snprintf(char* buf, size_t size, const char* fmt, ...) GUEST_PRINTF(3, 4);
int vsnprintf(char* buf, size_t size, const char* fmt, va_list ap);
/* Writes s and a newline. */
int puts(const char* s);

/* Prints "PANIC: ..." and crashes the domain (SHUTDOWN_crash). */
_Noreturn void panic(const char* fmt, ...) GUEST_PRINTF(1, 2);
