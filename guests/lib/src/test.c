/* The test harness: registered cases, checks, and the PASS/FAIL/RESULT console protocol. */
#include "guest/guest.h"
#include "internal.h"

extern const struct test_case* const __test_cases_start[];
extern const struct test_case* const __test_cases_end[];

static const char* current;  /* running case, NULL between cases */
static bool current_failed;
static bool current_skipped;
static unsigned failed_cases;

const char* test_current_case(void) { return current ? current : "main"; }
unsigned test_failed_cases(void) { return failed_cases; }

/* Checks may fail on any CPU while the BSP runs the case. */
static spinlock_t fail_lock = SPINLOCK_INIT;

static void mark_failed(void)
{
    unsigned long flags = irq_save();
    spin_lock(&fail_lock);
    if (!current_failed && current)
        failed_cases++;
    current_failed = true;
    if (!current) /* a check outside any case counts as a failed case of its own */
        failed_cases++;
    spin_unlock(&fail_lock);
    irq_restore(flags);
}

bool test_check(bool ok, const char* file, int line, const char* expr)
{
    if (!ok) {
        printf("FAIL: %s: %s:%d: %s\n", test_current_case(), file, line, expr);
        mark_failed();
    }
    return ok;
}

static void format_value(char* buf, size_t size, long long v)
{
    if (v > -4096 && v < 4096)
        snprintf(buf, size, "%lld", v);
    else
        snprintf(buf, size, "%lld [%#llx]", v, (unsigned long long)v);
}

bool test_check_eq(long long got, long long expected, bool equal, const char* file, int line, const char* expr)
{
    bool ok = (got == expected) == equal;
    if (!ok) {
        char g[48], e[48];
        format_value(g, sizeof(g), got);
        format_value(e, sizeof(e), expected);
        printf("FAIL: %s: %s:%d: %s (got %s expected %s%s)\n", test_current_case(), file, line, expr, g,
               equal ? "" : "anything but ", e);
        mark_failed();
    }
    return ok;
}

bool test_check_streq(const char* got, const char* expected, const char* file, int line, const char* expr)
{
    bool ok = got && expected && strcmp(got, expected) == 0;
    if (!ok) {
        printf("FAIL: %s: %s:%d: %s (got \"%s\" expected \"%s\")\n", test_current_case(), file, line, expr,
               got ? got : "(null)", expected ? expected : "(null)");
        mark_failed();
    }
    return ok;
}

void test_fail(const char* file, int line, const char* fmt, ...)
{
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    printf("FAIL: %s: %s:%d: %s\n", test_current_case(), file, line, msg);
    mark_failed();
}

void test_skip(const char* fmt, ...)
{
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    printf("SKIP: %s: %s\n", test_current_case(), msg);
    current_skipped = true;
}

void test_diff(const char* id, const char* fmt, ...)
{
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    printf("DIFF: %s: %s: %s\n", test_current_case(), id, msg);
}

void test_run_fn(const char* name, void (*fn)(void))
{
    current = name;
    current_failed = false;
    current_skipped = false;
    fn();
    if (!current_failed && !current_skipped)
        printf("PASS: %s\n", name);
    current = NULL;
}

static int case_order(const struct test_case* a, const struct test_case* b)
{
    int c = strcmp(a->file, b->file);
    return c ? c : a->line - b->line;
}

/* Section order follows the compiler's output order; sort a copy by file and line. */
static unsigned sorted_cases(const struct test_case** out, unsigned max)
{
    unsigned n = 0;
    for (const struct test_case* const* p = __test_cases_start; p < __test_cases_end && n < max; p++) {
        unsigned i = n++;
        while (i > 0 && case_order(out[i - 1], *p) > 0) {
            out[i] = out[i - 1];
            i--;
        }
        out[i] = *p;
    }
    return n;
}

#define MAX_CASES 512

bool test_run(const char* name)
{
    for (const struct test_case* const* p = __test_cases_start; p < __test_cases_end; p++) {
        if (strcmp((*p)->name, name) == 0) {
            test_run_fn((*p)->name, (*p)->fn);
            return true;
        }
    }
    printf("FAIL: %s: no such test case\n", name);
    failed_cases++;
    return false;
}

unsigned test_run_all(void)
{
    static const struct test_case* cases[MAX_CASES] GUEST_NOINIT;
    unsigned n = sorted_cases(cases, MAX_CASES);
    if ((unsigned)(__test_cases_end - __test_cases_start) > n)
        printf("test: only the first %u test cases run\n", n);
    for (unsigned i = 0; i < n; i++)
        test_run_fn(cases[i]->name, cases[i]->fn);
    return failed_cases;
}

_Noreturn void test_finish(void)
{
    if (failed_cases)
        printf("RESULT: FAIL %u\n", failed_cases);
    else
        printf("RESULT: PASS\n");
    guest_poweroff();
}

void test_on_crash(const char* why)
{
    if (!current)
        return;
    printf("FAIL: %s: %s\n", current, why);
    mark_failed();
    printf("RESULT: FAIL %u\n", failed_cases);
}
