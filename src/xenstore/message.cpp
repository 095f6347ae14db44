#include "xenstore/message.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

namespace xkvm::xenstore {

namespace {

struct ErrorEntry {
    int err;
    std::string_view name;
};

// The xsd_errors table, in its wire order.
constexpr std::array<ErrorEntry, 16> kErrors { {
    { EINVAL, "EINVAL" },
    { EACCES, "EACCES" },
    { EEXIST, "EEXIST" },
    { EISDIR, "EISDIR" },
    { ENOENT, "ENOENT" },
    { ENOMEM, "ENOMEM" },
    { ENOSPC, "ENOSPC" },
    { EIO, "EIO" },
    { ENOTEMPTY, "ENOTEMPTY" },
    { ENOSYS, "ENOSYS" },
    { EROFS, "EROFS" },
    { EBUSY, "EBUSY" },
    { EAGAIN, "EAGAIN" },
    { EISCONN, "EISCONN" },
    { E2BIG, "E2BIG" },
    { EPERM, "EPERM" },
} };

constexpr std::array<std::string_view, 23> kTypeNames { {
    "CONTROL", "DIRECTORY", "READ", "GET_PERMS", "WATCH", "UNWATCH", "TRANSACTION_START",
    "TRANSACTION_END", "INTRODUCE", "RELEASE", "GET_DOMAIN_PATH", "WRITE", "MKDIR", "RM",
    "SET_PERMS", "WATCH_EVENT", "ERROR", "IS_DOMAIN_INTRODUCED", "RESUME", "SET_TARGET",
    "RESTRICT", "RESET_WATCHES", "DIRECTORY_PART",
} };

} // namespace

std::string_view msg_type_name(uint32_t type)
{
    if (type < kTypeNames.size())
        return kTypeNames[type];
    return "UNKNOWN";
}

std::optional<std::string_view> error_name(int err)
{
    for (const auto& e : kErrors)
        if (e.err == err)
            return e.name;
    return std::nullopt;
}

std::string_view error_name_or_einval(int err)
{
    return error_name(err).value_or("EINVAL");
}

std::optional<int> error_from_name(std::string_view name)
{
    for (const auto& e : kErrors)
        if (e.name == name)
            return e.err;
    return std::nullopt;
}

WireHeader Message::header() const
{
    return WireHeader { type, req_id, tx_id, static_cast<uint32_t>(payload.size()) };
}

void Message::encode_into(std::vector<uint8_t>& out) const
{
    WireHeader h = header();
    size_t at = out.size();
    out.resize(at + kHeaderSize + payload.size());
    std::memcpy(out.data() + at, &h, kHeaderSize);
    if (!payload.empty())
        std::memcpy(out.data() + at + kHeaderSize, payload.data(), payload.size());
}

std::vector<uint8_t> Message::encode() const
{
    std::vector<uint8_t> out;
    out.reserve(kHeaderSize + payload.size());
    encode_into(out);
    return out;
}

Result<Message> decode_message(std::span<const uint8_t> bytes)
{
    if (bytes.size() < kHeaderSize)
        return fail(EINVAL, "xenstore message of {} bytes is shorter than its header", bytes.size());
    WireHeader h;
    std::memcpy(&h, bytes.data(), kHeaderSize);
    if (h.len > kPayloadMax)
        return fail(E2BIG, "xenstore payload of {} bytes exceeds {}", h.len, kPayloadMax);
    if (bytes.size() - kHeaderSize != h.len)
        return fail(EINVAL, "xenstore header says {} payload bytes, {} present", h.len,
                    bytes.size() - kHeaderSize);
    Message m { h.type, h.req_id, h.tx_id,
                std::string(reinterpret_cast<const char*>(bytes.data()) + kHeaderSize, h.len) };
    return m;
}

Message reply_to(const Message& request, std::string payload)
{
    return Message { request.type, request.req_id, request.tx_id, std::move(payload) };
}

Message error_reply(const Message& request, int err)
{
    std::string payload(error_name_or_einval(err));
    payload.push_back('\0');
    return Message::make(MsgType::Error, request.req_id, request.tx_id, std::move(payload));
}

Message ok_reply(const Message& request)
{
    return reply_to(request, kOkPayload);
}

Message watch_event(std::string_view path, std::string_view token)
{
    std::string payload;
    payload.reserve(path.size() + token.size() + 2);
    payload.append(path);
    payload.push_back('\0');
    payload.append(token);
    payload.push_back('\0');
    return Message::make(MsgType::WatchEvent, 0, 0, std::move(payload));
}

std::optional<std::vector<std::string_view>> split_strings(std::string_view payload)
{
    if (payload.empty() || payload.back() != '\0')
        return std::nullopt;
    std::vector<std::string_view> out;
    size_t start = 0;
    while (start < payload.size()) {
        size_t nul = payload.find('\0', start);
        out.push_back(payload.substr(start, nul - start));
        start = nul + 1;
    }
    return out;
}

std::optional<FirstAndRest> split_first(std::string_view payload)
{
    size_t nul = payload.find('\0');
    if (nul == std::string_view::npos)
        return std::nullopt;
    return FirstAndRest { payload.substr(0, nul), payload.substr(nul + 1) };
}

std::optional<uint64_t> parse_decimal(std::string_view s, uint64_t max)
{
    if (s.empty() || s.size() > 20)
        return std::nullopt;
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9')
            return std::nullopt;
        uint64_t digit = static_cast<uint64_t>(c - '0');
        if (digit > max || v > (max - digit) / 10)
            return std::nullopt;
        v = v * 10 + digit;
    }
    return v;
}

} // namespace xkvm::xenstore
