#include "numa/placement.h"

#include <gtest/gtest.h>

#include "numa/affinity.h"
#include "numa/topology_fixture.h"

namespace xkvm::numa {
namespace {

using testing::Fixture;
using testing::TempDir;
using Form = config::AffinitySpec::Form;

constexpr uint64_t kMiB = 1024 * 1024;

Topology make_topology(const Fixture& f)
{
    auto dir = TempDir::create();
    EXPECT_TRUE(dir);
    EXPECT_TRUE(testing::write_fixture(dir->path(), f));
    auto topo = Topology::from_sysfs(dir->path());
    EXPECT_TRUE(topo) << topo.error().message;
    return topo.release_value();
}

// uniform_fixture with per-node free memory (MiB).
Fixture with_free(Fixture f, std::vector<uint64_t> free_mib)
{
    for (size_t i = 0; i < f.nodes.size() && i < free_mib.size(); ++i)
        f.nodes[i].mem_free_mib = free_mib[i];
    return f;
}

config::AffinitySpec all_vcpus(std::string_view s) { return { Form::AllVcpus, { parse_cpuset_string(s).value() } }; }

config::AffinitySpec per_vcpu(std::initializer_list<std::string_view> list)
{
    config::AffinitySpec a { Form::PerVcpu, {} };
    for (auto s : list)
        a.sets.push_back(parse_cpuset_string(s).value());
    return a;
}

PlacementRequest request(uint32_t vcpus, uint64_t mem_mib, VcpuLoad load = {})
{
    PlacementRequest r;
    r.vcpus = vcpus;
    r.memory_bytes = mem_mib * kMiB;
    r.load = std::move(load);
    return r;
}

PlacementResult placed(const Topology& topo, const PlacementRequest& req)
{
    auto r = place(topo, req);
    EXPECT_TRUE(r) << r.error().message;
    return r ? r.release_value() : PlacementResult {};
}

// ---- Each fixture topology ----

class numa_each_topology : public ::testing::TestWithParam<uint32_t> {
protected:
    uint32_t n = GetParam();
    Topology topo = make_topology(testing::uniform_fixture(n, 4, 4096));
};

TEST_P(numa_each_topology, SmallGuestGoesToOneNodeAndSoftAffinityFollows)
{
    PlacementResult r = placed(topo, request(2, 1024));
    ASSERT_EQ(r.hard.size(), 2u);
    ASSERT_EQ(r.soft.size(), 2u);
    EXPECT_EQ(r.nodes, NodeSet { 0 }) << r.reason;
    EXPECT_EQ(r.hard[0], topo.online_cpus());
    if (n == 1) {
        EXPECT_EQ(r.source, NodeAffinitySource::FromAffinity);
        EXPECT_NE(r.reason.find("single-node host"), std::string::npos) << r.reason;
        EXPECT_EQ(r.soft[1], topo.online_cpus());
    } else {
        EXPECT_EQ(r.source, NodeAffinitySource::Automatic);
        EXPECT_EQ(r.soft[1], CpuSet::range(0, 3));
        EXPECT_EQ(r.thread_affinity(1), CpuSet::range(0, 3));
        EXPECT_NE(r.reason.find("automatic placement chose node 0"), std::string::npos) << r.reason;
    }
}

TEST_P(numa_each_topology, LoadedNodesAreAvoided)
{
    VcpuLoad load;
    for (uint32_t i = 0; i + 1 < n; ++i)
        load[i] = 3;
    PlacementResult r = placed(topo, request(1, 512, load));
    EXPECT_EQ(r.nodes, NodeSet { n - 1 }) << r.reason;
}

TEST_P(numa_each_topology, GuestLargerThanTheHostFallsBackToAffinity)
{
    PlacementResult r = placed(topo, request(2, 4096 * n + 1));
    EXPECT_EQ(r.source, NodeAffinitySource::FromAffinity);
    EXPECT_EQ(r.nodes, topo.all_nodes());
    EXPECT_EQ(r.soft[0], topo.online_cpus());
    if (n > 1) {
        EXPECT_NE(r.reason.find("found no node set"), std::string::npos) << r.reason;
    }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, numa_each_topology, ::testing::Values(1u, 2u, 4u, 8u));

// ---- Heuristics and tie-breaks ----

TEST(numa_placement, MoreFreeMemoryWinsWhenLoadIsEqual)
{
    Topology topo = make_topology(with_free(testing::uniform_fixture(2, 4, 4096), { 2048, 4096 }));
    EXPECT_EQ(placed(topo, request(2, 1024)).nodes, NodeSet { 1 });
}

TEST(numa_placement, FewerVcpusWinsOverMoreFreeMemory)
{
    Topology topo = make_topology(with_free(testing::uniform_fixture(2, 4, 4096), { 4096, 1024 }));
    EXPECT_EQ(placed(topo, request(2, 1024, { { 0, 2 }, { 1, 1 } })).nodes, NodeSet { 1 });
}

TEST(numa_placement, FullTieGoesToLowestNodeIds)
{
    Topology topo = make_topology(testing::uniform_fixture(8, 2, 1024));
    PlacementResult r = placed(topo, request(3, 512)); // 3 vCPUs need two 2-CPU nodes
    EXPECT_EQ(r.nodes, (NodeSet { 0, 1 })) << r.reason;
    EXPECT_EQ(r.soft[2], CpuSet::range(0, 3));
}

TEST(numa_placement, FewestNodesFirstEvenIfBusierOrFuller)
{
    // Only node 0 fits alone, and it is busy; a pair of idle nodes with more memory still loses.
    Topology topo = make_topology(with_free(testing::uniform_fixture(4, 4, 4096), { 1100, 1000, 1000, 1000 }));
    PlacementResult r = placed(topo, request(4, 1024, { { 0, 9 } }));
    EXPECT_EQ(r.nodes, NodeSet { 0 }) << r.reason;
}

TEST(numa_placement, MemoryForcesTwoNodesThenLoadThenFreeMemory)
{
    // 3 GiB guest; free per node 2048, 1024, 2048, 1536 MiB: no single node fits.
    Topology topo = make_topology(with_free(testing::uniform_fixture(4, 4, 4096), { 2048, 1024, 2048, 1536 }));
    PlacementResult r = placed(topo, request(2, 3072));
    EXPECT_EQ(r.nodes, (NodeSet { 0, 2 })) << r.reason; // most free memory: 4096
    EXPECT_EQ(r.source, NodeAffinitySource::Automatic);
    EXPECT_EQ(r.soft[0], (CpuSet::range(0, 3) | CpuSet::range(8, 11)));

    // Node 0 busy: of the pairs without it that fit, {2,3} has more free memory than {1,2}.
    r = placed(topo, request(2, 3072, { { 0, 4 } }));
    EXPECT_EQ(r.nodes, (NodeSet { 2, 3 })) << r.reason;
}

TEST(numa_placement, VcpusForceMoreNodes)
{
    Topology topo = make_topology(testing::uniform_fixture(4, 4, 4096));
    PlacementResult r = placed(topo, request(6, 512, { { 0, 1 }, { 1, 1 } }));
    EXPECT_EQ(r.nodes, (NodeSet { 2, 3 })) << r.reason;
    r = placed(topo, request(9, 512));
    EXPECT_EQ(r.nodes.count(), 3u) << r.reason;
}

TEST(numa_placement, EightNodesPicksTheIdlePair)
{
    Fixture f = testing::uniform_fixture(8, 2, 2048);
    Topology topo = make_topology(f);
    VcpuLoad load;
    for (uint32_t i = 0; i < 8; ++i)
        load[i] = (i == 3 || i == 6) ? 0 : 5;
    PlacementResult r = placed(topo, request(4, 1024, load));
    EXPECT_EQ(r.nodes, (NodeSet { 3, 6 })) << r.reason;
    EXPECT_EQ(r.thread_affinity(0), (CpuSet { 6, 7, 12, 13 }));
}

TEST(numa_placement, MemoryOnlyNodeIsNeverACandidate)
{
    Fixture f = testing::uniform_fixture(2, 2, 1024);
    f.nodes.push_back(testing::FixtureNode { 2, "", 65536, 65536, {} });
    Topology topo = make_topology(f);
    PlacementResult r = placed(topo, request(1, 512));
    EXPECT_EQ(r.nodes, NodeSet { 0 });
    // Too big for the CPU nodes: no candidate, even though node 2 alone has the memory.
    r = placed(topo, request(1, 4096));
    EXPECT_EQ(r.source, NodeAffinitySource::FromAffinity);
    EXPECT_EQ(r.nodes, (NodeSet { 0, 1 }));
}

// ---- What switches placement on and off ----

TEST(numa_placement, SingleStringCpusKeepsPlacementInsideTheMask)
{
    Topology topo = make_topology(testing::uniform_fixture(4, 4, 4096));
    PlacementRequest req = request(2, 1024, { { 2, 3 } });
    req.cpus = all_vcpus("nodes:2-3");
    PlacementResult r = placed(topo, req);
    EXPECT_EQ(r.source, NodeAffinitySource::Automatic);
    EXPECT_EQ(r.nodes, NodeSet { 3 }) << r.reason;
    EXPECT_EQ(r.hard[1], CpuSet::range(8, 15)); // hard affinity stays as given
    EXPECT_EQ(r.soft[1], CpuSet::range(12, 15));
    EXPECT_EQ(r.thread_affinity(1), CpuSet::range(12, 15));
    EXPECT_NE(r.reason.find("inside cpus=\"8-15\""), std::string::npos) << r.reason;
}

TEST(numa_placement, OnlyCpusInsideTheMaskCount)
{
    // cpus="6-9" straddles nodes 1 and 2 (two CPUs on each): three vCPUs need both.
    Topology topo = make_topology(testing::uniform_fixture(4, 4, 4096));
    PlacementRequest req = request(3, 1024);
    req.cpus = all_vcpus("6-9");
    PlacementResult r = placed(topo, req);
    EXPECT_EQ(r.nodes, (NodeSet { 1, 2 })) << r.reason;
    EXPECT_EQ(r.thread_affinity(0), CpuSet::range(6, 9));
}

TEST(numa_placement, PerVcpuCpusTurnsPlacementOff)
{
    Topology topo = make_topology(testing::uniform_fixture(4, 4, 4096));
    PlacementRequest req = request(2, 1024, { { 1, 100 } });
    req.cpus = per_vcpu({ "4", "5-6" });
    PlacementResult r = placed(topo, req);
    EXPECT_EQ(r.source, NodeAffinitySource::FromAffinity);
    EXPECT_EQ(r.nodes, NodeSet { 1 }); // where the pinning is, however loaded
    EXPECT_EQ(r.soft[0], topo.online_cpus());
    EXPECT_EQ(r.thread_affinity(1), (CpuSet { 5, 6 }));
    EXPECT_NE(r.reason.find("per-vCPU list"), std::string::npos) << r.reason;
}

TEST(numa_placement, CpusSoftTurnsPlacementOff)
{
    Topology topo = make_topology(testing::uniform_fixture(4, 4, 4096));
    PlacementRequest req = request(2, 1024);
    req.cpus_soft = all_vcpus("nodes:2");
    PlacementResult r = placed(topo, req);
    EXPECT_EQ(r.source, NodeAffinitySource::FromAffinity);
    EXPECT_EQ(r.nodes, NodeSet { 2 });
    EXPECT_NE(r.reason.find("cpus_soft="), std::string::npos) << r.reason;

    // Hard and soft: the nodes of their intersection.
    req.cpus = all_vcpus("nodes:1-2");
    req.cpus_soft = all_vcpus("7-12");
    r = placed(topo, req);
    EXPECT_EQ(r.nodes, (NodeSet { 1, 2 }));
    req.cpus_soft = all_vcpus("8");
    r = placed(topo, req);
    EXPECT_EQ(r.nodes, NodeSet { 2 });
    EXPECT_EQ(r.thread_affinity(0), CpuSet { 8 });
}

TEST(numa_placement, TooManyNodesSkipsPlacement)
{
    Topology topo = make_topology(testing::uniform_fixture(17, 1, 1024));
    PlacementResult r = placed(topo, request(1, 256));
    EXPECT_EQ(r.source, NodeAffinitySource::FromAffinity);
    EXPECT_EQ(r.nodes, topo.all_nodes());
    EXPECT_NE(r.reason.find("17 nodes"), std::string::npos) << r.reason;
}

// ---- nodes= ----

TEST(numa_placement, ExplicitNodesWin)
{
    Topology topo = make_topology(testing::uniform_fixture(4, 4, 4096));
    PlacementRequest req = request(2, 1024, { { 3, 50 } });
    req.nodes = std::vector<uint32_t> { 3, 1 };
    req.cpus = per_vcpu({ "0" });
    PlacementResult r = placed(topo, req);
    EXPECT_EQ(r.source, NodeAffinitySource::Explicit);
    EXPECT_EQ(r.nodes, (NodeSet { 1, 3 }));
    EXPECT_EQ(r.hard[0], CpuSet { 0 });          // scheduling is not touched by nodes=
    EXPECT_EQ(r.soft[0], topo.online_cpus());
    EXPECT_EQ(r.hard[1], topo.online_cpus());
}

TEST(numa_placement, EmptyNodesListResetsToAutomatic)
{
    Topology topo = make_topology(testing::uniform_fixture(2, 4, 4096));
    PlacementRequest req = request(1, 512, { { 0, 1 } });
    req.nodes = std::vector<uint32_t> {};
    PlacementResult r = placed(topo, req);
    EXPECT_EQ(r.source, NodeAffinitySource::Automatic);
    EXPECT_EQ(r.nodes, NodeSet { 1 });
}

TEST(numa_placement, ErrorsNameTheMissingNodeOrCpu)
{
    Topology topo = make_topology(testing::uniform_fixture(2, 4, 4096));
    PlacementRequest req = request(1, 512);
    req.nodes = std::vector<uint32_t> { 0, 5 };
    auto r = place(topo, req);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "nodes: NUMA node 5 does not exist on this host (host nodes: 0-1)");

    req.nodes.reset();
    req.cpus = all_vcpus("0-8");
    r = place(topo, req);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "cpus: CPU 8 is not online on this host (online CPUs: 0-7)");

    req.cpus = {};
    req.cpus_soft = all_vcpus("node:2");
    r = place(topo, req);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "cpus_soft: NUMA node 2 does not exist on this host (host nodes: 0-1)");
}

// ---- Load accounting and vnuma ----

TEST(numa_placement, CountVcpuLoadLikeLibxl)
{
    Topology topo = make_topology(testing::uniform_fixture(4, 2, 1024));
    std::vector<DomainAffinity> doms;
    // Placed on node 1, vCPUs unpinned: each counts on node 1 only.
    doms.push_back({ NodeSet { 1 }, std::vector<CpuSet>(3, topo.online_cpus()) });
    // Node affinity 0,2; one vCPU pinned to node 0, one to node 3 (outside its nodes: not counted).
    doms.push_back({ NodeSet { 0, 2 }, { CpuSet { 0 }, CpuSet { 6 } } });
    VcpuLoad load = count_vcpu_load(topo, doms);
    EXPECT_EQ(load, (VcpuLoad { { 0, 1 }, { 1, 3 } }));

    PlacementResult r = placed(topo, request(1, 256, load));
    EXPECT_EQ(r.nodes, NodeSet { 2 });
}

TEST(numa_placement, VnumaIsRefusedClearly)
{
    EXPECT_TRUE(check_vnuma_unsupported(false));
    auto s = check_vnuma_unsupported(true);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, EOPNOTSUPP);
    EXPECT_NE(s.error().message.find("vnuma= is not supported"), std::string::npos);
}

} // namespace
} // namespace xkvm::numa
