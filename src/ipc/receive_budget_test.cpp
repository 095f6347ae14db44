// Issue 11: Channel::receive takes at most about its budget per call, so a flooding peer is served
// in turns instead of being gathered whole.
#include <gtest/gtest.h>

#include <thread>

#include "ipc/channel.h"
#include "ipc/socket.h"

namespace xkvm::ipc {
namespace {

TEST(ReceiveBudget, EachCallTakesAboutItsBudgetAndTheRestWaits)
{
    auto pair = socket_pair();
    ASSERT_TRUE(pair);
    auto tx = Channel::create(std::move(pair->first));
    auto rx = Channel::create(std::move(pair->second));
    ASSERT_TRUE(tx && rx);
    constexpr int kFrames = 2000;
    std::string payload(1000, 'f');
    // The writer runs beside us: the socket holds far less than 2 MB.
    std::thread writer([&] {
        for (int i = 0; i < kFrames; ++i)
            ASSERT_TRUE((*tx)->send(Frame::make(FrameKind::Bytes, payload)));
        ASSERT_TRUE((*tx)->flush_blocking(std::chrono::seconds(30)));
    });
    constexpr size_t kBudget = 16 * 1024;
    size_t got = 0, calls = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (got < kFrames && std::chrono::steady_clock::now() < deadline) {
        std::vector<Frame> out;
        auto open = (*rx)->receive(out, kBudget);
        ASSERT_TRUE(open && *open);
        // At most the budget's worth of bytes, so at most this many whole frames.
        EXPECT_LE(out.size(), kBudget / (payload.size() + kHeaderSize) + 1);
        got += out.size();
        ++calls;
    }
    writer.join();
    EXPECT_EQ(got, static_cast<size_t>(kFrames));
    EXPECT_GE(calls, static_cast<size_t>(kFrames) * (payload.size() + kHeaderSize) / kBudget);
}

} // namespace
} // namespace xkvm::ipc
