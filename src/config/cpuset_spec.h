// CPU lists as cpus= / cpus_soft= write them (xl.cfg(5) "CPULIST"), kept unresolved: numa/ maps
// node terms and "all" onto the host topology.
//
//   CPULIST := TERM[,TERM...]
//   TERM    := [^]all | [^]N | [^]N-M | [^]node:N | [^]node:N-M | [^]nodes:N | [^]nodes:N-M
#pragma once

#include <string>
#include <string_view>

#include "config/config_error.h"
#include "config/device_specs.h"

namespace xkvm::config {

inline constexpr uint32_t kMaxCpuId = 65535;
inline constexpr uint32_t kMaxNodeId = 1023;

SpecResult<CpuSetSpec> parse_cpuset(std::string_view s);

// The canonical CPULIST for a spec: parse_cpuset(format_cpuset(x)) == x.
std::string format_cpuset(const CpuSetSpec& spec);

} // namespace xkvm::config
