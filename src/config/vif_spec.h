// vif= entries by the xl network configuration grammar (xl-network-configuration(5)):
//
//   VIFSPEC := [KEY=VALUE[,KEY=VALUE...]]   (the empty string is a NIC with every default)
//   keys: mac (six hex octets, ':'-separated), bridge, gatewaydev (netdev: its old name), type
//         (ioemu|vif), model, vifname, script, ip, backend, rate (RATE/s[@INTERVAL]), devid, mtu;
//         accel is accepted and ignored (xl ignores it too, with a message).
//   RATE: a whole number with GB, MB, KB, B (bytes) or Gb, Mb, Kb, b (bits), decimal multiples;
//   INTERVAL: a whole number with s, ms or us (default us); 50ms when left out.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config_error.h"

namespace xkvm::config {

// libxl_nic_type: Unknown lets libxl choose (ioemu for HVM).
enum class NicType { Unknown, VifIoemu, Vif };

inline constexpr uint32_t kDefaultRateIntervalUs = 50000;

struct VifSpec {
    std::optional<std::array<uint8_t, 6>> mac; // unset: generated at create time
    std::string bridge, gatewaydev, model, vifname, script, ip, backend_domname;
    NicType type = NicType::Unknown;
    uint64_t rate_bytes_per_interval = 0; // 0: unlimited
    uint32_t rate_interval_usecs = 0;     // 0 exactly when unlimited
    uint32_t mtu = 0;                     // 0: the bridge's
    std::optional<uint32_t> devid;        // parse: as given; model: always set (default: the list index)
    bool operator==(const VifSpec&) const = default;
};

// Errors carry the byte offset into `s`.
SpecResult<VifSpec> parse_vif_spec(std::string_view s);

// "00:16:3e:01:02:03"
std::string mac_str(const std::array<uint8_t, 6>& mac);
std::optional<std::array<uint8_t, 6>> parse_mac(std::string_view s);

std::string_view libxl_name(NicType t); // "unknown", "vif_ioemu", "vif"
std::optional<NicType> nic_type_from_libxl(std::string_view s);

} // namespace xkvm::config
