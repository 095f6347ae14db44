// Turning the daemon's domain records (the `list` reply) into what the CLI prints: xl's `list` rows
// (with the host as Domain-0), `list -v`'s extra columns, `vcpu-list` rows, `uptime` and
// `sched-credit`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "numa/topology.h"
#include "toolstack/plan/affinity_view.h"

namespace xkvm::cli {

// One domain of the daemon's `list` reply. Missing or odd fields give defaults (the daemon is trusted,
// but the CLI must not crash on an older one).
plan::DomainListEntry domain_entry(const numa::Topology& topo, const nlohmann::json& rec);
// The host, as xl shows dom0: all its memory, all online CPUs, the CPU time the host has used.
plan::DomainListEntry host_entry(const numa::Topology& topo, uint64_t total_mib, double cpu_time_s);
// `list -v` columns after the common ones: " <uuid> <reason code or -> <security label>".
std::string verbose_suffix(const nlohmann::json& rec);

std::vector<plan::VcpuListEntry> vcpu_entries(const numa::Topology& topo, const nlohmann::json& rec);
// Per-vCPU (hard, soft) as the toolstack set them; a vCPU with none set gets every online CPU.
std::vector<plan::VcpuAffinity> current_affinity(const numa::Topology& topo, const nlohmann::json& rec);

// xl sched-credit's table (xl_sched.c's widths): "Name ID Weight Cap", then one row per entry of
// the daemon's `sched-credit` reply ({name, domid, weight, cap}; Domain-0 is xkvmd's own group).
std::string sched_credit_table(const nlohmann::json& rows);

// xl's uptime text: "[D day(s), ]HH:MM:SS" (short: "[D day(s), ]HH:MM").
std::string uptime_string(uint64_t seconds, bool short_mode);

// Host facts for Domain-0: busy CPU seconds from /proc/stat, MemTotal in MiB, /proc/uptime.
double host_cpu_seconds();
uint64_t host_memory_mib();
uint64_t host_uptime_seconds();

} // namespace xkvm::cli
