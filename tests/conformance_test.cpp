// Boots each ABI conformance guest (guests/conformance/) with xkvm-vmm and checks its verdict: RESULT:
// PASS, no FAIL line, the number of PASS lines the guest has cases (so a guest that silently skips
// checks fails), and how the domain ended. Each boot is its own process: the tests run in parallel.
// XKVM-OWN: what each guest expects it checks itself, and each of its cases cites Xen (see
// guests/conformance/); here the host counts the verdict and the VMM's exit status (0, or 100 + the
// shutdown reason: xkvm-vmm's convention). The shutdown cases cite Xen where they are.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "guest_runner.h"
#include "guest_verdict.h"
#include "guest_test.h"
#include "xkvm/guest_paths.h"

using namespace xkvm::test;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

using Conformance = GuestTest;

// Boots conf_<family><bits>; the domain is named after it unless opts.name says otherwise.
GuestRun boot(const std::string& family, int bits, GuestOptions opts = {})
{
    std::string guest = "conf_" + family + std::to_string(bits);
    opts.kernel = std::string(XKVM_GUEST_DIR) + "/" + guest + ".elf";
    if (opts.name == "guest")
        opts.name = "conf-" + family + std::to_string(bits);
    EXPECT_TRUE(std::filesystem::exists(opts.kernel)) << opts.kernel << " is missing: build the guests";
    return run_guest(vmm_path(), opts);
}

GuestOptions with_cmdline(const std::string& cmdline)
{
    GuestOptions opts;
    opts.cmdline = cmdline;
    return opts;
}

size_t count(const std::string& haystack, const std::string& needle)
{
    size_t n = 0;
    for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1))
        n++;
    return n;
}

// Adds the guest's console and the VMM's messages to a test that failed since `failed_before`.
void explain_if_failed(const GuestRun& run, bool failed_before)
{
    if (::testing::Test::HasFailure() && !failed_before)
        ADD_FAILURE() << "what the guest and the VMM said:\n" << run.describe();
}

// The verdict of a guest that powers off after its cases (or ends the domain with `reason`).
void expect_passed(const GuestRun& run, const std::string& name, size_t cases, int exit_code = 0,
                   const std::string& reason = "poweroff")
{
    Expected want { .passes = cases, .exit_code = exit_code, .reason = reason };
    EXPECT_THAT(verdict_problems(run, name, want), ::testing::IsEmpty())
        << "what the guest and the VMM said:\n" << run.describe();
}

} // namespace

#define CONFORMANCE_SUITE(suite) using suite = Conformance

CONFORMANCE_SUITE(conformance_cpuid);
TEST_F(conformance_cpuid, bits64)
{
    expect_passed(boot("cpuid", 64, with_cmdline("domid=1")), "conf-cpuid64", 9); // a lone xkvm-vmm is domain 1
}
TEST_F(conformance_cpuid, bits32)
{
    expect_passed(boot("cpuid", 32, with_cmdline("domid=1")), "conf-cpuid32", 9);
}

CONFORMANCE_SUITE(conformance_hypercall_abi);
TEST_F(conformance_hypercall_abi, bits64)
{
    auto run = boot("hypercall_abi", 64);
    expect_passed(run, "conf-hypercall_abi64", 9);
    EXPECT_THAT(run.process.out, Not(HasSubstr("CPL3-LEAK"))) << "a refused hypercall had an effect";
}
TEST_F(conformance_hypercall_abi, bits32)
{
    auto run = boot("hypercall_abi", 32);
    expect_passed(run, "conf-hypercall_abi32", 9);
    EXPECT_THAT(run.process.out, Not(HasSubstr("CPL3-LEAK"))) << "a refused hypercall had an effect";
}

CONFORMANCE_SUITE(conformance_xen_version);
TEST_F(conformance_xen_version, bits64)
{
    expect_passed(boot("xen_version", 64), "conf-xen_version64", 14);
}
TEST_F(conformance_xen_version, bits32)
{
    expect_passed(boot("xen_version", 32), "conf-xen_version32", 14);
}
TEST_F(conformance_xen_version, hvm64)
{
    // The feature bits differ between PVH and HVM guests.
    GuestOptions o;
    o.type = "hvm";
    o.name = "conf-xen_version-hvm64";
    expect_passed(boot("xen_version", 64, o), "conf-xen_version-hvm64", 14);
}

CONFORMANCE_SUITE(conformance_console);
static void expect_console_markers(const GuestRun& run)
{
    bool failed_before = ::testing::Test::HasFailure();
    for (const char* path : { "e9", "xen", "uart", "pv" })
        EXPECT_EQ(count(run.process.out, std::string("console-") + path + ": ok\n"), 1u) << "console path " << path;
    explain_if_failed(run, failed_before);
}
TEST_F(conformance_console, bits64)
{
    auto run = boot("console", 64);
    expect_passed(run, "conf-console64", 7);
    expect_console_markers(run);
}
TEST_F(conformance_console, bits32)
{
    auto run = boot("console", 32);
    expect_passed(run, "conf-console32", 7);
    expect_console_markers(run);
}

CONFORMANCE_SUITE(conformance_sched_op);
TEST_F(conformance_sched_op, bits64)
{
    expect_passed(boot("sched_op", 64), "conf-sched_op64", 10);
}
TEST_F(conformance_sched_op, bits32)
{
    expect_passed(boot("sched_op", 32), "conf-sched_op32", 10);
}

CONFORMANCE_SUITE(conformance_hvm_param);
TEST_F(conformance_hvm_param, bits64)
{
    expect_passed(boot("hvm_param", 64), "conf-hvm_param64", 10);
}
TEST_F(conformance_hvm_param, bits32)
{
    expect_passed(boot("hvm_param", 32), "conf-hvm_param32", 10);
}

CONFORMANCE_SUITE(conformance_memory_op);
TEST_F(conformance_memory_op, bits64)
{
    GuestOptions o;
    o.cmdline = "memory_mib=64";
    expect_passed(boot("memory_op", 64, o), "conf-memory_op64", 8);
}
TEST_F(conformance_memory_op, bits32)
{
    GuestOptions o;
    o.memory_mib = 48;
    o.cmdline = "memory_mib=48";
    expect_passed(boot("memory_op", 32, o), "conf-memory_op32", 8);
}

CONFORMANCE_SUITE(conformance_shared_info);
TEST_F(conformance_shared_info, bits64)
{
    expect_passed(boot("shared_info", 64), "conf-shared_info64", 6);
}
TEST_F(conformance_shared_info, bits32)
{
    expect_passed(boot("shared_info", 32), "conf-shared_info32", 6);
}

CONFORMANCE_SUITE(conformance_vcpu_op);
TEST_F(conformance_vcpu_op, bits64)
{
    GuestOptions o;
    o.vcpus = 2;
    o.cmdline = "vcpus=2";
    expect_passed(boot("vcpu_op", 64, o), "conf-vcpu_op64", 6);
}

CONFORMANCE_SUITE(conformance_xenstore);
TEST_F(conformance_xenstore, bits64)
{
    GuestOptions o;
    o.name = "conf-xs-guest";
    o.cmdline = "name=conf-xs-guest";
    expect_passed(boot("xenstore", 64, o), "conf-xs-guest", 13);
}

CONFORMANCE_SUITE(conformance_boot);
// The boot guest runs the PVH or the HVM cases, whichever way it was started: check which ran.
static void expect_boot_cases(const GuestRun& run, const std::string& name, std::vector<std::string> cases)
{
    expect_passed(run, name, cases.size());
    for (const auto& c : cases)
        EXPECT_TRUE(run.passed(c)) << "no PASS line for " << c;
}
static void expect_pvh_boot(const GuestRun& run, const std::string& name)
{
    expect_boot_cases(run, name, { "xen_is_usable", "pvh_start_info", "pvh_memmap_matches_xen", "pvh_cmdline" });
}
static void expect_hvm_boot(const GuestRun& run, const std::string& name)
{
    expect_boot_cases(run, name, { "xen_is_usable", "hvm_ebx_is_zero", "hvm_memory_map_from_xen" });
}
static GuestOptions boot_options(const std::string& type, const std::string& name)
{
    GuestOptions o;
    o.type = type;
    o.name = name;
    if (type == "pvh")
        o.cmdline = "conformance boot a=1 b=two-words c=\"quoted\"";
    return o;
}
TEST_F(conformance_boot, pvh64)
{
    expect_pvh_boot(boot("boot", 64, boot_options("pvh", "conf-boot-pvh64")), "conf-boot-pvh64");
}
TEST_F(conformance_boot, pvh32)
{
    expect_pvh_boot(boot("boot", 32, boot_options("pvh", "conf-boot-pvh32")), "conf-boot-pvh32");
}
TEST_F(conformance_boot, hvm64)
{
    expect_hvm_boot(boot("boot", 64, boot_options("hvm", "conf-boot-hvm64")), "conf-boot-hvm64");
}
TEST_F(conformance_boot, hvm32)
{
    expect_hvm_boot(boot("boot", 32, boot_options("hvm", "conf-boot-hvm32")), "conf-boot-hvm32");
}

// The shutdown guest ends the domain with a reason; the VMM reports it in its exit status
// (0 for poweroff, 100 + reason otherwise) and in its last message.
CONFORMANCE_SUITE(conformance_shutdown);
struct ShutdownCase {
    int bits;
    const char* reason;   // what the guest asks for
    const char* mode;     // see guests/conformance/shutdown/shutdown.c
    const char* expected; // what the VMM must report
    int exit_code;
};
static void expect_shutdown(const ShutdownCase& c)
{
    std::string name = std::string("conf-shutdown-") + c.mode + "-" + c.reason + std::to_string(c.bits);
    GuestOptions opts;
    opts.name = name;
    opts.cmdline = std::string("reason=") + c.reason + " mode=" + c.mode;
    auto run = boot("shutdown", c.bits, opts);
    expect_passed(run, name, 2, c.exit_code, c.expected);
}
// Xen 4.19: public/sched.h (SHUTDOWN_poweroff 0, reboot 1, suspend 2, crash 3, watchdog 4,
// soft_reset 5); xen/common/sched/core.c, do_sched_op (SCHEDOP_shutdown_code records a code only if
// none is set) and xen/common/domain.c, domain_shutdown (the recorded code wins over the reason).
TEST_F(conformance_shutdown, poweroff64) { expect_shutdown({ 64, "poweroff", "plain", "poweroff", 0 }); }
TEST_F(conformance_shutdown, reboot64) { expect_shutdown({ 64, "reboot", "plain", "reboot", 101 }); }
TEST_F(conformance_shutdown, suspend64) { expect_shutdown({ 64, "suspend", "plain", "suspend", 102 }); }
TEST_F(conformance_shutdown, crash64) { expect_shutdown({ 64, "crash", "plain", "crash", 103 }); }
TEST_F(conformance_shutdown, watchdog64) { expect_shutdown({ 64, "watchdog", "plain", "watchdog", 104 }); }
TEST_F(conformance_shutdown, soft_reset64) { expect_shutdown({ 64, "soft_reset", "plain", "soft_reset", 105 }); }
TEST_F(conformance_shutdown, code_reboot64) { expect_shutdown({ 64, "reboot", "code", "reboot", 101 }); }
// Xen keeps the first SCHEDOP_shutdown_code; later ones do not replace it.
TEST_F(conformance_shutdown, first_code_wins64) { expect_shutdown({ 64, "suspend", "code-twice", "suspend", 102 }); }
TEST_F(conformance_shutdown, poweroff32) { expect_shutdown({ 32, "poweroff", "plain", "poweroff", 0 }); }
TEST_F(conformance_shutdown, reboot32) { expect_shutdown({ 32, "reboot", "plain", "reboot", 101 }); }
TEST_F(conformance_shutdown, suspend32) { expect_shutdown({ 32, "suspend", "plain", "suspend", 102 }); }
TEST_F(conformance_shutdown, crash32) { expect_shutdown({ 32, "crash", "plain", "crash", 103 }); }
TEST_F(conformance_shutdown, watchdog32) { expect_shutdown({ 32, "watchdog", "plain", "watchdog", 104 }); }
TEST_F(conformance_shutdown, soft_reset32) { expect_shutdown({ 32, "soft_reset", "plain", "soft_reset", 105 }); }
TEST_F(conformance_shutdown, code_suspend32) { expect_shutdown({ 32, "suspend", "code", "suspend", 102 }); }
TEST_F(conformance_shutdown, first_code_wins32) { expect_shutdown({ 32, "reboot", "code-twice", "reboot", 101 }); }

CONFORMANCE_SUITE(conformance_triple_fault);
// Xen 4.19: xen/arch/x86/hvm/hvm.c, hvm_domain_initialise (HVM_PARAM_TRIPLE_FAULT_REASON starts as
// SHUTDOWN_reboot) and hvm_triple_fault (the domain shuts down with that reason).
TEST_F(conformance_triple_fault, is_a_reboot64)
{
    GuestOptions opts;
    opts.kernel = std::string(XKVM_GUEST_DIR) + "/crash64.elf";
    opts.name = "conf-triple64";
    opts.cmdline = "triple";
    auto run = run_guest(vmm_path(), opts);
    EXPECT_EQ(run.process.exit_code, 101) << run.describe(); // 100 + SHUTDOWN_reboot
    EXPECT_THAT(run.process.err, HasSubstr(shutdown_message("conf-triple64", "reboot"))) << run.describe();
    EXPECT_THAT(run.process.err, HasSubstr("triple fault on vcpu 0"));
}

// The guest harness itself: the library's own tests pass (one case skips, because Xen is here), and
// the verdict catches a failing case and a case left out without a word.
CONFORMANCE_SUITE(harness_selftest);
static GuestRun boot_guest(const std::string& guest, const std::string& name)
{
    GuestOptions opts;
    opts.kernel = std::string(XKVM_GUEST_DIR) + "/" + guest + ".elf";
    opts.name = name;
    return run_guest(vmm_path(), opts);
}
TEST_F(harness_selftest, library_tests64)
{
    auto run = boot_guest("selftest64", "selftest64");
    EXPECT_THAT(verdict_problems(run, "selftest64", { .passes = 17, .skips = 1 }), ::testing::IsEmpty()) << run.describe();
    EXPECT_THAT(run.skips, ::testing::ElementsAre("hypercalls_without_xen_fail_cleanly: Xen is here"));
}
TEST_F(harness_selftest, library_tests32)
{
    auto run = boot_guest("selftest32", "selftest32"); // no page fault above 4 GiB in 32-bit
    EXPECT_THAT(verdict_problems(run, "selftest32", { .passes = 16, .skips = 1 }), ::testing::IsEmpty()) << run.describe();
}
TEST_F(harness_selftest, a_failing_case_fails_the_test)
{
    auto run = boot_guest("harness_fail64", "harness-fail");
    auto problems = verdict_problems(run, "harness-fail", { .passes = 2 });
    EXPECT_THAT(problems, ::testing::Contains(HasSubstr("FAIL line: fails_on_purpose: "))) << run.describe();
    EXPECT_THAT(problems, ::testing::Contains(HasSubstr("RESULT line: FAIL 1")));
    EXPECT_THAT(problems, ::testing::Contains(HasSubstr("PASS lines: 1, expected 2")));
}
TEST_F(harness_selftest, a_silently_left_out_case_fails_the_test)
{
    auto run = boot_guest("harness_silent64", "harness-silent");
    EXPECT_EQ(run.result, "PASS"); // the guest itself claims success ...
    EXPECT_THAT(verdict_problems(run, "harness-silent", { .passes = 2 }),
                ::testing::ElementsAre("PASS lines: 1, expected 2")) << run.describe(); // ... the count does not
}
