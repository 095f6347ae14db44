// Which xl.cfg keys xkvm knows: the ones it acts on, the Xen-documented ones it ignores (with a
// warning, so a config written for Xen still loads), and the ones that are a hard "not supported".
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "config/config_error.h"

namespace xkvm::config {

struct ParsedConfig;

enum class KeySupport {
    Handled,     // turned into DomainConfig fields
    Ignored,     // documented by xl.cfg(5) but not implemented by xkvm: warning
    Unsupported, // documented, but accepting it would silently give the guest something else: error
};

// nullopt: not an xl.cfg key at all (a warning, as xl gives).
std::optional<KeySupport> key_support(std::string_view key);

// Warnings for unknown and ignored keys, and for keys that another key overrides
// (cmdline over extra/root, type over builder).
std::vector<ConfigWarning> key_warnings(const ParsedConfig& cfg);

} // namespace xkvm::config
