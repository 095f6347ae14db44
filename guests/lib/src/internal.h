/* Library-internal declarations (not part of the guest API). */
#pragma once
#include "guest/guest.h"

void desc_init(void);
/* Per-CPU GDT, TSS and GS for an AP (the IDT is shared); df_stack_top is its #DF stack. */
void desc_init_ap(struct cpu_local* c, char* df_stack_top);
/* The BSP's struct cpu_local, filled in (desc_init loads it into GS). */
struct cpu_local* smp_bsp_init(void);
void desc_load_empty_idt(void);
void trap_init(void);
void trap_dispatch(struct trap_frame* frame);
_Noreturn void trap_report_and_crash(const struct trap_frame* frame);
void boot_info_init(void);
void user_init(void);
/* The CPL3 gate: ud2 at CPL3 (eax = call number, edi/esi = arguments). */
bool user_is_syscall(const struct trap_frame* frame);
void user_syscall_dispatch(struct trap_frame* frame);
_Noreturn void guest_user_return(long value);
/* The test harness's hook when the guest is about to crash: prints FAIL/RESULT for the running case. */
void test_on_crash(const char* why);

extern uint32_t guest_boot_ebx_value;
extern char guest_boot_stack[], guest_boot_stack_top[];
extern char guest_user_stack[], guest_user_stack_top[];
extern const struct guest_config guest_config __attribute__((weak));
