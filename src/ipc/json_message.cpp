#include "ipc/json_message.h"

#include <algorithm>

namespace xkvm::ipc {

Frame json_frame(const Json& j)
{
    return Frame::make(FrameKind::Json, j.dump(-1, ' ', false, Json::error_handler_t::replace));
}

size_t json_depth(std::string_view text, size_t limit)
{
    size_t depth = 0, deepest = 0;
    bool in_string = false, escaped = false;
    for (char c : text) {
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            deepest = std::max(deepest, ++depth);
            if (deepest > limit)
                return deepest;
        } else if ((c == '}' || c == ']') && depth > 0) {
            --depth;
        }
    }
    return deepest;
}

Result<Json> parse_json(const Frame& frame, JsonLimits limits)
{
    if (frame.kind != FrameKind::Json)
        return fail(EPROTO, "ipc: expected a JSON frame, got kind {}", static_cast<int>(frame.kind));
    if (frame.payload.size() > limits.max_bytes)
        return fail(EMSGSIZE, "ipc: JSON message of {} bytes (at most {})", frame.payload.size(), limits.max_bytes);
    if (json_depth(frame.payload, limits.max_depth) > limits.max_depth)
        return fail(EPROTO, "ipc: JSON message nested deeper than {} levels", limits.max_depth);
    Json j = Json::parse(frame.payload, nullptr, false);
    if (j.is_discarded())
        return fail(EPROTO, "ipc: malformed JSON message");
    if (!j.is_object())
        return fail(EPROTO, "ipc: a JSON message must be an object");
    return j;
}

Json ok_reply(uint64_t id, Json fields)
{
    if (!fields.is_object())
        fields = Json::object();
    fields["id"] = id;
    fields["ok"] = true;
    return fields;
}

Json error_reply(uint64_t id, const Error& e)
{
    return Json { { "id", id }, { "ok", false }, { "error", e.message }, { "code", e.code } };
}

Result<Json> reply_result(Json reply)
{
    bool ok = TRY(get_bool(reply, "ok"));
    if (ok) {
        reply.erase("id");
        reply.erase("ok");
        return reply;
    }
    auto message = TRY(opt_string(reply, "error", "unknown error", 1 << 16));
    int64_t code = TRY(get_int(reply, "code", 0, 4095));
    return make_unexpected(Error { static_cast<int>(code), std::move(message) });
}

Json pick_fields(const Json& j, std::initializer_list<std::string_view> keys)
{
    Json out = Json::object();
    if (!j.is_object())
        return out;
    for (std::string_view key : keys)
        if (auto it = j.find(key); it != j.end())
            out[std::string(key)] = *it;
    return out;
}

namespace {

const Json* find(const Json& j, std::string_view key)
{
    if (!j.is_object())
        return nullptr;
    auto it = j.find(key);
    return it == j.end() ? nullptr : &*it;
}

} // namespace

Result<std::string> get_string(const Json& j, std::string_view key, size_t max_len)
{
    const Json* v = find(j, key);
    if (!v || !v->is_string())
        return fail(EPROTO, "ipc: field '{}' missing or not a string", key);
    const auto& s = v->get_ref<const std::string&>();
    if (s.size() > max_len)
        return fail(EPROTO, "ipc: field '{}' longer than {} bytes", key, max_len);
    return s;
}

Result<uint64_t> get_uint(const Json& j, std::string_view key, uint64_t max)
{
    const Json* v = find(j, key);
    if (!v || !v->is_number_unsigned())
        return fail(EPROTO, "ipc: field '{}' missing or not an unsigned integer", key);
    uint64_t n = v->get<uint64_t>();
    if (n > max)
        return fail(EPROTO, "ipc: field '{}' is {}, above {}", key, n, max);
    return n;
}

Result<int64_t> get_int(const Json& j, std::string_view key, int64_t min, int64_t max)
{
    const Json* v = find(j, key);
    if (!v || !v->is_number_integer())
        return fail(EPROTO, "ipc: field '{}' missing or not an integer", key);
    if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
        return fail(EPROTO, "ipc: field '{}' out of range", key);
    int64_t n = v->get<int64_t>();
    if (n < min || n > max)
        return fail(EPROTO, "ipc: field '{}' is {}, outside [{}, {}]", key, n, min, max);
    return n;
}

Result<bool> get_bool(const Json& j, std::string_view key)
{
    const Json* v = find(j, key);
    if (!v || !v->is_boolean())
        return fail(EPROTO, "ipc: field '{}' missing or not a boolean", key);
    return v->get<bool>();
}

Result<std::string> opt_string(const Json& j, std::string_view key, std::string fallback, size_t max_len)
{
    if (!find(j, key))
        return fallback;
    return get_string(j, key, max_len);
}

Result<uint64_t> opt_uint(const Json& j, std::string_view key, uint64_t fallback, uint64_t max)
{
    if (!find(j, key))
        return fallback;
    return get_uint(j, key, max);
}

Result<bool> opt_bool(const Json& j, std::string_view key, bool fallback)
{
    if (!find(j, key))
        return fallback;
    return get_bool(j, key);
}

Result<std::vector<uint32_t>> get_uint_list(const Json& j, std::string_view key, uint32_t max, size_t max_items)
{
    const Json* v = find(j, key);
    if (!v || !v->is_array())
        return fail(EPROTO, "ipc: field '{}' missing or not a list", key);
    if (v->size() > max_items)
        return fail(EPROTO, "ipc: field '{}' has more than {} items", key, max_items);
    std::vector<uint32_t> out;
    for (const auto& item : *v) {
        if (!item.is_number_unsigned() || item.get<uint64_t>() > max)
            return fail(EPROTO, "ipc: field '{}' holds an item that is not an integer in [0, {}]", key, max);
        out.push_back(static_cast<uint32_t>(item.get<uint64_t>()));
    }
    return out;
}

} // namespace xkvm::ipc
