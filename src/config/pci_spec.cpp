#include "config/pci_spec.h"

#include <cctype>
#include <vector>

#include "config/spec_items.h"
#include "config/values.h"

namespace xkvm::config {

std::string PciBdf::str() const { return fmt::format("{:04x}:{:02x}:{:02x}.{:x}", domain, bus, dev, func); }

namespace {

constexpr std::string_view kBdfForm = "[DDDD:]BB:DD.F";
constexpr std::string_view kPciKeys = "bdf, vslot, permissive, msitranslate, seize, power_mgmt, rdm_policy or name";

SpecResult<unsigned> hex_field(std::string_view s, size_t offset, size_t max_digits, unsigned max, std::string_view what)
{
    if (s.empty())
        return spec_fail(offset, "missing {} (expected {})", what, kBdfForm);
    if (s.size() > max_digits)
        return spec_fail(offset, "{} '{}' has more than {} hex digits", what, s, max_digits);
    unsigned v = 0;
    for (size_t i = 0; i < s.size(); i++) {
        char c = s[i];
        if (!std::isxdigit(static_cast<unsigned char>(c)))
            return spec_fail(offset + i, "{} '{}' is not hexadecimal", what, s);
        v = v * 16 + static_cast<unsigned>(std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(c) - 'a' + 10);
    }
    if (v > max)
        return spec_fail(offset, "{} 0x{:x} is out of range (at most 0x{:x})", what, v, max);
    return v;
}

SpecResult<uint8_t> parse_vslot(std::string_view s, size_t offset)
{
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s.remove_prefix(2);
        offset += 2;
    }
    return static_cast<uint8_t>(TRY(hex_field(s, offset, 2, kMaxPciDev, "vslot")));
}

SpecResult<bool> parse_bool(const SpecItem& item)
{
    auto n = parse_number(item.value);
    if (!n)
        return spec_fail(item.value_offset, "'{}' expects 0 or 1, found '{}'", item.key, item.value);
    return *n != 0;
}

// Positional "BDF[@VSLOT]".
Result<void, SpecError> parse_bdf_positional(std::string_view text, size_t offset, PciSpecInput& out)
{
    auto at = text.find('@');
    auto bdf_text = text.substr(0, at);
    auto bdf = parse_pci_bdf(bdf_text);
    if (!bdf)
        return spec_fail(offset + bdf.error().offset, "{}", bdf.error().message);
    out.bdf = *bdf;
    if (at != std::string_view::npos)
        out.vslot = TRY(parse_vslot(text.substr(at + 1), offset + at + 1));
    return {};
}

} // namespace

SpecResult<PciBdf> parse_pci_bdf(std::string_view s)
{
    auto dot = s.rfind('.');
    if (dot == std::string_view::npos)
        return spec_fail(s.size(), "expected '.F' (the function) in '{}', a BDF is {}", s, kBdfForm);
    auto func_text = s.substr(dot + 1);
    if (func_text == "*")
        return spec_fail(dot + 1, "all-functions ('*') is not supported; list each function");
    if (func_text.size() != 1)
        return spec_fail(dot + 1, "function '{}' must be one digit 0-7", func_text);
    unsigned func = TRY(hex_field(func_text, dot + 1, 1, kMaxPciFunc, "function"));

    std::vector<std::pair<std::string_view, size_t>> parts;
    size_t start = 0;
    auto head = s.substr(0, dot);
    while (true) {
        auto colon = head.find(':', start);
        parts.emplace_back(head.substr(start, colon == std::string_view::npos ? std::string_view::npos : colon - start),
                           start);
        if (colon == std::string_view::npos)
            break;
        start = colon + 1;
    }
    if (parts.size() < 2 || parts.size() > 3)
        return spec_fail(0, "'{}' is not a BDF (expected {})", s, kBdfForm);
    PciBdf bdf;
    size_t i = 0;
    if (parts.size() == 3) {
        bdf.domain = static_cast<uint16_t>(TRY(hex_field(parts[0].first, parts[0].second, 4, 0xffff, "domain")));
        i = 1;
    }
    bdf.bus = static_cast<uint8_t>(TRY(hex_field(parts[i].first, parts[i].second, 2, 0xff, "bus")));
    bdf.dev = static_cast<uint8_t>(TRY(hex_field(parts[i + 1].first, parts[i + 1].second, 2, kMaxPciDev, "device")));
    bdf.func = static_cast<uint8_t>(func);
    return bdf;
}

SpecResult<RdmPolicy> parse_rdm_policy(std::string_view s)
{
    if (s == "strict")
        return RdmPolicy::Strict;
    if (s == "relaxed")
        return RdmPolicy::Relaxed;
    return spec_fail(0, "unknown policy '{}' (expected strict or relaxed)", s);
}

SpecResult<PciSpecInput> parse_pci_spec(std::string_view s)
{
    PciSpecInput out;
    std::vector<std::string_view> seen;
    size_t positional = 0;
    auto once = [&](std::string_view key, size_t offset) -> Result<void, SpecError> {
        for (auto k : seen)
            if (k == key)
                return spec_fail(offset, "'{}' is given more than once", key);
        seen.push_back(key);
        return {};
    };
    for (const auto& item : split_spec(s)) {
        if (item.text.empty())
            return spec_fail(item.offset, "empty parameter in '{}'", s);
        if (!item.has_value) {
            // Bare words fill the positional parameters: bdf (with optional @vslot), then vslot.
            if (positional == 0) {
                TRY(once("bdf", item.offset));
                if (item.text.find('@') != std::string_view::npos)
                    TRY(once("vslot", item.offset + item.text.find('@')));
                TRY(parse_bdf_positional(item.text, item.offset, out));
            } else if (positional == 1) {
                TRY(once("vslot", item.offset));
                out.vslot = TRY(parse_vslot(item.text, item.offset));
            } else {
                return spec_fail(item.offset, "unexpected '{}' (expected KEY=VALUE)", item.text);
            }
            positional++;
            continue;
        }
        const auto& key = item.key;
        bool known = key == "bdf" || key == "vslot" || key == "permissive" || key == "msitranslate" || key == "seize"
            || key == "power_mgmt" || key == "rdm_policy" || key == "name";
        if (!known)
            return spec_fail(item.key_offset, "unknown option '{}' (expected {})", key, kPciKeys);
        TRY(once(key, item.key_offset));
        if (key == "bdf" && item.value.find('@') != std::string_view::npos)
            TRY(once("vslot", item.value_offset + item.value.find('@')));
        if (item.value.empty())
            continue; // "KEY=" asks for the default
        if (key == "bdf") {
            TRY(parse_bdf_positional(item.value, item.value_offset, out));
        } else if (key == "vslot") {
            out.vslot = TRY(parse_vslot(item.value, item.value_offset));
        } else if (key == "rdm_policy") {
            auto p = parse_rdm_policy(item.value);
            if (!p)
                return spec_fail(item.value_offset, "rdm_policy: {}", p.error().message);
            out.rdm_policy = *p;
        } else if (key == "name") {
            out.name = std::string(item.value);
        } else {
            bool b = TRY(parse_bool(item));
            if (key == "permissive")
                out.permissive = b;
            else if (key == "msitranslate")
                out.msitranslate = b;
            else if (key == "seize")
                out.seize = b;
            else
                out.power_mgmt = b;
        }
    }
    if (out.bdf && out.name)
        return spec_fail(0, "give either a BDF or name=, not both");
    if (!out.bdf && !out.name)
        return spec_fail(0, "missing the device: expected {} first, or bdf= or name=", kBdfForm);
    return out;
}

SpecResult<RdmSpecInput> parse_rdm_spec(std::string_view s)
{
    RdmSpecInput out;
    bool have_strategy = false, have_policy = false;
    if (s.find_first_not_of(" \t") == std::string_view::npos)
        return spec_fail(0, "empty string (expected strategy=host,policy=strict|relaxed)");
    for (const auto& item : split_spec(s)) {
        if (!item.has_value)
            return spec_fail(item.offset, "expected KEY=VALUE with KEY strategy or policy, found '{}'", item.text);
        if (item.key == "strategy") {
            if (have_strategy)
                return spec_fail(item.key_offset, "'strategy' is given more than once");
            have_strategy = true;
            if (item.value != "host")
                return spec_fail(item.value_offset, "unknown strategy '{}' (expected host)", item.value);
            out.strategy = RdmStrategy::Host;
        } else if (item.key == "policy") {
            if (have_policy)
                return spec_fail(item.key_offset, "'policy' is given more than once");
            have_policy = true;
            auto p = parse_rdm_policy(item.value);
            if (!p)
                return spec_fail(item.value_offset, "{}", p.error().message);
            out.policy = *p;
        } else {
            return spec_fail(item.key_offset, "unknown key '{}' (expected strategy or policy)", item.key);
        }
    }
    return out;
}

} // namespace xkvm::config
