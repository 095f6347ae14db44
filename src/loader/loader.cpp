#include "loader/loader.h"

#include <cerrno>

#include "base/log.h"
#include "loader/boot_file.h"
#include "loader/guest_ram.h"

namespace xkvm::loader {

using memory::Gpa;

namespace {

std::string_view role_of(BootProtocol protocol)
{
    return protocol == BootProtocol::Pvh ? "kernel" : "firmware";
}

std::string_view region_name(memory::RegionType type)
{
    switch (type) {
    case memory::RegionType::Ram:
        return "RAM";
    case memory::RegionType::Reserved:
        return "reserved";
    case memory::RegionType::Acpi:
        return "ACPI";
    case memory::RegionType::AcpiNvs:
        return "ACPI NVS";
    case memory::RegionType::Unusable:
        return "unusable";
    }
    return "non-RAM";
}

Unexpected<Error> prefixed(const std::string& label, Error e)
{
    return fail(e.code, "{}: {}", label, e.message);
}

// The image, opened, parsed and with its entry chosen; nothing touched in the guest.
struct CheckedImage {
    BootFile file;
    std::vector<uint8_t> bytes;
    ElfImage elf;
    uint32_t entry = 0;
};

Result<CheckedImage> read_image(const std::string& path, BootProtocol protocol)
{
    auto file = TRY(BootFile::open(std::string(role_of(protocol)), path, kMaxElfFileBytes));
    auto bytes = TRY(file.read_all());
    auto elf = parse_elf(bytes);
    if (!elf)
        return prefixed(file.label(), elf.release_error());
    auto entry = boot_entry(*elf, protocol);
    if (!entry)
        return prefixed(file.label(), entry.release_error());
    return CheckedImage { std::move(file), std::move(bytes), elf.release_value(), *entry };
}

Status check_request_shape(const LoadRequest& req)
{
    if (req.protocol != BootProtocol::Pvh && !req.ramdisk.empty())
        return fail(EINVAL, "ramdisk {}: a ramdisk is only passed to PVH kernels", req.ramdisk);
    if (req.protocol != BootProtocol::Pvh && !req.cmdline.empty())
        return fail(EINVAL, "a command line is only passed to PVH kernels");
    return check_cmdline(req.cmdline);
}

Status check_in_ram(const memory::MemoryMap& map, const CheckedImage& img)
{
    for (const auto& s : img.elf.segments) {
        if (ram_covers(map, s.paddr, s.mem_size))
            continue;
        std::string range = describe_range(s.paddr, s.mem_size);
        if (auto r = first_non_ram_overlap(map, s.paddr, s.mem_size))
            return fail(EINVAL, "{}: segment {} {} overlaps the {} region {}{}", img.file.label(), s.index, range,
                        region_name(r->type), describe_range(r->base, r->size),
                        r->why.empty() ? "" : fmt::format(" ({})", r->why));
        return fail(EINVAL, "{}: segment {} {} lies outside guest RAM", img.file.label(), s.index, range);
    }
    return {};
}

Status write_segments(memory::Physmap& physmap, const CheckedImage& img)
{
    for (const auto& s : img.elf.segments) {
        auto st = physmap.write(s.paddr, std::span(img.bytes).subspan(s.file_offset, s.file_size));
        if (st && s.mem_size > s.file_size)
            st = physmap.fill(s.paddr + s.file_size, 0, s.mem_size - s.file_size);
        if (!st)
            return fail(st.error().code, "{}: loading segment {} at {}: {}", img.file.label(), s.index,
                        describe_range(s.paddr, s.mem_size), st.error().message);
    }
    return {};
}

} // namespace

std::string_view to_string(BootProtocol protocol)
{
    return protocol == BootProtocol::Pvh ? "pvh" : "hvm-firmware";
}

Result<uint32_t> boot_entry(const ElfImage& image, BootProtocol protocol)
{
    uint64_t entry = image.entry;
    const char* what = "ELF entry point";
    if (protocol == BootProtocol::Pvh) {
        if (!image.notes.phys32_entry)
            return fail(ENOEXEC, "not a PVH kernel: no XEN_ELFNOTE_PHYS32_ENTRY note");
        entry = *image.notes.phys32_entry;
        what = "XEN_ELFNOTE_PHYS32_ENTRY";
    }
    if (entry > UINT32_MAX)
        return fail(ENOEXEC, "{} {:#x} is not a 32-bit physical address", what, entry);
    if (!image.segment_with_code_at(entry))
        return fail(ENOEXEC, "{} {:#x} is not inside a loaded segment", what, entry);
    return static_cast<uint32_t>(entry);
}

Status check_kernel_file(const std::string& path, BootProtocol protocol)
{
    TRY(read_image(path, protocol));
    return {};
}

Status check_load_request(const LoadRequest& req)
{
    TRY(check_request_shape(req));
    TRY(check_kernel_file(req.kernel, req.protocol));
    if (!req.ramdisk.empty())
        TRY(BootFile::open("ramdisk", req.ramdisk, kMaxRamdiskBytes));
    return {};
}

Result<BootInfo> load_kernel(memory::Physmap& physmap, const memory::MemoryMap& map, const LoadRequest& req)
{
    TRY(check_request_shape(req));
    auto img = TRY(read_image(req.kernel, req.protocol));
    TRY(check_in_ram(map, img));

    BootInfo info;
    info.protocol = req.protocol;
    info.entry = img.entry;
    info.image_low = img.elf.low();
    info.image_high = img.elf.high();
    info.elf_class = img.elf.elf_class;
    info.notes = img.elf.notes;

    std::optional<BootFile> ramdisk;
    std::vector<uint8_t> block;
    if (req.protocol == BootProtocol::Pvh) {
        if (!req.ramdisk.empty())
            ramdisk = TRY(BootFile::open("ramdisk", req.ramdisk, kMaxRamdiskBytes));
        std::vector<GpaRange> image;
        for (const auto& s : img.elf.segments)
            image.push_back({ s.paddr, s.mem_size });
        PvhBootData data { req.cmdline, ramdisk ? ramdisk->size() : 0, req.rsdp_paddr };
        auto layout = plan_pvh_layout(map, image, data);
        if (!layout)
            return prefixed(img.file.label(), layout.release_error());
        info.pvh = *layout;
        info.ebx = static_cast<uint32_t>(info.pvh.start_info); // below kBootDataLimit
        block = build_pvh_block(info.pvh, map, data);
    }

    // Everything is checked; from here on only a VMM bug (RAM in the map but not in the physmap) or a
    // file changing under us can fail.
    TRY(write_segments(physmap, img));
    if (req.protocol == BootProtocol::Pvh) {
        if (auto st = physmap.write(info.pvh.start_info, block); !st)
            return fail(st.error().code, "writing PVH start info at {:#x}: {}", info.pvh.start_info,
                        st.error().message);
        if (ramdisk)
            TRY(ramdisk->copy_to_guest(physmap, info.pvh.ramdisk));
    }

    auto logger = log::get("loader");
    logger->info("{}: {}-bit {} image {} entry {:#x}; {}", img.file.label(), int(info.elf_class),
                 to_string(info.protocol), describe_range(info.image_low, info.image_high - info.image_low),
                 info.entry, info.notes.summary());
    if (req.protocol == BootProtocol::Pvh)
        logger->info("PVH start info at {:#x} ({} memory map entries), ramdisk {}", info.pvh.start_info,
                     info.pvh.memmap_entries,
                     ramdisk ? describe_range(info.pvh.ramdisk, info.pvh.ramdisk_size) : std::string("none"));
    for (const auto& w : img.elf.warnings)
        logger->warn("{}: {}", img.file.label(), w);
    return info;
}

} // namespace xkvm::loader
