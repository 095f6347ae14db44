// Issue 11 through the CLI: a run directory others can write is refused before anything starts,
// a planted xkvmd.log symlink keeps the daemon from starting (the CLI says why at once) with its
// target untouched, and a VMM runs with no_new_privs.
// XKVM-OWN: the run directory and the VMM's privileges are xkvm's own.
#include <sys/stat.h>

#include <fstream>

#include "cli_harness.h"
#include "xkvm/guest_paths.h"

namespace xkvm::testing {
namespace {

using CliHardening = CliTest;

TEST_F(CliHardening, ARundirOthersCanWriteIsRefusedBeforeAnythingStarts)
{
    ASSERT_EQ(::chmod(m_rundir.c_str(), 0777), 0);
    auto r = run({ "list" });
    EXPECT_NE(r.rc, 0);
    EXPECT_NE(r.err.find("writable by others"), std::string::npos) << r.err;
    EXPECT_FALSE(daemon_pid());
    EXPECT_FALSE(std::filesystem::exists(m_rundir + "/xkvmd.sock"));
    EXPECT_FALSE(std::filesystem::exists(m_rundir + "/xkvmd.pid"));
    ASSERT_EQ(::chmod(m_rundir.c_str(), 0700), 0);
    EXPECT_EQ(run({ "list" }).rc, 0);
}

TEST_F(CliHardening, APlantedDaemonLogSymlinkIsRefusedAndItsTargetUntouched)
{
    std::string target = m_rundir + "/precious";
    std::ofstream(target) << "keep me";
    std::filesystem::create_symlink(target, m_rundir + "/xkvmd.log");
    auto r = run({ "list" });
    EXPECT_NE(r.rc, 0);
    // Said at once, with the daemon's reason, not retried until the start deadline.
    EXPECT_NE(r.err.find("xkvmd cannot start"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("xkvmd.log"), std::string::npos) << r.err;
    EXPECT_EQ(read_file(target), "keep me");
    EXPECT_FALSE(daemon_pid());
}

TEST_F(CliHardening, AVmmRunsWithNoNewPrivs)
{
    ASSERT_EQ(run({ "create", "-p", guest_config("g", XKVM_GUEST_ELF("tsguest"), "cmdline = \"ticker\"\n") }).rc, 0);
    auto vmm = vmm_of("g");
    ASSERT_TRUE(vmm);
    std::string status = read_file(fmt::format("/proc/{}/status", *vmm));
    EXPECT_NE(status.find("NoNewPrivs:\t1"), std::string::npos) << status;
    EXPECT_EQ(run({ "destroy", "g" }).rc, 0);
}

} // namespace
} // namespace xkvm::testing
