// Watches and watch events through the protocol.
#include "xenstore/server.h"

#include <gtest/gtest.h>

#include "xenstore/server_test_util.h"

using namespace xkvm::xenstore;
using namespace xkvm::xenstore::testing;

namespace {

class ServerWatches : public ::testing::Test {
protected:
    void SetUp() override
    {
        ASSERT_TRUE(h.server.open_connection(kDom0, 0).has_value());
        ASSERT_TRUE(h.server.open_connection(kGuest1, 1).has_value());
        ASSERT_TRUE(h.server.open_connection(kGuest2, 2).has_value());
        ASSERT_TRUE(h.server.create_domain_tree(1, "one").has_value());
        ASSERT_TRUE(h.server.create_domain_tree(2, "two").has_value());
        h.events(kDom0);
    }
    Harness h;
};

// ctest names start with the subsystem, so `ctest -R xenstore` finds them.
using xenstore_server_watch = ServerWatches;

} // namespace

TEST_F(xenstore_server_watch, WatchFiresOnceStraightAway)
{
    EXPECT_EQ(h.watch(kDom0, "/w", "tok"), "OK");
    EXPECT_EQ(h.events(kDom0), (std::vector<Event> { { "/w", "tok" } }));
    EXPECT_EQ(h.events(kDom0), (std::vector<Event> {}));
}

TEST_F(xenstore_server_watch, ChildChangesFireAfterTheReply)
{
    EXPECT_EQ(h.watch(kDom0, "/w", "tok"), "OK");
    h.events(kDom0);
    EXPECT_EQ(h.write(kDom0, "/w/a/b", "1"), "OK"); // Harness checks the event follows the reply
    EXPECT_EQ(h.write(kDom0, "/w", "2"), "OK");
    EXPECT_EQ(h.write(kDom0, "/other", "3"), "OK");
    EXPECT_EQ(h.write(kDom0, "/wx", "4"), "OK");
    EXPECT_EQ(h.events(kDom0), (std::vector<Event> { { "/w/a/b", "tok" }, { "/w", "tok" } }));
}

TEST_F(xenstore_server_watch, RemovingAParentFiresWatchesBelow)
{
    EXPECT_EQ(h.write(kDom0, "/p/q/r", "1"), "OK");
    EXPECT_EQ(h.watch(kDom0, "/p/q/r", "deep"), "OK");
    EXPECT_EQ(h.watch(kDom0, "/p/q/r/not-yet", "deeper"), "OK");
    EXPECT_EQ(h.watch(kDom0, "/p", "top"), "OK");
    h.events(kDom0);
    EXPECT_EQ(h.rm(kDom0, "/p/q"), "OK");
    auto ev = h.events(kDom0);
    EXPECT_EQ(ev, (std::vector<Event> { { "/p/q/r", "deep" }, { "/p/q/r/not-yet", "deeper" }, { "/p/q", "top" } }));
}

TEST_F(xenstore_server_watch, RelativeWatchesForGuests)
{
    EXPECT_EQ(h.watch(kGuest1, "control/shutdown", "sd"), "OK");
    EXPECT_EQ(h.events(kGuest1), (std::vector<Event> { { "control/shutdown", "sd" } }));
    EXPECT_EQ(h.write(kDom0, "/local/domain/1/control/shutdown", "poweroff"), "OK");
    EXPECT_EQ(h.events(kGuest1), (std::vector<Event> { { "control/shutdown", "sd" } }));
    // An absolute watch on the same node hears absolute paths.
    EXPECT_EQ(h.watch(kGuest1, "/local/domain/1/control/shutdown", "abs"), "OK");
    h.events(kGuest1);
    EXPECT_EQ(h.write(kDom0, "/local/domain/1/control/shutdown", ""), "OK");
    EXPECT_EQ(h.events(kGuest1), (std::vector<Event> { { "control/shutdown", "sd" },
                                                         { "/local/domain/1/control/shutdown", "abs" } }));
}

TEST_F(xenstore_server_watch, UnwatchStopsEvents)
{
    EXPECT_EQ(h.watch(kGuest1, "data", "d"), "OK");
    h.events(kGuest1);
    EXPECT_EQ(h.unwatch(kGuest1, "data", "other"), "E:ENOENT");
    EXPECT_EQ(h.unwatch(kGuest1, "data", "d"), "OK");
    EXPECT_EQ(h.write(kGuest1, "data/x", "1"), "OK");
    EXPECT_TRUE(h.events(kGuest1).empty());
    EXPECT_EQ(h.server.watch_count(1), 0u);
}

TEST_F(xenstore_server_watch, DuplicateWatchIsEexist)
{
    EXPECT_EQ(h.watch(kDom0, "/d", "t"), "OK");
    EXPECT_EQ(h.watch(kDom0, "/d", "t"), "E:EEXIST");
    EXPECT_EQ(h.watch(kDom0, "/d", "t2"), "OK");
}

TEST_F(xenstore_server_watch, EventsRespectReadPermission)
{
    EXPECT_EQ(h.watch(kGuest2, "/local/domain/1", "spy"), "OK");
    h.events(kGuest2); // the first event always comes
    EXPECT_EQ(h.write(kGuest1, "data/secret", "x"), "OK");
    EXPECT_TRUE(h.events(kGuest2).empty());
    EXPECT_EQ(h.watch(kDom0, "/local/domain/1", "dom0"), "OK");
    h.events(kDom0);
    EXPECT_EQ(h.write(kGuest1, "data/secret", "y"), "OK");
    EXPECT_EQ(h.events(kDom0), (std::vector<Event> { { "/local/domain/1/data/secret", "dom0" } }));
}

TEST_F(xenstore_server_watch, TransactionEventsFireOnCommitOnly)
{
    EXPECT_EQ(h.watch(kGuest1, "data", "d"), "OK");
    h.events(kGuest1);
    uint32_t tx = h.start(kGuest1);
    EXPECT_EQ(h.write(kGuest1, "data/a", "1", tx), "OK");
    EXPECT_EQ(h.write(kGuest1, "data/b", "2", tx), "OK");
    EXPECT_TRUE(h.events(kGuest1).empty());
    EXPECT_EQ(h.end(kGuest1, tx, true), "OK");
    EXPECT_EQ(h.events(kGuest1), (std::vector<Event> { { "data/a", "d" }, { "data/b", "d" } }));

    uint32_t aborted = h.start(kGuest1);
    EXPECT_EQ(h.write(kGuest1, "data/c", "3", aborted), "OK");
    EXPECT_EQ(h.end(kGuest1, aborted, false), "OK");
    EXPECT_TRUE(h.events(kGuest1).empty());
}

TEST_F(xenstore_server_watch, OneEventPerWatchAndPath)
{
    EXPECT_EQ(h.watch(kDom0, "/dup", "t"), "OK");
    h.events(kDom0);
    uint32_t tx = h.start(kDom0);
    EXPECT_EQ(h.write(kDom0, "/dup/x", "1", tx), "OK");
    EXPECT_EQ(h.write(kDom0, "/dup/x", "2", tx), "OK");
    EXPECT_EQ(h.end(kDom0, tx, true), "OK");
    EXPECT_EQ(h.events(kDom0), (std::vector<Event> { { "/dup/x", "t" } }));
}

TEST_F(xenstore_server_watch, ResetWatchesDropsWatchesAndTransactions)
{
    EXPECT_EQ(h.watch(kGuest1, "data", "d"), "OK");
    uint32_t tx = h.start(kGuest1);
    h.events(kGuest1);
    EXPECT_EQ(h.call(kGuest1, MsgType::ResetWatches, std::string("\0", 1)), "OK");
    EXPECT_EQ(h.server.watch_count(1), 0u);
    EXPECT_EQ(h.server.transaction_count(1), 0u);
    EXPECT_EQ(h.end(kGuest1, tx, true), "E:ENOENT");
    EXPECT_EQ(h.write(kGuest1, "data/x", "1"), "OK");
    EXPECT_TRUE(h.events(kGuest1).empty());
}

TEST_F(xenstore_server_watch, ClosedAndResetConnectionsHearNothing)
{
    EXPECT_EQ(h.watch(kGuest1, "data", "d"), "OK");
    EXPECT_EQ(h.watch(kGuest2, "data", "d"), "OK");
    h.events(kGuest1);
    h.events(kGuest2);
    h.server.reset_connection(kGuest1);
    h.server.close_connection(kGuest2);
    EXPECT_EQ(h.write(kDom0, "/local/domain/1/data/x", "1"), "OK");
    EXPECT_EQ(h.write(kDom0, "/local/domain/2/data/x", "1"), "OK");
    EXPECT_TRUE(h.events(kGuest1).empty());
    EXPECT_TRUE(h.events(kGuest2).empty());
    EXPECT_EQ(h.server.connection_count(), 2u);
}

TEST_F(xenstore_server_watch, WatchQuotaIsE2big)
{
    Quota q;
    q.max_watches_per_domain = 3;
    h.server.set_quota(q);
    for (int i = 0; i < 3; i++)
        EXPECT_EQ(h.watch(kGuest1, "data", "t" + std::to_string(i)), "OK");
    EXPECT_EQ(h.watch(kGuest1, "data", "t3"), "E:E2BIG");
    EXPECT_EQ(h.watch(kDom0, "/x", "dom0-unlimited-1"), "OK");
    EXPECT_EQ(h.watch(kDom0, "/x", "dom0-unlimited-2"), "OK");
    EXPECT_EQ(h.watch(kDom0, "/x", "dom0-unlimited-3"), "OK");
    EXPECT_EQ(h.watch(kDom0, "/x", "dom0-unlimited-4"), "OK");
}

TEST_F(xenstore_server_watch, SpecialWatchesGoToThePrivileged)
{
    EXPECT_EQ(h.watch(kDom0, "@introduceDomain", "in"), "OK");
    EXPECT_EQ(h.watch(kDom0, "@releaseDomain", "out"), "OK");
    EXPECT_EQ(h.watch(kGuest1, "@releaseDomain", "g"), "OK");
    EXPECT_EQ(h.events(kDom0), (std::vector<Event> { { "@introduceDomain", "in" }, { "@releaseDomain", "out" } }));
    EXPECT_EQ(h.events(kGuest1), (std::vector<Event> { { "@releaseDomain", "g" } }));

    ASSERT_TRUE(h.server.introduce_domain(1).has_value());
    EXPECT_EQ(h.events(kDom0), (std::vector<Event> { { "@introduceDomain", "in" } }));
    ASSERT_TRUE(h.server.introduce_domain(1).has_value()); // already introduced: no event
    EXPECT_TRUE(h.events(kDom0).empty());
    ASSERT_TRUE(h.server.release_domain(1).has_value());
    EXPECT_EQ(h.events(kDom0), (std::vector<Event> { { "@releaseDomain", "out" } }));
    EXPECT_TRUE(h.events(kGuest1).empty());

    // Granting read on the special node lets a guest hear it.
    EXPECT_EQ(h.set_perms(kDom0, "@releaseDomain", { "n0", "r2" }), "OK");
    EXPECT_EQ(h.get_perms(kDom0, "@releaseDomain"), args({ "n0", "r2" }));
    EXPECT_EQ(h.get_perms(kGuest1, "@releaseDomain"), "E:EACCES");
    EXPECT_EQ(h.set_perms(kGuest2, "@releaseDomain", { "b2" }), "E:EACCES");
    EXPECT_EQ(h.get_perms(kDom0, "@nonsense"), "E:ENOENT");
    EXPECT_EQ(h.watch(kGuest2, "@releaseDomain", "g2"), "OK");
    h.events(kGuest2);
    ASSERT_TRUE(h.server.introduce_domain(3).has_value());
    ASSERT_TRUE(h.server.release_domain(3).has_value());
    EXPECT_EQ(h.events(kGuest2), (std::vector<Event> { { "@releaseDomain", "g2" } }));
}

TEST_F(xenstore_server_watch, OversizedEventsAreDropped)
{
    std::string token(2000, 't');
    EXPECT_EQ(h.watch(kDom0, "/", token), "OK");
    h.events(kDom0);
    std::string deep = "/" + std::string(2500, 'p');
    EXPECT_EQ(h.write(kDom0, deep, ""), "OK");
    EXPECT_TRUE(h.events(kDom0).empty());
    EXPECT_EQ(h.write(kDom0, "/short", ""), "OK");
    EXPECT_EQ(h.events(kDom0).size(), 1u);
}
