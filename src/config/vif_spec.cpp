#include "config/vif_spec.h"

#include <array>
#include <utility>

#include "config/spec_items.h"
#include "config/values.h"

namespace xkvm::config {

namespace {

constexpr std::string_view kVifKeys =
    "mac, bridge, gatewaydev, type, model, vifname, script, ip, backend, rate, devid or mtu";
constexpr uint32_t kMaxMtu = 65535;
constexpr uint32_t kMaxDevid = 0xffff;

struct Unit {
    std::string_view suffix;
    uint64_t factor;
    bool bits;
};

// Longest suffixes first, so "Mb" is not read as "b".
constexpr std::array<Unit, 8> kRateUnits { {
    { "GB", 1000000000, false }, { "MB", 1000000, false }, { "KB", 1000, false }, { "Gb", 1000000000, true },
    { "Mb", 1000000, true }, { "Kb", 1000, true }, { "B", 1, false }, { "b", 1, true },
} };

constexpr std::array<std::pair<std::string_view, uint64_t>, 3> kIntervalUnits { {
    { "ms", 1000 }, { "us", 1 }, { "s", 1000000 },
} };

int hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// Leading decimal digits of `s` as a number, and how many there were.
std::pair<std::optional<uint64_t>, size_t> leading_number(std::string_view s)
{
    size_t n = 0;
    while (n < s.size() && s[n] >= '0' && s[n] <= '9')
        n++;
    if (n == 0)
        return { std::nullopt, 0 };
    return { parse_dec_or_hex(s.substr(0, n)), n };
}

SpecResult<uint64_t> bytes_per_second(std::string_view s, size_t off)
{
    auto [n, len] = leading_number(s);
    if (!n)
        return spec_fail(off, "rate '{}' does not start with a whole number", s);
    std::string_view unit = s.substr(len);
    for (const auto& u : kRateUnits) {
        if (unit != u.suffix)
            continue;
        unsigned __int128 v = static_cast<unsigned __int128>(*n) * u.factor / (u.bits ? 8 : 1);
        if (v > UINT64_MAX)
            return spec_fail(off, "rate '{}' is too large", s);
        return static_cast<uint64_t>(v);
    }
    if (unit.empty())
        return *n;
    return spec_fail(off + len, "unknown rate unit '{}' (expected GB, MB, KB, B or Gb, Mb, Kb, b, then /s)", unit);
}

SpecResult<uint64_t> interval_us(std::string_view s, size_t off)
{
    auto [n, len] = leading_number(s);
    if (!n)
        return spec_fail(off, "interval '{}' does not start with a whole number", s);
    std::string_view unit = s.substr(len);
    uint64_t factor = 0;
    if (unit.empty())
        factor = 1;
    for (const auto& [suffix, f] : kIntervalUnits)
        if (unit == suffix)
            factor = f;
    if (!factor)
        return spec_fail(off + len, "unknown interval unit '{}' (expected s, ms or us)", unit);
    unsigned __int128 v = static_cast<unsigned __int128>(*n) * factor;
    if (v == 0 || v > UINT32_MAX)
        return spec_fail(off, "interval '{}' must be between 1us and {}us", s, UINT32_MAX);
    return static_cast<uint64_t>(v);
}

// "RATE/s[@INTERVAL]" to bytes per interval: credit-based, as netback does it.
Result<void, SpecError> parse_rate(std::string_view s, size_t off, VifSpec& vif)
{
    auto at = s.find('@');
    std::string_view rate = s.substr(0, at);
    if (!rate.ends_with("/s"))
        return spec_fail(off, "rate '{}' must be per second, as in \"10Mb/s\" or \"1MB/s@20ms\"", s);
    rate.remove_suffix(2);
    uint64_t bps = TRY(bytes_per_second(rate, off));
    uint64_t us = kDefaultRateIntervalUs;
    if (at != std::string_view::npos)
        us = TRY(interval_us(s.substr(at + 1), off + at + 1));
    unsigned __int128 credit = static_cast<unsigned __int128>(bps) * us / 1000000;
    if (credit == 0)
        return spec_fail(off, "rate '{}' allows no whole byte per interval", s);
    if (credit > UINT64_MAX)
        return spec_fail(off, "rate '{}' is too large", s);
    vif.rate_bytes_per_interval = static_cast<uint64_t>(credit);
    vif.rate_interval_usecs = static_cast<uint32_t>(us);
    return {};
}

SpecResult<uint32_t> small_number(const SpecItem& item, uint32_t min, uint32_t max)
{
    auto n = parse_dec_or_hex(item.value);
    if (!n || *n < min || *n > max)
        return spec_fail(item.value_offset, "'{}' expects a number from {} to {}, found '{}'", item.key, min, max, item.value);
    return static_cast<uint32_t>(*n);
}

Result<void, SpecError> apply(const SpecItem& item, VifSpec& vif)
{
    const std::string_view k = item.key;
    const std::string v(item.value);
    if (k == "mac") {
        vif.mac = parse_mac(item.value);
        if (!vif.mac)
            return spec_fail(item.value_offset, "mac '{}' is not six hex octets separated by ':' (e.g. 00:16:3e:12:34:56)", v);
    } else if (k == "bridge") {
        vif.bridge = v;
    } else if (k == "gatewaydev" || k == "netdev") {
        vif.gatewaydev = v;
    } else if (k == "type") {
        if (v == "ioemu")
            vif.type = NicType::VifIoemu;
        else if (v == "vif")
            vif.type = NicType::Vif;
        else
            return spec_fail(item.value_offset, "unknown type '{}' (expected ioemu or vif)", v);
    } else if (k == "model") {
        vif.model = v;
    } else if (k == "vifname") {
        vif.vifname = v;
    } else if (k == "script") {
        vif.script = v;
    } else if (k == "ip") {
        vif.ip = v;
    } else if (k == "backend") {
        vif.backend_domname = v;
    } else if (k == "rate") {
        TRY(parse_rate(item.value, item.value_offset, vif));
    } else if (k == "devid") {
        vif.devid = TRY(small_number(item, 0, kMaxDevid));
    } else if (k == "mtu") {
        vif.mtu = TRY(small_number(item, 68, kMaxMtu));
    } else if (k != "accel") {
        return spec_fail(item.key_offset, "unknown vif parameter '{}' (expected {})", k, kVifKeys);
    }
    return {};
}

} // namespace

SpecResult<VifSpec> parse_vif_spec(std::string_view s)
{
    VifSpec vif;
    std::vector<std::string_view> seen;
    for (const auto& item : split_spec(s)) {
        if (item.text.empty())
            continue; // "" and trailing commas: nothing to set
        if (!item.has_value)
            return spec_fail(item.offset, "'{}' is not KEY=VALUE (vif parameters are {})", item.text, kVifKeys);
        std::string_view canonical = item.key == "netdev" ? "gatewaydev" : item.key;
        for (auto k : seen)
            if (k == canonical)
                return spec_fail(item.key_offset, "'{}' is given twice", item.key);
        seen.push_back(canonical);
        TRY(apply(item, vif));
    }
    return vif;
}

std::string mac_str(const std::array<uint8_t, 6>& mac)
{
    return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

std::optional<std::array<uint8_t, 6>> parse_mac(std::string_view s)
{
    if (s.size() != 17)
        return std::nullopt;
    std::array<uint8_t, 6> mac {};
    for (size_t i = 0; i < 6; i++) {
        int hi = hex(s[i * 3]), lo = hex(s[i * 3 + 1]);
        if (hi < 0 || lo < 0 || (i < 5 && s[i * 3 + 2] != ':'))
            return std::nullopt;
        mac[i] = static_cast<uint8_t>(hi * 16 + lo);
    }
    return mac;
}

std::string_view libxl_name(NicType t)
{
    switch (t) {
    case NicType::Unknown: return "unknown";
    case NicType::VifIoemu: return "vif_ioemu";
    case NicType::Vif: return "vif";
    }
    return "?";
}

std::optional<NicType> nic_type_from_libxl(std::string_view s)
{
    for (NicType t : { NicType::Unknown, NicType::VifIoemu, NicType::Vif })
        if (libxl_name(t) == s)
            return t;
    return std::nullopt;
}

} // namespace xkvm::config
