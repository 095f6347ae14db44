// Issue 11: a guest cannot pin memory with transactions it never ends.
#include <gtest/gtest.h>

#include "xenstore/server.h"
#include "xenstore/server_test_util.h"

using namespace xkvm;
using namespace xkvm::xenstore;
using namespace xkvm::xenstore::testing;

TEST(xenstore_transaction_timeout, AnAbandonedTransactionIsDiscardedAndEndsWithEagain)
{
    Harness h;
    Server::Clock::time_point now {};
    h.server.set_clock([&] { return now; });
    ASSERT_TRUE(h.server.open_connection(kDom0, 0).has_value());
    ASSERT_TRUE(h.server.open_connection(kGuest1, 1).has_value());
    ASSERT_TRUE(h.server.create_domain_tree(1, "one").has_value());
    Quota q;
    q.transaction_timeout = std::chrono::seconds(10);
    h.server.set_quota(q);

    uint32_t tx = h.start(kGuest1);
    ASSERT_NE(tx, 0u);
    ASSERT_EQ(h.write(kGuest1, "data/a", std::string(1000, 'x'), tx), "OK");
    EXPECT_EQ(h.server.next_transaction_expiry(), now + std::chrono::seconds(10));
    now += std::chrono::seconds(9);
    EXPECT_EQ(h.server.expire_transactions(), 0u);
    EXPECT_EQ(h.read(kGuest1, "data/a", tx), std::string(1000, 'x'));
    now += std::chrono::seconds(1);
    EXPECT_EQ(h.server.expire_transactions(), 1u);
    EXPECT_EQ(h.server.next_transaction_expiry(), std::nullopt);
    // Its view is gone: use and end say EAGAIN (the guest starts over), and nothing was committed.
    EXPECT_EQ(h.read(kGuest1, "data/a", tx), "E:EAGAIN");
    EXPECT_EQ(h.end(kGuest1, tx, true), "E:EAGAIN");
    EXPECT_EQ(h.read(kGuest1, "data/a"), "E:ENOENT");
    EXPECT_EQ(h.server.transaction_count(1), 0u);
    EXPECT_EQ(h.end(kGuest1, tx, true), "E:ENOENT");

    // The toolstack's own transactions have no limit.
    uint32_t tx0 = h.start(kDom0);
    ASSERT_NE(tx0, 0u);
    now += std::chrono::hours(1);
    EXPECT_EQ(h.server.expire_transactions(), 0u);
    EXPECT_EQ(h.end(kDom0, tx0, true), "OK");
}

TEST(xenstore_transaction_timeout, ExpiredTransactionsStillCountAgainstTheQuotaUntilEnded)
{
    Harness h;
    Server::Clock::time_point now {};
    h.server.set_clock([&] { return now; });
    ASSERT_TRUE(h.server.open_connection(kGuest1, 1).has_value());
    ASSERT_TRUE(h.server.create_domain_tree(1, "one").has_value());
    for (uint32_t i = 0; i < h.server.quota().max_transactions_per_domain; ++i)
        ASSERT_NE(h.start(kGuest1), 0u);
    now += h.server.quota().transaction_timeout;
    EXPECT_EQ(h.server.expire_transactions(), h.server.quota().max_transactions_per_domain);
    EXPECT_EQ(h.start(kGuest1), 0u); // still at the quota: the guest must end them first
}
