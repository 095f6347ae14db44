#include "config/cpuset_spec.h"

#include <gtest/gtest.h>

using namespace xkvm::config;

namespace {

using K = CpuSetTerm::Kind;

CpuSetTerm term(K kind, uint32_t first, uint32_t last, bool exclude = false)
{
    CpuSetTerm t;
    t.kind = kind;
    t.first = first;
    t.last = last;
    t.exclude = exclude;
    return t;
}

CpuSetSpec spec_ok(std::string_view s)
{
    auto r = parse_cpuset(s);
    EXPECT_TRUE(r.has_value()) << s << ": " << (r ? "" : r.error().message);
    return r ? r.release_value() : CpuSetSpec {};
}

} // namespace

TEST(CpuSetSpec, XlCfgExamples)
{
    EXPECT_EQ(spec_ok("all").terms, std::vector<CpuSetTerm> { term(K::All, 0, 0) });
    EXPECT_EQ(spec_ok("0-3,5,^1").terms,
              (std::vector<CpuSetTerm> { term(K::Cpus, 0, 3), term(K::Cpus, 5, 5), term(K::Cpus, 1, 1, true) }));
    EXPECT_EQ(spec_ok("nodes:0-3,^node:2").terms,
              (std::vector<CpuSetTerm> { term(K::Nodes, 0, 3), term(K::Nodes, 2, 2, true) }));
    EXPECT_EQ(spec_ok("1,node:1,^6").terms,
              (std::vector<CpuSetTerm> { term(K::Cpus, 1, 1), term(K::Nodes, 1, 1), term(K::Cpus, 6, 6, true) }));
    EXPECT_EQ(spec_ok("all,^node:1").terms, (std::vector<CpuSetTerm> { term(K::All, 0, 0), term(K::Nodes, 1, 1, true) }));
    EXPECT_EQ(spec_ok("node:0,node:2,^9-11,18-20").terms.size(), 4u);
}

TEST(CpuSetSpec, BlanksAroundTermsAreAllowed)
{
    EXPECT_EQ(spec_ok(" 2 , 4-5 ").terms, (std::vector<CpuSetTerm> { term(K::Cpus, 2, 2), term(K::Cpus, 4, 5) }));
}

TEST(CpuSetSpec, ErrorsPointAtTheBadTerm)
{
    struct Case {
        std::string_view text;
        size_t offset;
        std::string_view message;
    };
    const Case cases[] = {
        { "", 0, "empty term in CPU list '' (expected N, N-M, node:N, nodes:N-M or all)" },
        { "1,,2", 2, "empty term in CPU list '1,,2' (expected N, N-M, node:N, nodes:N-M or all)" },
        { "0,3-1", 2, "range 3-1 runs backwards" },
        { "0,x", 2, "expected a CPU number, found 'x'" },
        { "0,1a", 3, "expected a CPU number, found '1a'" },
        { "^all", 0, "'^all' excludes every CPU" },
        { "^1,^2", 0, "'^1,^2' only excludes CPUs; start with CPUs, nodes or all" },
        { "node:", 5, "expected a node number" },
        { "1,nodes:2-x", 10, "expected a node number, found 'x'" },
        { "70000", 0, "CPU 70000 is out of range (at most 65535)" },
        { "node:1024", 5, "node 1024 is out of range (at most 1023)" },
        { "-3", 0, "expected a CPU number" },
        { "all2", 0, "expected a CPU number, found 'all2'" },
    };
    for (const auto& c : cases) {
        auto r = parse_cpuset(c.text);
        ASSERT_FALSE(r.has_value()) << c.text;
        EXPECT_EQ(r.error().offset, c.offset) << c.text;
        EXPECT_EQ(r.error().message, c.message) << c.text;
    }
}

TEST(CpuSetSpec, FormatIsCanonicalAndRoundTrips)
{
    EXPECT_EQ(format_cpuset(spec_ok(" 0-3 , 5,^1")), "0-3,5,^1");
    EXPECT_EQ(format_cpuset(spec_ok("nodes:1,node:2-3,all,^node:0")), "node:1,nodes:2-3,all,^node:0");
    for (auto s : { "all", "0-3,5,^1", "nodes:0-3,^node:2", "1,node:1,^6", "65535", "nodes:0-1023" }) {
        auto spec = spec_ok(s);
        EXPECT_EQ(format_cpuset(spec), s);
        EXPECT_EQ(spec_ok(format_cpuset(spec)), spec) << s;
    }
}
