#include "ipc/frame.h"

#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace xkvm::ipc {
namespace {

std::string header_bytes(uint32_t length, uint16_t kind, uint8_t flags = 0, uint8_t fds = 0)
{
    FrameHeader h { length, kind, flags, fds };
    std::string s(kHeaderSize, '\0');
    std::memcpy(s.data(), &h, kHeaderSize);
    return s;
}

std::span<const uint8_t> bytes_of(const std::string& s)
{
    return { reinterpret_cast<const uint8_t*>(s.data()), s.size() };
}

UniqueFd dev_null() { return UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC)); }

TEST(IpcFrame, RoundTripsThroughTheDecoder)
{
    auto bytes = encode_frame(Frame::make(FrameKind::Json, "{\"op\":\"list\"}"));
    ASSERT_TRUE(bytes);
    FrameDecoder d;
    std::vector<Frame> out;
    ASSERT_TRUE(d.feed(bytes_of(*bytes), out));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].kind, FrameKind::Json);
    EXPECT_EQ(out[0].payload, "{\"op\":\"list\"}");
    EXPECT_EQ(d.buffered(), 0u);
}

TEST(IpcFrame, AssemblesFramesFedOneByteAtATime)
{
    std::string stream;
    for (int i = 0; i < 3; ++i)
        stream += *encode_frame(Frame::make(FrameKind::Bytes, std::string(static_cast<size_t>(i) * 7, 'x')));
    FrameDecoder d;
    std::vector<Frame> out;
    for (char c : stream)
        ASSERT_TRUE(d.feed(bytes_of(std::string(1, c)), out));
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[2].payload.size(), 14u);
}

TEST(IpcFrame, EmptyPayloadIsAFrame)
{
    FrameDecoder d;
    std::vector<Frame> out;
    ASSERT_TRUE(d.feed(bytes_of(header_bytes(0, 3)), out));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0].payload.empty());
}

TEST(IpcFrame, RejectsUnknownKind)
{
    for (uint16_t kind : { uint16_t(0), uint16_t(4), uint16_t(0xffff) }) {
        FrameDecoder d;
        std::vector<Frame> out;
        auto r = d.feed(bytes_of(header_bytes(0, kind)), out);
        EXPECT_FALSE(r) << kind;
        EXPECT_TRUE(d.broken());
    }
}

TEST(IpcFrame, RejectsReservedFlags)
{
    FrameDecoder d;
    std::vector<Frame> out;
    EXPECT_FALSE(d.feed(bytes_of(header_bytes(0, 1, 0x80)), out));
}

TEST(IpcFrame, RejectsOversizedLengthBeforeBufferingIt)
{
    Limits limits;
    limits.max_payload = 1024;
    FrameDecoder d(limits);
    std::vector<Frame> out;
    auto r = d.feed(bytes_of(header_bytes(0xffffffff, 1)), out);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, EMSGSIZE);
    EXPECT_EQ(d.buffered(), 0u);
}

TEST(IpcFrame, RejectsAFrameClaimingDescriptorsThatDidNotArrive)
{
    FrameDecoder d;
    std::vector<Frame> out;
    EXPECT_FALSE(d.feed(bytes_of(header_bytes(0, 1, 0, 2)), out));
    EXPECT_TRUE(out.empty());
}

TEST(IpcFrame, RejectsTooManyDescriptorsPerFrame)
{
    Limits limits;
    limits.max_fds = 2;
    FrameDecoder d(limits);
    std::vector<Frame> out;
    EXPECT_FALSE(d.feed(bytes_of(header_bytes(0, 1, 0, 3)), out));
}

TEST(IpcFrame, HandsDescriptorsToTheirFrameInOrder)
{
    FrameDecoder d;
    std::vector<UniqueFd> fds;
    fds.push_back(dev_null());
    fds.push_back(dev_null());
    int first = fds[0].get();
    ASSERT_TRUE(d.add_fds(std::move(fds)));
    std::vector<Frame> out;
    ASSERT_TRUE(d.feed(bytes_of(header_bytes(0, 1, 0, 1) + header_bytes(0, 1, 0, 1)), out));
    ASSERT_EQ(out.size(), 2u);
    ASSERT_EQ(out[0].fds.size(), 1u);
    EXPECT_EQ(out[0].fds[0].get(), first);
    EXPECT_EQ(out[1].fds.size(), 1u);
    EXPECT_EQ(d.pending_fds(), 0u);
}

TEST(IpcFrame, BoundsUnclaimedDescriptors)
{
    Limits limits;
    limits.max_pending_fds = 2;
    FrameDecoder d(limits);
    std::vector<UniqueFd> fds;
    for (int i = 0; i < 3; ++i)
        fds.push_back(dev_null());
    EXPECT_FALSE(d.add_fds(std::move(fds)));
    EXPECT_EQ(d.pending_fds(), 0u); // closed, not leaked
}

TEST(IpcFrame, StaysBrokenAfterAnError)
{
    FrameDecoder d;
    std::vector<Frame> out;
    ASSERT_FALSE(d.feed(bytes_of(header_bytes(0, 9)), out));
    auto good = encode_frame(Frame::make(FrameKind::Json, "{}"));
    EXPECT_FALSE(d.feed(bytes_of(*good), out));
    EXPECT_TRUE(out.empty());
}

TEST(IpcFrame, EncodeRefusesWhatTheReceiverWouldReject)
{
    Limits limits;
    limits.max_payload = 4;
    EXPECT_FALSE(encode_frame(Frame::make(FrameKind::Json, "12345"), limits));
    Frame f = Frame::make(FrameKind::Json, "");
    for (int i = 0; i < 9; ++i)
        f.fds.push_back(dev_null());
    EXPECT_FALSE(encode_frame(f));
}

} // namespace
} // namespace xkvm::ipc
