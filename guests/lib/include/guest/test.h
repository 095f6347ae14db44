/* The test harness. Console protocol (read by the integration tests in tests/):
 *   PASS: <case>
 *   FAIL: <case>: <file>:<line>: <expr> (got <a> expected <b>)
 *   SKIP: <case>: <reason>
 *   DIFF: <case>: <id>: <what xkvm does instead of Xen>   (a deliberate difference, see below)
 *   RESULT: PASS            or   RESULT: FAIL <number of failed cases>
 * then the guest powers off. An unexpected exception prints FAIL and RESULT lines, then crashes.
 *
 *   TEST_CASE(unknown_hypercall) { CHECK_EQ(xen_hypercall(60, 0, 0, 0, 0, 0), -XEN_ENOSYS); }
 *
 * Cases run in source order (by file, then line). Without a guest_main of its own, a guest runs all
 * cases and finishes; a guest_main may instead call test_run_all()/test_run() and test_finish(). */
#pragma once
#include "guest/base.h"

struct test_case {
    const char* name;
    void (*fn)(void);
    const char* file;
    int line;
};

#define TEST_CASE(name_)                                                                                      \
    static void test_fn_##name_(void);                                                                        \
    static const struct test_case test_case_##name_ = {#name_, test_fn_##name_, __FILE__, __LINE__};          \
    static const struct test_case* const test_case_ptr_##name_                                                \
        __attribute__((used, section(".test_cases"))) = &test_case_##name_;                                   \
    static void test_fn_##name_(void)

/* CHECK*: record a failure and go on. REQUIRE*: record it and leave the test case. */
#define CHECK(cond) test_check(!!(cond), __FILE__, __LINE__, #cond)
#define CHECK_EQ(a, b) test_check_eq((long long)(a), (long long)(b), true, __FILE__, __LINE__, #a " == " #b)
#define CHECK_NE(a, b) test_check_eq((long long)(a), (long long)(b), false, __FILE__, __LINE__, #a " != " #b)
#define CHECK_STREQ(a, b) test_check_streq((a), (b), __FILE__, __LINE__, #a " == " #b)
#define REQUIRE(cond)                                                                                         \
    do {                                                                                                      \
        if (!CHECK(cond))                                                                                     \
            return;                                                                                           \
    } while (0)
#define REQUIRE_EQ(a, b)                                                                                      \
    do {                                                                                                      \
        if (!CHECK_EQ(a, b))                                                                                  \
            return;                                                                                           \
    } while (0)
/* Fails the current case with a message. */
#define TEST_FAIL(...) test_fail(__FILE__, __LINE__, __VA_ARGS__)
/* Marks the current case skipped (prints SKIP instead of PASS) and leaves it. */
#define TEST_SKIP(...)                                                                                        \
    do {                                                                                                      \
        test_skip(__VA_ARGS__);                                                                               \
        return;                                                                                               \
    } while (0)

/* Marks a check whose expected value is xkvm's, not Xen's: a deliberate difference. `id` names its
 * entry in docs/xen-differences.md, which the host tests keep in step with these markers. */
#define TEST_DIFF(id, ...) test_diff(#id, __VA_ARGS__)

bool test_check(bool ok, const char* file, int line, const char* expr);
bool test_check_eq(long long got, long long expected, bool equal, const char* file, int line, const char* expr);
bool test_check_streq(const char* got, const char* expected, const char* file, int line, const char* expr);
void test_fail(const char* file, int line, const char* fmt, ...) GUEST_PRINTF(3, 4);
void test_skip(const char* fmt, ...) GUEST_PRINTF(1, 2);
void test_diff(const char* id, const char* fmt, ...) GUEST_PRINTF(2, 3);

/* Runs one registered case by name (false if there is none), or all of them; returns failed cases. */
bool test_run(const char* name);
unsigned test_run_all(void);
/* Runs fn as a case called name (for cases built at run time). */
void test_run_fn(const char* name, void (*fn)(void));
unsigned test_failed_cases(void);
const char* test_current_case(void);
/* Prints RESULT and powers off. */
_Noreturn void test_finish(void);
