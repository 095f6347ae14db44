// Issue 11: interdomain notification never blocks, whatever the far VMM does to its descriptor.
#include "ipc/notify_socket.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

using namespace xkvm;
using namespace xkvm::ipc;
using namespace std::chrono_literals;

namespace {

void clear_nonblock(int fd)
{
    int flags = ::fcntl(fd, F_GETFL);
    ASSERT_GE(flags, 0);
    ASSERT_EQ(::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK), 0);
}

// Runs `fn` on a thread and reports whether it finished within `timeout`. A blocked call leaves the
// thread behind (detached) so that the test can fail instead of hanging.
bool finishes(std::function<void()> fn, std::chrono::milliseconds timeout = 10s)
{
    struct State {
        std::mutex m;
        std::condition_variable cv;
        bool done = false;
    };
    auto st = std::make_shared<State>();
    std::thread([st, fn = std::move(fn)] {
        fn();
        std::lock_guard g(st->m);
        st->done = true;
        st->cv.notify_all();
    }).detach();
    std::unique_lock l(st->m);
    return st->cv.wait_for(l, timeout, [&] { return st->done; });
}

TEST(NotifySocket, ASendReturnsPromptlyWhenTheFarSideNeverReadsAndClearedONonblock)
{
    auto pair = make_notify_pair();
    ASSERT_TRUE(pair);
    // The far side (it holds the receive end) makes its end blocking and never reads; it even
    // clears O_NONBLOCK on the send end, as a peer sharing the file could.
    clear_nonblock(pair->receive_end.get());
    clear_nonblock(pair->send_end.get());
    int fd = pair->send_end.get();
    std::atomic<int> delivered { 0 }, refused { 0 };
    ASSERT_TRUE(finishes([&] {
        for (int i = 0; i < 100'000; ++i)
            (send_notify(fd) ? delivered : refused)++;
    })) << "a notify blocked";
    EXPECT_GT(delivered.load(), 0);
    EXPECT_GT(refused.load(), 0); // the queue filled, and the sends still returned
    // Whatever was queued is read without blocking, and an empty queue returns at once.
    int rd = pair->receive_end.get();
    size_t drained = 0;
    ASSERT_TRUE(finishes([&] {
        drained = drain_notify(rd);
        drained += drain_notify(rd);
    }));
    EXPECT_EQ(drained, static_cast<size_t>(delivered.load()));
    EXPECT_TRUE(finishes([&] { EXPECT_EQ(drain_notify(rd), 0u); }));
}

TEST(NotifySocket, AFarSideThatClosedIsNoError)
{
    auto pair = make_notify_pair();
    ASSERT_TRUE(pair);
    pair->receive_end.reset();
    EXPECT_TRUE(finishes([&] { EXPECT_FALSE(send_notify(pair->send_end.get())); }));
}

TEST(NotifySocket, TheEndsAreSeparateFilesOneWayEach)
{
    auto pair = make_notify_pair();
    ASSERT_TRUE(pair);
    // Flags on one end do not show on the other (a shared eventfd's would).
    clear_nonblock(pair->receive_end.get());
    EXPECT_TRUE(::fcntl(pair->send_end.get(), F_GETFL) & O_NONBLOCK);
    // The far side cannot send back into our queue through its end... and we cannot send on ours.
    char c = 1;
    EXPECT_LT(::send(pair->receive_end.get(), &c, 1, MSG_DONTWAIT | MSG_NOSIGNAL), 0);
    EXPECT_TRUE(send_notify(pair->send_end.get()));
    EXPECT_EQ(drain_notify(pair->receive_end.get()), 1u);
}

TEST(NotifySocket, OnlyUnixDatagramSocketsAreAcceptedFromAPeer)
{
    auto pair = make_notify_pair();
    ASSERT_TRUE(pair);
    EXPECT_TRUE(is_notify_socket(pair->send_end.get()));
    UniqueFd efd(::eventfd(0, EFD_CLOEXEC));
    EXPECT_FALSE(is_notify_socket(efd.get()));
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    UniqueFd a(sv[0]), b(sv[1]);
    EXPECT_FALSE(is_notify_socket(a.get()));
    EXPECT_FALSE(is_notify_socket(-1));
}

} // namespace
