// Hostile JSON: nesting and size are refused before the parser builds anything, so nothing that
// copies, compares or prints a message can be driven into unbounded recursion.
#include <gtest/gtest.h>

#include "ipc/json_message.h"

namespace xkvm::ipc {
namespace {

std::string nested(size_t depth, char open = '[', char close = ']')
{
    std::string s = R"({"id":1,"ok":true,"x":)";
    s.append(depth, open);
    s.append(depth, close);
    return s + "}";
}

TEST(IpcJsonLimits, DepthCountsBracketsOutsideStringsOnly)
{
    EXPECT_EQ(json_depth("{}", 10), 1u);
    EXPECT_EQ(json_depth(R"({"a":[1,{"b":[]}]})", 10), 4u);
    EXPECT_EQ(json_depth(R"({"a":"[[[[{{{{"})", 10), 1u);
    EXPECT_EQ(json_depth(R"({"a":"\"[[[["})", 10), 1u);
    EXPECT_EQ(json_depth(R"({"a":"\\"})", 10), 1u);
    EXPECT_EQ(json_depth("]]]]{", 10), 1u);
    // Counting stops just past the limit.
    EXPECT_EQ(json_depth(std::string(1000, '['), 5), 6u);
}

TEST(IpcJsonLimits, AHundredThousandLevelsAreRefusedBeforeParsing)
{
    Frame f = Frame::make(FrameKind::Json, nested(100'000));
    auto j = parse_json(f);
    ASSERT_FALSE(j);
    EXPECT_EQ(j.error().code, EPROTO);
    EXPECT_NE(j.error().message.find("nested"), std::string::npos) << j.error().message;
    EXPECT_FALSE(parse_json(Frame::make(FrameKind::Json, nested(100'000, '{', '}'))));
    EXPECT_FALSE(parse_json(f, kUntrustedJsonLimits));
}

TEST(IpcJsonLimits, TheLimitItselfIsAccepted)
{
    JsonLimits limits;
    // The outer object is one level.
    EXPECT_TRUE(parse_json(Frame::make(FrameKind::Json, nested(limits.max_depth - 1)), limits));
    EXPECT_FALSE(parse_json(Frame::make(FrameKind::Json, nested(limits.max_depth)), limits));
}

TEST(IpcJsonLimits, SizeIsCheckedBeforeParsing)
{
    std::string big = R"({"s":")" + std::string(kUntrustedJsonLimits.max_bytes, 'a') + R"("})";
    auto j = parse_json(Frame::make(FrameKind::Json, big), kUntrustedJsonLimits);
    ASSERT_FALSE(j);
    EXPECT_EQ(j.error().code, EMSGSIZE);
    EXPECT_TRUE(parse_json(Frame::make(FrameKind::Json, big)));
}

TEST(IpcJsonLimits, ReplyResultTakesTheReplyAndDropsItsEnvelope)
{
    auto r = reply_result(Json { { "id", 7 }, { "ok", true }, { "pid", 5 } });
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, (Json { { "pid", 5 } }));
    auto e = reply_result(Json { { "id", 7 }, { "ok", false }, { "error", "no" }, { "code", 22 } });
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().code, 22);
}

TEST(IpcJsonLimits, PickFieldsKeepsOnlyTheNamedOnes)
{
    Json j { { "paused", true }, { "junk", Json::array({ 1, 2 }) }, { "vcpus", Json::array() } };
    EXPECT_EQ(pick_fields(j, { "paused", "vcpus", "absent" }), (Json { { "paused", true }, { "vcpus", Json::array() } }));
    EXPECT_EQ(pick_fields(Json(5), { "a" }), Json::object());
}

} // namespace
} // namespace xkvm::ipc
