#include "rdm/host_devices.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "base/unique_fd.h"

namespace xkvm::rdm {

namespace fs = std::filesystem;

namespace {

constexpr uint64_t kSecondaryBusOffset = 0x19;
constexpr uint8_t kMaxDevice = 31;
constexpr uint8_t kMaxFunction = 7;

Status check_bdf_fields(const config::PciBdf& bdf)
{
    if (bdf.dev > kMaxDevice || bdf.func > kMaxFunction)
        return fail(EINVAL, "PCI device {:04x}:{:02x}:{:02x}.{:x}: device must be 0..31 and function 0..7",
                    bdf.domain, bdf.bus, bdf.dev, bdf.func);
    return {};
}

} // namespace

HostPaths detect_host_paths()
{
    const char* root = std::getenv("XKVM_SYSFS_ROOT");
    if (!root || !*root)
        return {};
    const fs::path sys = fs::path(root) / "sys";
    return { sys.string(), (sys / "firmware/acpi/tables/DMAR").string() };
}

std::string bdf_str(const config::PciBdf& bdf)
{
    return fmt::format("{:04x}:{:02x}:{:02x}.{:x}", bdf.domain, bdf.bus, bdf.dev, bdf.func);
}

std::string bdf_list_str(const std::vector<config::PciBdf>& devices)
{
    if (devices.empty())
        return "no device";
    std::string out;
    for (const auto& d : devices) {
        if (!out.empty())
            out += ", ";
        out += bdf_str(d);
    }
    return out;
}

std::string pci_device_dir(const config::PciBdf& bdf, const std::string& sysfs_root)
{
    return sysfs_root + "/bus/pci/devices/" + bdf_str(bdf);
}

bool is_passthrough_driver(std::string_view driver)
{
    return driver == "vfio-pci" || driver == "pciback" || driver == "xen-pciback";
}

Status check_assignable(const config::PciBdf& bdf, const std::string& sysfs_root)
{
    TRY(check_bdf_fields(bdf));
    const fs::path dir = pci_device_dir(bdf, sysfs_root);
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        return fail(ENODEV, "PCI device {} is not present on this host (no {})", bdf_str(bdf), dir.string());

    const fs::path driver_link = dir / "driver";
    const auto link_status = fs::symlink_status(driver_link, ec);
    if (ec || !fs::exists(link_status))
        return fail(EBUSY, "PCI device {} is not bound to any driver; bind it to vfio-pci for passthrough",
                    bdf_str(bdf));
    if (!fs::is_symlink(link_status))
        return fail(EBUSY, "PCI device {}: {} is not a driver symlink", bdf_str(bdf), driver_link.string());

    const fs::path target = fs::read_symlink(driver_link, ec);
    if (ec)
        return fail(ec.value(), "PCI device {}: cannot read {}: {}", bdf_str(bdf), driver_link.string(),
                    ec.message());
    const std::string driver = target.filename().string();
    if (!is_passthrough_driver(driver))
        return fail(EBUSY, "PCI device {} is bound to driver '{}', not to vfio-pci (or pciback); "
                           "unbind it and bind it to vfio-pci for passthrough",
                    bdf_str(bdf), driver);
    return {};
}

Status check_assignable(const std::vector<config::PciSpec>& pci, const std::string& sysfs_root)
{
    for (size_t i = 0; i < pci.size(); ++i) {
        for (size_t j = 0; j < i; ++j) {
            if (pci[j].bdf == pci[i].bdf)
                return fail(EINVAL, "PCI device {} is listed twice in pci=", bdf_str(pci[i].bdf));
        }
        TRY(check_assignable(pci[i].bdf, sysfs_root));
    }
    return {};
}

Result<uint8_t> bridge_secondary_bus(const config::PciBdf& bridge, const std::string& sysfs_root)
{
    TRY(check_bdf_fields(bridge));
    const std::string path = pci_device_dir(bridge, sysfs_root) + "/config";
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd)
        return make_unexpected(Error::from_errno(fmt::format("bridge {}: open {}", bdf_str(bridge), path)));
    uint8_t bus = 0;
    const ssize_t n = ::pread(fd.get(), &bus, 1, kSecondaryBusOffset);
    if (n < 0)
        return make_unexpected(Error::from_errno(fmt::format("bridge {}: read {}", bdf_str(bridge), path)));
    if (n != 1)
        return fail(EIO, "bridge {}: {} is too short to hold the secondary bus number", bdf_str(bridge), path);
    return bus;
}

} // namespace xkvm::rdm
