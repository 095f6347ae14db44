// UTF-8 validation: config strings end up in JSON, which must be valid UTF-8.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace xkvm::config {

// nullopt if `s` is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF),
// else the offset of the first bad byte.
std::optional<size_t> utf8_error(std::string_view s);

} // namespace xkvm::config
