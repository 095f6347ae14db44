/* Running code at CPL3: guest CPL3 code runs natively where CPL0 code may be emulated, so heavy
 * computation belongs here. CPL3 code can touch all guest memory (pages/segments are user-accessible)
 * but cannot do port I/O or hypercalls: it talks to CPL0 through user_syscall() (a `ud2` with eax = call
 * number, edi/esi = arguments; the #UD handler recognises it). */
#pragma once
#include "guest/base.h"

typedef long (*user_fn_t)(void* arg);

/* Runs fn(arg) at CPL3 on its own 64 KiB stack and returns its result (or the user_exit() value).
 * Interrupts keep the caller's IF. Not reentrant. Faults at CPL3 crash the guest with a report. */
long guest_run_user(user_fn_t fn, void* arg);

/* CPL3 side. */
long user_syscall(long nr, long a0, long a1);
_Noreturn void user_exit(long value);
void user_write(const char* buf, size_t len);
/* printf for CPL3 code: formats in user memory, one USER_SYS_WRITE. */
int user_printf(const char* fmt, ...) GUEST_PRINTF(1, 2);
