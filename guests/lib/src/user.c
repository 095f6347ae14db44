/* CPL3 support: the syscall gate handler and the CPL3-side helpers. */
#include "guest/guest.h"
#include "internal.h"

bool user_is_syscall(const struct trap_frame* f)
{
    if (f->vector != 6 || (f->cs & 3) != 3 || (uint64_t)f->ip >= (1ULL << 32) - 2) /* unmapped above 4 GiB */
        return false;
    const uint8_t* insn = (const uint8_t*)f->ip;
    return insn[0] == 0x0f && insn[1] == 0x0b;
}

void user_syscall_dispatch(struct trap_frame* f)
{
    f->ip += 2; /* past the ud2 */
    switch (f->ax) {
    case USER_SYS_EXIT:
        guest_user_return((long)f->di);
    case USER_SYS_WRITE:
        console_write((const char*)f->di, f->si);
        f->ax = 0;
        break;
    default:
        f->ax = (unsigned long)-XEN_ENOSYS;
        break;
    }
}

void user_init(void)
{
#if !defined(__x86_64__)
    wrmsr(MSR_SYSENTER_CS, GDT_KCODE32); /* sysexit takes the CPL3 selectors from it */
#endif
}

long user_syscall(long nr, long a0, long a1)
{
    long ret;
    __asm__ volatile("ud2" : "=a"(ret), "+D"(a0), "+S"(a1) : "a"(nr) : "memory", "cc");
    return ret;
}

_Noreturn void user_exit(long value)
{
    user_syscall(USER_SYS_EXIT, value, 0);
    __builtin_unreachable();
}

void user_write(const char* buf, size_t len) { user_syscall(USER_SYS_WRITE, (long)buf, (long)len); }

int user_printf(const char* fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    user_write(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
    return n;
}
