#include "numa/cpuset.h"

#include <cerrno>
#include <charconv>

#include <fmt/format.h>

namespace xkvm::numa {

template<typename Tag>
std::string IdSet<Tag>::to_string() const
{
    std::string out;
    std::vector<uint32_t> list = ids();
    for (size_t i = 0; i < list.size();) {
        size_t j = i;
        while (j + 1 < list.size() && list[j + 1] == list[j] + 1)
            ++j;
        if (!out.empty())
            out += ',';
        out += j == i ? fmt::format("{}", list[i]) : fmt::format("{}-{}", list[i], list[j]);
        i = j + 1;
    }
    return out;
}

template class IdSet<CpuTag>;
template class IdSet<NodeTag>;

namespace {

// sysfs lists name CPUs and nodes; anything this large is a corrupt file, not a host.
constexpr uint32_t kMaxListId = 1u << 20;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// A term of a comma-separated list, with its 1-based column in the whole string.
struct Piece {
    std::string_view text;
    size_t column;
};

std::vector<Piece> split_terms(std::string_view text)
{
    std::vector<Piece> out;
    size_t start = 0;
    while (true) {
        size_t comma = text.find(',', start);
        size_t end = comma == std::string_view::npos ? text.size() : comma;
        size_t b = start, e = end;
        while (b < e && is_space(text[b]))
            ++b;
        while (e > b && is_space(text[e - 1]))
            --e;
        out.push_back({ text.substr(b, e - b), b + 1 });
        if (comma == std::string_view::npos)
            return out;
        start = comma + 1;
    }
}

// Parses a decimal uint32_t that must fill `digits` entirely.
bool parse_u32(std::string_view digits, uint32_t& out)
{
    if (digits.empty() || digits.front() < '0' || digits.front() > '9')
        return false;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
    return ec == std::errc() && ptr == digits.data() + digits.size();
}

// "N" or "N-M" (M >= N); a message on failure.
Result<std::pair<uint32_t, uint32_t>> parse_range(std::string_view body, size_t column, std::string_view what)
{
    size_t dash = body.find('-');
    std::string_view a = body.substr(0, dash);
    std::string_view b = dash == std::string_view::npos ? a : body.substr(dash + 1);
    uint32_t first = 0, last = 0;
    if (!parse_u32(a, first) || !parse_u32(b, last))
        return fail(EINVAL, "column {}: expected a {} number, a range N-M or \"all\", got \"{}\"", column,
            what, body);
    if (last < first)
        return fail(EINVAL, "column {}: range \"{}\" ends before it starts", column, body);
    return std::pair { first, last };
}

Result<config::CpuSetTerm> parse_term(Piece piece)
{
    using Kind = config::CpuSetTerm::Kind;
    std::string_view s = piece.text;
    size_t column = piece.column;
    if (s.empty())
        return fail(EINVAL, "column {}: empty term in CPU list", column);

    config::CpuSetTerm term;
    if (s.front() == '^') {
        term.exclude = true;
        s.remove_prefix(1);
        ++column;
    }
    bool nodes = false;
    for (std::string_view prefix : { std::string_view("nodes:"), std::string_view("node:") }) {
        if (s.starts_with(prefix)) {
            nodes = true;
            s.remove_prefix(prefix.size());
            column += prefix.size();
            break;
        }
    }
    if (s == "all") {
        if (term.exclude)
            return fail(EINVAL, "column {}: \"^\" cannot be combined with \"all\"", piece.column);
        term.kind = Kind::All;
        return term;
    }
    auto [first, last] = TRY(parse_range(s, column, nodes ? "node" : "CPU"));
    term.kind = nodes ? Kind::Nodes : Kind::Cpus;
    term.first = first;
    term.last = last;
    return term;
}

} // namespace

Result<std::vector<uint32_t>> parse_id_list(std::string_view text)
{
    while (!text.empty() && is_space(text.back()))
        text.remove_suffix(1);
    std::vector<uint32_t> out;
    if (text.empty())
        return out;
    for (const Piece& piece : split_terms(text)) {
        auto [first, last] = TRY(parse_range(piece.text, piece.column, "CPU or node"));
        if (last >= kMaxListId)
            return fail(EINVAL, "column {}: id {} is implausibly large", piece.column, last);
        for (uint64_t id = first; id <= last; ++id)
            out.push_back(static_cast<uint32_t>(id));
    }
    return out;
}

Result<config::CpuSetSpec> parse_cpuset_string(std::string_view text)
{
    bool blank = true;
    for (char c : text)
        blank = blank && is_space(c);
    if (blank)
        return fail(EINVAL, "empty CPU list: expected e.g. \"0-3\", \"all\", \"nodes:1\" or \"0-7,^2\"");

    config::CpuSetSpec spec;
    for (const Piece& piece : split_terms(text)) {
        auto term = parse_term(piece);
        if (!term)
            return fail(EINVAL, "invalid CPU list \"{}\": {}", text, term.error().message);
        spec.terms.push_back(term.value());
    }
    return spec;
}

std::string format_cpuset_spec(const config::CpuSetSpec& spec)
{
    using Kind = config::CpuSetTerm::Kind;
    std::string out;
    for (const config::CpuSetTerm& t : spec.terms) {
        if (!out.empty())
            out += ',';
        if (t.exclude)
            out += '^';
        if (t.kind == Kind::All) {
            out += "all";
            continue;
        }
        if (t.kind == Kind::Nodes)
            out += "nodes:";
        out += t.first == t.last ? fmt::format("{}", t.first) : fmt::format("{}-{}", t.first, t.last);
    }
    return out;
}

} // namespace xkvm::numa
