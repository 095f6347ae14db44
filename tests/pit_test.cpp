// Boots guests/pit (the emulated 8254 from the guest's side) under xkvm-vmm and checks its verdict:
// RESULT: PASS, one PASS line per case, no FAIL, powered off, and that it reported its measurements
// (the IRQ 0 rate and GSI, the one-shot delay, the TSC calibrated on counter 2), which are printed.
// XKVM-OWN: the Intel 8254 as PCs have it, not an interface of Xen's.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <sstream>

#include "guest_runner.h"
#include "guest_test.h"
#include "xkvm/guest_paths.h"

using namespace xkvm::test;
using ::testing::HasSubstr;

namespace {

constexpr size_t kGuestCases = 7; // TEST_CASEs in guests/pit/pit.c

using Pit = GuestTest;

// The guest's "pit: ..." lines.
std::vector<std::string> reports(const std::string& console)
{
    std::vector<std::string> out;
    std::istringstream in(console);
    for (std::string line; std::getline(in, line);)
        if (line.rfind("pit: ", 0) == 0)
            out.push_back(line);
    return out;
}

} // namespace

TEST_F(Pit, GuestSeesTheProgrammedRateOneShotsAndPort61)
{
    GuestOptions opts;
    opts.kernel = XKVM_GUEST_ELF("pit64");
    opts.name = "pit64";
    ASSERT_TRUE(std::filesystem::exists(opts.kernel)) << opts.kernel << " is missing: build the guests";
    GuestRun run = run_guest(vmm_path(), opts);

    ASSERT_TRUE(run.process.started) << run.process.spawn_error;
    EXPECT_FALSE(run.process.timed_out) << "the guest did not finish in time";
    EXPECT_THAT(run.fails, ::testing::IsEmpty()) << "FAIL lines";
    EXPECT_EQ(run.result.value_or("(no RESULT line)"), "PASS") << "the RESULT line";
    EXPECT_EQ(run.passes.size(), kGuestCases) << "PASS lines (one per case)";
    EXPECT_EQ(run.process.exit_code, 0) << "xkvm-vmm exit status";
    EXPECT_THAT(run.process.err, HasSubstr(shutdown_message("pit64", "poweroff")));
    // A timing case may take more than one attempt on a busy host (guests/pit/pit.c says why).
    std::string lines;
    for (const auto& line : reports(run.process.out))
        lines += "  " + line + "\n";
    EXPECT_THAT(lines, HasSubstr("pit: IRQ 0 rate "));
    EXPECT_THAT(lines, HasSubstr("pit: IRQ 0 came on GSI "));
    EXPECT_THAT(lines, HasSubstr("pit: one-shot of 10.000 ms fired after "));
    EXPECT_THAT(lines, HasSubstr("pit: TSC calibrated on counter 2: "));
    std::cout << lines;
    if (HasFailure())
        ADD_FAILURE() << "what the guest and the VMM said:\n" << run.describe();
}
