// The host side of PCI passthrough as sysfs shows it: does a device exist, is it bound to a driver
// that hands it to a guest, and what lies behind a bridge. Every path hangs off an overridable sysfs
// root so tests can build their own trees.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "config/device_specs.h"

namespace xkvm::rdm {

inline constexpr const char* kDefaultSysfsRoot = "/sys";
inline constexpr const char* kDefaultDmarPath = "/sys/firmware/acpi/tables/DMAR";

// Where host facts are read from; tests point both somewhere else.
struct HostPaths {
    std::string sysfs_root = kDefaultSysfsRoot;
    std::string dmar_table = kDefaultDmarPath;
};

// The real host's paths, or the same files under $XKVM_SYSFS_ROOT when it is set (the fixture root
// numa::Topology::detect() reads: <root>/sys/bus/pci/..., <root>/sys/firmware/acpi/tables/DMAR), so
// the CLI can be tested against a host of the test's making.
HostPaths detect_host_paths();

// "0000:03:00.0", the spelling sysfs uses. Local so rdm/ needs only the config headers.
std::string bdf_str(const config::PciBdf& bdf);

// Comma-separated bdf_str() of each device, or "no device" for an empty list.
std::string bdf_list_str(const std::vector<config::PciBdf>& devices);

// <sysfs_root>/bus/pci/devices/<bdf>
std::string pci_device_dir(const config::PciBdf& bdf, const std::string& sysfs_root);

// Drivers that hold a device for a guest: vfio-pci, and pciback / xen-pciback.
bool is_passthrough_driver(std::string_view driver);

// The device exists on the host and is bound to a passthrough driver. ENODEV when it is missing,
// EBUSY when it is unbound or owned by another driver, EINVAL for an impossible BDF; the message
// names the device and says what to do.
Status check_assignable(const config::PciBdf& bdf, const std::string& sysfs_root = kDefaultSysfsRoot);

// check_assignable() for every entry of pci=, and no device listed twice.
Status check_assignable(const std::vector<config::PciSpec>& pci,
                        const std::string& sysfs_root = kDefaultSysfsRoot);

// A PCI-PCI bridge's secondary bus number (config space byte 0x19).
Result<uint8_t> bridge_secondary_bus(const config::PciBdf& bridge, const std::string& sysfs_root);

} // namespace xkvm::rdm
