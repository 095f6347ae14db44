// The ACPI DMAR table (Intel VT-d), as far as reserved device memory needs it: its RMRR structures,
// each a physical range some devices DMA into behind the OS's back (USB legacy emulation, IGD stolen
// memory), with the devices named by ACPI device scopes.
//
// The table comes from firmware through sysfs; it is parsed as untrusted input: every length is
// checked against its container before anything is read, and a malformed table is an error.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "config/device_specs.h"
#include "rdm/host_devices.h"

namespace xkvm::rdm {

// Remapping structure types (VT-d spec, chapter 8).
inline constexpr uint16_t kDmarTypeDrhd = 0;
inline constexpr uint16_t kDmarTypeRmrr = 1;

// Device scope types; an RMRR may only name PCI ones.
inline constexpr uint8_t kScopeEndpoint = 1;
inline constexpr uint8_t kScopeBridge = 2;

inline constexpr size_t kAcpiHeaderSize = 36;
inline constexpr size_t kDmarHeaderSize = 48; // ACPI header + width, flags, 10 reserved bytes
inline constexpr size_t kRmrrFixedSize = 24;
inline constexpr size_t kScopeFixedSize = 6;

// A sysfs ACPI table larger than this is not a DMAR table anyone shipped.
inline constexpr size_t kMaxDmarTableSize = 1024 * 1024;

struct PciPathEntry {
    uint8_t dev = 0;
    uint8_t func = 0;
    bool operator==(const PciPathEntry&) const = default;
};

struct DeviceScope {
    uint8_t type = 0;
    uint8_t enumeration_id = 0;
    uint8_t start_bus = 0;
    std::vector<PciPathEntry> path; // first hop on start_bus, each later hop behind the bridge before it
    bool operator==(const DeviceScope&) const = default;
};

struct Rmrr {
    uint16_t segment = 0;
    uint64_t base = 0;
    uint64_t limit = 0; // inclusive, as the table has it
    std::vector<DeviceScope> scopes;
    bool operator==(const Rmrr&) const = default;
};

struct DmarTable {
    uint8_t host_address_width = 0; // in bits (the table stores width - 1)
    uint8_t flags = 0;
    std::vector<Rmrr> rmrrs;
    std::vector<std::string> warnings; // oddities that do not make the table unusable (bad checksum, ...)
};

// "[0x7b800000-0x7f7fffff]": a range in messages, with its inclusive last byte as the firmware writes it.
std::string range_str(uint64_t base, uint64_t end);

// Parse a DMAR table. EINVAL, naming the offset, for anything structurally wrong: truncation, a
// length that points outside its container, a structure shorter than its fixed part, base > limit.
Result<DmarTable> parse_dmar(std::span<const uint8_t> table);

// A reserved region as the host reports it: page-granular [base, base + size), and the devices whose
// RMRR device scopes name it (several, when RMRRs share a range).
struct HostRegion {
    uint64_t base = 0;
    uint64_t size = 0;
    std::vector<config::PciBdf> devices;
    uint64_t end() const { return base + size; }
};

struct HostRdm {
    std::vector<HostRegion> regions; // sorted by base; identical ranges merged
    std::vector<std::string> warnings;
};

// Turn RMRRs into host regions: device scopes become BDFs (a path deeper than one hop reads each
// bridge's secondary bus from <sysfs_root>/bus/pci/devices/<bridge>/config; a scope that cannot be
// resolved is dropped with a warning), ranges are widened to whole pages.
HostRdm resolve_host_regions(const DmarTable& table, const std::string& sysfs_root);

// Read, parse and resolve the host's DMAR table. A missing table means no regions (not VT-d, or
// not an Intel host); an unreadable or malformed one is an error.
Result<HostRdm> read_host_rdm(const HostPaths& paths = {});

} // namespace xkvm::rdm
