// Boots the issue-3 conformance guests (event channels, PV timers and clock, SMP; guests/conformance/)
// on 1 and on 4 vCPUs and checks each verdict: RESULT: PASS, no FAIL line, exactly the guest's number
// of PASS lines and of SKIP lines (cases that need a second vCPU skip on one, and only there), and a
// powered-off domain. The legacy-pin guest also runs with each CPUID leaf 0x40000002 EDX setting.
// XKVM-OWN: the guests check Xen's answers and cite them (guests/conformance/); the host counts
// their PASS and SKIP lines.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "guest_runner.h"
#include "guest_verdict.h"
#include "guest_test.h"
#include "xkvm/guest_paths.h"

using namespace xkvm::test;
using ::testing::HasSubstr;

namespace {

using Evtchn = GuestTest;

struct Family {
    const char* name;
    int bits;
    size_t cases;          // TEST_CASEs in the guest
    size_t skipped_on_one; // of which need a second vCPU
};

std::string run_name(const Family& f, unsigned vcpus)
{
    return std::string("ev-") + f.name + std::to_string(f.bits) + "-" + std::to_string(vcpus);
}

// Boots conf_<family><bits> on `vcpus` vCPUs (the guest learns the count from vcpus=).
GuestRun boot(const Family& f, unsigned vcpus, GuestOptions opts = {}, const std::string& suffix = "")
{
    std::string guest = std::string("conf_") + f.name + std::to_string(f.bits);
    opts.kernel = std::string(XKVM_GUEST_DIR) + "/" + guest + ".elf";
    opts.vcpus = vcpus;
    opts.name = run_name(f, vcpus) + suffix;
    opts.cmdline = "vcpus=" + std::to_string(vcpus) + (opts.cmdline.empty() ? "" : " " + opts.cmdline);
    EXPECT_TRUE(std::filesystem::exists(opts.kernel)) << opts.kernel << " is missing: build the guests";
    return run_guest(vmm_path(), opts);
}

void expect_verdict(const GuestRun& run, const std::string& name, size_t passes, size_t skips)
{
    EXPECT_THAT(verdict_problems(run, name, { .passes = passes, .skips = skips }), ::testing::IsEmpty())
        << "what the guest and the VMM said:\n" << run.describe();
}

void run_family(const Family& f, unsigned vcpus)
{
    GuestRun run = boot(f, vcpus);
    size_t skips = vcpus == 1 ? f.skipped_on_one : 0;
    expect_verdict(run, run_name(f, vcpus), f.cases - skips, skips);
}

} // namespace

// The counts are the guests' TEST_CASEs (see each guest's file); a change there changes them here.
#define EVTCHN_FAMILY(family, nbits, cases, skipped_on_one)                                                  \
    using evtchn_##family = Evtchn;                                                                          \
    TEST_F(evtchn_##family, bits##nbits##_vcpus1) { run_family({ #family, nbits, cases, skipped_on_one }, 1); } \
    TEST_F(evtchn_##family, bits##nbits##_vcpus4) { run_family({ #family, nbits, cases, skipped_on_one }, 4); }

EVTCHN_FAMILY(smp, 64, 6, 4)
EVTCHN_FAMILY(smp, 32, 6, 4)
EVTCHN_FAMILY(evtchn_ipi, 64, 5, 0)
EVTCHN_FAMILY(evtchn_mask, 64, 7, 0)
EVTCHN_FAMILY(evtchn_mask, 32, 7, 0)
EVTCHN_FAMILY(evtchn_block, 64, 8, 2)
EVTCHN_FAMILY(pv_timer, 64, 11, 1)
EVTCHN_FAMILY(pv_clock, 64, 4, 0)
EVTCHN_FAMILY(vcpu_info, 64, 5, 1)
EVTCHN_FAMILY(evtchn_ports, 64, 4, 0)
EVTCHN_FAMILY(evtchn_errno, 64, 12, 0)
EVTCHN_FAMILY(evtchn_upcall, 64, 7, 2)

// Legacy ISA pins as VIRQs (seed 000): the EVTCHN bit counts only with the clocksource bit, so 0x5
// reads as 0x1; without an override the leaf's EDX is 0. Then the pins stay on the IOAPIC.
namespace {
void run_emul_pin(const char* cpuid_edx, const char* mode, const char* expected_edx, unsigned vcpus)
{
    const Family f { "emul_pin", 64, 4, 0 };
    GuestOptions o;
    if (cpuid_edx)
        o.cpuid.push_back(std::string("0x40000002:edx=") + cpuid_edx);
    o.cmdline = std::string("mode=") + mode + " edx=" + expected_edx;
    std::string suffix = std::string("-") + (cpuid_edx ? cpuid_edx : "none");
    GuestRun run = boot(f, vcpus, o, suffix);
    expect_verdict(run, run_name(f, vcpus) + suffix, f.cases, 0);
}
} // namespace

using evtchn_emul_pin = Evtchn;
// DIFF(emul_pin_virqs) with the EDX override (docs/xen-differences.md); without it leaf 2 EDX is
// Xen's 0 (xen/arch/x86/traps.c, cpuid_hypervisor_leaves).
TEST_F(evtchn_emul_pin, edx7_evtchn_vcpus1) { run_emul_pin("0x7", "evtchn", "0x7", 1); }
TEST_F(evtchn_emul_pin, edx7_evtchn_vcpus4) { run_emul_pin("0x7", "evtchn", "0x7", 4); }
TEST_F(evtchn_emul_pin, edx5_ioapic_vcpus1) { run_emul_pin("0x5", "ioapic", "0x1", 1); }
TEST_F(evtchn_emul_pin, no_override_ioapic_vcpus1) { run_emul_pin(nullptr, "ioapic", "0", 1); }
