#include "numa/cpuset.h"

#include <gtest/gtest.h>

namespace xkvm::numa {
namespace {

using Kind = config::CpuSetTerm::Kind;

config::CpuSetTerm term(Kind kind, uint32_t first, uint32_t last, bool exclude = false)
{
    return config::CpuSetTerm { kind, exclude, first, last };
}

TEST(numa_id_set, SetTestResetCountAcrossWords)
{
    CpuSet s { 0, 63, 64, 200 };
    EXPECT_TRUE(s.test(63));
    EXPECT_TRUE(s.test(64));
    EXPECT_FALSE(s.test(65));
    EXPECT_FALSE(s.test(100000)); // past the end is simply absent
    EXPECT_EQ(s.count(), 4u);
    EXPECT_EQ(s.bound(), 201u);
    s.reset(200);
    s.reset(5000);
    EXPECT_EQ(s.bound(), 65u);
    EXPECT_EQ(s.ids(), (std::vector<uint32_t> { 0, 63, 64 }));
}

TEST(numa_id_set, EqualityIgnoresTrailingZeroWords)
{
    CpuSet a { 1 };
    CpuSet b { 1, 300 };
    b.reset(300);
    EXPECT_EQ(a, b);
    EXPECT_NE(a, CpuSet { 2 });
    EXPECT_TRUE(CpuSet {}.empty());
    EXPECT_EQ(CpuSet {}.bound(), 0u);
}

TEST(numa_id_set, SetAlgebra)
{
    CpuSet a = CpuSet::range(0, 7);
    CpuSet b = CpuSet::range(4, 11);
    EXPECT_EQ((a & b).to_string(), "4-7");
    EXPECT_EQ((a | b).to_string(), "0-11");
    EXPECT_EQ((a - b).to_string(), "0-3");
    EXPECT_TRUE(a.intersects(b));
    EXPECT_FALSE(a.intersects(CpuSet { 100 }));
    EXPECT_TRUE(CpuSet::range(1, 2).is_subset_of(a));
    EXPECT_FALSE(b.is_subset_of(a));
}

TEST(numa_id_set, ToStringIsXensCompactForm)
{
    EXPECT_EQ(CpuSet {}.to_string(), "");
    EXPECT_EQ(CpuSet { 5 }.to_string(), "5");
    EXPECT_EQ((CpuSet { 0, 1, 2, 3, 6 }).to_string(), "0-3,6");
    EXPECT_EQ((CpuSet { 0, 2, 4, 5, 127, 128 }).to_string(), "0,2,4-5,127-128");
    EXPECT_EQ((NodeSet { 1, 3 }).to_string(), "1,3");
}

TEST(numa_parse_id_list, SysfsForms)
{
    EXPECT_EQ(parse_id_list("0-3,8-9\n").value(), (std::vector<uint32_t> { 0, 1, 2, 3, 8, 9 }));
    EXPECT_EQ(parse_id_list("7").value(), (std::vector<uint32_t> { 7 }));
    EXPECT_TRUE(parse_id_list("\n").value().empty()); // a memory-only node
    EXPECT_FALSE(parse_id_list("0-x"));
    EXPECT_FALSE(parse_id_list("3-1"));
    EXPECT_FALSE(parse_id_list("0-4294967295")); // corrupt file, not a reason to allocate 4G ids
}

TEST(numa_parse_cpuset_string, EveryXlForm)
{
    auto spec = parse_cpuset_string("0-3,^2,node:1,nodes:0-1,all,^nodes:3,7");
    ASSERT_TRUE(spec) << spec.error().message;
    std::vector<config::CpuSetTerm> want {
        term(Kind::Cpus, 0, 3),
        term(Kind::Cpus, 2, 2, true),
        term(Kind::Nodes, 1, 1),
        term(Kind::Nodes, 0, 1),
        term(Kind::All, 0, 0),
        term(Kind::Nodes, 3, 3, true),
        term(Kind::Cpus, 7, 7),
    };
    EXPECT_EQ(spec->terms, want);
}

TEST(numa_parse_cpuset_string, NodesAllMeansAll)
{
    EXPECT_EQ(parse_cpuset_string("nodes:all")->terms, (std::vector { term(Kind::All, 0, 0) }));
    EXPECT_EQ(parse_cpuset_string(" 1 , 2 ")->terms, (std::vector { term(Kind::Cpus, 1, 1), term(Kind::Cpus, 2, 2) }));
}

TEST(numa_parse_cpuset_string, ErrorsSayWhereAndWhat)
{
    auto e = parse_cpuset_string("0-3,foo");
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().message.find("column 5"), std::string::npos) << e.error().message;
    EXPECT_NE(e.error().message.find("foo"), std::string::npos);

    e = parse_cpuset_string("^all");
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().message.find("\"^\" cannot be combined with \"all\""), std::string::npos);
    EXPECT_FALSE(parse_cpuset_string("^nodes:all"));

    e = parse_cpuset_string("5-2");
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().message.find("ends before it starts"), std::string::npos);

    e = parse_cpuset_string("1,,2");
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().message.find("column 3: empty term"), std::string::npos) << e.error().message;

    EXPECT_FALSE(parse_cpuset_string(""));
    EXPECT_FALSE(parse_cpuset_string("  "));
    EXPECT_FALSE(parse_cpuset_string("-1"));
    EXPECT_FALSE(parse_cpuset_string("1-"));
    EXPECT_FALSE(parse_cpuset_string("nodes:"));
    EXPECT_FALSE(parse_cpuset_string("99999999999"));
    EXPECT_FALSE(parse_cpuset_string("^"));
    EXPECT_FALSE(parse_cpuset_string("+3"));
}

TEST(numa_format_cpuset_spec, RoundTrips)
{
    for (std::string_view s : { "0-3,^2,nodes:1,all", "nodes:0-1,^5", "7" }) {
        auto spec = parse_cpuset_string(s);
        ASSERT_TRUE(spec);
        EXPECT_EQ(format_cpuset_spec(*spec), s);
    }
    EXPECT_EQ(format_cpuset_spec(parse_cpuset_string("node:2").value()), "nodes:2");
}

} // namespace
} // namespace xkvm::numa
