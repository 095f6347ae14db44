// Where a config value came from, and the errors and warnings that point at it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "base/result.h"

namespace xkvm::config {

// A place in a config source: a file path, "<command line>" or a caller-chosen name.
// Lines and columns count from 1 (columns in bytes); line 0 means "no position" (e.g. JSON input).
struct Position {
    std::string file;
    uint32_t line = 0;
    uint32_t column = 0;
    bool operator==(const Position&) const = default;
};

// What went wrong and where: str() gives "file:line:col: error: message".
struct ConfigError {
    std::string file;
    uint32_t line = 0;
    uint32_t column = 0;
    std::string message;

    static ConfigError at(const Position& pos, std::string message)
    {
        return ConfigError { pos.file, pos.line, pos.column, std::move(message) };
    }
    std::string str() const;
};

// Something the user should hear about that does not stop the domain from being built
// (an unknown key, a key xkvm ignores). The library never prints these; callers do.
struct ConfigWarning {
    std::string file;
    uint32_t line = 0;
    uint32_t column = 0;
    std::string message;

    static ConfigWarning at(const Position& pos, std::string message)
    {
        return ConfigWarning { pos.file, pos.line, pos.column, std::move(message) };
    }
    std::string str() const; // "file:line:col: warning: message"
};

template<typename T>
using ConfigResult = Result<T, ConfigError>;

template<typename... Args>
Unexpected<ConfigError> config_fail(const Position& pos, fmt::format_string<Args...> f, Args&&... args)
{
    return { ConfigError::at(pos, fmt::format(f, std::forward<Args>(args)...)) };
}

// An error inside one spec string (a PCI_SPEC_STRING, a CPU list, a cpuid entry): the byte
// offset into that string, so the caller can turn it into a file position.
struct SpecError {
    size_t offset = 0;
    std::string message;
};

template<typename T>
using SpecResult = Result<T, SpecError>;

template<typename... Args>
Unexpected<SpecError> spec_fail(size_t offset, fmt::format_string<Args...> f, Args&&... args)
{
    return { SpecError { offset, fmt::format(f, std::forward<Args>(args)...) } };
}

} // namespace xkvm::config
