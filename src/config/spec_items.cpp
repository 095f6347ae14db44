#include "config/spec_items.h"

namespace xkvm::config {

namespace {

// Trims `s` (which starts at `offset`) and returns the offset of the trimmed start.
size_t trim(std::string_view& s, size_t offset)
{
    while (!s.empty() && is_spec_blank(s.front())) {
        s.remove_prefix(1);
        offset++;
    }
    while (!s.empty() && is_spec_blank(s.back()))
        s.remove_suffix(1);
    return offset;
}

} // namespace

std::vector<SpecItem> split_spec(std::string_view s, char sep)
{
    std::vector<SpecItem> out;
    size_t start = 0;
    while (true) {
        size_t end = s.find(sep, start);
        std::string_view raw = s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
        SpecItem item;
        item.text = raw;
        item.offset = trim(item.text, start);
        if (auto eq = item.text.find('='); eq != std::string_view::npos) {
            item.has_value = true;
            item.key = item.text.substr(0, eq);
            item.key_offset = trim(item.key, item.offset);
            item.value = item.text.substr(eq + 1);
            item.value_offset = trim(item.value, item.offset + eq + 1);
        }
        out.push_back(item);
        if (end == std::string_view::npos)
            return out;
        start = end + 1;
    }
}

} // namespace xkvm::config
