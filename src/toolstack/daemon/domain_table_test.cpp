#include "toolstack/daemon/domain_table.h"

#include <gtest/gtest.h>

namespace xkvm::toolstack {
namespace {

TEST(ToolstackDomainTable, AllocatesIdsFromOneUpwards)
{
    DomainTable t;
    EXPECT_EQ((*t.add("a"))->domid, 1u);
    EXPECT_EQ((*t.add("b"))->domid, 2u);
    EXPECT_EQ(t.size(), 2u);
}

TEST(ToolstackDomainTable, DoesNotReuseAnIdAtOnce)
{
    DomainTable t;
    auto* a = *t.add("a");
    t.remove(a->domid);
    EXPECT_EQ((*t.add("a"))->domid, 2u); // a restarted domain gets a new id, as on Xen
}

TEST(ToolstackDomainTable, NamesAreUnique)
{
    DomainTable t;
    ASSERT_TRUE(t.add("g"));
    auto dup = t.add("g");
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error().code, EEXIST);
    EXPECT_NE(dup.error().message.find("'g' already exists"), std::string::npos);
    EXPECT_EQ(t.size(), 1u);
}

TEST(ToolstackDomainTable, WrapsBelowTheReservedIdsAndSkipsUsedOnes)
{
    DomainTable t;
    auto* first = *t.add("keep"); // id 1 stays in use
    for (uint32_t i = 2; i < kDomidLimit; ++i)
        t.remove((*t.add("x"))->domid);
    auto* next = *t.add("after-wrap");
    EXPECT_EQ(first->domid, 1u);
    EXPECT_EQ(next->domid, 2u);
}

TEST(ToolstackDomainTable, RunsOutOfIds)
{
    DomainTable t;
    for (uint32_t i = 1; i < kDomidLimit; ++i)
        ASSERT_TRUE(t.add(fmt::format("d{}", i)));
    auto r = t.add("one-more");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ENOSPC);
}

TEST(ToolstackDomainTable, LooksUpByNameOrId)
{
    DomainTable t;
    auto* g = *t.add("guest");
    EXPECT_EQ(*t.lookup("guest"), g);
    EXPECT_EQ(*t.lookup("1"), g);
    auto missing = t.lookup("nope");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ENOENT);
    EXPECT_EQ(missing.error().message, "domain 'nope' does not exist");
    EXPECT_EQ(t.lookup("7").error().message, "domain 7 does not exist");
    EXPECT_EQ(t.lookup("0").error().code, EPERM);
    EXPECT_FALSE(t.lookup(""));
    EXPECT_FALSE(t.lookup("1x")); // not a number, and no such name
}

TEST(ToolstackDomainTable, Renames)
{
    DomainTable t;
    auto* a = *t.add("a");
    ASSERT_TRUE(t.add("b"));
    EXPECT_FALSE(t.rename(a->domid, "b"));
    ASSERT_TRUE(t.rename(a->domid, "c"));
    EXPECT_EQ(t.find_name("c"), a);
    EXPECT_EQ(t.find_name("a"), nullptr);
}

TEST(ToolstackDomainTable, FormatsUuids)
{
    std::array<uint8_t, 16> u {};
    for (size_t i = 0; i < 16; ++i)
        u[i] = static_cast<uint8_t>(i * 17);
    EXPECT_EQ(uuid_string(u), "00112233-4455-6677-8899-aabbccddeeff");
    EXPECT_EQ(state_name(DomainState::Shutdown), "shutdown");
}

} // namespace
} // namespace xkvm::toolstack
