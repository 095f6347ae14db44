#include "config/config_error.h"

namespace xkvm::config {

namespace {

std::string located(const std::string& file, uint32_t line, uint32_t column, std::string_view kind,
                    const std::string& message)
{
    if (line == 0)
        return fmt::format("{}: {}: {}", file, kind, message);
    return fmt::format("{}:{}:{}: {}: {}", file, line, column, kind, message);
}

} // namespace

std::string ConfigError::str() const { return located(file, line, column, "error", message); }

std::string ConfigWarning::str() const { return located(file, line, column, "warning", message); }

} // namespace xkvm::config
