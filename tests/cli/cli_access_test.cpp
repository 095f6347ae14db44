// Issue 10 (label vmevent): `xkvm access` on a domain of the daemon's, one line per event until it
// is interrupted; the domain runs on afterwards.
// XKVM-OWN: `xkvm access` is xkvm's own tool (xen-access has other output).
#include <signal.h>

#include "cli_harness.h"
#include "xkvm/guest_paths.h"

using namespace xkvm::testing;

namespace {

class CliAccess : public CliTest { };

} // namespace

TEST_F(CliAccess, GuestRequestsOneLineEachUntilInterrupted)
{
    auto cfg = guest_config("acc", XKVM_GUEST_ELF("vmevent64"),
                            "vcpus = 2\ncmdline = \"mode=request vcpus=2 count=5\"\n");
    ASSERT_EQ(run({ "create", "-p", cfg }).rc, 0);
    Background tool = start({ "access", "acc", "guest-request" }, "access.out");
    ASSERT_TRUE(eventually([&] { return read_file(tool.out_path + ".err").find("interrupt to stop") != std::string::npos; }))
        << read_file(tool.out_path + ".err");
    ASSERT_EQ(run({ "unpause", "acc" }).rc, 0);
    auto lines = [&] {
        std::string out = read_file(tool.out_path);
        return std::count(out.begin(), out.end(), '\n');
    };
    ASSERT_TRUE(eventually([&] { return lines() == 10; })) << read_file(tool.out_path);
    std::string out = read_file(tool.out_path);
    EXPECT_NE(out.find("vcpu 0 guest_request"), std::string::npos) << out;
    EXPECT_NE(out.find("vcpu 1 guest_request"), std::string::npos) << out;
    EXPECT_NE(out.find("rdx 0x5e00000100000004"), std::string::npos) << "vcpu 1's last payload\n" << out;
    ::kill(tool.pid, SIGINT);
    ASSERT_TRUE(wait_exit(tool, 10s));
    EXPECT_EQ(tool.exit_code, 0) << read_file(tool.out_path + ".err");
    // The guest made all its requests and powered off.
    EXPECT_TRUE(eventually([&] { return !list_row("acc"); }));
}

TEST_F(CliAccess, RefusesUnknownModesAndDomains)
{
    auto bad = run({ "access", "nope", "sideways" });
    EXPECT_EQ(bad.rc, 1);
    EXPECT_NE(bad.err.find("write, exec, breakpoint"), std::string::npos) << bad.err;
    ASSERT_EQ(run({ "list" }).rc, 0); // the daemon runs
    auto missing = run({ "access", "nope", "cr" });
    EXPECT_EQ(missing.rc, 1);
}
