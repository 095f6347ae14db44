// Issue 11: what one VMM can make xkvmd hold. Requests in flight to a VMM are capped, and its
// replies are held to the untrusted-peer limits before anything copies them.
#include "toolstack/daemon/vmm_link.h"

#include <gtest/gtest.h>

#include "ipc/socket.h"

namespace xkvm::toolstack {
namespace {

struct LinkFixture : ::testing::Test {
    void SetUp() override
    {
        auto pair = ipc::socket_pair();
        ASSERT_TRUE(pair);
        auto l = VmmLink::adopt(0, 7, std::move(pair->first));
        ASSERT_TRUE(l);
        link = l.release_value();
        far = ipc::Channel::create(std::move(pair->second)).release_value();
    }
    std::unique_ptr<VmmLink> link;
    std::unique_ptr<ipc::Channel> far; // the VMM's end, which never answers unless told
};

TEST_F(LinkFixture, RequestsInFlightAreCapped)
{
    int busy = 0, answered = 0;
    for (size_t i = 0; i < VmmLink::kMaxPending + 50; ++i)
        link->request("status", ipc::Json::object(), [&](Result<ipc::Json> r) {
            if (!r && r.error().code == EBUSY)
                ++busy;
            else
                ++answered;
        });
    EXPECT_EQ(link->pending(), VmmLink::kMaxPending);
    EXPECT_EQ(busy, 50);
    EXPECT_EQ(answered, 0);
    // Expiry frees the slots.
    link->expire(VmmLink::Clock::now() + std::chrono::hours(1));
    EXPECT_EQ(link->pending(), 0u);
    EXPECT_EQ(answered, static_cast<int>(VmmLink::kMaxPending));
}

TEST_F(LinkFixture, AReplyGoesToItsRequestWithoutItsEnvelope)
{
    std::optional<Result<ipc::Json>> got;
    link->request("status", ipc::Json::object(), [&](Result<ipc::Json> r) { got = std::move(r); });
    ipc::Json reply { { "id", uint64_t { 1 } }, { "ok", true }, { "paused", true } };
    std::vector<UniqueFd> fds;
    ASSERT_TRUE(link->complete(reply, fds));
    ASSERT_TRUE(got && *got);
    EXPECT_EQ(**got, (ipc::Json { { "paused", true } }));
}

} // namespace
} // namespace xkvm::toolstack
