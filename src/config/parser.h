// The xl.cfg grammar: KEY = VALUE and KEY += VALUE statements, separated by newlines or ';'.
// A VALUE is a quoted string, a number, or a [ list ] (nestable, may span lines, trailing comma
// allowed). '#' starts a comment. Command-line overrides ("KEY=VALUE" strings from `create`) use
// the same grammar and apply after the file, in order.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config_error.h"

namespace xkvm::config {

inline constexpr std::string_view kCommandLineSource = "<command line>";
inline constexpr size_t kMaxConfigFileBytes = 1 << 20;
inline constexpr int kMaxListDepth = 8;

struct Value {
    enum class Kind { String, Number, List };
    Kind kind = Kind::String;
    std::string text;         // String: contents (escapes resolved); Number: as written
    std::vector<Value> items; // List
    Position pos;             // the opening quote, first digit or '['
    bool verbatim = false;    // String whose bytes map 1:1 onto the source line

    // Where byte `offset` of a string's contents sits in the source. Exact for verbatim strings;
    // otherwise the string's own position (escapes break the mapping).
    Position at(size_t offset) const;
    std::string_view kind_name() const; // "a string", "a number", "a list"
};

struct Setting {
    std::string key;
    Position key_pos; // where the key was last assigned
    Value value;
};

struct ParsedConfig {
    std::string source;            // the file name (or source name) the settings came from
    std::vector<Setting> settings; // one per key, in the order keys first appear
    std::vector<ConfigWarning> warnings; // unknown or ignored keys, in source order

    const Setting* find(std::string_view key) const;
};

// Parses `text` (named `source_name` in positions), then each override as "<command line>:N:col".
ConfigResult<ParsedConfig> parse_string(std::string_view text, std::string source_name,
                                        const std::vector<std::string>& overrides = {});

// Reads and parses a file; positions name `path` as given.
ConfigResult<ParsedConfig> parse_file(const std::string& path, const std::vector<std::string>& overrides = {});

} // namespace xkvm::config
