// JSON control messages carried in FrameKind::Json frames, and strict readers for their fields:
// anything a peer sends is checked for presence, type and range before use (never an exception).
//
// Conventions shared by every peer:
//   request  {"op": "<name>", "id": <u64>, ...arguments}
//   reply    {"id": <same>, "ok": true, ...results}  or  {"id": <same>, "ok": false, "error": "<text>", "code": <errno>}
//   event    {"event": "<name>", ...}  (unsolicited, no id)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "ipc/frame.h"

namespace xkvm::ipc {

using Json = nlohmann::json;

// What a parsed message may be. nlohmann-json copies, compares and serialises recursively, so a
// message nested deeper than a few levels (a hostile peer's 100,000) would exhaust the stack of
// whoever touches it: the depth is checked on the raw text, before the parser builds anything.
struct JsonLimits {
    size_t max_bytes = 4u << 20; // the frame payload limit
    size_t max_depth = 32;       // objects and arrays inside one another; real messages use < 10
};
// A peer that is not trusted (a VMM, as xkvmd sees it): smaller messages.
inline constexpr JsonLimits kUntrustedJsonLimits { 1u << 20, 32 };

// Serialises `j` (invalid UTF-8 in strings is replaced, never thrown).
Frame json_frame(const Json& j);
// Parses a Json frame's payload; it must be an object within `limits` (EMSGSIZE / EPROTO).
Result<Json> parse_json(const Frame& frame, JsonLimits limits = {});
// The deepest nesting of objects and arrays in JSON text (brackets inside strings do not count);
// stops counting at `limit` + 1. Linear, no recursion, no allocation.
size_t json_depth(std::string_view text, size_t limit);

Json ok_reply(uint64_t id, Json fields = Json::object());
Json error_reply(uint64_t id, const Error& e);
// A reply back to an Error (ok:false) or its fields (taken, not copied; "id" and "ok" removed).
Result<Json> reply_result(Json reply);
// The listed top-level fields of `j` that it has (what a receiver keeps of a peer's message).
Json pick_fields(const Json& j, std::initializer_list<std::string_view> keys);

// Field readers: EPROTO naming the field when it is missing or of the wrong type or range.
Result<std::string> get_string(const Json& j, std::string_view key, size_t max_len = 4096);
Result<uint64_t> get_uint(const Json& j, std::string_view key, uint64_t max = UINT64_MAX);
Result<int64_t> get_int(const Json& j, std::string_view key, int64_t min, int64_t max);
Result<bool> get_bool(const Json& j, std::string_view key);
// Optional variants: the fallback when the key is absent, an error when present but wrong.
Result<std::string> opt_string(const Json& j, std::string_view key, std::string fallback, size_t max_len = 4096);
Result<uint64_t> opt_uint(const Json& j, std::string_view key, uint64_t fallback, uint64_t max = UINT64_MAX);
Result<bool> opt_bool(const Json& j, std::string_view key, bool fallback);
// A list of unsigned integers each <= max, at most max_items long.
Result<std::vector<uint32_t>> get_uint_list(const Json& j, std::string_view key, uint32_t max, size_t max_items);

} // namespace xkvm::ipc
