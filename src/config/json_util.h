// Reading helpers shared by the JSON readers of this folder (json_read.cpp, json_devices.cpp).
// Internal: not part of the config library's interface.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "config/config_error.h"
#include "config/json.h"

namespace xkvm::config::json_util {

using nlohmann::json;

template<typename... Args>
Unexpected<ConfigError> json_fail(std::string_view path, fmt::format_string<Args...> f, Args&&... args)
{
    return { ConfigError { std::string(kJsonSource), 0, 0,
                           fmt::format("{}: {}", path.empty() ? "/" : path, fmt::format(f, std::forward<Args>(args)...)) } };
}

inline std::string child(std::string_view path, std::string_view key) { return fmt::format("{}/{}", path, key); }
inline std::string child(std::string_view path, size_t index) { return fmt::format("{}/{}", path, index); }

// Reads one member of an object; absent members yield nullptr unless required.
inline ConfigResult<const json*> member(const json& obj, std::string_view path, std::string_view key, bool required)
{
    auto it = obj.find(key);
    if (it == obj.end()) {
        if (required)
            return json_fail(path, "missing member \"{}\"", key);
        return static_cast<const json*>(nullptr);
    }
    return &*it;
}

inline ConfigResult<const json*> object_at(const json& obj, std::string_view path, std::string_view key, bool required)
{
    const json* j = TRY(member(obj, path, key, required));
    if (j && !j->is_object())
        return json_fail(child(path, key), "expected an object");
    return j;
}

inline ConfigResult<uint64_t> as_uint(const json& j, std::string_view path, uint64_t max)
{
    // Parsed text gives unsigned numbers; values built in code may be signed but non-negative.
    if (!j.is_number_unsigned() && !(j.is_number_integer() && j.get<int64_t>() >= 0))
        return json_fail(path, "expected an unsigned integer");
    auto v = j.get<uint64_t>();
    if (v > max)
        return json_fail(path, "{} is out of range (at most {})", v, max);
    return v;
}

inline ConfigResult<std::string> as_string(const json& j, std::string_view path)
{
    if (!j.is_string())
        return json_fail(path, "expected a string");
    return j.get<std::string>();
}

inline ConfigResult<bool> as_bool(const json& j, std::string_view path)
{
    if (!j.is_boolean())
        return json_fail(path, "expected true or false");
    return j.get<bool>();
}

inline ConfigResult<uint64_t> memkb_as_mib(const json& j, std::string_view path)
{
    uint64_t kb = TRY(as_uint(j, path, UINT64_MAX / 2));
    if (kb % 1024)
        return json_fail(path, "{} KiB is not a whole number of MiB", kb);
    return kb / 1024;
}

} // namespace xkvm::config::json_util
