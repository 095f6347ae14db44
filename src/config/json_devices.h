// disk=, vif= and vnuma= in libxl's JSON shape (internal to json_write.cpp / json_read.cpp):
//   "disks": [ libxl_device_disk ], "nics": [ libxl_device_nic ], "b_info"."vnuma_nodes".
#pragma once

#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/domain_config.h"

namespace xkvm::config {

nlohmann::json disk_json(const DiskSpec& d);
nlohmann::json nic_json(const VifSpec& v);
nlohmann::json vnuma_json(const std::vector<VnumaNode>& nodes);

ConfigResult<DiskSpec> disk_from_json(const nlohmann::json& j, std::string_view path);
ConfigResult<VifSpec> nic_from_json(const nlohmann::json& j, std::string_view path);
ConfigResult<std::vector<VnumaNode>> vnuma_from_json(const nlohmann::json& j, std::string_view path);

} // namespace xkvm::config
