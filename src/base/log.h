// Logging goes through spdlog; subsystems name their logger so output says where it came from.
#pragma once

#include <memory>
#include <string_view>

#include <spdlog/spdlog.h>

namespace xkvm::log {

// A logger per subsystem ("kvm", "xen", "xenstore", ...), created on first use, sharing one sink.
std::shared_ptr<spdlog::logger> get(std::string_view subsystem);

// Level from XKVM_LOG (trace|debug|info|warn|error|off); default warn so tests stay quiet.
void init_from_env();

} // namespace xkvm::log
