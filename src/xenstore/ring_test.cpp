#include "xenstore/ring.h"

#include <array>
#include <cerrno>
#include <cstring>

#include <gtest/gtest.h>

using namespace xkvm;
using namespace xkvm::xenstore;

namespace {

// The guest's side of the page, written the way a guest would (no atomics needed: one thread).
class RingTest : public ::testing::Test {
protected:
    RingInterface& intf() { return *reinterpret_cast<RingInterface*>(page.data()); }
    std::span<std::byte> span() { return { page.data(), page.size() }; }

    // Puts bytes into the request ring and publishes them. Returns how many fit.
    size_t guest_send(std::span<const uint8_t> bytes)
    {
        size_t n = 0;
        while (n < bytes.size() && intf().req_prod - intf().req_cons < kRingSize) {
            intf().req[intf().req_prod % kRingSize] = static_cast<char>(bytes[n++]);
            intf().req_prod++;
        }
        return n;
    }
    size_t guest_send(const Message& m)
    {
        auto bytes = m.encode();
        return guest_send(bytes);
    }
    std::string guest_receive()
    {
        std::string out;
        while (intf().rsp_cons != intf().rsp_prod) {
            out.push_back(intf().rsp[intf().rsp_cons % kRingSize]);
            intf().rsp_cons++;
        }
        return out;
    }
    // Starts both rings at `index` (the guest must not assume 0).
    void set_indices(uint32_t index)
    {
        intf().req_cons = intf().req_prod = intf().rsp_cons = intf().rsp_prod = index;
    }

    alignas(4096) std::array<std::byte, 4096> page {};
};

Message request(uint32_t id, std::string payload)
{
    return Message::make(MsgType::Read, id, 0, std::move(payload));
}

std::string encoded(const Message& m)
{
    auto b = m.encode();
    return std::string(b.begin(), b.end());
}

// ctest names start with the subsystem, so `ctest -R xenstore` finds them.
using xenstore_ring = RingTest;

} // namespace

TEST_F(xenstore_ring, CreateValidatesThePageAndAdvertisesFeatures)
{
    EXPECT_EQ(RingConnection::create(span().first(sizeof(RingInterface) - 1)).error().code, EINVAL);
    EXPECT_EQ(RingConnection::create(span().subspan(1, 3000)).error().code, EINVAL);
    intf().error = 77;
    auto ring = RingConnection::create(span());
    ASSERT_TRUE(ring.has_value());
    EXPECT_EQ(intf().server_features, kFeatureReconnection | kFeatureError);
    EXPECT_EQ(intf().error, kErrorNone);
    RingOptions none;
    none.features = 0;
    ASSERT_TRUE(RingConnection::create(span(), none).has_value());
    EXPECT_EQ(intf().server_features, 0u);
}

TEST_F(xenstore_ring, ReadsOneMessage)
{
    auto ring = RingConnection::create(span()).release_value();
    Message m = request(3, std::string("name\0", 5));
    guest_send(m);
    std::vector<Message> got;
    RingPoll poll = ring.read_requests(got);
    EXPECT_EQ(poll.status, RingStatus::Ok);
    EXPECT_EQ(poll.messages, 1u);
    EXPECT_EQ(poll.bytes_consumed, kHeaderSize + 5);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], m);
    EXPECT_EQ(intf().req_cons, intf().req_prod);
    // Nothing more: nothing consumed.
    EXPECT_EQ(ring.read_requests(got).bytes_consumed, 0u);
}

TEST_F(xenstore_ring, AssemblesMessagesAcrossCalls)
{
    auto ring = RingConnection::create(span()).release_value();
    Message m = request(4, "0123456789");
    auto bytes = m.encode();
    std::vector<Message> got;
    for (size_t cut : { size_t { 5 }, size_t { 16 }, size_t { 20 } }) {
        size_t from = cut == 5 ? 0 : (cut == 16 ? 5 : 16);
        guest_send(std::span(bytes).subspan(from, cut - from));
        EXPECT_EQ(ring.read_requests(got).messages, 0u);
    }
    guest_send(std::span(bytes).subspan(20));
    EXPECT_EQ(ring.read_requests(got).messages, 1u);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], m);
}

TEST_F(xenstore_ring, MessagesWrapAroundTheRingAndTheIndexSpace)
{
    for (uint32_t start : { 1000u, 0xfffffff0u }) {
        set_indices(start);
        auto ring = RingConnection::create(span()).release_value();
        Message m = request(5, std::string(100, 'w'));
        guest_send(m);
        std::vector<Message> got;
        EXPECT_EQ(ring.read_requests(got).messages, 1u);
        ASSERT_EQ(got.size(), 1u);
        EXPECT_EQ(got[0], m);

        ASSERT_TRUE(ring.queue_response(m).has_value());
        EXPECT_EQ(ring.flush_responses(), kHeaderSize + 100);
        EXPECT_EQ(guest_receive(), encoded(m));
    }
}

TEST_F(xenstore_ring, LargestMessageNeedsSeveralFills)
{
    auto ring = RingConnection::create(span()).release_value();
    Message m = request(6, std::string(kPayloadMax, 'x'));
    auto bytes = m.encode();
    std::vector<Message> got;
    size_t sent = 0;
    int rounds = 0;
    while (sent < bytes.size() && rounds++ < 10) {
        sent += guest_send(std::span(bytes).subspan(sent));
        ring.read_requests(got);
    }
    EXPECT_EQ(sent, bytes.size());
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], m);
    EXPECT_FALSE(ring.broken());
}

TEST_F(xenstore_ring, SeveralMessagesAndALimit)
{
    auto ring = RingConnection::create(span()).release_value();
    for (uint32_t i = 0; i < 5; i++)
        guest_send(request(i, "p"));
    std::vector<Message> got;
    EXPECT_EQ(ring.read_requests(got, 2).messages, 2u);
    EXPECT_EQ(ring.read_requests(got).messages, 3u);
    ASSERT_EQ(got.size(), 5u);
    for (uint32_t i = 0; i < 5; i++)
        EXPECT_EQ(got[i].req_id, i);
}

TEST_F(xenstore_ring, OversizedLengthBreaksTheConnection)
{
    auto ring = RingConnection::create(span()).release_value();
    WireHeader h { 2, 1, 0, kPayloadMax + 1 };
    guest_send(std::span(reinterpret_cast<const uint8_t*>(&h), sizeof h));
    std::vector<Message> got;
    EXPECT_EQ(ring.read_requests(got).status, RingStatus::Broken);
    EXPECT_TRUE(got.empty());
    EXPECT_TRUE(ring.broken());
    EXPECT_EQ(ring.error(), kErrorProto);
    EXPECT_EQ(intf().error, kErrorProto);
    // Dead until reconnected: no reads, no writes.
    guest_send(request(2, "x"));
    EXPECT_EQ(ring.read_requests(got).status, RingStatus::Broken);
    EXPECT_EQ(ring.queue_response(request(1, "x")).error().code, EPIPE);
    EXPECT_EQ(ring.flush_responses(), 0u);
}

TEST_F(xenstore_ring, HugeLengthWithoutErrorFeatureLeavesTheFieldAlone)
{
    RingOptions opts;
    opts.features = kFeatureReconnection;
    auto ring = RingConnection::create(span(), opts).release_value();
    WireHeader h { 2, 1, 0, 0xffffffffu };
    guest_send(std::span(reinterpret_cast<const uint8_t*>(&h), sizeof h));
    std::vector<Message> got;
    EXPECT_EQ(ring.read_requests(got).status, RingStatus::Broken);
    EXPECT_EQ(ring.error(), kErrorProto);
    EXPECT_EQ(intf().error, kErrorNone);
}

TEST_F(xenstore_ring, ProducerRunningAheadIsARingIndexError)
{
    auto ring = RingConnection::create(span()).release_value();
    intf().req_prod = intf().req_cons + kRingSize + 1;
    std::vector<Message> got;
    EXPECT_EQ(ring.read_requests(got).status, RingStatus::Broken);
    EXPECT_EQ(intf().error, kErrorRingIdx);
}

TEST_F(xenstore_ring, ProducerBehindConsumerIsARingIndexError)
{
    set_indices(500);
    auto ring = RingConnection::create(span()).release_value();
    intf().req_prod = 400;
    std::vector<Message> got;
    EXPECT_EQ(ring.read_requests(got).status, RingStatus::Broken);
    EXPECT_EQ(ring.error(), kErrorRingIdx);
}

TEST_F(xenstore_ring, GuestScribblingOnOurIndicesChangesNothing)
{
    auto ring = RingConnection::create(span()).release_value();
    Message m = request(8, "abc");
    guest_send(m);
    intf().req_cons = 12345; // ours; the guest has no business here
    std::vector<Message> got;
    EXPECT_EQ(ring.read_requests(got).messages, 1u);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], m);
    EXPECT_EQ(intf().req_cons, intf().req_prod);

    ASSERT_TRUE(ring.queue_response(m).has_value());
    intf().rsp_prod = 999;
    EXPECT_EQ(ring.flush_responses(), kHeaderSize + 3);
    EXPECT_EQ(intf().rsp_prod, kHeaderSize + 3);
}

TEST_F(xenstore_ring, ResponsesTrickleOutAsTheGuestDrains)
{
    auto ring = RingConnection::create(span()).release_value();
    std::string expected;
    for (uint32_t i = 0; i < 5; i++) {
        Message m = request(i, std::string(400, static_cast<char>('a' + i)));
        ASSERT_TRUE(ring.queue_response(m).has_value());
        expected += encoded(m);
    }
    EXPECT_EQ(ring.pending_output(), expected.size());
    std::string got;
    size_t total = 0;
    for (int round = 0; round < 10 && ring.pending_output() > 0; round++) {
        size_t n = ring.flush_responses();
        EXPECT_LE(n, kRingSize);
        total += n;
        EXPECT_EQ(ring.flush_responses(), 0u); // full until the guest reads
        got += guest_receive();
    }
    EXPECT_EQ(total, expected.size());
    EXPECT_EQ(got, expected);
}

TEST_F(xenstore_ring, ConsumerRunningAheadIsARingIndexError)
{
    auto ring = RingConnection::create(span()).release_value();
    ASSERT_TRUE(ring.queue_response(request(1, "x")).has_value());
    intf().rsp_cons = 5000;
    EXPECT_EQ(ring.flush_responses(), 0u);
    EXPECT_TRUE(ring.broken());
    EXPECT_EQ(intf().error, kErrorRingIdx);
}

TEST_F(xenstore_ring, OutputIsBounded)
{
    RingOptions opts;
    opts.max_pending_output = 100;
    auto ring = RingConnection::create(span(), opts).release_value();
    EXPECT_EQ(ring.queue_response(request(1, std::string(kPayloadMax + 1, 'x'))).error().code, E2BIG);
    ASSERT_TRUE(ring.queue_response(request(1, std::string(80, 'x'))).has_value());
    EXPECT_EQ(ring.queue_response(request(2, "y")).error().code, ENOBUFS);
    ring.flush_responses();
    guest_receive();
    EXPECT_TRUE(ring.queue_response(request(2, "y")).has_value());
}

TEST_F(xenstore_ring, Reconnect)
{
    set_indices(77);
    auto ring = RingConnection::create(span()).release_value();
    auto bytes = request(1, "partial").encode();
    guest_send(std::span(bytes).first(10));
    std::vector<Message> got;
    ring.read_requests(got);
    ASSERT_TRUE(ring.queue_response(request(1, "queued")).has_value());

    intf().connection = kReconnect;
    EXPECT_TRUE(ring.reconnect_requested());
    EXPECT_EQ(ring.read_requests(got).status, RingStatus::ReconnectRequested);
    EXPECT_EQ(ring.flush_responses(), 0u);
    ring.complete_reconnect();
    EXPECT_EQ(intf().connection, kConnected);
    EXPECT_EQ(intf().req_cons, 0u);
    EXPECT_EQ(intf().req_prod, 0u);
    EXPECT_EQ(intf().rsp_cons, 0u);
    EXPECT_EQ(intf().rsp_prod, 0u);
    EXPECT_EQ(ring.pending_output(), 0u);

    Message m = request(2, "fresh");
    guest_send(m);
    EXPECT_EQ(ring.read_requests(got).messages, 1u);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], m);
}

TEST_F(xenstore_ring, ReconnectRepairsABrokenRing)
{
    auto ring = RingConnection::create(span()).release_value();
    intf().req_prod = 5000;
    std::vector<Message> got;
    ring.read_requests(got);
    ASSERT_TRUE(ring.broken());
    intf().connection = kReconnect;
    EXPECT_EQ(ring.read_requests(got).status, RingStatus::ReconnectRequested);
    ring.complete_reconnect();
    EXPECT_FALSE(ring.broken());
    EXPECT_EQ(intf().error, kErrorNone);
    guest_send(request(1, "ok"));
    EXPECT_EQ(ring.read_requests(got).messages, 1u);
}

TEST_F(xenstore_ring, ReconnectIgnoredWithoutTheFeature)
{
    RingOptions opts;
    opts.features = kFeatureError;
    auto ring = RingConnection::create(span(), opts).release_value();
    intf().connection = kReconnect;
    EXPECT_FALSE(ring.reconnect_requested());
    guest_send(request(1, "x"));
    std::vector<Message> got;
    EXPECT_EQ(ring.read_requests(got).messages, 1u);
}
