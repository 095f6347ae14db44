#include "ipc/json_message.h"

#include <gtest/gtest.h>

namespace xkvm::ipc {
namespace {

TEST(IpcJson, ParsesObjectsOnly)
{
    EXPECT_TRUE(parse_json(Frame::make(FrameKind::Json, "{\"a\":1}")));
    EXPECT_FALSE(parse_json(Frame::make(FrameKind::Json, "[1,2]")));
    EXPECT_FALSE(parse_json(Frame::make(FrameKind::Json, "{\"a\":")));
    EXPECT_FALSE(parse_json(Frame::make(FrameKind::Json, std::string("\xff\xfe", 2))));
    EXPECT_FALSE(parse_json(Frame::make(FrameKind::Bytes, "{}")));
}

TEST(IpcJson, InvalidUtf8IsReplacedNotThrown)
{
    Frame f = json_frame(Json { { "s", std::string("a\xff") } });
    auto parsed = parse_json(f);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(get_string(*parsed, "s").value_or("?"), "a\xef\xbf\xbd"); // U+FFFD in place of the bad byte
}

TEST(IpcJson, FieldReadersCheckTypeAndRange)
{
    Json j = Json::parse(R"({"s":"x","n":5,"neg":-1,"b":true,"l":[1,2,3],"bad":[1,"x"],"f":1.5})");
    EXPECT_EQ(*get_string(j, "s"), "x");
    EXPECT_FALSE(get_string(j, "n"));
    EXPECT_FALSE(get_string(j, "missing"));
    EXPECT_FALSE(get_string(j, "s", 0));
    EXPECT_EQ(*get_uint(j, "n"), 5u);
    EXPECT_FALSE(get_uint(j, "n", 4));
    EXPECT_FALSE(get_uint(j, "neg"));
    EXPECT_FALSE(get_uint(j, "f"));
    EXPECT_EQ(*get_int(j, "neg", -5, 5), -1);
    EXPECT_TRUE(*get_bool(j, "b"));
    EXPECT_FALSE(get_bool(j, "n"));
    EXPECT_EQ(get_uint_list(j, "l", 10, 10)->size(), 3u);
    EXPECT_FALSE(get_uint_list(j, "l", 2, 10));
    EXPECT_FALSE(get_uint_list(j, "l", 10, 2));
    EXPECT_FALSE(get_uint_list(j, "bad", 10, 10));
    EXPECT_EQ(*opt_uint(j, "missing", 7), 7u);
    EXPECT_FALSE(opt_uint(j, "s", 7));
    EXPECT_FALSE(get_string(Json::array(), "s"));
}

TEST(IpcJson, RepliesRoundTrip)
{
    auto ok = reply_result(ok_reply(3, Json { { "domid", 4 } }));
    ASSERT_TRUE(ok);
    EXPECT_EQ((*ok)["domid"], 4);
    auto err = reply_result(error_reply(3, Error { ENOENT, "no such domain" }));
    ASSERT_FALSE(err);
    EXPECT_EQ(err.error().code, ENOENT);
    EXPECT_EQ(err.error().message, "no such domain");
    EXPECT_FALSE(reply_result(Json { { "id", 1 } }));
}

} // namespace
} // namespace xkvm::ipc
