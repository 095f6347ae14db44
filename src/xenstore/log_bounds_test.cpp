// Issue 11: a guest whose watch events cannot be delivered (a 4000-byte token) does not make the
// daemon log one warning per event.
#include <gtest/gtest.h>

#include "base/log_capture.h"
#include "xenstore/server.h"
#include "xenstore/server_test_util.h"

using namespace xkvm;
using namespace xkvm::xenstore;
using namespace xkvm::xenstore::testing;

TEST(xenstore_log_bounds, OversizedWatchEventsAreDroppedWithAFewWarnings)
{
    Harness h;
    ASSERT_TRUE(h.server.open_connection(kGuest1, 1).has_value());
    ASSERT_TRUE(h.server.create_domain_tree(1, "one").has_value());
    std::string token(4000, 't');
    ASSERT_EQ(h.write(kGuest1, "data", ""), "OK");
    ASSERT_EQ(h.watch(kGuest1, "data", token), "OK");
    log::LogCapture capture("xenstore");
    std::string child = "data/" + std::string(200, 'c');
    auto start = RateLimiter::Clock::now();
    for (int i = 0; i < 10'000; ++i)
        ASSERT_EQ(h.write(kGuest1, child, std::to_string(i)), "OK");
    // A loaded machine may stretch the loop over several of the limiter's windows.
    uint64_t bound = RateLimiter::default_bound_since(start);
    EXPECT_GE(capture.lines(), 1u);
    EXPECT_LE(capture.lines(), bound);
    EXPECT_LE(capture.bytes(), bound * 205);
}
