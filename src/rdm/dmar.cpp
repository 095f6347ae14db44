#include "rdm/dmar.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/log.h"
#include "base/unique_fd.h"

namespace xkvm::rdm {

namespace {

// x86 physical addresses stop at 52 bits; a limit beyond that is garbage, and keeping below it means
// limit + 1 (rounded to a page) never wraps.
constexpr uint64_t kMaxPhysAddr = 1ull << 52;
constexpr uint64_t kPageMask = 0xfff;

uint16_t le16(std::span<const uint8_t> b, size_t off)
{
    return static_cast<uint16_t>(b[off] | (b[off + 1] << 8));
}

uint32_t le32(std::span<const uint8_t> b, size_t off)
{
    return static_cast<uint32_t>(le16(b, off)) | (static_cast<uint32_t>(le16(b, off + 2)) << 16);
}

uint64_t le64(std::span<const uint8_t> b, size_t off)
{
    return static_cast<uint64_t>(le32(b, off)) | (static_cast<uint64_t>(le32(b, off + 4)) << 32);
}

std::string printable(std::span<const uint8_t> b)
{
    std::string s;
    for (uint8_t c : b)
        s += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
    return s;
}

// One device scope; `s` is exactly the scope's bytes, already length-checked.
DeviceScope parse_scope(std::span<const uint8_t> s)
{
    DeviceScope scope;
    scope.type = s[0];
    scope.enumeration_id = s[4];
    scope.start_bus = s[5];
    for (size_t p = kScopeFixedSize; p + 1 < s.size(); p += 2)
        scope.path.push_back({ s[p], s[p + 1] });
    return scope;
}

// One RMRR; `s` is exactly the structure's bytes, `at` its offset in the table.
Result<Rmrr> parse_rmrr(std::span<const uint8_t> s, size_t at)
{
    if (s.size() < kRmrrFixedSize)
        return fail(EINVAL, "DMAR: RMRR at offset {} has length {}, shorter than its {}-byte fixed part", at,
                    s.size(), kRmrrFixedSize);
    Rmrr rmrr;
    rmrr.segment = le16(s, 6);
    rmrr.base = le64(s, 8);
    rmrr.limit = le64(s, 16);
    if (rmrr.base > rmrr.limit)
        return fail(EINVAL, "DMAR: RMRR at offset {} has base 0x{:x} above its limit 0x{:x}", at, rmrr.base,
                    rmrr.limit);
    if (rmrr.limit >= kMaxPhysAddr)
        return fail(EINVAL, "DMAR: RMRR at offset {} has limit 0x{:x}, beyond the 52-bit physical address space",
                    at, rmrr.limit);

    size_t p = kRmrrFixedSize;
    while (p < s.size()) {
        if (s.size() - p < 2)
            return fail(EINVAL, "DMAR: device scope at offset {} is truncated (RMRR ends first)", at + p);
        const size_t len = s[p + 1];
        if (len < kScopeFixedSize)
            return fail(EINVAL, "DMAR: device scope at offset {} has length {}, shorter than its {}-byte fixed part",
                        at + p, len, kScopeFixedSize);
        if (len > s.size() - p)
            return fail(EINVAL, "DMAR: device scope at offset {} (length {}) runs past the end of its RMRR",
                        at + p, len);
        if ((len - kScopeFixedSize) % 2 != 0)
            return fail(EINVAL, "DMAR: device scope at offset {} has length {}, leaving half a path entry",
                        at + p, len);
        rmrr.scopes.push_back(parse_scope(s.subspan(p, len)));
        p += len;
    }
    return rmrr;
}

Result<config::PciBdf> resolve_scope(uint16_t segment, const DeviceScope& scope, const std::string& sysfs_root)
{
    if (scope.path.empty())
        return fail(EINVAL, "empty path");
    uint8_t bus = scope.start_bus;
    for (size_t i = 0; i < scope.path.size(); ++i) {
        const auto& hop = scope.path[i];
        if (hop.dev > 31 || hop.func > 7)
            return fail(EINVAL, "path entry {:02x}.{:x} is not a PCI device.function", hop.dev, hop.func);
        const config::PciBdf here { segment, bus, hop.dev, hop.func };
        if (i + 1 == scope.path.size())
            return here;
        bus = TRY(bridge_secondary_bus(here, sysfs_root));
    }
    return fail(EINVAL, "empty path"); // not reached
}

std::string scope_str(const DeviceScope& scope)
{
    std::string s = fmt::format("type {} bus {:02x} path", scope.type, scope.start_bus);
    for (const auto& hop : scope.path)
        s += fmt::format(" {:02x}.{:x}", hop.dev, hop.func);
    return s;
}

} // namespace

std::string range_str(uint64_t base, uint64_t end)
{
    return fmt::format("[0x{:x}-0x{:x}]", base, end - 1);
}

Result<DmarTable> parse_dmar(std::span<const uint8_t> bytes)
{
    if (bytes.size() < kAcpiHeaderSize)
        return fail(EINVAL, "DMAR: table truncated: {} bytes, the ACPI header alone is {}", bytes.size(),
                    kAcpiHeaderSize);
    if (std::memcmp(bytes.data(), "DMAR", 4) != 0)
        return fail(EINVAL, "DMAR: signature is '{}', not 'DMAR'", printable(bytes.first(4)));
    const uint32_t length = le32(bytes, 4);
    if (length < kDmarHeaderSize)
        return fail(EINVAL, "DMAR: table length {} is shorter than its {}-byte header", length, kDmarHeaderSize);
    if (length > bytes.size())
        return fail(EINVAL, "DMAR: table claims {} bytes but only {} are present", length, bytes.size());

    DmarTable out;
    if (length < bytes.size())
        out.warnings.push_back(fmt::format("DMAR: {} bytes after the table's end ignored", bytes.size() - length));
    const auto table = bytes.first(length);

    uint8_t sum = 0;
    for (uint8_t b : table)
        sum = static_cast<uint8_t>(sum + b);
    if (sum != 0) // firmware gets this wrong; like Linux, say so and carry on
        out.warnings.push_back(fmt::format("DMAR: checksum mismatch (bytes sum to 0x{:02x})", sum));

    out.host_address_width = static_cast<uint8_t>(table[36] + 1);
    out.flags = table[37];

    size_t off = kDmarHeaderSize;
    while (off < table.size()) {
        if (table.size() - off < 4)
            return fail(EINVAL, "DMAR: remapping structure header at offset {} is truncated", off);
        const uint16_t type = le16(table, off);
        const uint16_t len = le16(table, off + 2);
        if (len < 4)
            return fail(EINVAL, "DMAR: remapping structure at offset {} has length {}, shorter than its header",
                        off, len);
        if (len > table.size() - off)
            return fail(EINVAL, "DMAR: remapping structure at offset {} (length {}) runs past the table's end ({})",
                        off, len, table.size());
        if (type == kDmarTypeRmrr)
            out.rmrrs.push_back(TRY(parse_rmrr(table.subspan(off, len), off)));
        off += len;
    }
    return out;
}

HostRdm resolve_host_regions(const DmarTable& table, const std::string& sysfs_root)
{
    HostRdm out;
    out.warnings = table.warnings;
    for (const auto& rmrr : table.rmrrs) {
        const uint64_t base = rmrr.base & ~kPageMask;
        const uint64_t end = (rmrr.limit | kPageMask) + 1;
        const std::string raw = range_str(rmrr.base, rmrr.limit + 1);
        if (base != rmrr.base || end != rmrr.limit + 1)
            out.warnings.push_back(fmt::format("RMRR {} is not page aligned; reserving {}", raw, range_str(base, end)));

        std::vector<config::PciBdf> devices;
        for (const auto& scope : rmrr.scopes) {
            if (scope.type != kScopeEndpoint && scope.type != kScopeBridge) {
                out.warnings.push_back(
                    fmt::format("RMRR {}: device scope ({}) is not a PCI device; ignored", raw, scope_str(scope)));
                continue;
            }
            auto bdf = resolve_scope(rmrr.segment, scope, sysfs_root);
            if (!bdf) {
                out.warnings.push_back(fmt::format("RMRR {}: cannot resolve device scope ({}): {}", raw,
                                                   scope_str(scope), bdf.error().message));
                continue;
            }
            if (std::find(devices.begin(), devices.end(), *bdf) == devices.end())
                devices.push_back(*bdf);
        }
        if (devices.empty())
            out.warnings.push_back(fmt::format("RMRR {} names no PCI device; only rdm=\"strategy=host\" reserves it",
                                               raw));

        auto same = std::find_if(out.regions.begin(), out.regions.end(),
                                 [&](const HostRegion& r) { return r.base == base && r.end() == end; });
        if (same == out.regions.end()) {
            out.regions.push_back({ base, end - base, std::move(devices) });
            continue;
        }
        for (const auto& d : devices) {
            if (std::find(same->devices.begin(), same->devices.end(), d) == same->devices.end())
                same->devices.push_back(d);
        }
    }
    std::stable_sort(out.regions.begin(), out.regions.end(),
                     [](const HostRegion& a, const HostRegion& b) { return a.base < b.base; });
    return out;
}

Result<HostRdm> read_host_rdm(const HostPaths& paths)
{
    UniqueFd fd(::open(paths.dmar_table.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) {
            log::get("rdm")->debug("no DMAR table at {}: the host reports no reserved device memory",
                                   paths.dmar_table);
            return HostRdm {};
        }
        return make_unexpected(Error::from_errno(fmt::format("cannot open DMAR table {}", paths.dmar_table)));
    }
    std::vector<uint8_t> bytes;
    uint8_t chunk[4096];
    for (;;) {
        const ssize_t n = ::read(fd.get(), chunk, sizeof(chunk));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return make_unexpected(Error::from_errno(fmt::format("cannot read DMAR table {}", paths.dmar_table)));
        }
        if (n == 0)
            break;
        bytes.insert(bytes.end(), chunk, chunk + n);
        if (bytes.size() > kMaxDmarTableSize)
            return fail(EFBIG, "DMAR table {} is larger than {} bytes", paths.dmar_table, kMaxDmarTableSize);
    }
    auto table = parse_dmar(bytes);
    if (!table)
        return fail(table.error().code, "{}: {}", paths.dmar_table, table.error().message);
    return resolve_host_regions(*table, paths.sysfs_root);
}

} // namespace xkvm::rdm
