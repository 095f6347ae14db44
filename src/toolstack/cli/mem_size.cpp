#include "toolstack/cli/mem_size.h"

#include <charconv>

namespace xkvm::cli {

std::optional<uint64_t> parse_mem_size_kib(std::string_view text)
{
    uint64_t number = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (ec != std::errc() || end == text.data())
        return {};
    std::string_view suffix(end, text.data() + text.size() - end);
    if (suffix.size() > 1)
        return {};
    char unit = suffix.empty() ? 'm' : static_cast<char>(suffix[0] | 0x20);
    unsigned shift_left = 0;
    switch (unit) {
    case 't': shift_left = 30; break;
    case 'g': shift_left = 20; break;
    case 'm': shift_left = 10; break;
    case 'k': shift_left = 0; break;
    case 'b': return number >> 10;
    default: return {};
    }
    if (number > (UINT64_MAX >> 1) >> shift_left)
        return {};
    return number << shift_left;
}

} // namespace xkvm::cli
