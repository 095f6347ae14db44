// Malformed and hostile requests: every one gets an ERROR reply and changes nothing.
#include "xenstore/server.h"

#include <cerrno>
#include <cstring>

#include <gtest/gtest.h>

#include "xenstore/server_test_util.h"

using namespace xkvm::xenstore;
using namespace xkvm::xenstore::testing;

namespace {

class ServerMalformed : public ::testing::Test {
protected:
    void SetUp() override
    {
        ASSERT_TRUE(h.server.open_connection(kDom0, 0).has_value());
        ASSERT_TRUE(h.server.open_connection(kGuest1, 1).has_value());
        ASSERT_TRUE(h.server.create_domain_tree(1, "one").has_value());
        nodes_before = h.server.store().node_count();
    }
    Harness h;
    size_t nodes_before = 0;
};

// ctest names start with the subsystem, so `ctest -R xenstore` finds them.
using xenstore_server_malformed = ServerMalformed;

} // namespace

TEST_F(xenstore_server_malformed, MissingNulTerminators)
{
    EXPECT_EQ(h.call(kGuest1, MsgType::Read, "data"), "E:EINVAL");
    EXPECT_EQ(h.call(kGuest1, MsgType::Read, ""), "E:EINVAL");
    EXPECT_EQ(h.call(kGuest1, MsgType::Write, "data/x"), "E:EINVAL");
    EXPECT_EQ(h.call(kGuest1, MsgType::Mkdir, "data/x"), "E:EINVAL");
    EXPECT_EQ(h.call(kGuest1, MsgType::Rm, "data"), "E:EINVAL");
    EXPECT_EQ(h.call(kGuest1, MsgType::Watch, std::string("data\0tok", 8)), "E:EINVAL");
    EXPECT_EQ(h.call(kGuest1, MsgType::SetPerms, std::string("data\0n1", 7)), "E:EINVAL");
    EXPECT_EQ(h.call(kGuest1, MsgType::GetDomainPath, "1"), "E:EINVAL");
    EXPECT_EQ(h.server.store().node_count(), nodes_before);
}

TEST_F(xenstore_server_malformed, WrongArgumentCounts)
{
    EXPECT_EQ(h.call(kGuest1, MsgType::Read, args({ "data", "extra" })), "E:EINVAL");
    EXPECT_EQ(h.call(kGuest1, MsgType::Mkdir, args({ "a", "b" })), "E:EINVAL");
    EXPECT_EQ(h.call(kGuest1, MsgType::Watch, args({ "data" })), "E:EINVAL");
    EXPECT_EQ(h.call(kGuest1, MsgType::Watch, args({ "data", "t", "1", "x" })), "E:EINVAL");
    EXPECT_EQ(h.call(kGuest1, MsgType::Unwatch, args({ "data" })), "E:EINVAL");
    EXPECT_EQ(h.call(kGuest1, MsgType::SetPerms, args({ "data" })), "E:EINVAL");
    EXPECT_EQ(h.call(kGuest1, MsgType::DirectoryPart, args({ "data" })), "E:EINVAL");
    EXPECT_EQ(h.call(kGuest1, MsgType::DirectoryPart, args({ "data", "-1" })), "E:EINVAL");
    EXPECT_EQ(h.call(kGuest1, MsgType::IsDomainIntroduced, args({})), "E:EINVAL");
    EXPECT_EQ(h.call(kDom0, MsgType::SetTarget, args({ "1" })), "E:EINVAL");
    EXPECT_EQ(h.call(kDom0, MsgType::Control, std::string()), "E:EINVAL");
    EXPECT_EQ(h.server.watch_count(1), 0u);
}

TEST_F(xenstore_server_malformed, BadPaths)
{
    for (std::string_view bad : { "", "/", "//x", "data/", "data//x", "da ta", "data/\x01", "@x" }) {
        if (bad == "/")
            continue; // valid; tested elsewhere
        EXPECT_EQ(h.write(kGuest1, bad, "v"), "E:EINVAL") << bad;
        EXPECT_EQ(h.read(kGuest1, bad), "E:EINVAL") << bad;
    }
    EXPECT_EQ(h.write(kGuest1, std::string(kRelPathMax + 1, 'a'), ""), "E:EINVAL");
    EXPECT_EQ(h.watch(kGuest1, "bad path", "t"), "E:EINVAL");
    EXPECT_EQ(h.watch(kGuest1, "@", "t"), "E:EINVAL");
    EXPECT_EQ(h.server.store().node_count(), nodes_before);
}

TEST_F(xenstore_server_malformed, EmbeddedNulInPathSplitsIntoArguments)
{
    // "data\0x" as a READ path is two arguments, not a path containing NUL.
    EXPECT_EQ(h.call(kGuest1, MsgType::Read, std::string("data\0x\0", 7)), "E:EINVAL");
    // For WRITE everything after the first NUL is the value.
    EXPECT_EQ(h.call(kGuest1, MsgType::Write, std::string("data/v\0x\0y", 10)), "OK");
    EXPECT_EQ(h.read(kGuest1, "data/v"), std::string("x\0y", 3));
}

TEST_F(xenstore_server_malformed, UnknownAndReplyOnlyTypes)
{
    for (uint32_t type : { 15u, 16u, 20u, 23u, 1000u, 0xffffu, 0xffffffffu }) {
        Message req { type, 9, 0, args({ "data" }) };
        size_t before = h.sink.delivered.size();
        ASSERT_TRUE(h.server.handle(kGuest1, req).has_value());
        EXPECT_EQ(h.take_reply(kGuest1, before, req), "E:ENOSYS") << type; // as xenstored answers
    }
}

TEST_F(xenstore_server_malformed, OversizedPayloadIsE2big)
{
    std::string huge(kPayloadMax + 1, 'a');
    Message req = Message::make(MsgType::Write, 1, 0, huge);
    size_t before = h.sink.delivered.size();
    ASSERT_TRUE(h.server.handle(kGuest1, req).has_value());
    EXPECT_EQ(h.take_reply(kGuest1, before, req), "E:E2BIG");
}

TEST_F(xenstore_server_malformed, RawBytes)
{
    auto good = Message::make(MsgType::Read, 5, 0, args({ "name" })).encode();
    ASSERT_TRUE(h.server.handle_bytes(kGuest1, good).has_value());
    ASSERT_EQ(h.sink.delivered.size(), 1u);
    EXPECT_EQ(h.sink.delivered.back().second.payload, "one");
    EXPECT_EQ(h.sink.delivered.back().second.req_id, 5u);

    std::vector<uint8_t> shorty { 1, 2, 3 };
    ASSERT_TRUE(h.server.handle_bytes(kGuest1, shorty).has_value());
    EXPECT_EQ(h.sink.delivered.back().second.msg_type(), MsgType::Error);
    EXPECT_EQ(h.sink.delivered.back().second.req_id, 0u);

    auto lying = good;
    lying.pop_back();
    ASSERT_TRUE(h.server.handle_bytes(kGuest1, lying).has_value());
    EXPECT_EQ(h.sink.delivered.back().second.msg_type(), MsgType::Error);
    EXPECT_EQ(h.sink.delivered.back().second.req_id, 5u);
    EXPECT_EQ(h.sink.delivered.back().second.payload, std::string("EINVAL\0", 7));
    EXPECT_EQ(h.sink.delivered.size(), 3u);
}

TEST_F(xenstore_server_malformed, ConnectionsMustBeOpen)
{
    Message req = Message::make(MsgType::Read, 1, 0, args({ "/" }));
    EXPECT_EQ(h.server.handle(999, req).error().code, ENOTCONN);
    EXPECT_EQ(h.server.handle_bytes(999, req.encode()).error().code, ENOTCONN);
    EXPECT_TRUE(h.sink.delivered.empty());
    EXPECT_EQ(h.server.open_connection(kGuest1, 1).error().code, EEXIST);
    h.server.close_connection(999); // unknown: ignored
    h.server.reset_connection(999);
    EXPECT_EQ(h.server.connection_count(), 2u);
}

TEST_F(xenstore_server_malformed, BadTransactionIds)
{
    EXPECT_EQ(h.read(kGuest1, "name", 77), "E:ENOENT");
    EXPECT_EQ(h.write(kGuest1, "data/x", "1", 77), "E:ENOENT");
    EXPECT_EQ(h.end(kGuest1, 77, true), "E:ENOENT");
    EXPECT_EQ(h.server.store().node_count(), nodes_before);
}

TEST_F(xenstore_server_malformed, BadPermissionStrings)
{
    for (std::string_view bad : { "", "x1", "r", "r99999", "b-1", "rr1" })
        EXPECT_EQ(h.set_perms(kGuest1, "data", { bad }), "E:EINVAL") << bad;
    EXPECT_EQ(h.get_perms(kGuest1, "data"), args({ "n1" }));
}
