#include "config/keys.h"

#include <algorithm>
#include <array>

#include "config/parser.h"

namespace xkvm::config {

namespace {

constexpr std::array kHandled = {
    "builder", "cap", "cmdline", "cpu_weight", "cpuid", "cpus", "cpus_soft", "disk", "extra", "firmware_override", "kernel", "maxmem",
    "maxvcpus", "memory", "name", "nodes", "on_crash", "on_poweroff", "on_reboot", "on_soft_reset",
    "on_watchdog", "pci", "pci_msitranslate", "pci_permissive", "pci_power_mgmt", "pci_seize", "ramdisk", "rdm",
    "rdm_mem_boundary", "root", "serial", "type", "uuid", "vcpus", "vif", "vnuma",
};

// None today; vnuma= used to be one (it is now read, and refused by the planner instead).
constexpr std::array<const char*, 0> kUnsupported {};

// Keys xl.cfg(5) documents that xkvm does not act on (yet).
constexpr std::array kIgnored = {
    "acpi", "acpi_firmware", "acpi_laptop_slate", "acpi_s3", "acpi_s4", "altp2m", "altp2mhvm", "apic", "bios",
    "bios_path_override", "boot", "bootloader", "bootloader_args", "bootloader_restrict", "bootloader_user",
    "channel", "claim_mode", "device_model_args", "device_model_args_hvm", "device_model_args_pv",
    "device_model_override", "device_model_stubdomain_override", "device_model_stubdomain_seclabel",
    "device_model_user", "device_model_version", "device_tree", "dm_restrict", "driver_domain", "dtdev",
    "e820_host", "firmware", "gfx_passthru", "gic_version", "hap", "hdtype", "hpet", "hvm_pirq", "init_seclabel",
    "iomem", "ioports", "irqs", "keymap", "localtime", "max_event_channels", "max_grant_frames",
    "max_grant_version", "max_maptrack_frames", "mca_caps", "mmio_hole", "ms_vm_genid", "msr_relaxed",
    "nestedhvm", "nographic", "nomigrate", "nx", "oos", "opengl", "p9", "pae", "passthrough", "pool", "pvcalls",
    "pvshim", "pvshim_cmdline", "pvshim_extra", "pvshim_path", "rtc_timeoffset", "sdl", "seclabel",
    "shadow_memory", "smbios", "smbios_firmware", "soundhw", "spice", "spice_clipboard_sharing",
    "spice_image_compression", "spice_streaming_video", "spiceagent_mouse", "spicedisable_ticketing", "spicehost",
    "spicepasswd", "spiceport", "spicetls_port", "spiceusbredirection", "spicevdagent", "stdvga",
    "stubdomain_cmdline", "stubdomain_kernel", "stubdomain_memory", "stubdomain_ramdisk", "sve", "tee",
    "timer_mode", "tsc_mode", "usb", "usbctrl", "usbdev", "usbdevice", "usbversion",
    "vendor_device", "vdispl", "vfb", "vga", "videoram", "virtio", "viridian", "vkb", "vkb_device",
    "vmtrace_buf_kb", "vnc", "vncdisplay", "vnclisten", "vncpasswd", "vncunused", "vpmu", "vpt_align", "vsnd",
    "vtpm", "vuart", "xen_platform_pci", "xend_suspend_evtchn_compat",
};

template<size_t N>
bool contains(const std::array<const char*, N>& table, std::string_view key)
{
    return std::any_of(table.begin(), table.end(), [&](const char* k) { return key == k; });
}

} // namespace

std::optional<KeySupport> key_support(std::string_view key)
{
    if (contains(kHandled, key))
        return KeySupport::Handled;
    if (contains(kUnsupported, key))
        return KeySupport::Unsupported;
    if (contains(kIgnored, key))
        return KeySupport::Ignored;
    return std::nullopt;
}

std::vector<ConfigWarning> key_warnings(const ParsedConfig& cfg)
{
    std::vector<ConfigWarning> out;
    for (const auto& s : cfg.settings) {
        auto support = key_support(s.key);
        if (!support)
            out.push_back(ConfigWarning::at(s.key_pos, fmt::format("unknown key '{}' (ignored)", s.key)));
        else if (*support == KeySupport::Ignored)
            out.push_back(ConfigWarning::at(s.key_pos, fmt::format("'{}' is not supported by xkvm (ignored)", s.key)));
    }
    auto overridden = [&](std::string_view loser, std::string_view winner) {
        const Setting* l = cfg.find(loser);
        if (l && cfg.find(winner))
            out.push_back(ConfigWarning::at(l->key_pos, fmt::format("'{}' is ignored because '{}' is set", loser, winner)));
    };
    overridden("extra", "cmdline");
    overridden("root", "cmdline");
    overridden("builder", "type");
    return out;
}

} // namespace xkvm::config
