#include "cpuctl/cpu_groups.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/testing/scratch_dir.h"

namespace xkvm::cpuctl {
namespace {

namespace fs = std::filesystem;

// A tree standing for "/": proc/self/{mounts,cgroup}, the autogroup switch and a cgroup mount
// whose control files are plain files. The kernel makes a cgroup's files vanish with it; here
// drop_control_files() does that before a group can be removed.
class Fixture {
public:
    Fixture() { fs::create_directories(m_dir.path / "proc/self"); }

    void put(const std::string& rel, const std::string& text)
    {
        fs::create_directories((m_dir.path / rel).parent_path());
        std::ofstream(m_dir.path / rel) << text;
    }
    std::string get(const std::string& rel) const
    {
        std::ifstream in(m_dir.path / rel);
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }
    bool exists(const std::string& rel) const { return fs::exists(m_dir.path / rel); }
    void drop_control_files(const std::string& rel)
    {
        for (auto& e : fs::directory_iterator(m_dir.path / rel))
            if (e.is_regular_file())
                fs::remove(e.path());
    }
    void autogroup(bool on) { put("proc/sys/kernel/sched_autogroup_enabled", on ? "1\n" : "0\n"); }
    // cgroup v1 as on this project's CI host: cpu on its own hierarchy, we in its root.
    void v1_host()
    {
        put("proc/self/mounts", "tmpfs /sys/fs/cgroup tmpfs rw 0 0\n"
                                "cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0\n"
                                "cgroup /sys/fs/cgroup/cpuacct cgroup rw,relatime,cpuacct 0 0\n"
                                "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0\n");
        put("proc/self/cgroup", "2:cpuacct:/\n1:cpu:/\n0::/\n");
        put("sys/fs/cgroup/cpu/cpu.shares", "1024\n");
        put("sys/fs/cgroup/unified/cgroup.controllers", "");
    }
    // A unified hierarchy with the cpu controller, we in `own`.
    void v2_host(const std::string& own)
    {
        put("proc/self/mounts", "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid 0 0\n");
        put("proc/self/cgroup", "0::" + own + "\n");
        put("sys/fs/cgroup" + (own == "/" ? "" : own) + "/cgroup.controllers", "cpuset cpu io memory pids\n");
    }
    std::string root() const { return m_dir.path.string(); }

private:
    testing::ScratchDir m_dir { "xkvm-cpuctl" };
};

TEST(CpuShareMapping, XlWeight256IsEachMechanismsDefaultAndTheRangeIsClamped)
{
    EXPECT_EQ(v1_shares(256), 1024u);
    EXPECT_EQ(v1_shares(512), 2048u);
    EXPECT_EQ(v1_shares(1), 4u);
    EXPECT_EQ(v1_shares(65535), 262140u);
    EXPECT_EQ(v2_weight(256), 100u);
    EXPECT_EQ(v2_weight(512), 200u);
    EXPECT_EQ(v2_weight(1), 1u);
    EXPECT_EQ(v2_weight(65535), 10000u);
}

TEST(CpuShareMapping, CapIsPercentOfOneCpuPerPeriodAndZeroIsNone)
{
    EXPECT_EQ(v1_quota_us(0), -1);
    EXPECT_EQ(v1_quota_us(20), 20000);
    EXPECT_EQ(v1_quota_us(250), 250000); // more than one CPU, for several vCPUs
    EXPECT_EQ(v2_max(0), "max 100000");
    EXPECT_EQ(v2_max(50), "50000 100000");
}

TEST(CpuShareMapping, InstanceNamesDependOnTheRundirOnly)
{
    EXPECT_EQ(instance_name("/run/xkvm"), instance_name("/run/xkvm"));
    EXPECT_NE(instance_name("/run/xkvm"), instance_name("/tmp/other"));
    EXPECT_EQ(instance_name("/run/xkvm").size(), 16u);
}

TEST(CpuGroups, CgroupV1GroupGetsSharesQuotaAndTheProcessAndGoesAway)
{
    Fixture f;
    f.v1_host();
    f.autogroup(true);
    auto g = CpuGroups::detect(f.root() + "/", "inst");
    ASSERT_EQ(g.mechanism(), Mechanism::CgroupV1) << g.why();
    EXPECT_EQ(g.group_dir(7), f.root() + "/sys/fs/cgroup/cpu/xkvm-inst-7");

    auto p = g.place(7, 4242, CpuShare { 512, 20 });
    EXPECT_EQ(p.mechanism, Mechanism::CgroupV1) << p.problem;
    EXPECT_EQ(p.problem, "");
    const std::string dir = "sys/fs/cgroup/cpu/xkvm-inst-7/";
    EXPECT_EQ(f.get(dir + "cpu.shares"), "2048");
    EXPECT_EQ(f.get(dir + "cpu.cfs_period_us"), "100000");
    EXPECT_EQ(f.get(dir + "cpu.cfs_quota_us"), "20000");
    EXPECT_EQ(f.get(dir + "cgroup.procs"), "4242");
    EXPECT_EQ(g.mechanism_of(7), Mechanism::CgroupV1);

    EXPECT_EQ(g.groups_present(), std::vector<uint32_t> { 7 });
    ASSERT_TRUE(g.set(7, 4242, CpuShare { 256, 0 }));
    EXPECT_EQ(f.get(dir + "cpu.shares"), "1024");
    EXPECT_EQ(f.get(dir + "cpu.cfs_quota_us"), "-1");

    f.drop_control_files(dir);
    g.remove(7);
    EXPECT_FALSE(f.exists(dir));
    EXPECT_TRUE(g.groups_present().empty());
    EXPECT_EQ(g.mechanism_of(7), Mechanism::None);
}

TEST(CpuGroups, CgroupV2EnablesTheControllerForTheDomainGroups)
{
    Fixture f;
    f.v2_host("/");
    auto g = CpuGroups::detect(f.root(), "inst");
    ASSERT_EQ(g.mechanism(), Mechanism::CgroupV2) << g.why();
    auto p = g.place(3, 99, CpuShare { 128, 150 });
    ASSERT_EQ(p.mechanism, Mechanism::CgroupV2) << p.problem;
    EXPECT_EQ(f.get("sys/fs/cgroup/cgroup.subtree_control"), "+cpu");
    EXPECT_EQ(f.get("sys/fs/cgroup/xkvm-inst-3/cpu.weight"), "50");
    EXPECT_EQ(f.get("sys/fs/cgroup/xkvm-inst-3/cpu.max"), "150000 100000");
    EXPECT_EQ(f.get("sys/fs/cgroup/xkvm-inst-3/cgroup.procs"), "99");
}

TEST(CpuGroups, CgroupV2GroupsGoBelowOurOwnCgroup)
{
    Fixture f;
    f.v2_host("/system.slice/xkvmd.service");
    auto g = CpuGroups::detect(f.root(), "inst");
    ASSERT_EQ(g.mechanism(), Mechanism::CgroupV2) << g.why();
    EXPECT_EQ(g.group_dir(1), f.root() + "/sys/fs/cgroup/system.slice/xkvmd.service/xkvm-inst-1");
}

TEST(CpuGroups, UnifiedHierarchyWithoutCpuFallsBackToV1)
{
    Fixture f;
    f.v1_host(); // cgroup2 is mounted too, without the cpu controller
    auto g = CpuGroups::detect(f.root(), "inst");
    EXPECT_EQ(g.mechanism(), Mechanism::CgroupV1) << g.why();
}

TEST(CpuGroups, WithoutCgroupsAutogroupsKeepDomainsApartAndSayWhatIsNotApplied)
{
    Fixture f;
    f.put("proc/self/mounts", "proc /proc proc rw 0 0\n");
    f.put("proc/self/cgroup", "0::/\n");
    f.autogroup(true);
    auto g = CpuGroups::detect(f.root(), "inst");
    EXPECT_EQ(g.mechanism(), Mechanism::Autogroup);
    EXPECT_NE(g.why().find("no cgroup"), std::string::npos) << g.why();
    EXPECT_EQ(g.group_dir(1), "");
    auto plain = g.place(1, 10, CpuShare {});
    EXPECT_EQ(plain.mechanism, Mechanism::Autogroup);
    auto capped = g.place(2, 11, CpuShare { 256, 20 });
    EXPECT_EQ(capped.mechanism, Mechanism::Autogroup);
    EXPECT_NE(capped.problem.find("cap 20 are not applied"), std::string::npos) << capped.problem;
    auto r = g.set(2, 11, CpuShare { 256, 20 });
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, EOPNOTSUPP);
    EXPECT_NE(r.error().message.find("autogroup"), std::string::npos) << r.error().message;
}

TEST(CpuGroups, NothingAtAllIsNone)
{
    Fixture f;
    f.put("proc/self/mounts", "");
    f.put("proc/self/cgroup", "");
    f.autogroup(false);
    auto g = CpuGroups::detect(f.root(), "inst");
    EXPECT_EQ(g.mechanism(), Mechanism::None);
    EXPECT_EQ(g.place(1, 10, CpuShare {}).mechanism, Mechanism::None);
}

TEST(CpuGroups, AGroupThatCannotBeMadeLeavesTheDomainToItsAutogroup)
{
    Fixture f;
    f.v1_host();
    f.autogroup(true);
    // A file where the group's directory would go: writing its control files fails.
    f.put("sys/fs/cgroup/cpu/xkvm-inst-5", "");
    auto g = CpuGroups::detect(f.root(), "inst");
    ASSERT_EQ(g.mechanism(), Mechanism::CgroupV1);
    auto p = g.place(5, 50, CpuShare {});
    EXPECT_EQ(p.mechanism, Mechanism::Autogroup);
    EXPECT_NE(p.problem.find("xkvm-inst-5"), std::string::npos) << p.problem;
    EXPECT_EQ(g.mechanism_of(5), Mechanism::Autogroup);
}

TEST(CpuGroups, UnusedGroupsOfACrashedDaemonAreRemovedAndUsedOnesKept)
{
    Fixture f;
    f.v1_host();
    auto g = CpuGroups::detect(f.root(), "inst");
    const std::string base = "sys/fs/cgroup/cpu/xkvm-inst-";
    f.put(base + "4/cgroup.procs", "");       // its VMM is gone
    f.put(base + "6/cgroup.procs", "1234\n"); // a VMM still runs there
    f.put(base + "6/cpu.shares", "1024\n");
    f.put("sys/fs/cgroup/cpu/xkvm-other-4/cgroup.procs", ""); // another daemon's
    f.drop_control_files(base + "4");
    f.drop_control_files("sys/fs/cgroup/cpu/xkvm-other-4");
    EXPECT_EQ(g.groups_present().size(), 2u);
    g.remove_unused();
    EXPECT_FALSE(f.exists(base + "4"));
    EXPECT_TRUE(f.exists(base + "6"));
    EXPECT_TRUE(f.exists("sys/fs/cgroup/cpu/xkvm-other-4"));
}

} // namespace
} // namespace xkvm::cpuctl
