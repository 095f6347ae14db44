// vcpu-list / list -n formatting and vcpu-pin argument handling, as xl does them.
#include "toolstack/plan/affinity_view.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "toolstack/plan/plan_test_support.h"

using namespace xkvm;
using namespace xkvm::plan;
using namespace xkvm::plan::test;
using numa::CpuSet;
using numa::NodeSet;
using ::testing::HasSubstr;

namespace {

std::string pad(const std::string& s, size_t width) { return s + std::string(width - s.size(), ' '); }

} // namespace

// ---- vcpu-list ----

TEST(plan_affinity_view, VcpuListHeaderHasXlsColumns)
{
    EXPECT_EQ(vcpu_list_header(),
              pad("Name", 32) + "    ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)\n");
}

TEST(plan_affinity_view, VcpuListRows)
{
    const numa::Topology topo = fixture_topology(2, 4);
    VcpuListEntry e;
    e.domain = "web01";
    e.domid = 3;
    e.vcpu = 1;
    e.cpu = 6;
    e.running = true;
    e.time_s = 12.34;
    e.hard = CpuSet::range(0, 7);
    e.soft = CpuSet::range(4, 7);
    EXPECT_EQ(format_vcpu_list_row(topo, e), pad("web01", 32) + "     3     1    6   r--      12.3  all / 4-7\n");

    e.running = false;
    e.blocked = true;
    e.hard = CpuSet { 1, 3 };
    e.soft = CpuSet {};
    EXPECT_EQ(format_vcpu_list_row(topo, e), pad("web01", 32) + "     3     1    6   -b-      12.3  1,3 / none\n");

    e.online = false;
    EXPECT_EQ(format_vcpu_list_row(topo, e), pad("web01", 32) + "     3     1    -   --p      12.3  1,3 / none\n");

    const std::string table = format_vcpu_list(topo, { e, e });
    EXPECT_EQ(table, vcpu_list_header() + format_vcpu_list_row(topo, e) + format_vcpu_list_row(topo, e));
}

// ---- list -n ----

TEST(plan_affinity_view, DomainListWithAndWithoutNodeAffinity)
{
    const numa::Topology topo = fixture_topology(4, 2);
    EXPECT_EQ(domain_list_header(false), "Name                                        ID   Mem VCPUs\tState\tTime(s)\n");
    EXPECT_EQ(domain_list_header(true),
              "Name                                        ID   Mem VCPUs\tState\tTime(s) NODE Affinity\n");

    DomainListEntry e;
    e.name = "db01";
    e.domid = 12;
    e.memory_mib = 16384;
    e.vcpus_online = 4;
    e.blocked = true;
    e.time_s = 3.31;
    e.node_affinity = NodeSet { 1, 2 };
    const std::string lead = pad("db01", 40) + "    12 16384     4     -b----       3.3";
    EXPECT_EQ(format_domain_list_row(topo, e, false), lead + "\n");
    EXPECT_EQ(format_domain_list_row(topo, e, true), lead + " 1-2\n");

    e.node_affinity = NodeSet { 0, 1, 2, 3 };
    EXPECT_THAT(format_domain_list_row(topo, e, true), ::testing::EndsWith(" all\n"));

    // Shut down: 's' and the reason letter (crash = 3 -> 'c'); unknown reasons print '?'.
    e.blocked = false;
    e.paused = true;
    e.shutdown_reason = 3;
    EXPECT_THAT(format_domain_list_row(topo, e, false), HasSubstr("     --psc-  "));
    e.shutdown_reason = 0;
    EXPECT_THAT(format_domain_list_row(topo, e, false), HasSubstr("     --ps--  "));
    e.shutdown_reason = 9;
    e.dying = true;
    EXPECT_THAT(format_domain_list_row(topo, e, false), HasSubstr("     --ps?d  "));

    EXPECT_EQ(format_domain_list(topo, { e }, true), domain_list_header(true) + format_domain_list_row(topo, e, true));
}

// ---- vcpu-pin ----

TEST(plan_affinity_view, ParsesVcpuPinArguments)
{
    auto all = parse_vcpu_pin_args("all", "0-3", "4-7");
    ASSERT_TRUE(all) << all.error().message;
    EXPECT_FALSE(all->vcpu.has_value());
    ASSERT_TRUE(all->hard && all->soft);
    EXPECT_EQ(numa::format_cpuset_spec(*all->hard), "0-3");

    auto keep_hard = parse_vcpu_pin_args("2", "-", "node:1");
    ASSERT_TRUE(keep_hard) << keep_hard.error().message;
    EXPECT_EQ(keep_hard->vcpu, 2u);
    EXPECT_FALSE(keep_hard->hard.has_value());
    ASSERT_TRUE(keep_hard->soft.has_value());

    auto hard_only = parse_vcpu_pin_args("0", "^1,all");
    ASSERT_TRUE(hard_only) << hard_only.error().message;
    EXPECT_FALSE(hard_only->soft.has_value());
}

TEST(plan_affinity_view, RejectsBadVcpuPinArguments)
{
    for (const char* vcpu : { "", "x", "-1", "3abc", "1.5", "99999999999" }) {
        auto r = parse_vcpu_pin_args(vcpu, "0");
        ASSERT_FALSE(r) << vcpu;
        EXPECT_THAT(r.error().message, HasSubstr("invalid vCPU")) << vcpu;
    }
    auto nothing = parse_vcpu_pin_args("0", "-", "-");
    ASSERT_FALSE(nothing);
    EXPECT_THAT(nothing.error().message, HasSubstr("nothing to change"));

    auto bad_set = parse_vcpu_pin_args("0", "0-3,^", std::nullopt);
    ASSERT_FALSE(bad_set);
    EXPECT_THAT(bad_set.error().message, HasSubstr("vcpu-pin: hard affinity: invalid CPU list"));

    auto bad_soft = parse_vcpu_pin_args("0", "1", "^all");
    ASSERT_FALSE(bad_soft);
    EXPECT_THAT(bad_soft.error().message, HasSubstr("soft affinity"));
}

TEST(plan_affinity_view, AppliesVcpuPinToOneOrAllVcpus)
{
    const numa::Topology topo = fixture_topology(2, 4);
    const std::vector<VcpuAffinity> current(3, VcpuAffinity { topo.online_cpus(), topo.online_cpus() });

    auto one = vcpu_pin(topo, current, "1", "node:1");
    ASSERT_TRUE(one) << one.error().message;
    EXPECT_EQ(one->changed, std::vector<uint32_t> { 1 });
    EXPECT_EQ(one->affinity[0], current[0]);
    EXPECT_EQ(one->affinity[1].hard, CpuSet::range(4, 7));
    EXPECT_EQ(one->affinity[1].soft, topo.online_cpus()) << "soft not given: unchanged";
    ASSERT_EQ(one->threads.size(), 1u);
    EXPECT_EQ(one->threads[0], CpuSet::range(4, 7));
    EXPECT_EQ(one->derived_nodes, (NodeSet { 0, 1 })) << "vCPUs 0 and 2 still run anywhere";
    EXPECT_TRUE(one->warnings.empty());

    auto all = vcpu_pin(topo, current, "all", "-", "0-1");
    ASSERT_TRUE(all) << all.error().message;
    EXPECT_EQ(all->changed, (std::vector<uint32_t> { 0, 1, 2 }));
    ASSERT_EQ(all->affinity.size(), 3u);
    ASSERT_EQ(all->threads.size(), 3u);
    for (const auto& a : all->affinity) {
        EXPECT_EQ(a.hard, topo.online_cpus()) << "'-' keeps hard affinity";
        EXPECT_EQ(a.soft, (CpuSet { 0, 1 }));
    }
    for (const auto& t : all->threads)
        EXPECT_EQ(t, (CpuSet { 0, 1 }));
    EXPECT_EQ(all->derived_nodes, NodeSet { 0 }) << "narrowed to the soft affinity's node";
}

TEST(plan_affinity_view, VcpuPinWarnsWhenSoftMissesHard)
{
    const numa::Topology topo = fixture_topology(2, 4);
    const std::vector<VcpuAffinity> current(1, VcpuAffinity { topo.online_cpus(), topo.online_cpus() });
    auto apart = vcpu_pin(topo, current, "0", "0", "4-7");
    ASSERT_TRUE(apart) << apart.error().message;
    EXPECT_EQ(apart->threads[0], CpuSet { 0 }) << "hard always wins";
    ASSERT_EQ(apart->warnings.size(), 1u);
    EXPECT_THAT(apart->warnings[0], HasSubstr("soft affinity 4-7 does not meet hard affinity 0"));

    auto empty_soft = vcpu_pin(topo, current, "0", "1", "0,^0");
    ASSERT_TRUE(empty_soft) << empty_soft.error().message;
    EXPECT_EQ(empty_soft->threads[0], CpuSet { 1 });
    ASSERT_EQ(empty_soft->warnings.size(), 1u);
    EXPECT_THAT(empty_soft->warnings[0], HasSubstr("soft affinity is empty"));
}

TEST(plan_affinity_view, VcpuPinErrorsNameWhatIsWrong)
{
    const numa::Topology topo = fixture_topology(2, 4);
    const std::vector<VcpuAffinity> current(2, VcpuAffinity { topo.online_cpus(), topo.online_cpus() });

    auto no_vcpu = vcpu_pin(topo, current, "2", "0");
    ASSERT_FALSE(no_vcpu);
    EXPECT_EQ(no_vcpu.error().message, "vcpu-pin: the domain has no vCPU 2 (its vCPUs are 0-1)");

    auto offline = vcpu_pin(topo, current, "0", "6-9");
    ASSERT_FALSE(offline);
    EXPECT_THAT(offline.error().message, HasSubstr("CPUs 8-9 are not online on this host"));

    auto no_node = vcpu_pin(topo, current, "0", "nodes:2");
    ASSERT_FALSE(no_node);
    EXPECT_THAT(no_node.error().message, HasSubstr("NUMA node 2 does not exist"));

    auto empty = vcpu_pin(topo, current, "all", "3,^3");
    ASSERT_FALSE(empty);
    EXPECT_THAT(empty.error().message, HasSubstr("leaves no CPU to run on"));

    auto none = apply_vcpu_pin(topo, VcpuPinRequest { 0, config::CpuSetSpec {}, std::nullopt }, {});
    ASSERT_FALSE(none);
    EXPECT_THAT(none.error().message, HasSubstr("no vCPUs"));
}
