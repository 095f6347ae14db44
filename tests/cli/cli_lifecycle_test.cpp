// Domains from create to gone: the console scenario, bad input leaving nothing behind, and what
// on_poweroff / on_reboot / on_crash do.
// XKVM-OWN: the console scenario, the daemon and the error messages are xkvm's own; what
// on_poweroff / on_reboot / on_crash do is cited at those cases.
#include <regex>
#include <sstream>

#include "cli_harness.h"
#include "xkvm/guest_paths.h"

namespace xkvm::testing {
namespace {

class CliLifecycle : public CliTest {
protected:
    // Nothing of a domain is left: no VMM process, no xenstore tree, no rundir entry.
    void expect_nothing_left()
    {
        // A domain the guest ended goes asynchronously: give the daemon a moment to reap it.
        EXPECT_TRUE(eventually([&] { return processes("xkvm-vmm").empty(); }, 5s)) << "a VMM process is left";
        EXPECT_TRUE(eventually([&] { return domain_dirs().empty(); }, 5s)) << "rundir entries are left";
        auto xs = run({ "xenstore-ls", "/local/domain" });
        EXPECT_EQ(xs.rc, 0) << xs.err;
        std::istringstream lines(xs.out);
        for (std::string line; std::getline(lines, line);)
            EXPECT_TRUE(line.rfind(" ", 0) == 0 || line.rfind("0 = ", 0) == 0) << "a domain tree is left: " << line;
        auto vm = run({ "xenstore-ls", "/vm" });
        EXPECT_EQ(vm.out, "");
    }

    // tsguest "g" with `extra` config lines ends, and the daemon starts it again under a new domid.
    void expect_restarted(const std::string& extra)
    {
        std::string cfg = guest_config("g", XKVM_GUEST_ELF("tsguest"), extra);
        ASSERT_EQ(run({ "create", "-p", cfg }).rc, 0);
        auto first = domid_of("g");
        ASSERT_TRUE(first);
        ASSERT_EQ(run({ "unpause", "g" }).rc, 0);
        auto next = wait_restart("g", *first);
        ASSERT_TRUE(next && *next != *first) << "not restarted";
        ASSERT_EQ(run({ "destroy", "g" }).rc, 0);
        expect_nothing_left();
    }

    // The Reason-Code column of `list -v name`: what follows the UUID.
    std::string reason_code(const std::string& name)
    {
        auto v = run({ "list", "-v", name });
        std::smatch m;
        static const std::regex after_uuid("[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12} +(\\S+)");
        if (!std::regex_search(v.out, m, after_uuid))
            return "(no row: " + v.out + v.err + ")";
        return m[1].str();
    }

    // The domain called `name` gets a new domid (it was restarted); returns it.
    std::optional<uint32_t> wait_restart(const std::string& name, uint32_t old_id)
    {
        std::optional<uint32_t> now;
        eventually([&] {
            now = domid_of(name);
            return now && *now != old_id;
        });
        return now;
    }
};

TEST_F(CliLifecycle, CreatePausedConsoleUnpauseUntilPoweroff)
{
    // xkvm create -p g.cfg && xkvm console g > out & xkvm unpause g
    std::string cfg = guest_config("g", XKVM_GUEST_ELF("hello"));
    auto created = run({ "create", "-p", cfg });
    ASSERT_EQ(created.rc, 0) << created.err;
    auto row = list_row("g");
    ASSERT_TRUE(row);
    EXPECT_NE(row->find("--p---"), std::string::npos) << *row;
    Background console = attach("g", "out");
    auto unpaused = run({ "unpause", "g" });
    ASSERT_EQ(unpaused.rc, 0) << unpaused.err;
    ASSERT_TRUE(wait_exit(console, 20s)) << "console did not exit when the guest powered off";
    EXPECT_EQ(*console.exit_code, 0);
    std::string out = read_file(console.out_path);
    EXPECT_NE(out.find("hello: 32-bit PVH guest"), std::string::npos) << out;
    EXPECT_NE(out.find("hello: done"), std::string::npos) << out;
    EXPECT_FALSE(list_row("g")) << "the powered-off domain is still listed";
    expect_nothing_left();
}

TEST_F(CliLifecycle, CreateWithConsoleSeesAGuestThatEndsAtOnce)
{
    // hello prints three lines and powers off within milliseconds: -c must attach before it runs.
    auto r = run({ "create", "-c", guest_config("g", XKVM_GUEST_ELF("hello")) });
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_NE(r.out.find("hello: 32-bit PVH guest, paging off, via port 0xe9\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("hello: done\n"), std::string::npos) << r.out;
    expect_nothing_left();
}

TEST_F(CliLifecycle, CreatePausedWithConsoleStaysPaused)
{
    std::string cfg = guest_config("g", XKVM_GUEST_ELF("hello"));
    Background bg = start({ "create", "-p", "-c", cfg }, "out");
    // Built, and the console attached (the domain's console socket has its listener and us).
    EXPECT_TRUE(eventually([&] {
        auto id = domid_of("g");
        return id && socket_users(fmt::format("{}/{}/console.sock", m_rundir, *id)) >= 2;
    }));
    auto row = list_row("g");
    ASSERT_TRUE(row);
    EXPECT_NE(row->find("--p---"), std::string::npos) << *row;
    EXPECT_EQ(read_file(bg.out_path).find("hello"), std::string::npos) << "a paused guest printed";
    ASSERT_EQ(run({ "unpause", "g" }).rc, 0);
    ASSERT_TRUE(wait_exit(bg, 30s));
    EXPECT_EQ(bg.exit_code, 0);
    EXPECT_NE(read_file(bg.out_path).find("hello: done\n"), std::string::npos);
}

TEST_F(CliLifecycle, MissingKernelFailsClearlyAndLeavesNothing)
{
    std::string cfg = write_config("g", "name = \"g\"\ntype = \"pvh\"\nkernel = \"/nonexistent/vmlinuz\"\n");
    auto r = run({ "create", cfg });
    EXPECT_NE(r.rc, 0);
    EXPECT_NE(r.err.find(cfg + ":3:10: error:"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("/nonexistent/vmlinuz"), std::string::npos) << r.err;
    EXPECT_FALSE(list_row("g"));
    expect_nothing_left();
}

TEST_F(CliLifecycle, TheCommandsBackendChoiceWinsOverTheDaemons)
{
    // The daemon runs with this test's XKVM_ACCEL; one create asks for the other backend.
    const char* mine = std::getenv("XKVM_ACCEL");
    bool kvm_here = ::access("/dev/kvm", R_OK | W_OK) == 0;
    std::string other = mine && std::string(mine) == "kvm" ? "emu" : "kvm";
    ASSERT_EQ(run({ "create", "-p", guest_config("first", XKVM_GUEST_ELF("hello")) }).rc, 0);
    ::setenv("XKVM_ACCEL", other.c_str(), 1);
    auto r = run({ "create", "-p", guest_config("g", XKVM_GUEST_ELF("hello")) });
    ::setenv("XKVM_ACCEL", mine ? mine : "", 1);
    if (other == "kvm" && !kvm_here) {
        EXPECT_NE(r.rc, 0);
        EXPECT_NE(r.err.find("accelerator kvm is unavailable"), std::string::npos) << r.err;
        EXPECT_FALSE(list_row("g")) << "a domain that could not be built is listed";
    } else {
        EXPECT_EQ(r.rc, 0) << r.err;
    }
}

TEST_F(CliLifecycle, MalformedKernelFailsClearlyAndLeavesNothing)
{
    std::string junk = m_rundir + "/junk.elf";
    std::ofstream(junk) << "this is not an ELF image\n";
    std::string cfg = write_config("g", fmt::format("name = \"g\"\ntype = \"pvh\"\nkernel = \"{}\"\n", junk));
    auto r = run({ "create", cfg });
    EXPECT_NE(r.rc, 0);
    EXPECT_NE(r.err.find(cfg + ":3:10: error:"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("ELF"), std::string::npos) << r.err;
    expect_nothing_left();
}

TEST_F(CliLifecycle, ConfigSyntaxErrorPointsAtTheSpot)
{
    std::string cfg = write_config("g", "name = \"g\"\nmemory = = 3\n");
    auto r = run({ "create", cfg });
    EXPECT_NE(r.rc, 0);
    EXPECT_TRUE(std::regex_search(r.err, std::regex(std::regex_replace(cfg, std::regex("[.]"), "\\.") + ":2:\\d+: error: ")))
        << r.err;
    // Nothing got as far as the daemon.
    EXPECT_FALSE(daemon_pid());
    EXPECT_TRUE(domain_dirs().empty());
}

TEST_F(CliLifecycle, BadOverrideOnTheCommandLine)
{
    std::string cfg = guest_config("g", XKVM_GUEST_ELF("hello"));
    auto r = run({ "create", cfg, "memory=\"lots\"" });
    EXPECT_NE(r.rc, 0);
    EXPECT_NE(r.err.find("<command line>:1:"), std::string::npos) << r.err;
}

// tools/libs/light/libxl_domain.c, libxl__domain_rename (a name another domain has is refused).
TEST_F(CliLifecycle, DuplicateNameIsRefused)
{
    std::string cfg = guest_config("g", XKVM_GUEST_ELF("tsguest"), "cmdline = \"ticker\"\n");
    ASSERT_EQ(run({ "create", "-p", cfg }).rc, 0);
    auto again = run({ "create", cfg });
    EXPECT_NE(again.rc, 0);
    EXPECT_NE(again.err.find("'g' already exists"), std::string::npos) << again.err;
    EXPECT_EQ(processes("xkvm-vmm").size(), 1u);
    EXPECT_EQ(domain_dirs().size(), 1u);
    auto list = run({ "list" });
    EXPECT_EQ(std::count(list.out.begin(), list.out.end(), '\n'), 3) << list.out; // header, Domain-0, g
}

// docs/man/xl.cfg.5.pod.in (on_poweroff, on_reboot, on_crash: destroy, restart, preserve; defaults
// destroy, restart, destroy); tools/xl/xl_list.c, list_domains (a preserved domain shows 's' and
// the reason's letter from "-rscwS"; -v its Reason-Code).
TEST_F(CliLifecycle, OnPoweroffPreserveKeepsItUntilDestroyed)
{
    std::string cfg = guest_config("g", XKVM_GUEST_ELF("tsguest"), "on_poweroff = \"preserve\"\n");
    ASSERT_EQ(run({ "create", cfg }).rc, 0);
    std::optional<std::string> row;
    ASSERT_TRUE(eventually([&] { return (row = list_row("g")) && row->find("---s--") != std::string::npos; }))
        << row.value_or("(not listed)");
    ASSERT_EQ(run({ "destroy", "g" }).rc, 0);
    EXPECT_FALSE(list_row("g"));
    expect_nothing_left();
}

TEST_F(CliLifecycle, OnPoweroffRestartStartsItAgain)
{
    expect_restarted("on_poweroff = \"restart\"\n");
}

TEST_F(CliLifecycle, OnRebootDefaultRestarts)
{
    expect_restarted("cmdline = \"reboot\"\n");
}

TEST_F(CliLifecycle, OnRebootDestroy)
{
    std::string cfg = guest_config("g", XKVM_GUEST_ELF("tsguest"), "cmdline = \"reboot\"\non_reboot = \"destroy\"\n");
    ASSERT_EQ(run({ "create", cfg }).rc, 0);
    EXPECT_TRUE(eventually([&] { return !list_row("g"); }));
    expect_nothing_left();
}

TEST_F(CliLifecycle, OnRebootPreserve)
{
    std::string cfg = guest_config("g", XKVM_GUEST_ELF("tsguest"), "cmdline = \"reboot\"\non_reboot = \"preserve\"\n");
    ASSERT_EQ(run({ "create", cfg }).rc, 0);
    std::optional<std::string> row;
    EXPECT_TRUE(eventually([&] { return (row = list_row("g")) && row->find("---sr-") != std::string::npos; }))
        << row.value_or("(not listed)");
}

TEST_F(CliLifecycle, OnCrashDefaultDestroys)
{
    std::string cfg = guest_config("g", XKVM_GUEST_ELF("tsguest"), "cmdline = \"crash\"\n");
    ASSERT_EQ(run({ "create", cfg }).rc, 0);
    EXPECT_TRUE(eventually([&] { return !list_row("g"); }));
    expect_nothing_left();
}

TEST_F(CliLifecycle, OnCrashPreserve)
{
    std::string cfg = guest_config("g", XKVM_GUEST_ELF("tsguest"), "cmdline = \"crash\"\non_crash = \"preserve\"\n");
    ASSERT_EQ(run({ "create", cfg }).rc, 0);
    std::optional<std::string> row;
    EXPECT_TRUE(eventually([&] { return (row = list_row("g")) && row->find("---sc-") != std::string::npos; }))
        << row.value_or("(not listed)");
    EXPECT_EQ(reason_code("g"), "3") << "SHUTDOWN_crash";
}

TEST_F(CliLifecycle, OnCrashRestart)
{
    expect_restarted("cmdline = \"crash\"\non_crash = \"restart\"\n");
}

// Xen 4.19: xen/arch/x86/hvm/hvm.c, hvm_domain_initialise (HVM_PARAM_TRIPLE_FAULT_REASON starts as
// SHUTDOWN_reboot) and hvm_triple_fault (the domain shuts down with it); libxl never sets the
// parameter, so xl applies on_reboot. (XenServer's toolstack sets it to SHUTDOWN_crash.)
TEST_F(CliLifecycle, TripleFaultIsAReboot)
{
    std::string cfg = guest_config("t", XKVM_GUEST_ELF("crash64"),
                                   "cmdline = \"triple\"\non_reboot = \"preserve\"\non_crash = \"preserve\"\n");
    ASSERT_EQ(run({ "create", cfg }).rc, 0);
    std::optional<std::string> row;
    EXPECT_TRUE(eventually([&] { return (row = list_row("t")) && row->find("---sr-") != std::string::npos; }))
        << row.value_or("(not listed)");
    EXPECT_EQ(reason_code("t"), "1") << "SHUTDOWN_reboot";
}

} // namespace
} // namespace xkvm::testing
