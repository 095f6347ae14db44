/* Xen time as a guest reads it, the PV timers, and blocking in the hypervisor.
 *
 * System time (ns since the domain started) comes from this vCPU's vcpu_time_info:
 *   ns = system_time + (((tsc - tsc_timestamp) shifted by tsc_shift) * tsc_to_system_mul) >> 32
 * read under its version seqlock (odd = being updated: read again). The wallclock (shared_info
 * wc_*) is the wall time at system time 0, under wc_version. */
#pragma once
#include "guest/base.h"
#include "guest/xen.h"

struct pvclock_sample {
    uint64_t ns;
    uint32_t version; /* the (even) version the sample was taken under */
    uint8_t flags;    /* XEN_PVCLOCK_* */
};

/* These read the calling CPU's record (this_cpu()->vcpu_info); evtchn_init() must have run. */
uint64_t pvclock_ns(void);
struct pvclock_sample pvclock_sample(void);
/* From any record and TSC value: the guest formula, usable at CPL3 too (no privileged access). */
uint64_t pvclock_scale(const struct vcpu_time_info* t, uint64_t tsc);
struct pvclock_sample pvclock_read(const volatile struct vcpu_time_info* t);
/* rdtsc after an lfence, so it cannot run ahead of earlier loads. CPL3 only: the CPL0 emulator here
 * has no lfence (and runs instructions in order anyway). */
static inline uint64_t rdtsc_ordered(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
    return ((uint64_t)hi << 32) | lo;
}

/* Wall time at system time 0 (seconds, ns). 0 or -XEN_ENODEV. */
int xen_wallclock(uint64_t* sec, uint32_t* nsec);

/* VCPUOP timers. The single-shot ones act on the calling vCPU (Xen refuses others). */
int xen_set_singleshot_timer(uint64_t deadline_ns, uint32_t flags);
int xen_stop_singleshot_timer(void);
int xen_set_periodic_timer(unsigned vcpu, uint64_t period_ns);
int xen_stop_periodic_timer(unsigned vcpu);
/* set_timer_op: the calling vCPU's single-shot deadline (0 stops it). */
int xen_set_timer_op(uint64_t deadline_ns);

/* SCHEDOP_block and SCHEDOP_poll (timeout: absolute system time, 0 = none). */
int xen_sched_block(void);
int xen_sched_poll(const evtchn_port_t* ports, unsigned nr, uint64_t timeout_ns);
