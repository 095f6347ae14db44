#include "config/cpuset_spec.h"

#include "config/spec_items.h"

namespace xkvm::config {

namespace {

SpecResult<uint32_t> decimal(std::string_view s, size_t offset, uint32_t max, std::string_view what)
{
    if (s.empty())
        return spec_fail(offset, "expected a {} number", what);
    uint64_t v = 0;
    for (size_t i = 0; i < s.size(); i++) {
        if (s[i] < '0' || s[i] > '9')
            return spec_fail(offset + i, "expected a {} number, found '{}'", what, s);
        v = v * 10 + static_cast<uint64_t>(s[i] - '0');
        if (v > max)
            return spec_fail(offset, "{} {} is out of range (at most {})", what, s, max);
    }
    return static_cast<uint32_t>(v);
}

Result<void, SpecError> parse_range(std::string_view s, size_t offset, uint32_t max, std::string_view what,
                                    CpuSetTerm& term)
{
    auto dash = s.find('-');
    term.first = TRY(decimal(s.substr(0, dash), offset, max, what));
    term.last = term.first;
    if (dash != std::string_view::npos) {
        term.last = TRY(decimal(s.substr(dash + 1), offset + dash + 1, max, what));
        if (term.last < term.first)
            return spec_fail(offset, "range {} runs backwards", s);
    }
    return {};
}

} // namespace

SpecResult<CpuSetSpec> parse_cpuset(std::string_view s)
{
    CpuSetSpec spec;
    bool includes = false;
    for (const auto& item : split_spec(s)) {
        auto text = item.text;
        size_t offset = item.offset;
        if (text.empty())
            return spec_fail(offset, "empty term in CPU list '{}' (expected N, N-M, node:N, nodes:N-M or all)", s);
        CpuSetTerm term;
        if (text.front() == '^') {
            term.exclude = true;
            text.remove_prefix(1);
            offset++;
        }
        if (text == "all") {
            if (term.exclude)
                return spec_fail(item.offset, "'^all' excludes every CPU");
            term.kind = CpuSetTerm::Kind::All;
        } else if (text.starts_with("node:") || text.starts_with("nodes:")) {
            size_t skip = text.find(':') + 1;
            term.kind = CpuSetTerm::Kind::Nodes;
            TRY(parse_range(text.substr(skip), offset + skip, kMaxNodeId, "node", term));
        } else {
            term.kind = CpuSetTerm::Kind::Cpus;
            TRY(parse_range(text, offset, kMaxCpuId, "CPU", term));
        }
        includes |= !term.exclude;
        spec.terms.push_back(term);
    }
    if (!includes)
        return spec_fail(0, "'{}' only excludes CPUs; start with CPUs, nodes or all", s);
    return spec;
}

std::string format_cpuset(const CpuSetSpec& spec)
{
    std::string out;
    for (const auto& t : spec.terms) {
        if (!out.empty())
            out += ',';
        if (t.exclude)
            out += '^';
        switch (t.kind) {
        case CpuSetTerm::Kind::All:
            out += "all";
            continue;
        case CpuSetTerm::Kind::Nodes:
            out += t.first == t.last ? "node:" : "nodes:";
            break;
        case CpuSetTerm::Kind::Cpus:
            break;
        }
        out += std::to_string(t.first);
        if (t.last != t.first)
            out += fmt::format("-{}", t.last);
    }
    return out;
}

} // namespace xkvm::config
