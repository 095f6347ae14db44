// One xenstore message (header fields + payload) and its byte encoding, plus the payload argument
// splitting every request handler uses.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "xenstore/wire.h"

namespace xkvm::xenstore {

// The payload may hold any bytes, NULs included; its size is the wire `len`.
struct Message {
    uint32_t type = 0;
    uint32_t req_id = 0;
    uint32_t tx_id = 0;
    std::string payload;

    static Message make(MsgType type, uint32_t req_id, uint32_t tx_id, std::string payload)
    {
        return Message { static_cast<uint32_t>(type), req_id, tx_id, std::move(payload) };
    }
    MsgType msg_type() const { return static_cast<MsgType>(type); }
    WireHeader header() const;

    // Header followed by the payload, host byte order (the guest's: both little-endian x86).
    std::vector<uint8_t> encode() const;
    void encode_into(std::vector<uint8_t>& out) const;

    bool operator==(const Message&) const = default;
};

// Parse exactly one message from `bytes` (header + len bytes, nothing after).
// EINVAL: short, or trailing bytes; E2BIG: len above kPayloadMax.
Result<Message> decode_message(std::span<const uint8_t> bytes);

// A reply carrying `payload` to `request` (same type, req_id and tx_id).
Message reply_to(const Message& request, std::string payload);
// An ERROR reply naming errno `err`.
Message error_reply(const Message& request, int err);
// The payload of a successful reply that returns nothing: "OK\0".
inline const std::string kOkPayload("OK\0", 3);
Message ok_reply(const Message& request);
// WATCH_EVENT: "<path>\0<token>\0", req_id and tx_id 0.
Message watch_event(std::string_view path, std::string_view token);

// Splits a payload of NUL-terminated strings. A payload whose last byte is not NUL (including an
// empty one) is malformed: returns nullopt. "a\0b\0" -> {"a", "b"}; "\0" -> {""}.
std::optional<std::vector<std::string_view>> split_strings(std::string_view payload);

// Splits "<first>\0<rest...>" (WRITE): the first string and whatever follows its NUL.
// nullopt when there is no NUL at all.
struct FirstAndRest {
    std::string_view first;
    std::string_view rest;
};
std::optional<FirstAndRest> split_first(std::string_view payload);

// Strict unsigned decimal: digits only, no sign, no leading spaces, fits in `max`.
std::optional<uint64_t> parse_decimal(std::string_view s, uint64_t max);

} // namespace xkvm::xenstore
