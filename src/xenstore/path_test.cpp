#include "xenstore/path.h"

#include <cerrno>

#include <gtest/gtest.h>

using namespace xkvm::xenstore;

TEST(xenstore_path, AbsolutePathsAreKept)
{
    auto p = canonicalize("/local/domain/1/data", 1);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->path, "/local/domain/1/data");
    EXPECT_FALSE(p->relative);
    auto root = canonicalize("/", 3);
    ASSERT_TRUE(root.has_value());
    EXPECT_EQ(root->path, "/");
}

TEST(xenstore_path, RelativePathsResolveUnderHome)
{
    auto p = canonicalize("device/vif/0", 7);
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->path, "/local/domain/7/device/vif/0");
    EXPECT_TRUE(p->relative);
    EXPECT_EQ(home_path(0), "/local/domain/0");
}

TEST(xenstore_path, MalformedPathsAreEinval)
{
    for (std::string_view bad : { "", "/a/", "a/", "//a", "/a//b", "/a b", "/a.b", "/a\n", "@special",
                                  "/\xff" }) {
        auto r = canonicalize(bad, 1);
        ASSERT_FALSE(r.has_value()) << bad;
        EXPECT_EQ(r.error().code, EINVAL);
    }
    EXPECT_TRUE(canonicalize("/a-b_c@D9", 1).has_value());
}

TEST(xenstore_path, LengthLimits)
{
    std::string abs = "/" + std::string(kAbsPathMax - 1, 'a');
    EXPECT_TRUE(canonicalize(abs, 1).has_value());
    EXPECT_FALSE(canonicalize(abs + "b", 1).has_value());

    std::string rel(kRelPathMax, 'r');
    EXPECT_TRUE(canonicalize(rel, 1).has_value());
    EXPECT_FALSE(canonicalize(rel + "r", 1).has_value());
}

TEST(xenstore_path, SpecialPaths)
{
    EXPECT_TRUE(is_special("@releaseDomain"));
    EXPECT_FALSE(is_special("/@x"));
    EXPECT_TRUE(validate_special("@introduceDomain").has_value());
    EXPECT_FALSE(validate_special("@").has_value());
    EXPECT_FALSE(validate_special("@a b").has_value());
    EXPECT_FALSE(validate_special("@" + std::string(kRelPathMax, 'x')).has_value());
}

TEST(xenstore_path, ChildAndParent)
{
    EXPECT_TRUE(is_child("/a/b", "/a"));
    EXPECT_TRUE(is_child("/a", "/a"));
    EXPECT_TRUE(is_child("/a", "/"));
    EXPECT_FALSE(is_child("/ab", "/a"));
    EXPECT_FALSE(is_child("/a", "/a/b"));
    EXPECT_FALSE(is_child("@releaseDomain", "/"));
    EXPECT_TRUE(is_child("@releaseDomain", "@releaseDomain"));
    EXPECT_EQ(parent_of("/a/b/c"), "/a/b");
    EXPECT_EQ(parent_of("/a"), "/");
    EXPECT_EQ(basename_of("/a/b/c"), "c");
    EXPECT_EQ(join_path("/", "a"), "/a");
    EXPECT_EQ(join_path("/a", "b"), "/a/b");
}

TEST(xenstore_path, RelativeToHome)
{
    EXPECT_EQ(relative_to_home("/local/domain/4/device/vbd", 4), "device/vbd");
    EXPECT_EQ(relative_to_home("/local/domain/4", 4), "/local/domain/4");
    EXPECT_EQ(relative_to_home("/local/domain/40/x", 4), "/local/domain/40/x");
    EXPECT_EQ(relative_to_home("/other", 4), "/other");
}
