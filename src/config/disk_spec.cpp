#include "config/disk_spec.h"

#include <array>
#include <cctype>
#include <utility>

#include "config/spec_items.h"

namespace xkvm::config {

namespace {

constexpr std::array<std::pair<DiskFormat, std::string_view>, 6> kFormats { {
    { DiskFormat::Raw, "raw" },
    { DiskFormat::Qcow, "qcow" },
    { DiskFormat::Qcow2, "qcow2" },
    { DiskFormat::Vhd, "vhd" },
    { DiskFormat::Qed, "qed" },
    { DiskFormat::Empty, "empty" },
} };

constexpr std::array<std::pair<DiskBackend, std::string_view>, 4> kBackends { {
    { DiskBackend::Unknown, "unknown" },
    { DiskBackend::Phy, "phy" },
    { DiskBackend::Tap, "tap" },
    { DiskBackend::Qdisk, "qdisk" },
} };

// Prefixes xend needed on the target, all still accepted by xl and stripped.
constexpr std::array<std::string_view, 7> kIgnoredPrefixes = { "tapdisk", "tap2", "tap", "aio", "ioemu", "file", "phy" };
constexpr std::array<std::string_view, 4> kScriptPrefixes = { "iscsi", "nbd", "enbd", "drbd" };
constexpr std::array<std::string_view, 4> kFormatPrefixes = { "raw", "qcow", "qcow2", "vhd" };
constexpr std::array<std::string_view, 6> kColo = { "colo", "colo-host", "colo-port", "colo-export", "active-disk",
                                                   "hidden-disk" };

constexpr std::string_view kKeys = "target, format, vdev, access, devtype, backend, backendtype or script";

template<size_t N>
bool one_of(const std::array<std::string_view, N>& set, std::string_view s)
{
    for (auto x : set)
        if (x == s)
            return true;
    return false;
}

enum Slot { kTarget, kFormat, kVdev, kAccess, kSlotCount };
constexpr std::array<std::string_view, kSlotCount> kSlotNames = { "target", "format", "vdev", "access" };

class DiskParser {
public:
    SpecResult<DiskSpec> parse(std::string_view s);

private:
    Result<void, SpecError> item(std::string_view text, size_t off);
    Result<void, SpecError> named(std::string_view key, std::string_view value, size_t key_off, size_t value_off);
    Result<void, SpecError> positional(std::string_view text, size_t off);
    Result<void, SpecError> claim(Slot slot, size_t off);
    Result<void, SpecError> set_target(std::string_view text, size_t off);
    Result<void, SpecError> set_format(std::string_view text, size_t off);
    Result<void, SpecError> set_vdev(std::string_view text, size_t off);
    Result<void, SpecError> set_access(std::string_view text, size_t off);
    Result<void, SpecError> set_devtype(std::string_view text, size_t off);
    Result<void, SpecError> once(bool& seen, std::string_view what, size_t off);

    DiskSpec m_disk;
    std::array<bool, kSlotCount> m_given {};
    std::optional<bool> m_readwrite;
    bool m_format_set = false; // by prefix, position or name: once only
    bool m_devtype = false, m_backend = false, m_backendtype = false, m_script = false, m_dio = false;
};

Result<void, SpecError> DiskParser::once(bool& seen, std::string_view what, size_t off)
{
    if (seen)
        return spec_fail(off, "'{}' is given twice", what);
    seen = true;
    return {};
}

Result<void, SpecError> DiskParser::claim(Slot slot, size_t off)
{
    return once(m_given[slot], kSlotNames[slot], off);
}

// The target, minus xend's prefixes: "tap:aio:qcow2:/x" is a qcow2 image at /x.
Result<void, SpecError> DiskParser::set_target(std::string_view text, size_t off)
{
    while (true) {
        auto colon = text.find(':');
        if (colon == std::string_view::npos)
            break;
        std::string_view prefix = text.substr(0, colon);
        if (one_of(kFormatPrefixes, prefix)) {
            TRY(once(m_format_set, "format", off));
            TRY(set_format(prefix, off));
        } else if (one_of(kScriptPrefixes, prefix)) {
            TRY(once(m_script, "script", off));
            m_disk.script = "block-" + std::string(prefix);
        } else if (!one_of(kIgnoredPrefixes, prefix)) {
            break;
        }
        // Any prefix means xend's syntax, "[<format>:]<target>,<vdev>[:<devtype>],<access>": no format
        // comes by position after it.
        m_given[kFormat] = true;
        text.remove_prefix(colon + 1);
        off += colon + 1;
    }
    m_disk.target = std::string(text);
    return {};
}

Result<void, SpecError> DiskParser::set_format(std::string_view text, size_t off)
{
    if (text.empty()) {
        m_disk.format = DiskFormat::Raw;
        return {};
    }
    for (const auto& [f, name] : kFormats)
        if (name == text && f != DiskFormat::Empty) {
            m_disk.format = f;
            return {};
        }
    return spec_fail(off, "unknown disk format '{}' (expected raw, qcow, qcow2, vhd or qed{})", text,
                     m_given[kVdev] ? "" : "; a vdev here needs an empty format before it, as in \"/path,,xvda\"");
}

// "hdc:cdrom" is xend's way of saying vdev=hdc,devtype=cdrom.
Result<void, SpecError> DiskParser::set_vdev(std::string_view text, size_t off)
{
    auto colon = text.find(':');
    if (colon != std::string_view::npos) {
        TRY(set_devtype(text.substr(colon + 1), off + colon + 1));
        text = text.substr(0, colon);
    }
    if (text.empty())
        return {};
    for (char c : text)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'))
            return spec_fail(off, "vdev '{}' is not a device name (xvda, hda, sdb, ...)", text);
    m_disk.vdev = std::string(text);
    return {};
}

Result<void, SpecError> DiskParser::set_access(std::string_view text, size_t off)
{
    if (text.empty())
        return {};
    if (text == "r" || text == "ro")
        m_readwrite = false;
    else if (text == "w" || text == "rw")
        m_readwrite = true;
    else
        return spec_fail(off, "unknown access '{}' (expected ro, r, rw or w)", text);
    return {};
}

Result<void, SpecError> DiskParser::set_devtype(std::string_view text, size_t off)
{
    TRY(once(m_devtype, "devtype", off));
    if (text == "cdrom")
        m_disk.is_cdrom = true;
    else if (text != "disk")
        return spec_fail(off, "unknown devtype '{}' (expected cdrom or disk)", text);
    return {};
}

Result<void, SpecError> DiskParser::named(std::string_view key, std::string_view value, size_t key_off, size_t value_off)
{
    if (one_of(kColo, key))
        return spec_fail(key_off, "'{}': COLO disk replication is not supported by xkvm", key);
    if (key == "format") {
        m_given[kFormat] = true;
        TRY(once(m_format_set, "format", key_off));
        return set_format(value, value_off);
    }
    if (key == "vdev") {
        TRY(claim(kVdev, key_off));
        return set_vdev(value, value_off);
    }
    if (key == "access") {
        TRY(claim(kAccess, key_off));
        return set_access(value, value_off);
    }
    if (key == "devtype")
        return set_devtype(value, value_off);
    if (key == "backend") {
        TRY(once(m_backend, "backend", key_off));
        m_disk.backend_domname = std::string(value);
        return {};
    }
    if (key == "script") {
        TRY(once(m_script, "script", key_off));
        m_disk.script = std::string(value);
        return {};
    }
    if (key == "backendtype") {
        TRY(once(m_backendtype, "backendtype", key_off));
        for (const auto& [b, name] : kBackends)
            if (name == value && b != DiskBackend::Unknown) {
                m_disk.backend = b;
                return {};
            }
        return spec_fail(value_off, "unknown backendtype '{}' (expected phy, tap or qdisk)", value);
    }
    return spec_fail(key_off, "unknown disk parameter '{}' (expected {})", key, kKeys);
}

// The next parameter not given yet, in the order target, format, vdev, access.
Result<void, SpecError> DiskParser::positional(std::string_view text, size_t off)
{
    for (int slot = kTarget; slot < kSlotCount; slot++) {
        if (m_given[slot])
            continue;
        m_given[slot] = true;
        switch (slot) {
        case kTarget: return set_target(text, off);
        case kFormat:
            // xend's empty cdrom, ",hdc:cdrom,r": no format, the vdev comes second.
            if (m_disk.target.empty() && text.find(':') != std::string_view::npos) {
                m_given[kVdev] = true;
                return set_vdev(text, off);
            }
            m_format_set = true;
            return set_format(text, off);
        case kVdev: return set_vdev(text, off);
        default: return set_access(text, off);
        }
    }
    return spec_fail(off, "too many positional parameters: target, format, vdev and access are all given");
}

Result<void, SpecError> DiskParser::item(std::string_view text, size_t off)
{
    if (text == "cdrom")
        return set_devtype("cdrom", off);
    if (text == "direct-io-safe") {
        TRY(once(m_dio, "direct-io-safe", off));
        m_disk.direct_io_safe = true;
        return {};
    }
    if (text == "discard" || text == "no-discard") {
        if (m_disk.discard)
            return spec_fail(off, "discard is given twice");
        m_disk.discard = text == "discard";
        return {};
    }
    if (text == "colo")
        return spec_fail(off, "'colo': COLO disk replication is not supported by xkvm");
    auto eq = text.find('=');
    if (eq == std::string_view::npos)
        return positional(text, off);
    std::string_view key = text.substr(0, eq), value = text.substr(eq + 1);
    size_t value_off = off + eq + 1;
    while (!value.empty() && is_spec_blank(value.front())) {
        value.remove_prefix(1);
        value_off++;
    }
    return named(key, value, off, value_off);
}

SpecResult<DiskSpec> DiskParser::parse(std::string_view s)
{
    size_t pos = 0;
    while (pos <= s.size()) {
        while (pos < s.size() && is_spec_blank(s[pos]))
            pos++;
        std::string_view rest = s.substr(pos);
        if (rest.starts_with("target=")) { // takes the rest of the string, commas and all
            TRY(claim(kTarget, pos));
            TRY(set_target(rest.substr(7), pos + 7));
            break;
        }
        size_t end = s.find(',', pos);
        std::string_view text = s.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
        while (!text.empty() && is_spec_blank(text.back()))
            text.remove_suffix(1);
        if (!(text.empty() && end == std::string_view::npos && pos > 0 && s[pos - 1] == ','))
            TRY(item(text, pos));
        if (end == std::string_view::npos)
            break;
        pos = end + 1;
    }
    if (m_disk.vdev.empty())
        return spec_fail(s.size(), "no vdev: every disk needs the guest's name for it, e.g. \"/path/disk.img,raw,xvda,rw\"");
    if (m_disk.target.empty()) {
        if (!m_disk.is_cdrom)
            return spec_fail(0, "no target: only a cdrom drive may be empty");
        m_disk.format = DiskFormat::Empty;
    }
    m_disk.readwrite = m_readwrite.value_or(!m_disk.is_cdrom);
    return m_disk;
}

} // namespace

SpecResult<DiskSpec> parse_disk_spec(std::string_view s) { return DiskParser().parse(s); }

std::string_view libxl_name(DiskFormat f)
{
    for (const auto& [v, name] : kFormats)
        if (v == f)
            return name;
    return "?";
}

std::string_view libxl_name(DiskBackend b)
{
    for (const auto& [v, name] : kBackends)
        if (v == b)
            return name;
    return "?";
}

std::optional<DiskFormat> disk_format_from_libxl(std::string_view s)
{
    for (const auto& [v, name] : kFormats)
        if (name == s)
            return v;
    return std::nullopt;
}

std::optional<DiskBackend> disk_backend_from_libxl(std::string_view s)
{
    for (const auto& [v, name] : kBackends)
        if (name == s)
            return v;
    return std::nullopt;
}

} // namespace xkvm::config
