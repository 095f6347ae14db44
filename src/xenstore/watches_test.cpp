#include "xenstore/watches.h"

#include <cerrno>

#include <gtest/gtest.h>

using namespace xkvm::xenstore;

namespace {

Change changed(std::string path) { return Change { std::move(path), false, { { 0, kAccessNone } } }; }
Change removed(std::string path) { return Change { std::move(path), true, { { 0, kAccessNone } } }; }

} // namespace

TEST(xenstore_watches, ChangesAtOrBelowTheWatchMatch)
{
    Watch w { "/a/b", "t", false };
    EXPECT_EQ(event_path(w, changed("/a/b"), 0), "/a/b");
    EXPECT_EQ(event_path(w, changed("/a/b/c/d"), 0), "/a/b/c/d");
    EXPECT_FALSE(event_path(w, changed("/a"), 0));
    EXPECT_FALSE(event_path(w, changed("/a/bc"), 0));
    Watch root { "/", "t", false };
    EXPECT_EQ(event_path(root, changed("/x"), 0), "/x");
    EXPECT_FALSE(event_path(root, changed("@releaseDomain"), 0));
}

TEST(xenstore_watches, RemovingAParentReportsTheWatchedPath)
{
    Watch w { "/a/b/c", "t", false };
    EXPECT_EQ(event_path(w, removed("/a"), 0), "/a/b/c");
    EXPECT_EQ(event_path(w, removed("/a/b/c/d"), 0), "/a/b/c/d");
    EXPECT_FALSE(event_path(w, removed("/z"), 0));
}

TEST(xenstore_watches, RelativeWatchesHearRelativePaths)
{
    Watch w { "/local/domain/3/device", "t", true };
    EXPECT_EQ(event_path(w, changed("/local/domain/3/device/vif/0"), 3), "device/vif/0");
    EXPECT_EQ(event_path(w, removed("/local/domain/3"), 3), "device");
    EXPECT_EQ(w.client_path(3), "device");
}

TEST(xenstore_watches, SpecialWatches)
{
    Watch w { "@releaseDomain", "t", false };
    EXPECT_EQ(event_path(w, changed("@releaseDomain"), 0), "@releaseDomain");
    EXPECT_FALSE(event_path(w, changed("@introduceDomain"), 0));
    EXPECT_FALSE(event_path(w, removed("/local"), 0));
}

TEST(xenstore_watches, SetRejectsDuplicatesAndUnknownRemovals)
{
    WatchSet set;
    EXPECT_TRUE(set.add(Watch { "/a", "t1", false }).has_value());
    EXPECT_EQ(set.add(Watch { "/a", "t1", true }).error().code, EEXIST);
    EXPECT_TRUE(set.add(Watch { "/a", "t2", false }).has_value());
    EXPECT_EQ(set.size(), 2u);
    EXPECT_EQ(set.remove("/a", "t3").error().code, ENOENT);
    EXPECT_TRUE(set.remove("/a", "t1").has_value());
    EXPECT_EQ(set.size(), 1u);
    set.clear();
    EXPECT_EQ(set.size(), 0u);
}
