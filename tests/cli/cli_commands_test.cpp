// The xl commands one by one: list's format, info, the xl alias, domid/domname, pause/unpause,
// destroy, shutdown/reboot through xenstore, the daemon started on demand, and fault isolation
// between domains.
// XKVM-OWN: the daemon, process isolation and the error messages are xkvm's own; xl's formats
// and xenstore protocols are cited at their cases.
#include <signal.h>

#include <regex>
#include <sstream>

#include "cli_harness.h"
#include "xkvm/guest_paths.h"

namespace xkvm::testing {
namespace {

class CliCommands : public CliTest {
protected:
    std::string ticker(const std::string& name, const std::string& extra = "")
    {
        return guest_config(name, XKVM_GUEST_ELF("tsguest"), "cmdline = \"ticker\"\n" + extra);
    }
    size_t ticks(const std::string& text) const
    {
        size_t n = 0;
        for (size_t p = 0; (p = text.find("tick ", p)) != std::string::npos; ++p)
            ++n;
        return n;
    }
};

// Xen 4.19: tools/xl/xl_list.c, list_domains (the header, "%-40s %5d %5lu %5d     %c%c%c%c%c%c  %8.1f",
// 'p' for paused).
TEST_F(CliCommands, ListHasXlsHeaderAndColumns)
{
    ASSERT_EQ(run({ "create", "-p", ticker("web") }).rc, 0);
    auto r = run({ "list" });
    ASSERT_EQ(r.rc, 0) << r.err;
    std::istringstream in(r.out);
    std::string header, dom0, web;
    std::getline(in, header);
    std::getline(in, dom0);
    std::getline(in, web);
    EXPECT_EQ(header, "Name                                        ID   Mem VCPUs\tState\tTime(s)");
    EXPECT_TRUE(std::regex_match(dom0, std::regex("Domain-0 {32} {5}0 [ 0-9]{5} [ 0-9]{5}     r-----  [ 0-9]{6}\\.\\d")))
        << dom0;
    EXPECT_TRUE(std::regex_match(web, std::regex("web {37} {5}1 {4}32 {5}1     --p--- {7}0\\.0"))) << web;
    EXPECT_EQ(web.find(" 1 "), 44u); // the ID column ends where xl's does
}

TEST_F(CliCommands, ListOfAnUnknownDomainFails)
{
    auto r = run({ "list", "nope" });
    EXPECT_NE(r.rc, 0);
    EXPECT_NE(r.err.find("domain 'nope' does not exist"), std::string::npos) << r.err;
}

// Xen 4.19: tools/xl/xl_info.c, output_xeninfo / output_physinfo (the keys, padded to 23) and
// maybe_printf (`xl info <key>` prints that key's value alone).
TEST_F(CliCommands, InfoHasXlsKeys)
{
    auto r = run({ "info" });
    ASSERT_EQ(r.rc, 0) << r.err;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r.out, m, std::regex("\nvirt_caps              : ([^\n]*)\n"))) << r.out;
    EXPECT_NE(m[1].str().find("hvm"), std::string::npos);
    ASSERT_TRUE(std::regex_search(r.out, m, std::regex("\nxen_caps               : ([^\n]*)\n"))) << r.out;
    for (const char* cap : { "hvm-3.0-x86_64", "hvm-3.0-x86_32 ", "hvm-3.0-x86_32p" })
        EXPECT_NE((m[1].str() + " ").find(cap), std::string::npos) << cap;
    for (const char* key : { "host", "release", "nr_cpus", "total_memory", "free_memory", "xen_version" })
        EXPECT_TRUE(std::regex_search(r.out, std::regex(std::string("(^|\n)") + key + " +: "))) << key;
    EXPECT_EQ(run({ "info", "xen_pagesize" }).out, "4096\n");
}

TEST_F(CliCommands, AnswersAsXl)
{
    auto list = run({ "list" }, 30s, "xl");
    EXPECT_EQ(list.rc, 0) << list.err;
    EXPECT_EQ(list.out.rfind("Name ", 0), 0u);
    auto bad = run({ "pause", "nope" }, 30s, "xl");
    EXPECT_NE(bad.rc, 0);
    EXPECT_EQ(bad.err.rfind("xl: ", 0), 0u) << bad.err;
}

// docs/man/xl.1.pod.in (domid, domname); dom0 is "Domain-0" (docs/misc/xenstore-paths.pandoc,
// ~/name). The error texts are xkvm's.
TEST_F(CliCommands, DomidAndDomname)
{
    ASSERT_EQ(run({ "create", "-p", ticker("a") }).rc, 0);
    ASSERT_EQ(run({ "create", "-p", ticker("b") }).rc, 0);
    EXPECT_EQ(run({ "domid", "b" }).out, "2\n");
    EXPECT_EQ(run({ "domname", "1" }).out, "a\n");
    EXPECT_EQ(run({ "domname", "0" }).out, "Domain-0\n");
    auto missing = run({ "domid", "zzz" });
    EXPECT_NE(missing.rc, 0);
    EXPECT_NE(missing.err.find("zzz"), std::string::npos);
    auto bad_id = run({ "domname", "77" });
    EXPECT_NE(bad_id.rc, 0);
    EXPECT_NE(bad_id.err.find("domain 77 does not exist"), std::string::npos) << bad_id.err;
    EXPECT_NE(run({ "domname", "x1" }).rc, 0);
}

TEST_F(CliCommands, UnknownDomainsAreNamed)
{
    for (const char* op : { "pause", "unpause", "destroy", "console", "shutdown" }) {
        auto r = run({ op, "ghost" });
        EXPECT_NE(r.rc, 0) << op;
        EXPECT_NE(r.err.find("domain 'ghost' does not exist"), std::string::npos) << op << ": " << r.err;
    }
}

// tools/xl/xl_list.c, list_domains: a paused domain shows 'p'.
TEST_F(CliCommands, PauseStopsTheGuestAndUnpauseResumesIt)
{
    ASSERT_EQ(run({ "create", "-p", ticker("t") }).rc, 0);
    Background console = start({ "console", "t" }, "out");
    ASSERT_EQ(run({ "unpause", "t" }).rc, 0);
    ASSERT_TRUE(eventually([&] { return ticks(read_file(console.out_path)) >= 3; })) << read_file(console.out_path);
    ASSERT_EQ(run({ "pause", "t" }).rc, 0);
    auto row = list_row("t");
    ASSERT_TRUE(row);
    EXPECT_NE(row->find("--p---"), std::string::npos) << *row;
    // Paused: once what was in flight has arrived (no new output for 3 tick periods), no output
    // comes for 6 more. Nothing happening is a wait for the event that must not come, with a deadline.
    auto size = [&] { return read_file(console.out_path).size(); };
    size_t settled = 0;
    ASSERT_TRUE(eventually([&] {
        settled = size();
        return !eventually([&] { return size() != settled; }, 150ms);
    }, 5s));
    EXPECT_FALSE(eventually([&] { return size() != settled; }, 300ms)) << "output while paused";
    ASSERT_EQ(run({ "unpause", "t" }).rc, 0);
    size_t seen = ticks(read_file(console.out_path));
    EXPECT_TRUE(eventually([&] { return ticks(read_file(console.out_path)) >= seen + 2; }));
    EXPECT_EQ(run({ "destroy", "t" }).rc, 0);
    ASSERT_TRUE(wait_exit(console, 10s));
    EXPECT_EQ(*console.exit_code, 0);
}

TEST_F(CliCommands, DestroyEndsTheDomainAndItsConsole)
{
    ASSERT_EQ(run({ "create", ticker("t") }).rc, 0);
    Background console = start({ "console", "t" }, "out");
    ASSERT_TRUE(eventually([&] { return ticks(read_file(console.out_path)) >= 1; }));
    auto r = run({ "destroy", "t" });
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_FALSE(list_row("t"));
    EXPECT_TRUE(processes("xkvm-vmm").empty()); // destroy returns once the VMM is gone
    ASSERT_TRUE(wait_exit(console, 10s));
    EXPECT_EQ(*console.exit_code, 0);
}

TEST_F(CliCommands, KillingOneVmmLeavesTheOtherDomainRunning)
{
    ASSERT_EQ(run({ "create", ticker("victim") }).rc, 0);
    ASSERT_EQ(run({ "create", ticker("survivor") }).rc, 0);
    auto vmms = processes("xkvm-vmm");
    ASSERT_EQ(vmms.size(), 2u);
    auto victim = vmm_of("victim");
    ASSERT_TRUE(victim);
    ASSERT_EQ(::kill(*victim, SIGKILL), 0);
    EXPECT_TRUE(eventually([&] { return !list_row("victim"); })) << "on_crash=destroy should remove it";
    auto row = list_row("survivor");
    ASSERT_TRUE(row);
    EXPECT_EQ(processes("xkvm-vmm").size(), 1u);
    Background console = start({ "console", "survivor" }, "out");
    size_t seen = 0;
    ASSERT_TRUE(eventually([&] { return (seen = ticks(read_file(console.out_path))) >= 1; }));
    EXPECT_TRUE(eventually([&] { return ticks(read_file(console.out_path)) >= seen + 2; })) << "survivor stopped";
}

// docs/misc/xenstore-paths.pandoc (~/control/feature-poweroff, ~/control/shutdown);
// tools/libs/light/libxl_domain.c, libxl_domain_shutdown writes "poweroff" there.
TEST_F(CliCommands, ShutdownThroughXenstore)
{
    std::string cfg = guest_config("pv", XKVM_GUEST_ELF("tsguest"), "cmdline = \"pvctl\"\n");
    ASSERT_EQ(run({ "create", cfg }).rc, 0);
    Background console = start({ "console", "pv" }, "out");
    ASSERT_TRUE(eventually([&] { return read_file(console.out_path).find("pv control ready") != std::string::npos; }))
        << read_file(console.out_path);
    EXPECT_EQ(run({ "xenstore-read", fmt::format("/local/domain/{}/control/feature-poweroff", *domid_of("pv")) }).out,
              "1\n");
    auto r = run({ "shutdown", "-w", "pv" });
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_FALSE(list_row("pv"));
    ASSERT_TRUE(wait_exit(console, 10s));
    EXPECT_NE(read_file(console.out_path).find("control/shutdown = poweroff"), std::string::npos);
}

// docs/misc/xenstore-paths.pandoc (~/memory/target and ~/memory/static-max in KiB,
// ~/cpu/$N/availability "online"/"offline"); tools/xl/xl_vcpu.c, main_vcpuset (vcpu-set n onlines
// the first n). The range message is xkvm's.
TEST_F(CliCommands, GuestResourcesInXenstoreAndVcpuSet)
{
    ASSERT_EQ(run({ "create", "-p", ticker("t", "memory = 48\nmaxmem = 64\nvcpus = 2\nmaxvcpus = 4\n") }).rc, 0);
    std::string home = fmt::format("/local/domain/{}", *domid_of("t"));
    auto read = [&](const std::string& rel) { return run({ "xenstore-read", home + "/" + rel }).out; };
    EXPECT_EQ(read("memory/target"), std::to_string(48 * 1024) + "\n");
    EXPECT_EQ(read("memory/static-max"), std::to_string(64 * 1024) + "\n");
    for (int v = 0; v < 4; ++v)
        EXPECT_EQ(read(fmt::format("cpu/{}/availability", v)), v < 2 ? "online\n" : "offline\n") << v;
    ASSERT_EQ(run({ "vcpu-set", "t", "3" }).rc, 0);
    EXPECT_EQ(read("cpu/2/availability"), "online\n");
    EXPECT_EQ(read("cpu/3/availability"), "offline\n");
    ASSERT_EQ(run({ "vcpu-set", "t", "1" }).rc, 0);
    EXPECT_EQ(read("cpu/1/availability"), "offline\n");
    // Outside 1..maxvcpus, or not a number: an error naming the limit, nothing changed.
    auto bad = run({ "vcpu-set", "t", "5" });
    EXPECT_NE(bad.rc, 0);
    EXPECT_NE(bad.err.find("1 to 4"), std::string::npos) << bad.err;
    EXPECT_NE(run({ "vcpu-set", "t", "two" }).rc, 0);
    EXPECT_EQ(read("cpu/0/availability"), "online\n");
}

// docs/misc/xenstore-paths.pandoc (~/control/feature-reboot); docs/man/xl.cfg.5.pod.in (on_reboot
// defaults to restart).
TEST_F(CliCommands, RebootThroughXenstoreRestarts)
{
    std::string cfg = guest_config("pv", XKVM_GUEST_ELF("tsguest"), "cmdline = \"pvctl\"\n");
    ASSERT_EQ(run({ "create", cfg }).rc, 0);
    auto first = domid_of("pv");
    ASSERT_TRUE(eventually([&] {
        auto v = run({ "xenstore-read", fmt::format("/local/domain/{}/control/feature-reboot", *first) });
        return v.out == "1\n";
    }));
    ASSERT_EQ(run({ "reboot", "pv" }).rc, 0);
    std::optional<uint32_t> now;
    EXPECT_TRUE(eventually([&] { return (now = domid_of("pv")) && *now != *first; }));
}

// DIFF(pv_control_needs_feature): libxl 4.19 writes control/shutdown to any PVH guest and returns
// (tools/libs/light/libxl_domain.c, libxl__domain_pvcontrol_available); xkvm refuses when the guest
// never offered the feature, and -F ends the domain instead of pressing an ACPI button
// (tools/xl/xl_vmcontrol.c, shutdown_domain).
TEST_F(CliCommands, ShutdownWithoutPvControlSaysSoAndForceWorks)
{
    ASSERT_EQ(run({ "create", ticker("t") }).rc, 0);
    auto r = run({ "shutdown", "t" });
    EXPECT_NE(r.rc, 0);
    EXPECT_NE(r.err.find("does not support PV poweroff control"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("-F"), std::string::npos);
    auto forced = run({ "shutdown", "-F", "-w", "t" });
    EXPECT_EQ(forced.rc, 0) << forced.err;
    EXPECT_FALSE(list_row("t"));
}

TEST_F(CliCommands, DaemonStartsOnDemandAndLeavesWhenIdle)
{
    ::setenv("XKVM_DAEMON_IDLE_MS", "300", 1);
    EXPECT_FALSE(daemon_pid());
    auto r = run({ "list" });
    ASSERT_EQ(r.rc, 0) << r.err;
    auto pid = daemon_pid();
    ASSERT_TRUE(pid) << "no daemon after the first command";
    // One daemon per rundir: a second command uses the same one.
    ASSERT_EQ(run({ "list" }).rc, 0);
    EXPECT_EQ(daemon_pid(), pid);
    EXPECT_TRUE(eventually([&] { return !daemon_pid(); }, 10s)) << "the daemon did not exit when idle";
    EXPECT_FALSE(std::filesystem::exists(m_rundir + "/xkvmd.sock"));
    // And comes back when needed.
    EXPECT_EQ(run({ "list" }).rc, 0);
    EXPECT_TRUE(daemon_pid());
}

TEST_F(CliCommands, DaemonStaysWhileDomainsRun)
{
    ::setenv("XKVM_DAEMON_IDLE_MS", "100", 1);
    ASSERT_EQ(run({ "create", "-p", ticker("t") }).rc, 0);
    auto pid = daemon_pid();
    ASSERT_TRUE(pid);
    // Four idle periods pass without the daemon leaving.
    EXPECT_FALSE(eventually([&] { return daemon_pid() != pid; }, 400ms));
    ASSERT_EQ(run({ "destroy", "t" }).rc, 0);
    EXPECT_TRUE(eventually([&] { return !daemon_pid(); }, 10s));
}

// Xen 4.19: tools/xl/xl_info.c, print_uptime ("%-33s %4s %s" header, one row per domain).
TEST_F(CliCommands, UptimeListsDomains)
{
    ASSERT_EQ(run({ "create", "-p", ticker("t") }).rc, 0);
    auto r = run({ "uptime" });
    ASSERT_EQ(r.rc, 0);
    EXPECT_EQ(r.out.rfind(fmt::format("{:<33} {:>4} {}\n", "Name", "ID", "Uptime"), 0), 0u) << r.out;
    EXPECT_TRUE(std::regex_search(r.out, std::regex("\nt {32} +1 +0:00:0\\d\n"))) << r.out;
}

} // namespace
} // namespace xkvm::testing
