// NUMA through plan_domain on the numa fixture topologies (1, 2, 4 and 8 nodes): which nodes guest RAM
// is bound to, and what each vCPU thread is pinned to.
#include "toolstack/plan/numa_plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "toolstack/plan/plan.h"
#include "toolstack/plan/plan_test_support.h"

using namespace xkvm;
using namespace xkvm::plan;
using namespace xkvm::plan::test;
using ::testing::HasSubstr;
using Cpus = std::vector<uint32_t>;
using Affinity = std::vector<std::vector<uint32_t>>;

namespace {

// Plans `extra` (vcpus=, memory=, cpus=, nodes=, ...) on a fixture host of `nodes` x 4 CPUs, 4 GiB each.
Result<DomainPlan> plan_on(uint32_t nodes, const std::string& extra, numa::VcpuLoad load = {})
{
    Scratch s;
    PlanContext ctx = context(s);
    ctx.topology = fixture_topology(nodes, 4, 4096);
    ctx.vcpu_load = std::move(load);
    return plan_domain(config_from(pvh_config(s, extra)), ctx);
}

Cpus range(uint32_t first, uint32_t last)
{
    Cpus out;
    for (uint32_t c = first; c <= last; ++c)
        out.push_back(c);
    return out;
}

} // namespace

TEST(plan_numa, OneNodeNeedsNothing)
{
    auto p = plan_on(1, "vcpus = 2\n");
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_TRUE(p->spec.memory_nodes.empty());
    EXPECT_TRUE(p->spec.vcpu_affinity.empty());
    EXPECT_EQ(p->placement.source, numa::NodeAffinitySource::FromAffinity);
    EXPECT_THAT(p->placement.reason, HasSubstr("single-node host"));
    EXPECT_TRUE(p->warnings.empty());
}

TEST(plan_numa, OneNodeExplicitNodesIsBound)
{
    auto p = plan_on(1, "nodes = [ 0 ]\n");
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->spec.memory_nodes, Cpus { 0 });
    EXPECT_EQ(p->placement.source, numa::NodeAffinitySource::Explicit);
    EXPECT_TRUE(p->spec.vcpu_affinity.empty()) << "nodes= leaves vCPU affinity alone";
}

TEST(plan_numa, TwoNodesAutomaticPlacementPicksTheLowestIdleNode)
{
    auto p = plan_on(2, "vcpus = 2\nmemory = 1024\n");
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->placement.source, numa::NodeAffinitySource::Automatic);
    EXPECT_EQ(p->spec.memory_nodes, Cpus { 0 });
    EXPECT_EQ(p->spec.vcpu_affinity, (Affinity { range(0, 3), range(0, 3) }));
}

TEST(plan_numa, TwoNodesAutomaticPlacementAvoidsBusyNodes)
{
    auto p = plan_on(2, "vcpus = 2\nmemory = 1024\n", { { 0, 4 } });
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->spec.memory_nodes, Cpus { 1 });
    EXPECT_EQ(p->spec.vcpu_affinity, (Affinity { range(4, 7), range(4, 7) }));
}

TEST(plan_numa, PlacementCoversEveryPossibleVcpu)
{
    // 2 online, 6 possible: placement sizes for all six threads, which need two 4-CPU nodes.
    auto p = plan_on(4, "vcpus = 2\nmaxvcpus = 6\n");
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->spec.memory_nodes, (Cpus { 0, 1 }));
    ASSERT_EQ(p->spec.vcpu_affinity.size(), 6u);
    for (const auto& a : p->spec.vcpu_affinity)
        EXPECT_EQ(a, range(0, 7));
}

TEST(plan_numa, EightNodesMemoryDecidesTheNodeCount)
{
    // 6000 MiB does not fit one 4 GiB node; nodes 0 and 1 carry other domains' vCPUs.
    auto p = plan_on(8, "memory = 6000\n", { { 0, 2 }, { 1, 2 } });
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->spec.memory_nodes, (Cpus { 2, 3 }));
    EXPECT_EQ(p->spec.vcpu_affinity, (Affinity { range(8, 15) }));
}

TEST(plan_numa, EightNodesPlacementSearchesInsideCpus)
{
    auto p = plan_on(8, "vcpus = 2\ncpus = \"node:5\"\n");
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->spec.memory_nodes, Cpus { 5 });
    EXPECT_EQ(p->spec.vcpu_affinity, (Affinity { range(20, 23), range(20, 23) }));
}

TEST(plan_numa, ExplicitNodesBindMemoryOnly)
{
    auto p = plan_on(2, "nodes = [ 1 ]\nvcpus = 2\n");
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->spec.memory_nodes, Cpus { 1 });
    EXPECT_EQ(p->placement.source, numa::NodeAffinitySource::Explicit);
    EXPECT_TRUE(p->spec.vcpu_affinity.empty());

    // Every node, given explicitly, is still bound (the user asked for it).
    auto all = plan_on(2, "nodes = [ 0, 1 ]\n");
    ASSERT_TRUE(all) << all.error().message;
    EXPECT_EQ(all->spec.memory_nodes, (Cpus { 0, 1 }));
}

TEST(plan_numa, ExplicitNodesWithTooLittleMemoryWarn)
{
    auto p = plan_on(2, "nodes = [ 1 ]\nmemory = 6000\n");
    ASSERT_TRUE(p) << p.error().message;
    ASSERT_EQ(p->warnings.size(), 1u);
    EXPECT_THAT(p->warnings[0], HasSubstr("nodes=1: 4096 MiB free there"));
}

TEST(plan_numa, HostLacksNodeOrCpu)
{
    auto node = plan_on(2, "nodes = [ 1, 3 ]\n");
    ASSERT_FALSE(node);
    EXPECT_THAT(node.error().message, HasSubstr("NUMA node 3 does not exist on this host (host nodes: 0-1)"));

    auto cpu = plan_on(2, "cpus = \"6-9\"\n");
    ASSERT_FALSE(cpu);
    EXPECT_THAT(cpu.error().message, HasSubstr("cpus: CPUs 8-9 are not online on this host (online CPUs: 0-7)"));

    auto soft = plan_on(4, "cpus_soft = \"nodes:4\"\n");
    ASSERT_FALSE(soft);
    EXPECT_THAT(soft.error().message, HasSubstr("cpus_soft:"));
    EXPECT_THAT(soft.error().message, HasSubstr("node 4"));
}

TEST(plan_numa, PerVcpuCpusDeriveTheNodeAffinity)
{
    // A per-vCPU list turns placement off; the node affinity follows the hard affinity.
    auto one = plan_on(2, "vcpus = 2\ncpus = [ \"2\", \"3\" ]\n");
    ASSERT_TRUE(one) << one.error().message;
    EXPECT_EQ(one->placement.source, numa::NodeAffinitySource::FromAffinity);
    EXPECT_EQ(one->spec.memory_nodes, Cpus { 0 });
    EXPECT_EQ(one->spec.vcpu_affinity, (Affinity { { 2 }, { 3 } }));
    EXPECT_TRUE(one->warnings.empty());

    auto both = plan_on(2, "vcpus = 2\ncpus = [ \"2\", \"5\" ]\n");
    ASSERT_TRUE(both) << both.error().message;
    EXPECT_TRUE(both->spec.memory_nodes.empty()) << "every node: nothing to restrict";
    EXPECT_EQ(both->spec.vcpu_affinity, (Affinity { { 2 }, { 5 } }));

    // vCPUs past the list may run anywhere.
    auto partial = plan_on(2, "vcpus = 3\ncpus = [ \"1\" ]\n");
    ASSERT_TRUE(partial) << partial.error().message;
    EXPECT_EQ(partial->spec.vcpu_affinity, (Affinity { { 1 }, {}, {} }));
}

TEST(plan_numa, ThreadsArePinnedToHardAndSoftWhereTheyMeet)
{
    auto p = plan_on(2, "vcpus = 2\ncpus = \"1-6\"\ncpus_soft = \"node:1\"\n");
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->spec.vcpu_affinity, (Affinity { range(4, 6), range(4, 6) }));
    EXPECT_EQ(p->spec.memory_nodes, Cpus { 1 });

    auto apart = plan_on(2, "cpus = \"0\"\ncpus_soft = \"node:1\"\n");
    ASSERT_TRUE(apart) << apart.error().message;
    EXPECT_EQ(apart->spec.vcpu_affinity, (Affinity { { 0 } }));
    ASSERT_EQ(apart->warnings.size(), 1u);
    EXPECT_THAT(apart->warnings[0], HasSubstr("vCPU 0: soft affinity 4-7 does not meet hard affinity 0"));
}

TEST(plan_numa, CorpusPinningConfig)
{
    // hvm_numa_pinning.cfg: per-vCPU cpus=, cpus_soft="nodes:1-1,^31", nodes=[1,0]; 2 nodes x 16 CPUs.
    Scratch s;
    PlanContext ctx = context(s);
    ctx.topology = fixture_topology(2, 16, 32768);
    auto parsed = config::parse_file(std::string(XKVM_CONFIG_TESTDATA) + "/good/hvm_numa_pinning.cfg",
                                     { "firmware_override=\"" + s.firmware() + "\"" });
    ASSERT_TRUE(parsed) << parsed.error().str();
    auto p = plan_domain(build(*parsed), ctx);
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->spec.memory_nodes, (Cpus { 0, 1 }));
    const Cpus soft = range(16, 30);
    EXPECT_EQ(p->spec.vcpu_affinity,
              (Affinity { { 2 }, { 3, 4, 6, 7, 8 }, soft, soft, soft, soft, soft, soft }));
    ASSERT_EQ(p->warnings.size(), 2u) << "vCPUs 0 and 1: soft affinity on node 1, hard on node 0";
    EXPECT_THAT(p->warnings[0], HasSubstr("vCPU 0"));
    EXPECT_THAT(p->warnings[1], HasSubstr("vCPU 1"));
}

TEST(plan_numa, FailedAutomaticPlacementWarnsAndFallsBack)
{
    auto p = plan_on(2, "memory = 9000\n");
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->placement.source, numa::NodeAffinitySource::FromAffinity);
    EXPECT_TRUE(p->spec.memory_nodes.empty());
    ASSERT_EQ(p->warnings.size(), 1u);
    EXPECT_THAT(p->warnings[0], HasSubstr("automatic placement found no node set"));
}

TEST(plan_numa, PlacementSizesByMaxmem)
{
    Scratch s;
    auto cfg = config_from(pvh_config(s, "maxmem = 2048\n"));
    EXPECT_EQ(placement_memory_bytes(cfg), 2048 * memory::MiB + kVmmOverheadBytes);
    // 3000 MiB of maxmem fits one 4 GiB node, 5000 does not.
    auto fits = plan_on(2, "memory = 64\nmaxmem = 3000\n");
    ASSERT_TRUE(fits);
    EXPECT_EQ(fits->spec.memory_nodes, Cpus { 0 });
    auto spans = plan_on(2, "memory = 64\nmaxmem = 5000\n");
    ASSERT_TRUE(spans);
    EXPECT_TRUE(spans->spec.memory_nodes.empty()) << "both nodes = every node";
    EXPECT_EQ(spans->placement.source, numa::NodeAffinitySource::Automatic);
}
