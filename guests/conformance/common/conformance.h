/* Helpers shared by the ABI conformance guests: pointers the hypervisor must refuse, command line
 * parameters set by the integration tests, and instructions that are expected to fault. */
#pragma once
#include "guest/guest.h"

/* Guest-physical memory that is not RAM with the 64 MiB the tests give every guest: a pointer into it
 * is a bad pointer for the hypervisor (-EFAULT). Identity mapped in 64-bit guests, so the page walk
 * succeeds and only the physical address is wrong. */
#define CONF_BAD_GPA 0xe0000000UL
#if defined(__x86_64__)
/* A virtual address the guest's page tables do not map at all (above the identity-mapped 4 GiB). */
#define CONF_UNMAPPED_VA 0x0000100000000000UL
#endif

/* The value of "key=value" on the PVH command line (copied; "" when absent). */
static inline const char* conf_arg(const char* key)
{
    static char value[64];
    const char* s = guest_cmdline();
    size_t klen = strlen(key);
    value[0] = '\0';
    while (*s) {
        while (*s == ' ')
            s++;
        if (strncmp(s, key, klen) == 0 && s[klen] == '=') {
            s += klen + 1;
            size_t n = 0;
            while (s[n] && s[n] != ' ' && n + 1 < sizeof(value)) {
                value[n] = s[n];
                n++;
            }
            value[n] = '\0';
            return value;
        }
        while (*s && *s != ' ')
            s++;
    }
    return value;
}

static inline unsigned long conf_arg_ulong(const char* key, unsigned long dflt)
{
    const char* v = conf_arg(key);
    return *v ? strtoul(v, NULL, 0) : dflt;
}

/* #GP catching for single instructions: the handler counts the fault and steps over the instruction
 * (length set by the caller before it runs the instruction). */
static volatile unsigned conf_gp_count;
static volatile unsigned conf_gp_skip;
static inline void conf_gp_handler(struct trap_frame* f)
{
    conf_gp_count++;
    f->ip += conf_gp_skip;
}

/* WRMSR/RDMSR that report whether they faulted (#GP) instead of crashing the guest. */
static inline bool conf_wrmsr_faults(uint32_t msr, uint64_t value)
{
    unsigned before = conf_gp_count;
    conf_gp_skip = 2; /* 0f 30 */
    guest_set_irq_handler(13, conf_gp_handler);
    wrmsr(msr, value);
    guest_set_irq_handler(13, NULL);
    return conf_gp_count != before;
}

static inline bool conf_rdmsr_faults(uint32_t msr)
{
    unsigned before = conf_gp_count;
    conf_gp_skip = 2; /* 0f 32 */
    guest_set_irq_handler(13, conf_gp_handler);
    (void)rdmsr(msr);
    guest_set_irq_handler(13, NULL);
    return conf_gp_count != before;
}
