#include "base/rate_limit.h"

#include <gtest/gtest.h>

namespace xkvm {
namespace {

using namespace std::chrono_literals;

TEST(RateLimiter, AdmitsABurstPerWindowAndCountsTheRest)
{
    RateLimiter::Clock::time_point t {};
    RateLimiter limit(3, 1s, [&] { return t; });
    int admitted = 0;
    for (int i = 0; i < 1000; ++i)
        admitted += limit.admit().has_value();
    EXPECT_EQ(admitted, 3);
    EXPECT_EQ(limit.dropped_total(), 997u);
    // Next window: the first one through reports what was dropped.
    t += 1s;
    EXPECT_EQ(limit.admit(), std::optional<uint64_t>(997));
    EXPECT_EQ(limit.admit(), std::optional<uint64_t>(0));
    t += 999ms;
    EXPECT_EQ(limit.admit(), std::optional<uint64_t>(0));
    EXPECT_EQ(limit.admit(), std::nullopt);
}

TEST(RateLimiter, SuppressedNote)
{
    EXPECT_EQ(suppressed_note(0), "");
    EXPECT_EQ(suppressed_note(12), " (12 more suppressed)");
}

} // namespace
} // namespace xkvm
