// Issue 9 end to end: the balloon conformance guest (guests/conformance/balloon) under xkvm-vmm with
// XKVM_CHECK_DMA=1, so the VMM compares the domain's DMA space with its physmap after every
// memory_op and crashes the domain at the first difference; the guest checks contents and Xen's
// answers. Passing means: all cases passed, and the domain powered off rather than crashed.
// XKVM-OWN: the balloon guest checks Xen's answers and cites them; the DMA-space check is xkvm's.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "guest_runner.h"
#include "guest_test.h"
#include "xkvm/guest_paths.h"

using namespace xkvm::test;
using ::testing::HasSubstr;

namespace {

using iommu_balloon = GuestTest;

// Runs the balloon guest with `memory_mib` of RAM and the VMM's extra options; `cases` must pass.
void run_balloon(unsigned memory_mib, const std::string& cmdline_extra, std::vector<std::string> vmm_args, size_t cases)
{
    ASSERT_EQ(setenv("XKVM_CHECK_DMA", "1", 1), 0);
    GuestOptions o;
    o.kernel = std::string(XKVM_GUEST_DIR) + "/conf_balloon64.elf";
    o.name = "conf-balloon64";
    o.memory_mib = memory_mib;
    o.cmdline = "memory_mib=" + std::to_string(memory_mib) + cmdline_extra;
    o.vmm_args = std::move(vmm_args);
    ASSERT_TRUE(std::filesystem::exists(o.kernel)) << o.kernel;
    GuestRun run = run_guest(vmm_path(), o);
    unsetenv("XKVM_CHECK_DMA");
    ASSERT_TRUE(run.process.started) << run.process.spawn_error;
    EXPECT_FALSE(run.process.timed_out);
    EXPECT_THAT(run.fails, ::testing::IsEmpty()) << run.describe();
    EXPECT_EQ(run.result.value_or("(no RESULT line)"), "PASS") << run.describe();
    EXPECT_EQ(run.passes.size(), cases) << run.describe();
    EXPECT_EQ(run.process.exit_code, 0) << run.describe();
    EXPECT_THAT(run.process.err, HasSubstr(shutdown_message(o.name, "poweroff"))) << run.describe();
    EXPECT_THAT(run.process.err, ::testing::Not(HasSubstr("DMA space out of step")));
}

TEST_F(iommu_balloon, bits64)
{
    run_balloon(64, "", {}, 10);
}

// Xen's memop-max-order raised to 18 (docs/misc/xen-command-line.pandoc, memop-max-order): a 1 GiB
// extent out and back in (2 GiB of RAM, untouched but for a few words, so the host backs little of
// it).
TEST_F(iommu_balloon, bits64_order18)
{
    run_balloon(2112, " max_order=18", { "--memop-max-order", "18" }, 10);
}

} // namespace
