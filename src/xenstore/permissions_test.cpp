#include "xenstore/permissions.h"

#include <cerrno>

#include <gtest/gtest.h>

using namespace xkvm::xenstore;

TEST(xenstore_permissions, ParseAndFormat)
{
    auto r = parse_perm("r5");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->domid, 5);
    EXPECT_EQ(r->access, kAccessRead);
    EXPECT_EQ(parse_perm("w0")->access, kAccessWrite);
    EXPECT_EQ(parse_perm("b65535")->access, kAccessBoth);
    EXPECT_EQ(parse_perm("n12")->access, kAccessNone);
    for (std::string_view bad : { "", "r", "x1", "r-1", "r65536", "r1a", "R1", "b 1" })
        EXPECT_EQ(parse_perm(bad).error().code, EINVAL) << bad;
    Perms perms { { 0, kAccessNone }, { 3, kAccessBoth }, { 4, kAccessWrite } };
    EXPECT_EQ(format_perms(perms), std::string("n0\0b3\0w4\0", 9));
    EXPECT_EQ(format_perm({ 9, kAccessRead }), "r9");
}

TEST(xenstore_permissions, OwnerHasFullAccess)
{
    Perms perms { { 5, kAccessNone } };
    Caller owner { 5, false, std::nullopt };
    EXPECT_EQ(access_for(owner, perms), kAccessBoth | kAccessOwner);
    Caller other { 6, false, std::nullopt };
    EXPECT_EQ(access_for(other, perms), kAccessNone);
}

TEST(xenstore_permissions, DefaultAndPerDomainEntries)
{
    Perms perms { { 0, kAccessRead }, { 7, kAccessBoth }, { 8, kAccessNone } };
    EXPECT_EQ(access_for({ 7, false, std::nullopt }, perms), kAccessBoth);
    EXPECT_EQ(access_for({ 8, false, std::nullopt }, perms), kAccessNone);
    EXPECT_EQ(access_for({ 9, false, std::nullopt }, perms), kAccessRead);
    EXPECT_TRUE(allows({ 9, false, std::nullopt }, perms, kAccessRead));
    EXPECT_FALSE(allows({ 9, false, std::nullopt }, perms, kAccessWrite));
}

TEST(xenstore_permissions, PrivilegedAndTarget)
{
    Perms perms { { 5, kAccessNone } };
    EXPECT_TRUE(allows({ 0, true, std::nullopt }, perms, kAccessBoth | kAccessOwner));
    Caller stubdom { 9, false, DomId { 5 } };
    EXPECT_TRUE(allows(stubdom, perms, kAccessWrite | kAccessOwner));
    Perms granted { { 0, kAccessNone }, { 5, kAccessRead } };
    EXPECT_EQ(access_for(stubdom, granted), kAccessRead);
}
