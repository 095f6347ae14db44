// Domain management requests and the toolstack helpers.
#include "xenstore/server.h"

#include <gtest/gtest.h>

#include "xenstore/server_test_util.h"

using namespace xkvm::xenstore;
using namespace xkvm::xenstore::testing;

namespace {

class ServerDomains : public ::testing::Test {
protected:
    void SetUp() override
    {
        ASSERT_TRUE(h.server.open_connection(kDom0, 0).has_value());
        ASSERT_TRUE(h.server.open_connection(kGuest1, 1).has_value());
        ASSERT_TRUE(h.server.open_connection(kGuest2, 2).has_value());
    }
    Harness h;
};

// ctest names start with the subsystem, so `ctest -R xenstore` finds them.
using xenstore_server_domain = ServerDomains;

} // namespace

TEST_F(xenstore_server_domain, IntroduceReleaseAndQuery)
{
    EXPECT_EQ(h.call(kDom0, MsgType::IsDomainIntroduced, args({ "5" })), args({ "F" }));
    EXPECT_EQ(h.call(kDom0, MsgType::IsDomainIntroduced, args({ "0" })), args({ "T" }));
    EXPECT_EQ(h.watch(kDom0, "@introduceDomain", "in"), "OK");
    h.events(kDom0);
    EXPECT_EQ(h.call(kDom0, MsgType::Introduce, args({ "5", "1234", "7" })), "OK");
    EXPECT_EQ(h.events(kDom0), (std::vector<Event> { { "@introduceDomain", "in" } }));
    EXPECT_TRUE(h.server.is_introduced(5));
    EXPECT_EQ(h.call(kGuest1, MsgType::IsDomainIntroduced, args({ "5" })), args({ "T" }));
    EXPECT_EQ(h.call(kDom0, MsgType::Introduce, args({ "5", "-1", "7", "" })), "OK"); // again: no event
    EXPECT_TRUE(h.events(kDom0).empty());

    EXPECT_EQ(h.watch(kDom0, "@releaseDomain", "out"), "OK");
    h.events(kDom0);
    EXPECT_EQ(h.call(kDom0, MsgType::Release, args({ "5" })), "OK");
    EXPECT_EQ(h.events(kDom0), (std::vector<Event> { { "@releaseDomain", "out" } }));
    EXPECT_FALSE(h.server.is_introduced(5));
    EXPECT_EQ(h.call(kDom0, MsgType::Release, args({ "5" })), "E:ENOENT");
}

TEST_F(xenstore_server_domain, DomainRequestsNeedPrivilege)
{
    EXPECT_EQ(h.call(kGuest1, MsgType::Introduce, args({ "5", "1", "1" })), "E:EACCES");
    EXPECT_EQ(h.call(kGuest1, MsgType::Release, args({ "1" })), "E:EACCES");
    EXPECT_EQ(h.call(kGuest1, MsgType::Resume, args({ "1" })), "E:EACCES");
    EXPECT_EQ(h.call(kGuest1, MsgType::SetTarget, args({ "1", "2" })), "E:EACCES");
    EXPECT_EQ(h.call(kGuest1, MsgType::Control, args({ "help" })), "E:EACCES");
    EXPECT_FALSE(h.server.is_introduced(5));
}

TEST_F(xenstore_server_domain, IntroduceValidatesArguments)
{
    EXPECT_EQ(h.call(kDom0, MsgType::Introduce, args({ "0", "1", "1" })), "E:EINVAL");
    EXPECT_EQ(h.call(kDom0, MsgType::Introduce, args({ "32752", "1", "1" })), "E:EINVAL");
    EXPECT_EQ(h.call(kDom0, MsgType::Introduce, args({ "x", "1", "1" })), "E:EINVAL");
    EXPECT_EQ(h.call(kDom0, MsgType::Introduce, args({ "5", "1" })), "E:EINVAL");
    EXPECT_EQ(h.call(kDom0, MsgType::Introduce, args({ "5", "mfn", "1" })), "E:EINVAL");
    EXPECT_EQ(h.call(kDom0, MsgType::Introduce, args({ "5", "1", "4294967296" })), "E:EINVAL");
    EXPECT_EQ(h.call(kDom0, MsgType::Release, args({ "0" })), "E:EINVAL");
    EXPECT_FALSE(h.server.is_introduced(5));
}

TEST_F(xenstore_server_domain, ShutdownFiresReleaseOnceUntilResume)
{
    ASSERT_TRUE(h.server.introduce_domain(4).has_value());
    EXPECT_EQ(h.watch(kDom0, "@releaseDomain", "out"), "OK");
    h.events(kDom0);
    h.server.domain_shutdown(4);
    h.server.domain_shutdown(4);
    EXPECT_EQ(h.events(kDom0).size(), 1u);
    EXPECT_EQ(h.call(kDom0, MsgType::Resume, args({ "4" })), "OK");
    h.server.domain_shutdown(4);
    EXPECT_EQ(h.events(kDom0).size(), 1u);
    EXPECT_EQ(h.call(kDom0, MsgType::Resume, args({ "9" })), "E:ENOENT");
    h.server.domain_shutdown(9); // unknown: nothing
    EXPECT_TRUE(h.events(kDom0).empty());
}

TEST_F(xenstore_server_domain, SetTargetGrantsTheTargetsRights)
{
    ASSERT_TRUE(h.server.create_domain_tree(1, "one").has_value());
    ASSERT_TRUE(h.server.introduce_domain(2).has_value());
    EXPECT_EQ(h.read(kGuest2, "/local/domain/1/data"), "E:EACCES");
    EXPECT_EQ(h.call(kDom0, MsgType::SetTarget, args({ "2", "1" })), "OK");
    EXPECT_EQ(h.read(kGuest2, "/local/domain/1/data"), "");
    EXPECT_EQ(h.write(kGuest2, "/local/domain/1/data/from-stubdom", "x"), "OK");
    EXPECT_EQ(h.read(kGuest2, "/local/domain/1/name"), "one"); // readable by 1, so by 2 as well
    EXPECT_EQ(h.call(kDom0, MsgType::SetTarget, args({ "7", "1" })), "E:ENOENT");
}

TEST_F(xenstore_server_domain, ControlIsMinimal)
{
    EXPECT_EQ(h.call(kDom0, MsgType::Control, args({ "help" })), args({ "help\nprint\nquota\n" }));
    EXPECT_EQ(h.call(kDom0, MsgType::Control, args({ "print", "hello" })), "OK");
    EXPECT_TRUE(h.call(kDom0, MsgType::Control, args({ "quota" })).starts_with("entries 1000\n"));
    EXPECT_EQ(h.call(kDom0, MsgType::Control, args({ "bogus" })), "E:EINVAL");
}

TEST_F(xenstore_server_domain, DomainTreeLayout)
{
    ASSERT_TRUE(h.server.create_domain_tree(1, "guest-one").has_value());
    EXPECT_EQ(h.read(kDom0, "/local/domain/1/name"), "guest-one");
    EXPECT_EQ(h.read(kDom0, "/local/domain/1/domid"), "1");
    EXPECT_EQ(h.get_perms(kDom0, "/local/domain/1"), args({ "n0", "r1" }));
    EXPECT_EQ(h.get_perms(kDom0, "/local/domain/1/name"), args({ "n0", "r1" }));
    EXPECT_EQ(h.get_perms(kDom0, "/local/domain/1/device"), args({ "n0", "r1" }));
    for (auto owned : { "data", "drivers", "feature", "attr", "error", "control/shutdown",
                        "control/feature-poweroff", "device/suspend/event-channel" })
        EXPECT_EQ(h.get_perms(kGuest1, owned), args({ "n1" })) << owned;
    EXPECT_EQ(h.read(kGuest1, "control/platform-feature-xs_reset_watches"), "1");
    // The guest answers through its own nodes and may not touch the toolstack's.
    EXPECT_EQ(h.write(kGuest1, "control/shutdown", ""), "OK");
    EXPECT_EQ(h.write(kGuest1, "device/vif", ""), "E:EACCES");
    EXPECT_EQ(h.write(kGuest1, "memory/target", "1"), "E:EACCES");
    EXPECT_EQ(h.write(kGuest1, "drivers/linux", "6.1"), "OK");
    EXPECT_EQ(h.read(kGuest2, "/local/domain/1/name"), "E:EACCES");
    // Re-creating starts from scratch.
    ASSERT_TRUE(h.server.create_domain_tree(1, "again").has_value());
    EXPECT_EQ(h.read(kGuest1, "drivers/linux"), "E:ENOENT");
    EXPECT_EQ(h.read(kGuest1, "name"), "again");
    EXPECT_FALSE(h.server.create_domain_tree(0, "dom0").has_value());
}

TEST_F(xenstore_server_domain, DestroyDomainCleansUp)
{
    ASSERT_TRUE(h.server.create_domain_tree(1, "one").has_value());
    ASSERT_TRUE(h.server.introduce_domain(1).has_value());
    EXPECT_EQ(h.watch(kGuest1, "data", "d"), "OK");
    uint32_t tx = h.start(kGuest1);
    ASSERT_NE(tx, 0u);
    EXPECT_EQ(h.watch(kDom0, "@releaseDomain", "out"), "OK");
    EXPECT_EQ(h.watch(kDom0, "/local/domain/1/data", "dom0data"), "OK");
    h.events(kDom0);
    h.events(kGuest1);
    int64_t owned_before = h.server.store().entries_owned(1);
    EXPECT_GT(owned_before, 0);

    ASSERT_TRUE(h.server.destroy_domain(1).has_value());
    EXPECT_EQ(h.server.store().find("/local/domain/1"), nullptr);
    EXPECT_EQ(h.server.store().entries_owned(1), 0);
    EXPECT_EQ(h.server.watch_count(1), 0u);
    EXPECT_EQ(h.server.transaction_count(1), 0u);
    EXPECT_FALSE(h.server.is_introduced(1));
    EXPECT_TRUE(h.events(kGuest1).empty());
    EXPECT_EQ(h.events(kDom0), (std::vector<Event> { { "/local/domain/1/data", "dom0data" },
                                                       { "@releaseDomain", "out" } }));
    // Destroying what is not there is harmless.
    EXPECT_TRUE(h.server.destroy_domain(1).has_value());
    EXPECT_FALSE(h.server.destroy_domain(0).has_value());
}

// What the fuzz targets do instead of building a domain's tree for every input.
TEST(xenstore_server_copy, StartsFromACopyOfAnotherServersTree)
{
    Harness original;
    ASSERT_TRUE(original.server.create_domain_tree(1, "one").has_value());
    Harness copy(Quota {}, original.server.store());
    ASSERT_TRUE(copy.server.open_connection(kGuest1, 1).has_value());
    EXPECT_EQ(copy.server.store().node_count(), original.server.store().node_count());
    EXPECT_EQ(copy.server.store().entries_owned(1), original.server.store().entries_owned(1));
    EXPECT_EQ(copy.read(kGuest1, "/local/domain/1/name"), "one");
    EXPECT_EQ(copy.write(kGuest1, "/local/domain/1/data/x", "y"), "OK");
    EXPECT_NE(copy.server.store().find("/local/domain/1/data/x"), nullptr);
    EXPECT_EQ(original.server.store().find("/local/domain/1/data/x"), nullptr); // the copy's own
}
