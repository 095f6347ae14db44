#include "numa/topology.h"

#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

#include "numa/topology_fixture.h"

namespace xkvm::numa {
namespace {

using testing::Fixture;
using testing::FixtureNode;
using testing::TempDir;

constexpr uint64_t kMiB = 1024 * 1024;

Topology load(const Fixture& f)
{
    auto dir = TempDir::create();
    EXPECT_TRUE(dir);
    auto written = testing::write_fixture(dir->path(), f);
    EXPECT_TRUE(written) << written.error().message;
    auto topo = Topology::from_sysfs(dir->path());
    EXPECT_TRUE(topo) << topo.error().message;
    return topo.release_value();
}

class numa_uniform_topology : public ::testing::TestWithParam<uint32_t> { };

TEST_P(numa_uniform_topology, ReadsNodesCpusMemoryAndDistances)
{
    const uint32_t n = GetParam();
    Topology topo = load(testing::uniform_fixture(n, 4, 2048));
    ASSERT_EQ(topo.node_count(), n);
    EXPECT_FALSE(topo.synthesized());
    EXPECT_EQ(topo.online_cpus(), CpuSet::range(0, 4 * n - 1));
    EXPECT_EQ(topo.all_nodes(), NodeSet::range(0, n - 1));
    for (uint32_t i = 0; i < n; ++i) {
        const NodeInfo* node = topo.node(i);
        ASSERT_NE(node, nullptr);
        EXPECT_EQ(node->cpus, CpuSet::range(4 * i, 4 * i + 3));
        EXPECT_EQ(node->mem_total, 2048 * kMiB);
        EXPECT_EQ(node->mem_free, 2048 * kMiB);
        EXPECT_EQ(topo.node_of_cpu(4 * i + 2), i);
        EXPECT_EQ(topo.distance(i, i), 10u);
        if (n > 1) {
            EXPECT_EQ(topo.distance(i, (i + 1) % n), 20u);
        }
    }
    EXPECT_EQ(topo.free_memory(topo.all_nodes()), n * 2048 * kMiB);
    EXPECT_EQ(topo.node_of_cpu(4 * n), std::nullopt);
    EXPECT_EQ(topo.node(n), nullptr);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, numa_uniform_topology, ::testing::Values(1u, 2u, 4u, 8u));

TEST(numa_topology, SetConversions)
{
    Topology topo = load(testing::uniform_fixture(4, 2, 1024));
    EXPECT_EQ(topo.cpus_of(NodeSet { 1, 3 }), (CpuSet { 2, 3, 6, 7 }));
    EXPECT_EQ(topo.nodes_of(CpuSet { 0, 5 }), (NodeSet { 0, 2 }));
    EXPECT_EQ(topo.nodes_of(CpuSet {}), NodeSet {});
}

TEST(numa_topology, SparseNodeIdsMapDistanceColumnsThroughNodeOnline)
{
    Fixture f;
    f.nodes.push_back(FixtureNode { 0, "0-1", 1024, 512, { 10, 21 } });
    f.nodes.push_back(FixtureNode { 2, "2-3", 1024, 256, { 21, 10 } });
    Topology topo = load(f);
    ASSERT_EQ(topo.node_count(), 2u);
    EXPECT_EQ(topo.all_nodes(), (NodeSet { 0, 2 }));
    EXPECT_EQ(topo.distance(0, 2), 21u);
    EXPECT_EQ(topo.distance(2, 2), 10u);
    EXPECT_EQ(topo.distance(0, 1), std::nullopt);
    EXPECT_EQ(topo.node(2)->mem_free, 256 * kMiB);
}

TEST(numa_topology, MemoryOnlyNodeHasNoCpus)
{
    Fixture f = testing::uniform_fixture(2, 2, 1024);
    f.nodes.push_back(FixtureNode { 2, "", 4096, 4096, { 20, 20, 10 } });
    for (auto& n : f.nodes)
        n.distances.resize(3, 20);
    Topology topo = load(f);
    ASSERT_EQ(topo.node_count(), 3u);
    EXPECT_TRUE(topo.node(2)->cpus.empty());
    EXPECT_EQ(topo.node(2)->mem_free, 4096 * kMiB);
    EXPECT_EQ(topo.online_cpus(), CpuSet::range(0, 3));
}

TEST(numa_topology, NoNodeDirectoryMeansOneNodeWithEverything)
{
    Fixture f;
    f.online_cpus = "0-5";
    f.meminfo_total_mib = 8192;
    f.meminfo_free_mib = 6000;
    Topology topo = load(f);
    ASSERT_EQ(topo.node_count(), 1u);
    EXPECT_TRUE(topo.synthesized());
    EXPECT_EQ(topo.nodes()[0].id, 0u);
    EXPECT_EQ(topo.nodes()[0].cpus, CpuSet::range(0, 5));
    EXPECT_EQ(topo.nodes()[0].mem_free, 6000 * kMiB);
    EXPECT_EQ(topo.nodes()[0].mem_total, 8192 * kMiB);
}

TEST(numa_topology, OnlineListWinsOverNodeLists)
{
    Fixture f = testing::uniform_fixture(2, 4, 1024);
    f.online_cpus = "0-2,4-7"; // CPU 3 offline
    Topology topo = load(f);
    EXPECT_FALSE(topo.online_cpus().test(3));
    EXPECT_EQ(topo.online_cpus().count(), 7u);
}

TEST(numa_topology, CorruptFileIsAnErrorNamingIt)
{
    auto dir = TempDir::create();
    ASSERT_TRUE(dir);
    ASSERT_TRUE(testing::write_fixture(dir->path(), testing::uniform_fixture(2, 2, 1024)));
    std::ofstream(dir->path() / "sys/devices/system/node/node1/cpulist") << "2-zz\n";
    auto topo = Topology::from_sysfs(dir->path());
    ASSERT_FALSE(topo);
    EXPECT_NE(topo.error().message.find("node1/cpulist"), std::string::npos) << topo.error().message;
}

TEST(numa_topology, MissingMeminfoIsAnError)
{
    auto dir = TempDir::create();
    ASSERT_TRUE(dir);
    ASSERT_TRUE(testing::write_fixture(dir->path(), testing::uniform_fixture(2, 2, 1024)));
    std::filesystem::remove(dir->path() / "sys/devices/system/node/node0/meminfo");
    auto topo = Topology::from_sysfs(dir->path());
    ASSERT_FALSE(topo);
    EXPECT_EQ(topo.error().code, ENOENT);
    EXPECT_NE(topo.error().message.find("node0/meminfo"), std::string::npos);
}

TEST(numa_topology, EmptyRootIsAnError)
{
    auto dir = TempDir::create();
    ASSERT_TRUE(dir);
    EXPECT_FALSE(Topology::from_sysfs(dir->path()));
}

TEST(numa_topology, DetectHonoursSysfsRootOverride)
{
    auto dir = TempDir::create();
    ASSERT_TRUE(dir);
    ASSERT_TRUE(testing::write_fixture(dir->path(), testing::uniform_fixture(4, 1, 512)));
    ASSERT_EQ(setenv("XKVM_SYSFS_ROOT", dir->path().c_str(), 1), 0);
    auto topo = Topology::detect();
    unsetenv("XKVM_SYSFS_ROOT");
    ASSERT_TRUE(topo) << topo.error().message;
    EXPECT_EQ(topo->node_count(), 4u);
}

TEST(numa_topology, RealHost)
{
    auto topo = Topology::from_sysfs("/");
    ASSERT_TRUE(topo) << topo.error().message;
    ASSERT_GE(topo->node_count(), 1u);
    EXPECT_FALSE(topo->online_cpus().empty());
    CpuSet in_nodes;
    uint64_t total = 0;
    for (const NodeInfo& n : topo->nodes()) {
        EXPECT_LE(n.mem_free, n.mem_total) << "node " << n.id;
        total += n.mem_total;
        in_nodes |= n.cpus;
    }
    EXPECT_GT(total, 0u);
    EXPECT_TRUE(topo->online_cpus().is_subset_of(in_nodes)) << "every online CPU belongs to a node";
}

} // namespace
} // namespace xkvm::numa
