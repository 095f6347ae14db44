// A guest's xenstore session outlives its daemon: the nodes it wrote, its watches and its requests
// in flight reach a rebuilt store through replay(), and the answers to the replay do not reach the
// guest. Two real xenstore::Servers stand for the daemon before and after its restart.
#include <gtest/gtest.h>

#include "vmm/xenstore_session.h"
#include "xenstore/server.h"

using namespace xkvm;
using namespace xkvm::vmm;
using xenstore::Message;
using xenstore::MsgType;

namespace {

constexpr xenstore::DomId kDom = 7;

struct Sink final : xenstore::MessageSink {
    void deliver(xenstore::ConnId, const Message& msg) override { out.push_back(msg); }
    std::vector<Message> out;
};

// One daemon's store with the domain introduced, as xkvmd sets it up.
struct Daemon {
    Sink sink;
    xenstore::Server server { sink };
    Daemon()
    {
        EXPECT_TRUE(server.create_domain_tree(kDom, "guest"));
        EXPECT_TRUE(server.introduce_domain(kDom));
        EXPECT_TRUE(server.open_connection(kDom, kDom));
    }
    // The guest's request through the session; returns what the guest gets back.
    std::vector<Message> guest(XenstoreSession& s, const Message& req)
    {
        s.sent(req);
        sink.out.clear();
        EXPECT_TRUE(server.handle(kDom, req));
        std::vector<Message> to_guest;
        for (auto& m : sink.out)
            if (s.answered(m))
                to_guest.push_back(m);
        return to_guest;
    }
    std::string read(const std::string& path)
    {
        sink.out.clear();
        EXPECT_TRUE(server.handle(kDom, Message::make(MsgType::Read, 1, 0, path + '\0')));
        return sink.out.empty() || sink.out[0].msg_type() == MsgType::Error ? "<none>" : sink.out[0].payload;
    }
};

Message req(MsgType t, uint32_t id, std::string payload) { return Message::make(t, id, 0, std::move(payload)); }

TEST(XenstoreSession, ANewStoreGetsTheGuestsNodesAndWatchesBack)
{
    XenstoreSession session("/local/domain/7");
    Daemon old;
    old.guest(session, req(MsgType::Write, 1, std::string("control/feature-poweroff") + '\0' + "1"));
    old.guest(session, req(MsgType::Write, 2, std::string("data/a") + '\0' + "x"));
    old.guest(session, req(MsgType::Write, 3, std::string("data/b") + '\0' + "y"));
    old.guest(session, req(MsgType::Rm, 4, std::string("data/b") + '\0'));
    old.guest(session, req(MsgType::Watch, 5, std::string("control/shutdown") + '\0' + "ctl" + '\0'));
    old.guest(session, req(MsgType::Write, 6, std::string("/local/domain/0/forbidden") + '\0' + "no")); // EACCES
    EXPECT_EQ(session.nodes(), 2u);
    EXPECT_EQ(session.watches(), 1u);
    EXPECT_EQ(session.in_flight(), 0u);

    Daemon fresh;
    EXPECT_EQ(fresh.read("/local/domain/7/control/feature-poweroff"), ""); // made for the guest to fill in
    auto replay = session.replay().to_daemon;
    ASSERT_EQ(replay.size(), 3u); // two writes, one watch
    for (auto& m : replay)
        for (auto& got : fresh.guest(session, m))
            EXPECT_EQ(got.msg_type(), MsgType::WatchEvent) << "an answer to the replay reached the guest";
    EXPECT_EQ(fresh.read("/local/domain/7/control/feature-poweroff"), "1");
    EXPECT_EQ(fresh.read("/local/domain/7/data/a"), "x");
    EXPECT_EQ(fresh.read("/local/domain/7/data/b"), "<none>");

    // The watch is set again: the toolstack's write reaches the guest as an event.
    fresh.sink.out.clear();
    ASSERT_TRUE(fresh.server.open_connection(1, 0));
    ASSERT_TRUE(fresh.server.handle(1, req(MsgType::Write, 9, std::string("/local/domain/7/control/shutdown") + '\0' + "poweroff")));
    bool event = false;
    for (auto& m : fresh.sink.out)
        event = event || (m.msg_type() == MsgType::WatchEvent && session.answered(m));
    EXPECT_TRUE(event);
}

TEST(XenstoreSession, UnansweredRequestsAreSentAgainWithTheirOwnIds)
{
    XenstoreSession session("/local/domain/7");
    session.sent(req(MsgType::Read, 41, std::string("name") + '\0'));
    EXPECT_EQ(session.in_flight(), 1u);
    Daemon fresh;
    auto replay = session.replay().to_daemon;
    ASSERT_EQ(replay.size(), 1u);
    EXPECT_EQ(replay[0].req_id, 41u);
    auto to_guest = fresh.guest(session, replay[0]);
    ASSERT_EQ(to_guest.size(), 1u);
    EXPECT_EQ(to_guest[0].req_id, 41u);
    EXPECT_EQ(to_guest[0].payload, "guest");
    EXPECT_EQ(session.in_flight(), 0u);
}

TEST(XenstoreSession, ReplayIdsAvoidTheGuestsOwnAndTransactionsAreNotRecorded)
{
    XenstoreSession session("/local/domain/7");
    Daemon old;
    old.guest(session, req(MsgType::Write, 1, std::string("data/a") + '\0' + "1"));
    Message in_tx = Message::make(MsgType::Write, 2, 99, std::string("data/b") + '\0' + "2");
    session.sent(in_tx);
    EXPECT_TRUE(session.answered(xenstore::ok_reply(in_tx)));
    session.sent(req(MsgType::Read, 0xfffffff0u, std::string("a") + '\0'));
    auto replay = session.replay().to_daemon;
    ASSERT_EQ(replay.size(), 2u);
    EXPECT_EQ(replay[0].msg_type(), MsgType::Write);
    EXPECT_NE(replay[0].req_id, 0xfffffff0u);
    EXPECT_EQ(replay[1].req_id, 0xfffffff0u);
}

TEST(XenstoreSession, ATransactionTheOldDaemonTookWithItEndsInEagain)
{
    XenstoreSession session("/local/domain/7");
    Daemon old;
    auto started = old.guest(session, req(MsgType::TransactionStart, 1, std::string("") + '\0'));
    ASSERT_EQ(started.size(), 1u);
    uint32_t tx = static_cast<uint32_t>(std::stoul(started[0].payload));
    Message in_tx = Message::make(MsgType::Write, 2, tx, std::string("data/t") + '\0' + "v");
    ASSERT_TRUE(session.sent(in_tx)); // the old daemon dies before answering

    auto replay = session.replay();
    EXPECT_TRUE(replay.to_daemon.empty());
    ASSERT_EQ(replay.to_guest.size(), 1u);
    EXPECT_EQ(replay.to_guest[0].msg_type(), MsgType::Error);
    EXPECT_EQ(replay.to_guest[0].req_id, 2u);
    EXPECT_EQ(replay.to_guest[0].payload, std::string("EAGAIN") + '\0');
    // Its end is answered here too, once; the guest starts again and its new transaction works.
    Message end = Message::make(MsgType::TransactionEnd, 3, tx, std::string("T") + '\0');
    EXPECT_FALSE(session.sent(end));
    Daemon fresh;
    auto again = fresh.guest(session, req(MsgType::TransactionStart, 4, std::string("") + '\0'));
    ASSERT_EQ(again.size(), 1u);
    uint32_t tx2 = static_cast<uint32_t>(std::stoul(again[0].payload));
    auto wrote = fresh.guest(session, Message::make(MsgType::Write, 5, tx2, std::string("data/t") + '\0' + "v"));
    ASSERT_EQ(wrote.size(), 1u);
    EXPECT_NE(wrote[0].msg_type(), MsgType::Error);
}

TEST(XenstoreSession, AResetForgetsEverythingAndTheRecordIsBounded)
{
    XenstoreSession session("/local/domain/7");
    Daemon old;
    old.guest(session, req(MsgType::Watch, 1, std::string("x") + '\0' + "t" + '\0'));
    session.reset();
    EXPECT_TRUE(session.replay().to_daemon.empty());

    std::string big(3000, 'v');
    for (uint32_t i = 0; i < 1000; ++i) {
        Message w = req(MsgType::Write, i, "n" + std::to_string(i) + '\0' + big);
        session.sent(w);
        session.answered(xenstore::ok_reply(w));
    }
    EXPECT_TRUE(session.overflowed());
    EXPECT_LT(session.nodes(), 1000u);
    EXPECT_LE(session.nodes() * big.size(), XenstoreSession::kMaxRecordedBytes);
}

} // namespace
