/* Crashes on purpose inside a test case, for checking that the VMM reports SHUTDOWN_crash (or, for
 * a triple fault, SHUTDOWN_reboot as Xen does) and that the console shows the exception report. The PVH command line picks how:
 *   (empty)  fault at CPL0: #PF above the identity-mapped 4 GiB (64-bit), #GP on a bad selector (32-bit)
 *   cpl3     the same fault at CPL3 (in guest_run_user)
 *   triple   no report: an empty IDT and a fault, so the VMM sees a triple fault */
#include "guest/guest.h"

__attribute__((noinline)) static long fault(void* arg)
{
    (void)arg;
#if defined(__x86_64__)
    return *(volatile uint32_t*)0x100000000UL;
#else
    __asm__ volatile("mov %0, %%ds" ::"r"(0x1230) : "memory");
    return 0;
#endif
}

TEST_CASE(crash_on_purpose)
{
    const char* how = guest_cmdline();
    printf("crash: about to fault on purpose (%s)\n", *how ? how : "cpl0");
    if (strcmp(how, "triple") == 0)
        guest_triple_fault();
    long value = strcmp(how, "cpl3") == 0 ? guest_run_user(fault, NULL) : fault(NULL);
    CHECK_EQ(value, 0);
}
