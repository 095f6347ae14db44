// Issue 11: all domains' xenstore memory together has a cap, and nothing a guest repeats inside one
// transaction makes it grow without end.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "xenstore/server.h"
#include "xenstore/server_test_util.h"

using namespace xkvm;
using namespace xkvm::xenstore;
using namespace xkvm::xenstore::testing;

namespace {

// Two guests with their trees, under a cap `headroom` bytes above what the trees take.
struct CappedHarness {
    explicit CappedHarness(size_t headroom)
    {
        EXPECT_TRUE(h.server.open_connection(kDom0, 0).has_value());
        EXPECT_TRUE(h.server.open_connection(kGuest1, 1).has_value());
        EXPECT_TRUE(h.server.open_connection(kGuest2, 2).has_value());
        EXPECT_TRUE(h.server.create_domain_tree(1, "one").has_value());
        EXPECT_TRUE(h.server.create_domain_tree(2, "two").has_value());
        Quota q;
        q.max_total_bytes = h.server.memory_used() + headroom;
        h.server.set_quota(q);
    }
    Harness h;
};

} // namespace

TEST(xenstore_memory_cap, StoreBytesFollowWritesAndRemovalsBackToWhereTheyStarted)
{
    Harness h;
    ASSERT_TRUE(h.server.open_connection(kDom0, 0).has_value());
    const size_t empty = h.server.memory_used();
    ASSERT_EQ(h.write(kDom0, "/a/b", std::string(1000, 'x')), "OK");
    EXPECT_GE(h.server.memory_used(), empty + 1000);
    ASSERT_EQ(h.write(kDom0, "/a/b", "y"), "OK");
    EXPECT_LT(h.server.memory_used(), empty + 1000) << "a rewrite replaces the old value's bytes";
    ASSERT_EQ(h.rm(kDom0, "/a"), "OK");
    EXPECT_EQ(h.server.memory_used(), empty);
}

TEST(xenstore_memory_cap, RewritingOneNodeInATransactionKeepsOneCopyAndAnnouncesItOnce)
{
    Harness h;
    ASSERT_TRUE(h.server.open_connection(kGuest1, 1).has_value());
    ASSERT_TRUE(h.server.create_domain_tree(1, "one").has_value());
    ASSERT_EQ(h.watch(kGuest1, "data", "tok"), "OK");
    (void)h.events(kGuest1); // the event every new watch fires at once; not under test here
    uint32_t tx = h.start(kGuest1);
    ASSERT_NE(tx, 0u);
    ASSERT_EQ(h.write(kGuest1, "data/a", std::string(2000, 'x'), tx), "OK");
    const size_t after_first = h.server.memory_used();
    for (int i = 0; i < 5000; ++i)
        ASSERT_EQ(h.write(kGuest1, "data/a", std::string(2000, char('a' + i % 26)), tx), "OK");
    EXPECT_EQ(h.server.memory_used(), after_first) << "each rewrite used to keep one more change record";
    ASSERT_EQ(h.end(kGuest1, tx, true), "OK");
    const auto events = h.events(kGuest1);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0], (Event { "data/a", "tok" }));
}

TEST(xenstore_memory_cap, AtTheCapGuestsGetEnospcForWhatWouldGrowAndMayStillReadAndRemove)
{
    CappedHarness c(64 * 1024);
    auto& h = c.h;
    int written = 0;
    std::string reply;
    while ((reply = h.write(kGuest1, fmt::format("data/n{}", written), std::string(1500, 'x'))) == "OK")
        ++written;
    EXPECT_EQ(reply, "E:ENOSPC");
    EXPECT_GE(written, 20) << "the headroom holds about 40 such nodes";
    EXPECT_LE(h.server.memory_used(), h.server.quota().max_total_bytes + 4096) << "overshoot is one request";
    // The other guest is refused too: the cap is the daemon's, not a domain's.
    EXPECT_EQ(h.write(kGuest2, "data/x", "1"), "E:ENOSPC");
    EXPECT_EQ(h.mkdir(kGuest2, "data/d"), "E:ENOSPC");
    EXPECT_EQ(h.watch(kGuest2, "data", "t"), "E:ENOSPC");
    EXPECT_EQ(h.start(kGuest2), 0u);
    // Reading and removing never are, and removing makes room again.
    EXPECT_EQ(h.read(kGuest1, "data/n0"), std::string(1500, 'x'));
    ASSERT_EQ(h.rm(kGuest1, "data/n0"), "OK");
    ASSERT_EQ(h.rm(kGuest1, "data/n1"), "OK");
    EXPECT_EQ(h.write(kGuest2, "data/x", "1"), "OK");
    // The toolstack is not a guest: its writes go through.
    EXPECT_EQ(h.write(kDom0, "/tool/x", std::string(1500, 'x')), "OK");
}

TEST(xenstore_memory_cap, OpenTransactionsCountAndAFullDaemonRefusesANewDomainSayingWhy)
{
    CappedHarness c(32 * 1024);
    auto& h = c.h;
    uint32_t tx = h.start(kGuest1);
    ASSERT_NE(tx, 0u);
    int touched = 0;
    while (h.read(kGuest1, fmt::format("data/missing-{}-{}", touched, std::string(200, 'p')), tx) == "E:ENOENT")
        ++touched;
    EXPECT_GT(touched, 20) << "reads inside a transaction are what filled the cap";
    EXPECT_EQ(h.read(kGuest1, "data/more", tx), "E:ENOSPC");

    auto refused = h.server.create_domain_tree(3, "three");
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, ENOSPC);
    EXPECT_NE(refused.error().message.find("memory cap"), std::string::npos) << refused.error().message;

    // Ending the transaction frees what it held.
    ASSERT_EQ(h.end(kGuest1, tx, false), "OK");
    EXPECT_TRUE(h.server.create_domain_tree(3, "three").has_value());
}
