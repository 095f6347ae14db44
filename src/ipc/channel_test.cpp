#include "ipc/channel.h"

#include <cstring>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "ipc/json_message.h"
#include "ipc/socket.h"

namespace xkvm::ipc {
namespace {

using namespace std::chrono_literals;

struct Pair {
    std::unique_ptr<Channel> a, b;
};

Pair make_pair_of_channels(Limits limits = {})
{
    auto sp = socket_pair();
    EXPECT_TRUE(sp);
    auto a = Channel::create(std::move(sp->first), limits);
    auto b = Channel::create(std::move(sp->second), limits);
    return { std::move(*a), std::move(*b) };
}

TEST(IpcChannel, SendsAndReceivesFrames)
{
    auto p = make_pair_of_channels();
    ASSERT_TRUE(p.a->send(json_frame(Json { { "op", "ping" } })));
    auto f = p.b->receive_blocking(2s);
    ASSERT_TRUE(f) << f.error().message;
    auto j = parse_json(*f);
    ASSERT_TRUE(j);
    EXPECT_EQ((*j)["op"], "ping");
}

TEST(IpcChannel, PassesDescriptors)
{
    auto p = make_pair_of_channels();
    int pipefd[2];
    ASSERT_EQ(::pipe2(pipefd, O_CLOEXEC), 0);
    UniqueFd rd(pipefd[0]), wr(pipefd[1]);
    std::vector<UniqueFd> fds;
    fds.push_back(std::move(wr));
    ASSERT_TRUE(p.a->send(Frame::make(FrameKind::Bytes, "take this", std::move(fds))));
    auto f = p.b->receive_blocking(2s);
    ASSERT_TRUE(f);
    ASSERT_EQ(f->fds.size(), 1u);
    // The received descriptor is the pipe's write end: what goes in comes out of rd.
    ASSERT_EQ(::write(f->fds[0].get(), "x", 1), 1);
    char c = 0;
    ASSERT_EQ(::read(rd.get(), &c, 1), 1);
    EXPECT_EQ(c, 'x');
    EXPECT_NE(::fcntl(f->fds[0].get(), F_GETFD) & FD_CLOEXEC, 0);
}

TEST(IpcChannel, LargeFramesCrossInPieces)
{
    auto p = make_pair_of_channels();
    std::string big(3 << 20, 'q');
    ASSERT_TRUE(p.a->send(Frame::make(FrameKind::Bytes, big)));
    // The socket buffer is smaller than the frame: the rest waits in the queue.
    EXPECT_TRUE(p.a->has_pending_output());
    std::vector<Frame> got;
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (got.empty() && std::chrono::steady_clock::now() < deadline) {
        ASSERT_TRUE(p.a->flush());
        ASSERT_TRUE(p.b->receive(got));
    }
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].payload, big);
}

TEST(IpcChannel, ReportsThePeerClosing)
{
    auto p = make_pair_of_channels();
    ASSERT_TRUE(p.a->send(Frame::make(FrameKind::Bytes, "last words")));
    p.a.reset();
    std::vector<Frame> got;
    auto open = p.b->receive(got);
    ASSERT_TRUE(open);
    EXPECT_FALSE(*open);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].payload, "last words");
    auto f = p.b->receive_blocking(1s);
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().code, ECONNRESET);
}

TEST(IpcChannel, MalformedBytesFromThePeerAreAnError)
{
    auto sp = socket_pair();
    ASSERT_TRUE(sp);
    auto ch = Channel::create(std::move(sp->second));
    ASSERT_TRUE(ch);
    const char garbage[] = "GET / HTTP/1.0\r\n\r\n";
    ASSERT_GT(::write(sp->first.get(), garbage, sizeof(garbage)), 0);
    std::vector<Frame> got;
    EXPECT_FALSE((*ch)->receive(got));
}

TEST(IpcChannel, DescriptorsWithoutAFrameAreBounded)
{
    auto sp = socket_pair();
    ASSERT_TRUE(sp);
    auto ch = Channel::create(std::move(sp->second));
    ASSERT_TRUE(ch);
    // A hostile peer sends descriptors with one byte each and never a header that claims them.
    for (int i = 0; i < 20; ++i) {
        int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        char byte = 0;
        iovec iov { &byte, 1 };
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
        msghdr msg {};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof(control);
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
        ASSERT_EQ(::sendmsg(sp->first.get(), &msg, 0), 1);
        ::close(fd);
    }
    std::vector<Frame> got;
    bool failed = false;
    for (int i = 0; i < 40 && !failed; ++i)
        failed = !(*ch)->receive(got).has_value();
    EXPECT_TRUE(failed);
}

TEST(IpcChannel, SendQueueIsBounded)
{
    auto p = make_pair_of_channels();
    p.a->set_max_queued_bytes(1 << 20);
    Status last;
    for (int i = 0; i < 64 && last; ++i)
        last = p.a->send(Frame::make(FrameKind::Bytes, std::string(256 << 10, 'z')));
    ASSERT_FALSE(last);
    EXPECT_EQ(last.error().code, ENOBUFS);
}

TEST(IpcChannel, CallTimesOutWhenNobodyAnswers)
{
    auto p = make_pair_of_channels();
    auto r = p.a->call(json_frame(Json { { "op", "x" } }), 50ms);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ETIMEDOUT);
}

TEST(IpcSocket, ListenAndConnect)
{
    char tmpl[] = "/tmp/xkvm-ipc-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    std::string path = std::string(tmpl) + "/s.sock";
    auto l = listen_unix(path);
    ASSERT_TRUE(l) << l.error().message;
    auto c = connect_unix(path);
    ASSERT_TRUE(c);
    auto s = accept_unix(l->get());
    ASSERT_TRUE(s);
    auto missing = connect_unix(std::string(tmpl) + "/none.sock");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ENOENT);
    EXPECT_FALSE(listen_unix(std::string(200, 'a')));
    ::unlink(path.c_str());
    ::rmdir(tmpl);
}

} // namespace
} // namespace xkvm::ipc
