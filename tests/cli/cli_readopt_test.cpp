// Issue 11: a daemon crash is not a domain crash. xkvmd is killed with SIGKILL while guests run; they
// keep running (their consoles keep streaming, interdomain events keep flowing: they never went
// through the daemon), and the next `xkvm` command starts a daemon that takes them back under the
// same ids and names: list, pause, unpause, PV shutdown through xenstore and destroy work on them.
// XKVM-OWN: the daemon and its restart are xkvm's own (xl has no daemon).
#include <signal.h>

#include <fmt/ranges.h>

#include "cli_harness.h"
#include "xkvm/guest_paths.h"

namespace xkvm::testing {
namespace {

class CliReadopt : public CliTest {
protected:
    // SIGKILLs the daemon and waits until it is gone; returns its pid.
    pid_t kill_daemon()
    {
        auto pid = daemon_pid();
        EXPECT_TRUE(pid);
        if (!pid)
            return -1;
        EXPECT_EQ(::kill(*pid, SIGKILL), 0);
        EXPECT_TRUE(eventually([&] { return !daemon_pid(); }, 10s));
        return *pid;
    }

    static size_t ticks(const std::string& out)
    {
        size_t n = 0;
        for (size_t at = out.find("tick "); at != std::string::npos; at = out.find("tick ", at + 1))
            ++n;
        return n;
    }

};

TEST_F(CliReadopt, ASigkilledDaemonLeavesTheGuestRunningAndTheNextOneTakesItBack)
{
    ASSERT_EQ(run({ "create", guest_config("g", XKVM_GUEST_ELF("tsguest"), "cmdline = \"ticker\"\n") }).rc, 0);
    auto domid = domid_of("g");
    ASSERT_TRUE(domid);
    Background console = attach("g", "g.out");
    ASSERT_TRUE(eventually([&] { return ticks(read_file(console.out_path)) >= 3; })) << read_file(console.out_path);
    auto vmm = vmm_of("g");
    ASSERT_TRUE(vmm);

    pid_t old_daemon = kill_daemon();
    // The guest goes on without a daemon: its VMM lives and the console keeps streaming ticks.
    size_t at_kill = ticks(read_file(console.out_path));
    EXPECT_TRUE(eventually([&] { return ticks(read_file(console.out_path)) >= at_kill + 5; }))
        << read_file(console.out_path);
    EXPECT_TRUE(process_alive(*vmm));
    EXPECT_FALSE(wait_exit(console, 0ms)) << "the console ended with the daemon";

    // The next command starts a daemon, which takes the domain back under its id and name.
    auto row = list_row("g");
    ASSERT_TRUE(row) << run({ "list" }).out;
    EXPECT_EQ(domid_of("g"), domid);
    auto new_daemon = daemon_pid();
    ASSERT_TRUE(new_daemon);
    EXPECT_NE(*new_daemon, old_daemon);
    EXPECT_EQ(vmm_of("g"), vmm);

    ASSERT_EQ(run({ "pause", "g" }).rc, 0);
    EXPECT_TRUE(eventually([&] { return (row = list_row("g")) && row->find("--p---") != std::string::npos; }))
        << row.value_or("(not listed)");
    ASSERT_EQ(run({ "unpause", "g" }).rc, 0);
    size_t after_unpause = ticks(read_file(console.out_path));
    EXPECT_TRUE(eventually([&] { return ticks(read_file(console.out_path)) >= after_unpause + 3; }));

    // A new domain gets an id of its own.
    ASSERT_EQ(run({ "create", "-p", guest_config("h", XKVM_GUEST_ELF("tsguest"), "cmdline = \"ticker\"\n") }).rc, 0);
    auto other = domid_of("h");
    ASSERT_TRUE(other);
    EXPECT_GT(*other, *domid);

    for (const char* name : { "g", "h" }) {
        auto r = run({ "destroy", name });
        EXPECT_EQ(r.rc, 0) << r.err;
    }
    EXPECT_TRUE(wait_exit(console, 10s)) << "the console did not end with the domain";
    EXPECT_TRUE(eventually([&] { return !process_alive(*vmm); }, 10s));
    EXPECT_TRUE(processes("xkvm-vmm").empty());
    EXPECT_TRUE(domain_dirs().empty()) << fmt::format("{}", fmt::join(domain_dirs(), " "));
    EXPECT_FALSE(std::filesystem::exists(m_rundir + "/domains")) << "a record outlived its domain";
    EXPECT_FALSE(list_row("g"));
}

TEST_F(CliReadopt, TheGuestsXenstoreSessionOutlivesTheDaemonSoPvShutdownStillWorks)
{
    // pvctl writes control/feature-poweroff and watches control/shutdown: both live in the daemon's
    // store, which dies with it. Its VMM gives them back to the next daemon.
    ASSERT_EQ(run({ "create", guest_config("g", XKVM_GUEST_ELF("tsguest"), "cmdline = \"pvctl\"\n") }).rc, 0);
    Background console = attach("g", "g.out");
    ASSERT_TRUE(eventually([&] { return read_file(console.out_path).find("pv control ready") != std::string::npos; }))
        << read_file(console.out_path);
    kill_daemon();
    ASSERT_TRUE(list_row("g"));
    auto feature = run({ "xenstore-read", fmt::format("/local/domain/{}/control/feature-poweroff", *domid_of("g")) });
    EXPECT_EQ(feature.rc, 0) << feature.err;
    auto r = run({ "shutdown", "g" });
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(r.out.find("forced"), std::string::npos) << r.out;
    ASSERT_TRUE(wait_exit(console, 20s)) << read_file(console.out_path);
    EXPECT_NE(read_file(console.out_path).find("control/shutdown = poweroff"), std::string::npos)
        << read_file(console.out_path);
    EXPECT_TRUE(eventually([&] { return !list_row("g"); }));
    // The domain leaves the list when the daemon hears of its shutdown; its directory goes with its
    // VMM, a moment later.
    EXPECT_TRUE(eventually([&] { return domain_dirs().empty(); })) << fmt::format("{}", fmt::join(domain_dirs(), " "));
}

TEST_F(CliReadopt, AVmmThatDiedWhileTheDaemonWasDownIsACrash)
{
    ASSERT_EQ(run({ "create", guest_config("g", XKVM_GUEST_ELF("tsguest"), "cmdline = \"ticker\"\n") }).rc, 0);
    auto vmm = vmm_of("g");
    ASSERT_TRUE(vmm);
    kill_daemon();
    ASSERT_EQ(::kill(*vmm, SIGKILL), 0);
    EXPECT_TRUE(eventually([&] { return !process_alive(*vmm); }));
    // on_crash defaults to destroy: the next daemon finds the VMM gone and ends the domain.
    auto listed = run({ "list" });
    EXPECT_EQ(listed.rc, 0);
    EXPECT_EQ(listed.out.find("g "), std::string::npos) << listed.out;
    EXPECT_TRUE(domain_dirs().empty()) << fmt::format("{}", fmt::join(domain_dirs(), " "));
    EXPECT_FALSE(std::filesystem::exists(m_rundir + "/domains")) << "a record outlived its domain";
    EXPECT_NE(read_file(m_rundir + "/xkvmd.log").find("handled as a crash"), std::string::npos);
}

TEST_F(CliReadopt, InterdomainEventsFlowAcrossADaemonRestart)
{
    // After the bind (brokered by the daemon) events go VMM to VMM: the exchange goes on while no
    // daemon runs, and ends with every event counted.
    constexpr unsigned long kRoundTrips = 50000;
    for (const char* role : { "a", "b" }) {
        std::string name = std::string("id") + role;
        auto cfg = guest_config(name, XKVM_GUEST_ELF("interdomain"),
                                fmt::format("cmdline = \"role={} lanes=1 count={}\"\n", role, kRoundTrips));
        ASSERT_EQ(run({ "create", "-p", cfg }).rc, 0);
    }
    auto a = domid_of("ida"), b = domid_of("idb");
    ASSERT_TRUE(a && b);
    for (auto [self, peer] : { std::pair(*a, *b), std::pair(*b, *a) })
        ASSERT_EQ(run({ "xenstore-write", fmt::format("/local/domain/{}/data/peer", self), std::to_string(peer) }).rc, 0);
    Background ca = attach("ida", "a.out"), cb = attach("idb", "b.out");
    for (const char* name : { "ida", "idb" })
        ASSERT_EQ(run({ "unpause", name }).rc, 0);
    ASSERT_TRUE(eventually([&] { return read_file(cb.out_path).find("PASS: rendezvous") != std::string::npos; }, 30s))
        << read_file(cb.out_path);
    kill_daemon();
    EXPECT_EQ(read_file(cb.out_path).find("events received"), std::string::npos)
        << "the exchange ended before the daemon was killed; raise kRoundTrips";
    ASSERT_TRUE(list_row("ida")); // a new daemon, to act on the poweroffs
    ASSERT_TRUE(wait_exit(ca, 120s)) << read_file(ca.out_path);
    ASSERT_TRUE(wait_exit(cb, 120s)) << read_file(cb.out_path);
    for (const auto& out : { read_file(ca.out_path), read_file(cb.out_path) }) {
        EXPECT_NE(out.find(fmt::format("events received {}\n", kRoundTrips)), std::string::npos) << out;
        EXPECT_NE(out.find("RESULT: PASS"), std::string::npos) << out;
    }
    EXPECT_TRUE(eventually([&] { return !list_row("ida") && !list_row("idb"); }));
}

} // namespace
} // namespace xkvm::testing
