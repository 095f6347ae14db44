#include "config/cpuid_spec.h"

#include <algorithm>
#include <tuple>

#include "config/spec_items.h"
#include "config/values.h"

namespace xkvm::config {

namespace {

constexpr std::string_view kXendForm = "leaf[,subleaf]:reg=VALUE[,reg=VALUE...]";

void set_bit(CpuidRegPolicy& p, unsigned bit, char c)
{
    uint32_t m = 1u << bit;
    p.set_mask &= ~m;
    p.clear_mask &= ~m;
    p.host_mask &= ~m;
    if (c == '1')
        p.set_mask |= m;
    else if (c == '0')
        p.clear_mask |= m;
    else if (c == 'k' || c == 's')
        p.host_mask |= m;
}

// Forces `length` bits from `bit` up to `value`, or fills them with x/k/s.
void set_field(CpuidRegPolicy& p, unsigned bit, unsigned length, std::optional<uint64_t> value, char fill)
{
    for (unsigned i = 0; i < length; i++)
        set_bit(p, bit + i, value ? ((*value >> i) & 1 ? '1' : '0') : fill);
}

auto sort_key(const CpuidRegPolicy& p) { return std::make_tuple(p.leaf, p.subleaf, p.reg); }

SpecResult<uint32_t> leaf_number(std::string_view s, size_t offset, std::string_view what)
{
    auto n = parse_dec_or_hex(s);
    if (!n || *n > UINT32_MAX)
        return spec_fail(offset, "{} '{}' is not a 32-bit decimal or 0x-hex number (expected {})", what, s, kXendForm);
    return static_cast<uint32_t>(*n);
}

// family and model are split across base and extended fields of leaf 1 EAX (Intel SDM vol. 2A, CPUID).
Result<void, SpecError> apply_family_model(CpuidRegPolicy& eax, std::string_view name, std::optional<uint64_t> v,
                                           char fill, size_t offset)
{
    if (name == "family") {
        if (v && *v > 0xff + 0xf)
            return spec_fail(offset, "family {} is out of range (at most {})", *v, 0xff + 0xf);
        if (!v) {
            set_field(eax, 8, 4, std::nullopt, fill);
            set_field(eax, 20, 8, std::nullopt, fill);
        } else if (*v < 0xf) {
            set_field(eax, 8, 4, *v, 0);
            set_field(eax, 20, 8, 0, 0);
        } else {
            set_field(eax, 8, 4, 0xf, 0);
            set_field(eax, 20, 8, *v - 0xf, 0);
        }
        return {};
    }
    if (v && *v > 0xff)
        return spec_fail(offset, "model {} is out of range (at most 255)", *v);
    set_field(eax, 4, 4, v ? std::optional<uint64_t>(*v & 0xf) : std::nullopt, fill);
    set_field(eax, 16, 4, v ? std::optional<uint64_t>(*v >> 4) : std::nullopt, fill);
    return {};
}

} // namespace

std::string_view reg_name(CpuidReg reg)
{
    switch (reg) {
    case CpuidReg::Eax: return "eax";
    case CpuidReg::Ebx: return "ebx";
    case CpuidReg::Ecx: return "ecx";
    case CpuidReg::Edx: return "edx";
    }
    return "?";
}

std::optional<CpuidReg> reg_from_name(std::string_view name)
{
    for (auto r : { CpuidReg::Eax, CpuidReg::Ebx, CpuidReg::Ecx, CpuidReg::Edx })
        if (reg_name(r) == name)
            return r;
    return std::nullopt;
}

std::string cpuid_bits_string(const CpuidRegPolicy& p)
{
    std::string out(32, 'x');
    for (unsigned bit = 0; bit < 32; bit++) {
        uint32_t m = 1u << bit;
        char& c = out[31 - bit];
        if (p.set_mask & m)
            c = '1';
        else if (p.clear_mask & m)
            c = '0';
        else if (p.host_mask & m)
            c = 'k';
    }
    return out;
}

Result<void, SpecError> set_cpuid_bits(CpuidRegPolicy& p, std::string_view bits)
{
    if (bits.size() != 32)
        return spec_fail(0, "expected 32 characters of 0/1/x/k/s, found {}", bits.size());
    for (size_t i = 0; i < 32; i++) {
        char c = bits[i];
        if (c != '0' && c != '1' && c != 'x' && c != 'k' && c != 's')
            return spec_fail(i, "'{}' is not one of 0, 1, x, k, s", c);
    }
    p.set_mask = p.clear_mask = p.host_mask = 0;
    for (size_t i = 0; i < 32; i++)
        set_bit(p, static_cast<unsigned>(31 - i), bits[i]);
    return {};
}

CpuidRegPolicy& cpuid_entry(CpuidPolicy& policy, uint32_t leaf, std::optional<uint32_t> subleaf, CpuidReg reg)
{
    CpuidRegPolicy key;
    key.leaf = leaf;
    key.subleaf = subleaf;
    key.reg = reg;
    auto it = std::lower_bound(policy.begin(), policy.end(), key,
                               [](const CpuidRegPolicy& a, const CpuidRegPolicy& b) { return sort_key(a) < sort_key(b); });
    if (it != policy.end() && sort_key(*it) == sort_key(key))
        return *it;
    return *policy.insert(it, key);
}

Result<void, SpecError> apply_cpuid_xend(std::string_view entry, CpuidPolicy& policy)
{
    auto colon = entry.find(':');
    if (colon == std::string_view::npos)
        return spec_fail(entry.size(), "missing ':' (expected {})", kXendForm);
    auto head = split_spec(entry.substr(0, colon));
    if (head.size() > 2)
        return spec_fail(head[2].offset, "expected at most a leaf and a subleaf before ':'");
    uint32_t leaf = TRY(leaf_number(head[0].text, head[0].offset, "leaf"));
    std::optional<uint32_t> subleaf;
    if (head.size() == 2)
        subleaf = TRY(leaf_number(head[1].text, head[1].offset, "subleaf"));

    size_t base = colon + 1;
    if (entry.find_first_not_of(" \t", base) == std::string_view::npos)
        return spec_fail(base, "no register after ':' (expected {})", kXendForm);
    std::vector<CpuidReg> seen;
    for (const auto& item : split_spec(entry.substr(base))) {
        size_t at = base + item.offset;
        if (!item.has_value)
            return spec_fail(at, "expected reg=VALUE (reg one of eax, ebx, ecx, edx), found '{}'", item.text);
        auto reg = reg_from_name(item.key);
        if (!reg)
            return spec_fail(base + item.key_offset, "unknown register '{}' (expected eax, ebx, ecx or edx)", item.key);
        if (std::find(seen.begin(), seen.end(), *reg) != seen.end())
            return spec_fail(base + item.key_offset, "register {} is given more than once", item.key);
        seen.push_back(*reg);
        size_t vat = base + item.value_offset;
        CpuidRegPolicy p;
        if (item.value.starts_with("0x") || item.value.starts_with("0X")) {
            auto v = parse_dec_or_hex(item.value);
            if (!v || *v > UINT32_MAX)
                return spec_fail(vat, "'{}' is not a 32-bit hex value", item.value);
            set_field(p, 0, 32, *v, 0);
        } else if (auto r = set_cpuid_bits(p, item.value); !r) {
            return spec_fail(item.value.size() == 32 ? vat + r.error().offset : vat,
                             "{}: {} (or a 0x-hex value)", item.key, r.error().message);
        }
        CpuidRegPolicy& e = cpuid_entry(policy, leaf, subleaf, *reg);
        e.set_mask = p.set_mask;
        e.clear_mask = p.clear_mask;
        e.host_mask = p.host_mask;
    }
    return {};
}

Result<void, SpecError> apply_cpuid_libxl(std::string_view s, CpuidPolicy& policy)
{
    auto items = split_spec(s);
    if (items[0].text != "host")
        return spec_fail(items[0].offset, "a cpuid string must start with 'host' (libxl form \"host,NAME=VALUE,...\"); "
                                          "for the xend form use a list [ \"{}\" ]",
                         kXendForm);
    for (size_t i = 1; i < items.size(); i++) {
        const auto& item = items[i];
        if (!item.has_value)
            return spec_fail(item.offset, "expected NAME=VALUE, found '{}'", item.text);
        const CpuidFlag* flag = find_cpuid_flag(item.key);
        if (!flag)
            return spec_fail(item.key_offset, "unknown CPUID feature or field '{}' (names as in xl.cfg(5) / "
                                              "cpufeatureset.h, lowercase with '-')",
                             item.key);
        std::optional<uint64_t> number;
        char fill = 0;
        const auto& v = item.value;
        if (v == "x" || v == "k" || v == "s") {
            fill = v[0];
        } else if (flag->length == 1) {
            if (v != "0" && v != "1")
                return spec_fail(item.value_offset, "'{}' expects one of 0, 1, x, k, s, found '{}'", item.key, v);
            number = static_cast<uint64_t>(v[0] - '0');
        } else {
            number = parse_number(v);
            if (!number)
                return spec_fail(item.value_offset, "'{}' expects a number or one of x, k, s, found '{}'", item.key, v);
        }
        std::optional<uint32_t> subleaf;
        if (flag->subleaf != kNoSubleaf)
            subleaf = flag->subleaf;
        CpuidRegPolicy& e = cpuid_entry(policy, flag->leaf, subleaf, flag->reg);
        std::string_view name = flag->name;
        if (name == "family" || name == "model") {
            TRY(apply_family_model(e, name, number, fill, item.value_offset));
            continue;
        }
        if (number && flag->length < 64 && *number >> flag->length)
            return spec_fail(item.value_offset, "'{}' is a {}-bit field; {} does not fit", item.key, flag->length, *number);
        set_field(e, flag->bit, flag->length, number, fill);
    }
    return {};
}

} // namespace xkvm::config
