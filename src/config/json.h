// DomainConfig as JSON, in the shape of libxl's libxl_domain_config (what `xl create -n` prints):
//
//   { "c_info": { "type": "hvm", "name": ..., "uuid": ... },
//     "b_info": { "max_vcpus", "avail_vcpus": [0..vcpus-1], "max_memkb", "target_memkb", "nodemap",
//                 "cpuid": [ { "leaf", "subleaf", "eax".."edx": 32-char bit strings } ],
//                 "kernel", "cmdline", "ramdisk",
//                 "type.hvm" | "type.pvh" | "type.pv": { "firmware", "serial_list", "rdm": { "strategy", "policy" },
//                                            "rdm_mem_boundary_memkb" },
//                 "vcpu_hard_affinity_spec", "vcpu_soft_affinity_spec" },
//                 "vnuma_nodes": [ { "memkb", "distances", "pnode", "vcpus": [ids] } ],
//     "disks": [ { "backend_domname", "pdev_path", "vdev", "backend", "format", "script", "removable",
//                  "readwrite", "is_cdrom", "direct_io_safe", "discard_enable" } ],
//     "nics": [ { "backend_domname", "devid", "mtu", "model", "mac", "ip", "bridge", "ifname", "script",
//                 "nictype", "rate_bytes_per_interval", "rate_interval_usecs", "gatewaydev" } ],
//     "pcidevs": [ { "domain", "bus", "dev", "func", "vdevfn", "msitranslate", "power_mgmt",
//                    "permissive", "seize", "rdm_policy", "name" } ],
//     "on_poweroff", "on_reboot", "on_watchdog", "on_crash", "on_soft_reset" }
//
// Differences from libxl, because xkvm keeps some things unresolved or has them for PVH too:
// affinity is kept as xl.cfg CPU-list strings ("vcpu_*_affinity_spec", a string for all vCPUs or a
// list per vCPU) since numa/ resolves it later; "type.pvh" also carries firmware, serial_list, rdm
// and rdm_mem_boundary_memkb. from_json(to_json(x)) == x for every valid x.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "config/domain_config.h"

namespace xkvm::config {

inline constexpr std::string_view kJsonSource = "<json>";

nlohmann::json to_json(const DomainConfig& cfg);

// Reads the shape above (keys libxl would omit at their default may be left out). The result is
// checked like a config file's; errors name the JSON path ("<json>: error: /b_info/max_memkb: ...").
ConfigResult<DomainConfig> from_json(const nlohmann::json& j);

// Text helpers for passing the model between processes; from_json_text never throws.
std::string to_json_text(const DomainConfig& cfg);
ConfigResult<DomainConfig> from_json_text(std::string_view text);

// libxl's enum spellings.
std::string_view libxl_name(ShutdownAction a); // "restart_rename"
std::string_view libxl_name(DomainType t);     // "hvm", "pvh", "pv"
std::string_view libxl_name(RdmPolicy p);      // "strict"
std::string_view libxl_name(RdmStrategy s);    // "ignore" / "host"

} // namespace xkvm::config
