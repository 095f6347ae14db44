#include "numa/affinity.h"

#include <gtest/gtest.h>

#include "numa/topology_fixture.h"

namespace xkvm::numa {
namespace {

using testing::TempDir;
using Form = config::AffinitySpec::Form;

Topology make_topology(testing::Fixture f)
{
    auto dir = TempDir::create();
    EXPECT_TRUE(dir);
    EXPECT_TRUE(testing::write_fixture(dir->path(), f));
    auto topo = Topology::from_sysfs(dir->path());
    EXPECT_TRUE(topo) << topo.error().message;
    return topo.release_value();
}

config::CpuSetSpec spec(std::string_view s)
{
    auto parsed = parse_cpuset_string(s);
    EXPECT_TRUE(parsed) << parsed.error().message;
    return parsed.value_or({});
}

config::AffinitySpec all_vcpus(std::string_view s) { return { Form::AllVcpus, { spec(s) } }; }

config::AffinitySpec per_vcpu(std::initializer_list<std::string_view> list)
{
    config::AffinitySpec a { Form::PerVcpu, {} };
    for (auto s : list)
        a.sets.push_back(spec(s));
    return a;
}

class numa_resolve : public ::testing::Test {
protected:
    // 4 nodes x 4 CPUs: node N holds CPUs 4N..4N+3.
    Topology topo = make_topology(testing::uniform_fixture(4, 4, 1024));

    std::string resolved(std::string_view s)
    {
        auto r = resolve_cpuset(topo, spec(s), "cpus");
        EXPECT_TRUE(r) << s << ": " << r.error().message;
        return r ? r->to_string() : "<error>";
    }
    std::string error(std::string_view s)
    {
        auto r = resolve_cpuset(topo, spec(s), "cpus");
        EXPECT_FALSE(r) << s << " resolved to " << (r ? r->to_string() : "");
        return r ? "" : r.error().message;
    }
};

TEST_F(numa_resolve, EveryCpusForm)
{
    EXPECT_EQ(resolved("3"), "3");
    EXPECT_EQ(resolved("0-3"), "0-3");
    EXPECT_EQ(resolved("0-7,^2"), "0-1,3-7");
    EXPECT_EQ(resolved("0,2,9-10"), "0,2,9-10");
    EXPECT_EQ(resolved("node:1"), "4-7");
    EXPECT_EQ(resolved("nodes:1"), "4-7");
    EXPECT_EQ(resolved("nodes:0-1"), "0-7");
    EXPECT_EQ(resolved("nodes:1,^5"), "4,6-7");
    EXPECT_EQ(resolved("all"), "0-15");
    EXPECT_EQ(resolved("nodes:all"), "0-15");
    EXPECT_EQ(resolved("all,^nodes:0"), "4-15");
    EXPECT_EQ(resolved("all,^nodes:0,all"), "0-15");
    EXPECT_EQ(resolved("all,^nodes:1-2,^15"), "0-3,12-14");
    EXPECT_EQ(resolved("^0"), ""); // xl's "cpumap: none"
    EXPECT_EQ(resolved("^0-3,0-1"), "0-1"); // left to right
}

TEST_F(numa_resolve, MissingCpusAndNodesAreNamed)
{
    EXPECT_EQ(error("16"), "cpus: CPU 16 is not online on this host (online CPUs: 0-15)");
    EXPECT_EQ(error("14-20"), "cpus: CPUs 16-20 are not online on this host (online CPUs: 0-15)");
    EXPECT_EQ(error("^99"), "cpus: CPU 99 is not online on this host (online CPUs: 0-15)");
    EXPECT_EQ(error("node:4"), "cpus: NUMA node 4 does not exist on this host (host nodes: 0-3)");
    EXPECT_EQ(error("nodes:3-9"), "cpus: NUMA nodes 4-9 do not exist on this host (host nodes: 0-3)");
    // A huge range is reported, not walked.
    EXPECT_NE(error("0-4294967295").find("CPUs 16-4294967295 are"), std::string::npos);
}

TEST_F(numa_resolve, TermsTheConfigParserMightProduceAreCheckedToo)
{
    using Kind = config::CpuSetTerm::Kind;
    config::CpuSetSpec backwards { { config::CpuSetTerm { Kind::Cpus, false, 5, 2 } } };
    EXPECT_FALSE(resolve_cpuset(topo, backwards, "cpus"));
    config::CpuSetSpec not_all { { config::CpuSetTerm { Kind::All, true, 0, 0 } } };
    EXPECT_FALSE(resolve_cpuset(topo, not_all, "cpus"));
}

TEST(numa_resolve_offline, OfflineCpuIsNamed)
{
    auto f = testing::uniform_fixture(2, 4, 1024);
    f.online_cpus = "0-2,4-7";
    Topology topo = make_topology(f);
    auto r = resolve_cpuset(topo, spec("0-7"), "vcpu-pin");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "vcpu-pin: CPU 3 is not online on this host (online CPUs: 0-2,4-7)");
    // node:0 only expands to the node's online CPUs.
    EXPECT_EQ(resolve_cpuset(topo, spec("node:0"), "cpus")->to_string(), "0-2");
}

TEST_F(numa_resolve, AffinityUnsetIsAllCpusForEveryVcpu)
{
    auto r = resolve_affinity(topo, {}, 3, "cpus");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->size(), 3u);
    for (const CpuSet& s : *r)
        EXPECT_EQ(s, topo.online_cpus());
}

TEST_F(numa_resolve, AffinitySingleStringAppliesToEveryVcpu)
{
    auto r = resolve_affinity(topo, all_vcpus("nodes:2,^9"), 4, "cpus");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->size(), 4u);
    for (const CpuSet& s : *r)
        EXPECT_EQ(s.to_string(), "8,10-11");
}

TEST_F(numa_resolve, AffinityPerVcpuListAsXlDoesIt)
{
    // Fewer entries than vCPUs: the rest keep every CPU.
    auto r = resolve_affinity(topo, per_vcpu({ "0", "node:3" }), 4, "cpus");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->size(), 4u);
    EXPECT_EQ((*r)[0].to_string(), "0");
    EXPECT_EQ((*r)[1].to_string(), "12-15");
    EXPECT_EQ((*r)[2], topo.online_cpus());
    EXPECT_EQ((*r)[3], topo.online_cpus());

    // More entries than vCPUs: the extra ones are ignored, not even checked.
    r = resolve_affinity(topo, per_vcpu({ "1", "2", "99" }), 2, "cpus");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->size(), 2u);
    EXPECT_EQ((*r)[1].to_string(), "2");
}

TEST_F(numa_resolve, AffinityErrorsNameTheVcpu)
{
    auto r = resolve_affinity(topo, per_vcpu({ "0", "99" }), 2, "cpus_soft");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "vCPU 1: cpus_soft: CPU 99 is not online on this host (online CPUs: 0-15)");

    r = resolve_affinity(topo, per_vcpu({ "0", "^1" }), 2, "cpus");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "cpus: \"^1\" leaves vCPU 1 no CPU to run on");

    r = resolve_affinity(topo, all_vcpus("0-3,^0-3"), 2, "cpus");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("no CPU to run on"), std::string::npos);

    r = resolve_affinity(topo, config::AffinitySpec { Form::AllVcpus, {} }, 2, "cpus");
    EXPECT_FALSE(r);
}

TEST_F(numa_resolve, Nodes)
{
    auto r = resolve_nodes(topo, { 0, 3, 3 });
    ASSERT_TRUE(r);
    EXPECT_EQ(r->to_string(), "0,3");
    EXPECT_TRUE(resolve_nodes(topo, {})->empty());
    auto bad = resolve_nodes(topo, { 1, 7 });
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message, "nodes: NUMA node 7 does not exist on this host (host nodes: 0-3)");
}

TEST_F(numa_resolve, DeriveNodeAffinityLikeXen)
{
    const std::vector<CpuSet> all(2, topo.online_cpus());
    // Hard only.
    EXPECT_EQ(derive_node_affinity(topo, { CpuSet { 1 }, CpuSet { 5 } }, all), (NodeSet { 0, 1 }));
    // Soft narrows hard where they meet.
    EXPECT_EQ(derive_node_affinity(topo, { CpuSet::range(0, 7), CpuSet::range(0, 7) }, { CpuSet { 6 }, CpuSet { 7 } }),
        NodeSet { 1 });
    // Disjoint soft is ignored: hard wins.
    EXPECT_EQ(derive_node_affinity(topo, { CpuSet { 0 } }, { CpuSet { 12 } }), NodeSet { 0 });
    // Soft alone (hard = everything) gives soft's nodes.
    EXPECT_EQ(derive_node_affinity(topo, all, { CpuSet { 8 }, CpuSet { 13 } }), (NodeSet { 2, 3 }));
    // Nothing given: every node.
    EXPECT_EQ(derive_node_affinity(topo, all, all), topo.all_nodes());
}

TEST(numa_affinity, EffectiveIsHardAndSoftElseHard)
{
    EXPECT_EQ(effective_affinity(CpuSet::range(0, 7), CpuSet::range(4, 11)), CpuSet::range(4, 7));
    EXPECT_EQ(effective_affinity(CpuSet::range(0, 3), CpuSet::range(4, 7)), CpuSet::range(0, 3));
}

TEST_F(numa_resolve, Formatting)
{
    EXPECT_EQ(format_cpus(topo, topo.online_cpus()), "all");
    EXPECT_EQ(format_cpus(topo, CpuSet {}), "none");
    EXPECT_EQ(format_cpus(topo, CpuSet { 0, 1, 2, 3, 6 }), "0-3,6");
    EXPECT_EQ(format_nodes(topo, topo.all_nodes()), "all");
    EXPECT_EQ(format_nodes(topo, NodeSet { 1, 2 }), "1-2");
    EXPECT_EQ(format_nodes(topo, NodeSet {}), "none");
}

} // namespace
} // namespace xkvm::numa
