// pci= entries (xl-pci-configuration(5)) and rdm= (xl.cfg(5)), parsed as written: what the user
// left out stays empty so that defaults are applied in one place (domain_config.cpp).
//
//   PCI_SPEC_STRING := [DDDD:]BB:DD.F[@VSLOT][,KEY=VALUE...]  |  KEY=VALUE[,KEY=VALUE...]
//   keys: bdf, vslot (hex), permissive, msitranslate, seize, power_mgmt (BOOLEAN),
//         rdm_policy (strict|relaxed), name (instead of bdf)
//   RDM_RESERVATION_STRING := strategy=host,policy=strict|relaxed (either part optional)
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/config_error.h"
#include "config/device_specs.h"

namespace xkvm::config {

inline constexpr uint8_t kMaxPciDev = 0x1f;
inline constexpr uint8_t kMaxPciFunc = 7;

struct PciSpecInput {
    std::optional<PciBdf> bdf;
    std::optional<uint8_t> vslot;
    std::optional<bool> permissive;
    std::optional<bool> msitranslate;
    std::optional<bool> seize;
    std::optional<bool> power_mgmt;
    std::optional<RdmPolicy> rdm_policy;
    std::optional<std::string> name;
};

struct RdmSpecInput {
    std::optional<RdmStrategy> strategy;
    std::optional<RdmPolicy> policy;
};

// "[DDDD:]BB:DD.F", all hex. Offsets in errors are relative to `s`.
SpecResult<PciBdf> parse_pci_bdf(std::string_view s);

SpecResult<PciSpecInput> parse_pci_spec(std::string_view s);

SpecResult<RdmSpecInput> parse_rdm_spec(std::string_view s);

SpecResult<RdmPolicy> parse_rdm_policy(std::string_view s);

} // namespace xkvm::config
