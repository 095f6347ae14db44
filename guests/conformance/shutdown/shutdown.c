/* Conformance: the domain ends with the reason the guest gives. The host test boots this guest once
 * per case and checks the VMM's exit status and message. Command line:
 *   reason=poweroff|reboot|suspend|crash|watchdog|soft_reset
 *   mode=plain       SCHEDOP_shutdown(reason)
 *   mode=code        SCHEDOP_shutdown_code(reason), then SCHEDOP_shutdown(poweroff): reason wins
 *   mode=code-twice  shutdown_code(reason), shutdown_code(crash), shutdown(poweroff): the first code wins
 * The guest prints RESULT before asking, since a successful request never returns. Built 32- and
 * 64-bit. */
#include "conformance.h"

static const char* const names[] = {"poweroff", "reboot", "suspend", "crash", "watchdog", "soft_reset"};
static int reason = -1;
static const char* mode;

static void parse(void)
{
    const char* r = conf_arg("reason");
    for (unsigned i = 0; i < ARRAY_SIZE(names); i++)
        if (strcmp(r, names[i]) == 0)
            reason = (int)i;
    static char mode_buf[16];
    strlcpy(mode_buf, conf_arg("mode"), sizeof(mode_buf));
    mode = mode_buf;
}

static void check_arguments(void)
{
    CHECK(reason >= 0);
    bool known = false;
    static const char* const modes[] = {"plain", "code", "code-twice"};
    for (unsigned i = 0; i < ARRAY_SIZE(modes); i++)
        known |= strcmp(mode, modes[i]) == 0;
    if (!known)
        TEST_FAIL("unknown mode \"%s\"", mode);
}

static int set_code(unsigned code)
{
    struct sched_shutdown s = {.reason = code};
    return (int)hypercall_sched_op(SCHEDOP_shutdown_code, &s);
}

/* shutdown_code only records: the domain keeps running until it asks for the shutdown. */
static void preset_codes(void)
{
    if (strcmp(mode, "code") == 0 || strcmp(mode, "code-twice") == 0)
        CHECK_EQ(set_code((unsigned)reason), 0);
    if (strcmp(mode, "code-twice") == 0)
        CHECK_EQ(set_code(SHUTDOWN_crash), 0);
    CHECK_EQ(hypercall_xen_version(XENVER_version, NULL) >> 16, 4);
}

int guest_main(void)
{
    parse();
    test_run_fn("arguments", check_arguments);
    if (test_failed_cases())
        test_finish();
    test_run_fn("preset_codes", preset_codes);
    if (test_failed_cases())
        test_finish();
    printf("shutdown: asking for %s (mode %s)\nRESULT: PASS\n", names[reason], mode);
    struct sched_shutdown s = {.reason = strcmp(mode, "plain") == 0 ? (unsigned)reason : SHUTDOWN_poweroff};
    long rc = hypercall_sched_op(SCHEDOP_shutdown, &s);
    printf("FAIL: shutdown: SCHEDOP_shutdown returned %ld\n", rc);
    for (;;)
        cpu_halt(); /* IF is clear: only the host test's timeout ends this */
}
