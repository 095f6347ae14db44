// The harness itself: child process handling (exit status, output, the deadline) and console parsing.
// No KVM needed.
// XKVM-OWN: the harness itself.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>

#include "guest_runner.h"

using namespace xkvm::test;
using namespace std::chrono_literals;

TEST(conformance_runner, collects_exit_status_and_both_streams)
{
    auto r = run_process({ "/bin/sh", "-c", "echo to-out; echo to-err >&2; exit 7" }, 10s);
    ASSERT_TRUE(r.started) << r.spawn_error;
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.exit_code, 7);
    EXPECT_EQ(r.term_signal, 0);
    EXPECT_EQ(r.out, "to-out\n");
    EXPECT_EQ(r.err, "to-err\n");
}

TEST(conformance_runner, kills_the_child_at_the_deadline)
{
    auto r = run_process({ "/bin/sh", "-c", "echo started; exec sleep 30" }, 300ms);
    ASSERT_TRUE(r.started) << r.spawn_error;
    EXPECT_TRUE(r.timed_out);
    EXPECT_EQ(r.term_signal, SIGKILL);
    EXPECT_EQ(r.out, "started\n"); // what it wrote before it was killed is kept
    EXPECT_LT(r.elapsed, 10s);
}

TEST(conformance_runner, reports_a_signal)
{
    auto r = run_process({ "/bin/sh", "-c", "kill -TERM $$" }, 10s);
    ASSERT_TRUE(r.started);
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.term_signal, SIGTERM);
}

TEST(conformance_runner, large_output_does_not_block)
{
    // More than a pipe holds on both streams at once: the runner must read them as they fill.
    auto r = run_process({ "/bin/sh", "-c", "i=0; while [ $i -lt 3000 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxx; "
                                            "echo err-$i-yyyyyyyyyyyyyyyyyyyyyyyyyyy >&2; i=$((i+1)); done" },
                         30s);
    ASSERT_TRUE(r.started);
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_GT(r.out.size(), 100000u);
    EXPECT_GT(r.err.size(), 100000u);
    EXPECT_THAT(r.out, ::testing::EndsWith("line-2999-xxxxxxxxxxxxxxxxxxxxxxxx\n"));
}

TEST(conformance_runner, missing_program_does_not_start)
{
    auto r = run_process({ "/nonexistent/xkvm-vmm" }, 5s);
    EXPECT_FALSE(r.started);
    EXPECT_THAT(r.spawn_error, ::testing::HasSubstr("/nonexistent/xkvm-vmm"));
}

TEST(conformance_runner, parses_the_guest_protocol)
{
    GuestRun run;
    parse_console("boot noise\nPASS: one\nFAIL: two: a.c:3: x == 1 (got 2 expected 1)\r\n"
                  "SKIP: three: no apic\nDIFF: four: some_id: what xkvm does\nPASS: four\nnot a PASS: line\n"
                  "RESULT: FAIL 1\n",
                  run);
    EXPECT_THAT(run.passes, ::testing::ElementsAre("one", "four"));
    EXPECT_THAT(run.fails, ::testing::ElementsAre("two: a.c:3: x == 1 (got 2 expected 1)"));
    EXPECT_THAT(run.skips, ::testing::ElementsAre("three: no apic"));
    EXPECT_THAT(run.diffs, ::testing::ElementsAre("four: some_id: what xkvm does"));
    EXPECT_EQ(run.result, "FAIL 1");
    EXPECT_TRUE(run.passed("four"));
    EXPECT_FALSE(run.passed("two"));
}

TEST(conformance_runner, builds_the_vmm_command_line)
{
    GuestOptions o;
    o.kernel = "g.elf";
    o.type = "hvm";
    o.memory_mib = 32;
    o.vcpus = 2;
    o.name = "n";
    EXPECT_THAT(vmm_arguments(o), ::testing::ElementsAre("--kernel", "g.elf", "--type", "hvm", "--memory", "32",
                                                         "--vcpus", "2", "--name", "n", "--console"));
    o.cmdline = "a b";
    EXPECT_THAT(vmm_arguments(o), ::testing::Contains("a b"));
}
