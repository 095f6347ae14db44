// disk= entries by the xl disk configuration grammar (xl-disk-configuration(5)):
//
//   DISKSPEC := a comma-separated series of
//       positional parameters  target, format, vdev, access  (filled in that order, empty = default)
//       KEY=VALUE              format, vdev, access, devtype, backend, backendtype, script
//       flags                  cdrom, direct-io-safe, discard, no-discard
//       target=...             last: takes the rest of the string, commas included
//   deprecated: "raw:/path", "qcow2:", "vhd:" (format), "phy:", "file:", "tap:aio:" ... (ignored),
//   "iscsi:", "nbd:", "enbd:", "drbd:" (script=block-NAME) prefixes on the target; "hdc:cdrom" vdevs.
//   COLO replication (colo, colo-host, colo-port, colo-export, active-disk, hidden-disk) is an error:
//   xkvm has no COLO.
//
// Each parameter may be given once, by position or by name.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/config_error.h"

namespace xkvm::config {

// libxl_disk_format (less "unknown", which xl never leaves: it defaults to raw).
enum class DiskFormat { Raw, Qcow, Qcow2, Vhd, Qed, Empty };
// libxl_disk_backend: Unknown lets libxl choose.
enum class DiskBackend { Unknown, Phy, Tap, Qdisk };

struct DiskSpec {
    std::string target;               // libxl pdev_path; "" only for an empty cdrom drive
    DiskFormat format = DiskFormat::Raw; // Empty exactly when target is ""
    std::string vdev;                 // the guest's name for it (xvda, hda, sdb, ...); required
    bool readwrite = true;            // access=; read-only by default for a cdrom
    bool is_cdrom = false;
    DiskBackend backend = DiskBackend::Unknown; // backendtype=
    std::string backend_domname;      // backend=; "" is the toolstack domain
    std::string script;               // script=, or block-NAME from a deprecated prefix
    bool direct_io_safe = false;
    std::optional<bool> discard;      // discard / no-discard; unset: the backend's default
    bool operator==(const DiskSpec&) const = default;
};

// Errors carry the byte offset into `s`.
SpecResult<DiskSpec> parse_disk_spec(std::string_view s);

std::string_view libxl_name(DiskFormat f);  // "raw", "qcow2", "empty", ...
std::string_view libxl_name(DiskBackend b); // "unknown", "phy", "tap", "qdisk"
std::optional<DiskFormat> disk_format_from_libxl(std::string_view s);
std::optional<DiskBackend> disk_backend_from_libxl(std::string_view s);

} // namespace xkvm::config
