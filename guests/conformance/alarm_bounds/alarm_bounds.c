/* Conformance (issue 11): deadlines a guest picks cannot make the hypervisor spin or hold alarms.
 *  - polls whose timeout has passed (1 ns after boot, half the time since boot) in a loop, and
 *    deadlines 2^63 ns or more away (a single-shot timer, polls with timeout ~0), while a 5 ms
 *    periodic timer ticks: the ticks keep their pace. Each loop is framed by "LOOP: begin <case>"
 *    and "LOOP: end <case>" lines, so the host test can read the timer thread's CPU time across it.
 *  - 5000 polls with a 10 s timeout, each ended by a timer event 20 us away: every one ends by its
 *    event (a leaked alarm per round would reach the per-domain cap of 4096, past which a poll
 *    returns at once), and the host test reads the most alarms pending at once (xkvm-vmm --stats).
 * One vCPU. 64-bit. */
#include "evtchn_setup.h"

#define MS 1000000ull
#define PERIOD (5 * MS)
#define LOOP_NS (500 * MS)
#define POLL_ROUNDS 5000

static evtchn_port_t timer, idle;
static volatile unsigned long ticks;
static volatile uint64_t last_tick_ns, longest_gap_ns;

static void on_tick(evtchn_port_t port, void* arg)
{
    (void)port;
    (void)arg;
    uint64_t now = pvclock_ns();
    if (last_tick_ns && now - last_tick_ns > longest_gap_ns)
        longest_gap_ns = now - last_tick_ns;
    last_tick_ns = now;
    ticks = ticks + 1;
}

/* Xen 4.19: xen/common/event_channel.c, evtchn_bind_virq (VIRQ_TIMER), evtchn_bind_ipi. */
TEST_CASE(bind_timer_and_an_idle_port)
{
    REQUIRE(ev_setup(true));
    REQUIRE_EQ(xen_evtchn_bind_virq(VIRQ_TIMER, 0, &timer), 0);
    REQUIRE_EQ(xen_evtchn_bind_ipi(0, &idle), 0); /* never sent: a poll on it only times out */
    evtchn_register(timer, 0, on_tick, NULL);
    evtchn_register(idle, 0, NULL, NULL);
    CHECK(ev_clock_agrees());
}

/* Runs body() for LOOP_NS with the 5 ms periodic timer on and interrupts on; checks the ticks kept
 * coming: never a gap of half the loop (a timer starved by the spin stops for good) and no more
 * than the periods (nothing else ticks). Fewer ticks than periods is no fault: a vCPU that a loaded
 * host runs a tenth of the time sees the ticks it missed as one pending event. Returns how many
 * times body ran. */
static unsigned long ticking_loop(const char* name, void (*body)(void))
{
    ticks = 0;
    last_tick_ns = longest_gap_ns = 0;
    printf("LOOP: begin %s\n", name);
    uint64_t start = pvclock_ns();
    if (!CHECK_EQ(xen_set_periodic_timer(0, PERIOD), 0))
        return 0;
    irq_enable();
    unsigned long rounds = 0;
    while (pvclock_ns() - start < LOOP_NS) {
        body();
        rounds++;
    }
    irq_disable();
    CHECK_EQ(xen_stop_periodic_timer(0), 0);
    uint64_t elapsed = pvclock_ns() - start;
    printf("LOOP: end %s\n", name);
    printf("%s: %lu rounds, %lu ticks in %lu ms, longest gap %lu us\n", name, rounds, ticks,
           (unsigned long)(elapsed / MS), (unsigned long)(longest_gap_ns / 1000));
    CHECK(ticks >= 3);
    CHECK(longest_gap_ns < LOOP_NS / 2);
    CHECK(ticks <= elapsed / PERIOD + 2); /* nothing but the periodic timer ticks */
    return rounds;
}

static void poll_past(void)
{
    CHECK_EQ(xen_sched_poll(&idle, 1, 1), 0); /* 1 ns after boot */
    /* Half of the time since boot: past by far more than the guest's and the host's reading of
     * the clock can differ (a deadline a few ns ahead would rightly arm an alarm). */
    CHECK_EQ(xen_sched_poll(&idle, 1, pvclock_ns() / 2 + 1), 0);
}

/* Xen 4.19: xen/common/sched/core.c, do_poll (a timeout already passed returns at once);
 * vcpu_periodic_timer_work. */
TEST_CASE(periodic_timer_keeps_pace_through_polls_that_time_out)
{
    REQUIRE(timer != 0);
    CHECK(ticking_loop("poll_past", poll_past) > 100);
    CHECK(!xen_evtchn_is_pending(idle));
}

static void poll_timer_port_far(void)
{
    CHECK_EQ(xen_sched_poll(&timer, 1, ~0ull), 0);
}

/* Deadlines 2^63 ns or more away, which a hypervisor turning "deadline - now" into signed
 * nanoseconds sees as long past (issue 11's timer spin): a single-shot timer at ~0 - 1, then polls of
 * the timer port with timeout ~0, each ended by a tick. Xen itself reads such deadlines as signed
 * s_time_t, negative, and fires them at once: the timer once, each poll at once (so a poll round
 * there takes no tick); either way the 5 ms ticks keep their pace, and nothing ticks but them and
 * at most that one single-shot event. */
/* Xen 4.19: xen/common/domain.c, do_vcpu_op (VCPUOP_set_singleshot_timer); xen/common/sched/core.c,
 * do_poll (set_timer(&v->poll_timer, timeout)), vcpu_periodic_timer_work. */
TEST_CASE(periodic_timer_keeps_pace_beside_deadlines_past_2_63)
{
    REQUIRE(timer != 0);
    REQUIRE_EQ(xen_set_singleshot_timer(~0ull - 1, 0), 0);
    CHECK(ticking_loop("far_deadlines", poll_timer_port_far) > 10);
    CHECK_EQ(xen_stop_singleshot_timer(), 0);
}

/* One round: a timer event 20 us away ends a poll whose own timeout is 10 s away. False when the
 * poll returned without the event (early). */
static bool poll_until_timer_event(void)
{
    xen_evtchn_test_and_clear_pending(timer);
    uint64_t now = pvclock_ns();
    if (xen_set_singleshot_timer(now + 20000, 0) != 0)
        return false;
    if (xen_sched_poll(&timer, 1, now + 10000 * MS) != 0)
        return false;
    return xen_evtchn_is_pending(timer);
}

/* Xen 4.19: xen/common/sched/core.c, do_poll (one poll_timer per vCPU, stopped when an event ends
 * the poll: the number of rounds does not matter). */
TEST_CASE(polls_ended_by_events_leave_no_alarms_behind)
{
    REQUIRE(timer != 0);
    xen_evtchn_mask(timer); /* a masked port still ends a poll that lists it */
    unsigned long early = 0;
    uint64_t start = pvclock_ns();
    for (unsigned round = 0; round < POLL_ROUNDS; round++)
        if (!poll_until_timer_event())
            early++;
    printf("polls: %u rounds in %lu ms, %lu ended without their event\n", POLL_ROUNDS,
           (unsigned long)((pvclock_ns() - start) / MS), early);
    CHECK_EQ(early, 0);
    xen_evtchn_test_and_clear_pending(timer);
    CHECK_EQ(xen_evtchn_unmask(timer), 0);
}
