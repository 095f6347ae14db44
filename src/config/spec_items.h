// Splitting "a,b,KEY=VALUE,..." spec strings into items that remember their byte offsets.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace xkvm::config {

struct SpecItem {
    std::string_view text; // the item, surrounding blanks trimmed
    size_t offset = 0;     // where `text` starts in the whole string
    bool has_value = false; // contains '='
    std::string_view key;   // trimmed text before the first '=' (has_value only)
    std::string_view value; // trimmed text after it
    size_t key_offset = 0;
    size_t value_offset = 0;
};

// The blanks xl trims around spec items: space and tab.
constexpr bool is_spec_blank(char c) { return c == ' ' || c == '\t'; }

// Splits on `sep`; blanks (space, tab) around items, keys and values are trimmed.
std::vector<SpecItem> split_spec(std::string_view s, char sep = ',');

} // namespace xkvm::config
