#include "xenstore/message.h"

#include <cerrno>
#include <cstring>

#include <gtest/gtest.h>

using namespace xkvm::xenstore;

TEST(xenstore_message, EncodeDecodeRoundTrip)
{
    Message m = Message::make(MsgType::Write, 7, 3, std::string("a/b\0val\0ue", 10));
    auto bytes = m.encode();
    ASSERT_EQ(bytes.size(), kHeaderSize + 10);
    WireHeader h;
    std::memcpy(&h, bytes.data(), kHeaderSize);
    EXPECT_EQ(h.type, 11u);
    EXPECT_EQ(h.req_id, 7u);
    EXPECT_EQ(h.tx_id, 3u);
    EXPECT_EQ(h.len, 10u);
    auto back = decode_message(bytes);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(back.value(), m);
}

TEST(xenstore_message, DecodeRejectsShortTrailingAndOversized)
{
    std::vector<uint8_t> shorty(kHeaderSize - 1, 0);
    EXPECT_EQ(decode_message(shorty).error().code, EINVAL);

    auto bytes = Message::make(MsgType::Read, 1, 0, "x").encode();
    bytes.push_back(0);
    EXPECT_EQ(decode_message(bytes).error().code, EINVAL);
    bytes.resize(bytes.size() - 2);
    EXPECT_EQ(decode_message(bytes).error().code, EINVAL);

    WireHeader h { 2, 1, 0, kPayloadMax + 1 };
    std::vector<uint8_t> big(kHeaderSize + kPayloadMax + 1, 'a');
    std::memcpy(big.data(), &h, kHeaderSize);
    EXPECT_EQ(decode_message(big).error().code, E2BIG);

    h.len = kPayloadMax;
    big.resize(kHeaderSize + kPayloadMax);
    std::memcpy(big.data(), &h, kHeaderSize);
    EXPECT_TRUE(decode_message(big).has_value());
}

TEST(xenstore_message, SplitStrings)
{
    EXPECT_FALSE(split_strings("").has_value());
    EXPECT_FALSE(split_strings("abc").has_value());
    EXPECT_FALSE(split_strings(std::string("a\0b", 3)).has_value());
    const std::string one_nul("\0", 1), a_bc("a\0bc\0", 5), two_nuls("\0\0", 2);
    auto one = split_strings(one_nul);
    ASSERT_TRUE(one);
    EXPECT_EQ(*one, (std::vector<std::string_view> { "" }));
    auto two = split_strings(a_bc);
    ASSERT_TRUE(two);
    EXPECT_EQ(*two, (std::vector<std::string_view> { "a", "bc" }));
    auto empties = split_strings(two_nuls);
    ASSERT_TRUE(empties);
    EXPECT_EQ(empties->size(), 2u);
}

TEST(xenstore_message, SplitFirst)
{
    EXPECT_FALSE(split_first("nonul").has_value());
    const std::string payload("path\0va\0lue", 11), short_payload("p\0", 2);
    auto r = split_first(payload);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->first, "path");
    EXPECT_EQ(r->rest, std::string_view("va\0lue", 6));
    auto empty_value = split_first(short_payload);
    ASSERT_TRUE(empty_value);
    EXPECT_EQ(empty_value->rest, "");
}

TEST(xenstore_message, ParseDecimalIsStrict)
{
    EXPECT_EQ(parse_decimal("0", 10), 0u);
    EXPECT_EQ(parse_decimal("65535", 65535), 65535u);
    EXPECT_FALSE(parse_decimal("65536", 65535));
    EXPECT_FALSE(parse_decimal("", 10));
    EXPECT_FALSE(parse_decimal("-1", 10));
    EXPECT_FALSE(parse_decimal(" 1", 10));
    EXPECT_FALSE(parse_decimal("1x", 10));
    EXPECT_FALSE(parse_decimal("5", 0));
    EXPECT_EQ(parse_decimal("18446744073709551615", UINT64_MAX), UINT64_MAX);
    EXPECT_FALSE(parse_decimal("18446744073709551616", UINT64_MAX));
    EXPECT_FALSE(parse_decimal("000000000000000000001", UINT64_MAX));
}

TEST(xenstore_message, ErrorNamesFollowTheWireTable)
{
    EXPECT_EQ(error_name(EINVAL), "EINVAL");
    EXPECT_EQ(error_name(EACCES), "EACCES");
    EXPECT_EQ(error_name(E2BIG), "E2BIG");
    EXPECT_EQ(error_name(EPERM), "EPERM");
    EXPECT_FALSE(error_name(ETIMEDOUT).has_value());
    EXPECT_EQ(error_name_or_einval(ETIMEDOUT), "EINVAL");
    EXPECT_EQ(error_from_name("EAGAIN"), EAGAIN);
    EXPECT_FALSE(error_from_name("EQUOTA").has_value());
}

TEST(xenstore_message, ReplyBuilders)
{
    Message req = Message::make(MsgType::Read, 42, 9, "x");
    Message err = error_reply(req, ENOENT);
    EXPECT_EQ(err.msg_type(), MsgType::Error);
    EXPECT_EQ(err.req_id, 42u);
    EXPECT_EQ(err.tx_id, 9u);
    EXPECT_EQ(err.payload, std::string("ENOENT\0", 7));
    EXPECT_EQ(ok_reply(req).payload, std::string("OK\0", 3));
    EXPECT_EQ(ok_reply(req).msg_type(), MsgType::Read);
    Message ev = watch_event("/a", "tok");
    EXPECT_EQ(ev.msg_type(), MsgType::WatchEvent);
    EXPECT_EQ(ev.req_id, 0u);
    EXPECT_EQ(ev.payload, std::string("/a\0tok\0", 7));
    EXPECT_EQ(msg_type_name(22), "DIRECTORY_PART");
    EXPECT_EQ(msg_type_name(999), "UNKNOWN");
}
