// Typed reads of parsed values. Errors point at the value and say what was expected.
// As in xl, a NUMBER may stand where a string is wanted and a quoted number where a number is.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/parser.h"

namespace xkvm::config {

// A NUMBER in any xl.cfg form (decimal, 0-octal, 0x-hex); nullopt if malformed or above 2^64-1.
std::optional<uint64_t> parse_number(std::string_view text);

// A decimal or 0x-hex unsigned number (no octal), as spec strings use; nullopt if malformed.
std::optional<uint64_t> parse_dec_or_hex(std::string_view text);

ConfigResult<std::string> value_string(const Value& v, std::string_view key);
ConfigResult<uint64_t> value_uint(const Value& v, std::string_view key, uint64_t min, uint64_t max);

ConfigResult<std::string> get_string(const Setting& s);
ConfigResult<std::string> get_nonempty_string(const Setting& s);
ConfigResult<uint64_t> get_uint(const Setting& s, uint64_t min, uint64_t max);
// BOOLEAN: a number, 0 is false and anything else true.
ConfigResult<bool> get_bool(const Setting& s);

// A list of strings/numbers; a single string is accepted as a one-item list when `single_ok`.
// The returned values point into `s` (positions for per-item errors).
ConfigResult<std::vector<const Value*>> get_scalar_list(const Setting& s, bool single_ok);

// "Turn a SpecError inside this string value into a ConfigError at the exact column."
ConfigError spec_error_at(const Value& v, std::string_view key, const SpecError& e);

} // namespace xkvm::config
