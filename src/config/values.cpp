#include "config/values.h"

namespace xkvm::config {

namespace {

std::optional<uint64_t> parse_radix(std::string_view digits, unsigned radix)
{
    if (digits.empty())
        return std::nullopt;
    uint64_t v = 0;
    for (char c : digits) {
        unsigned d;
        if (c >= '0' && c <= '9')
            d = static_cast<unsigned>(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = static_cast<unsigned>(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = static_cast<unsigned>(c - 'A' + 10);
        else
            return std::nullopt;
        if (d >= radix || v > (UINT64_MAX - d) / radix)
            return std::nullopt;
        v = v * radix + d;
    }
    return v;
}

bool has_hex_prefix(std::string_view t) { return t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X'); }

} // namespace

std::optional<uint64_t> parse_number(std::string_view t)
{
    if (has_hex_prefix(t))
        return parse_radix(t.substr(2), 16);
    if (t.size() > 1 && t[0] == '0')
        return parse_radix(t.substr(1), 8);
    return parse_radix(t, 10);
}

std::optional<uint64_t> parse_dec_or_hex(std::string_view t)
{
    if (has_hex_prefix(t))
        return parse_radix(t.substr(2), 16);
    return parse_radix(t, 10);
}

ConfigResult<std::string> value_string(const Value& v, std::string_view key)
{
    if (v.kind == Value::Kind::List)
        return config_fail(v.pos, "'{}' expects a string, found a list", key);
    return v.text;
}

ConfigResult<uint64_t> value_uint(const Value& v, std::string_view key, uint64_t min, uint64_t max)
{
    if (v.kind == Value::Kind::List)
        return config_fail(v.pos, "'{}' expects a number, found a list", key);
    auto n = parse_number(v.text);
    if (!n) {
        if (v.kind == Value::Kind::Number)
            return config_fail(v.pos, "'{}': number {} is too large", key, v.text);
        return config_fail(v.pos, "'{}' expects a number, found \"{}\"", key, v.text);
    }
    if (*n < min || *n > max)
        return config_fail(v.pos, "'{}' must be between {} and {}, found {}", key, min, max, *n);
    return *n;
}

ConfigResult<std::string> get_string(const Setting& s) { return value_string(s.value, s.key); }

ConfigResult<std::string> get_nonempty_string(const Setting& s)
{
    auto str = TRY(get_string(s));
    if (str.empty())
        return config_fail(s.value.pos, "'{}' must not be empty", s.key);
    return str;
}

ConfigResult<uint64_t> get_uint(const Setting& s, uint64_t min, uint64_t max)
{
    return value_uint(s.value, s.key, min, max);
}

ConfigResult<bool> get_bool(const Setting& s)
{
    if (s.value.kind == Value::Kind::List)
        return config_fail(s.value.pos, "'{}' expects a boolean (0 or 1), found a list", s.key);
    auto n = parse_number(s.value.text);
    if (!n)
        return config_fail(s.value.pos, "'{}' expects a boolean (0 or 1), found \"{}\"", s.key, s.value.text);
    return *n != 0;
}

ConfigResult<std::vector<const Value*>> get_scalar_list(const Setting& s, bool single_ok)
{
    std::vector<const Value*> out;
    if (s.value.kind != Value::Kind::List) {
        if (!single_ok)
            return config_fail(s.value.pos, "'{}' expects a list [ ... ], found {}", s.key, s.value.kind_name());
        out.push_back(&s.value);
        return out;
    }
    for (const auto& item : s.value.items) {
        if (item.kind == Value::Kind::List)
            return config_fail(item.pos, "'{}' expects a list of strings, found a nested list", s.key);
        out.push_back(&item);
    }
    return out;
}

ConfigError spec_error_at(const Value& v, std::string_view key, const SpecError& e)
{
    return ConfigError::at(v.at(e.offset), fmt::format("{}: {}", key, e.message));
}

} // namespace xkvm::config
