// Issue 11: per-domain CPU control. Each domain's VMM runs in a CPU cgroup of its own carrying the
// config's cpu_weight and cap; `xl sched-credit` shows and changes them (xl's table, libxl's ranges);
// a capped domain that spins uses no more host CPU than its cap; a re-adopting daemon finds the
// groups again; nothing is left in the cgroup tree. Where the host has no CPU cgroup the tests that
// need one skip (the harness still checks that nothing is left behind).
// XKVM-OWN: how the credit scheduler's parameters map onto the host's scheduler is xkvm's own.
#include <signal.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "cli_harness.h"
#include "xkvm/guest_paths.h"

namespace xkvm::testing {
namespace {

class CliCpuControl : public CliTest {
protected:
    std::string ticker(const std::string& name, const std::string& extra)
    {
        return guest_config(name, XKVM_GUEST_ELF("tsguest"), "cmdline = \"ticker\"\n" + extra);
    }
    // The `cpu` object of the domain's `list -l` entry.
    nlohmann::json cpu_of(const std::string& name)
    {
        auto r = run({ "list", "-l", name });
        EXPECT_EQ(r.rc, 0) << r.err;
        auto j = nlohmann::json::parse(r.out, nullptr, false);
        if (!j.is_array() || j.empty() || !j[0].contains("cpu"))
            return {};
        return j[0]["cpu"];
    }
    // The domain's cgroup directory, or empty (and the test skipped) without one.
    std::string group_of(const std::string& name)
    {
        auto cpu = cpu_of(name);
        std::string mech = cpu.value("mechanism", "");
        if (mech != "cgroup1" && mech != "cgroup2")
            return {};
        return cpu.value("group", "");
    }
    static std::string file(const std::string& path)
    {
        std::ifstream in(path);
        std::string s;
        std::getline(in, s);
        return s;
    }
    static size_t ticks(const std::string& text)
    {
        size_t n = 0;
        for (size_t p = 0; (p = text.find("tick ", p)) != std::string::npos; ++p)
            ++n;
        return n;
    }
};

TEST_F(CliCpuControl, SchedCreditShowsAndChangesWeightAndCapWithXlsTableAndRanges)
{
    ASSERT_EQ(run({ "create", "-p", ticker("w", "cpu_weight = 512\ncap = 50\n") }).rc, 0);
    auto domid = domid_of("w");
    ASSERT_TRUE(domid);
    // DIFF(sched_credit_on_host_groups): no Cpupool line; Domain-0 is xkvmd's group, weight 4096.
    auto all = run({ "sched-credit" });
    ASSERT_EQ(all.rc, 0) << all.err;
    EXPECT_EQ(all.out, fmt::format("Name                                ID Weight  Cap\n"
                                   "Domain-0                             0   4096    0\n"
                                   "w                                 {:>4}    512   50\n",
                                   *domid));

    auto set = run({ "sched-credit", "-d", "w", "-w", "128", "-c", "30" }, 20s, "xl");
    EXPECT_EQ(set.rc, 0) << set.err;
    EXPECT_EQ(set.out, "");
    auto one = run({ "sched-credit", "-d", "w" });
    EXPECT_EQ(one.out, fmt::format("Name                                ID Weight  Cap\n"
                                   "w                                 {:>4}    128   30\n",
                                   *domid));

    struct Bad {
        std::vector<std::string> args;
        std::string says;
    };
    for (const Bad& b : std::vector<Bad> {
             { { "-d", "w", "-w", "0" }, "weight must be between 1 and 65535, not 0" },
             { { "-d", "w", "-w", "65536" }, "between 1 and 65535, not 65536" },
             { { "-d", "w", "-c", "101" }, "cap of domain 'w' must be between 0 and 100 (100 per vCPU), not 101" },
             { { "-d", "w", "-w", "-5" }, "'-5' is not a weight" },
             { { "-d", "w", "-c", "ten" }, "'ten' is not a cap" },
             { { "-w", "300" }, "-w and -c need a domain (-d)" },
             { { "-d", "nosuch" }, "nosuch" } }) {
        std::vector<std::string> args { "sched-credit" };
        args.insert(args.end(), b.args.begin(), b.args.end());
        auto r = run(args);
        EXPECT_NE(r.rc, 0) << b.says;
        EXPECT_NE(r.err.find(b.says), std::string::npos) << r.err;
    }
    EXPECT_NE(run({ "sched-credit", "-d", "w" }).out.find("   128   30\n"), std::string::npos) << "refusals change nothing";

    std::string group = group_of("w");
    if (group.empty())
        GTEST_SKIP() << "no CPU cgroup on this host: " << cpu_of("w").dump();
    auto vmm = vmm_of("w");
    ASSERT_TRUE(vmm);
    EXPECT_EQ(file(group + "/cgroup.procs"), std::to_string(*vmm));
    if (cpu_of("w")["mechanism"] == "cgroup1") {
        EXPECT_EQ(file(group + "/cpu.shares"), "512"); // weight 128 = half the default 1024
        EXPECT_EQ(file(group + "/cpu.cfs_quota_us"), "30000");
    } else {
        EXPECT_EQ(file(group + "/cpu.weight"), "50");
        EXPECT_EQ(file(group + "/cpu.max"), "30000 100000");
    }
    ASSERT_EQ(run({ "destroy", "w" }).rc, 0);
    EXPECT_TRUE(eventually([&] { return !std::filesystem::exists(group); }, 10s)) << group;
}

// A domain that spins (the ticker busy-waits between ticks) capped at 20 % of one CPU uses no more
// than that, plus 8 points for the accounting's 10 ms ticks and the VMM's own threads, over the
// time the guest takes to print 30 ticks (about 1.5 s of guest time); the group's throttle count
// shows that the cap, not the host's load, held it back.
TEST_F(CliCpuControl, ACappedDomainUsesNoMoreThanItsCap)
{
    constexpr double kCap = 0.20, kTolerance = 0.08;
    ASSERT_EQ(run({ "create", ticker("spin", "cap = 20\n") }).rc, 0);
    std::string group = group_of("spin");
    if (group.empty())
        GTEST_SKIP() << "no CPU cgroup on this host: " << cpu_of("spin").dump();
    Background console = attach("spin", "spin.out");
    auto vmm = vmm_of("spin");
    ASSERT_TRUE(vmm);
    ASSERT_TRUE(eventually([&] { return ticks(read_file(console.out_path)) >= 2; }, 20s));

    auto throttled = [&] {
        std::ifstream in(group + "/cpu.stat");
        for (std::string key, value; in >> key >> value;)
            if (key == "nr_throttled")
                return std::stoul(value);
        return 0ul;
    };
    size_t from = ticks(read_file(console.out_path));
    unsigned long throttled_before = throttled();
    double cpu_before = process_cpu_seconds(*vmm);
    auto wall_before = std::chrono::steady_clock::now();
    ASSERT_TRUE(eventually([&] { return ticks(read_file(console.out_path)) >= from + 30; }, 30s));
    double cpu = process_cpu_seconds(*vmm) - cpu_before;
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_before).count();
    double share = cpu / wall;
    RecordProperty("capped_cpu_share_pct", static_cast<int>(share * 100));
    std::printf("capped at 20%%: %.2f s of CPU in %.2f s (%.1f %%), throttled %lu times\n", cpu, wall, share * 100,
                throttled() - throttled_before);
    EXPECT_LE(share, kCap + kTolerance);
    EXPECT_GT(throttled(), throttled_before) << "the cap did not throttle the domain";
}

// A daemon killed under a capped domain: the next one finds the group again (same place, same
// VMM in it), sched-credit still works on it, and the group goes with the domain.
TEST_F(CliCpuControl, ARestartedDaemonFindsTheGroupsAgain)
{
    ASSERT_EQ(run({ "create", "-p", ticker("kept", "cpu_weight = 1024\n") }).rc, 0);
    std::string group = group_of("kept");
    if (group.empty())
        GTEST_SKIP() << "no CPU cgroup on this host: " << cpu_of("kept").dump();
    auto vmm = vmm_of("kept");
    ASSERT_TRUE(vmm);
    auto daemon = daemon_pid();
    ASSERT_TRUE(daemon);
    ASSERT_EQ(::kill(*daemon, SIGKILL), 0);
    ASSERT_TRUE(eventually([&] { return !daemon_pid(); }, 10s));

    EXPECT_EQ(group_of("kept"), group); // a new daemon, started by this command, re-adopted it
    EXPECT_NE(daemon_pid(), daemon);
    EXPECT_EQ(file(group + "/cgroup.procs"), std::to_string(*vmm));
    EXPECT_NE(run({ "sched-credit", "-d", "kept" }).out.find("   1024    0\n"), std::string::npos);
    ASSERT_EQ(run({ "sched-credit", "-d", "kept", "-c", "40" }).rc, 0);
    if (cpu_of("kept")["mechanism"] == "cgroup1") {
        EXPECT_EQ(file(group + "/cpu.cfs_quota_us"), "40000");
    }
    ASSERT_EQ(run({ "destroy", "kept" }).rc, 0);
    EXPECT_TRUE(eventually([&] { return !std::filesystem::exists(group); }, 10s)) << group;
}

} // namespace
} // namespace xkvm::testing
