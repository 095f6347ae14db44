#include "xen_differences.h"

#include <fstream>
#include <regex>
#include <sstream>

namespace xkvm::test {

namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

void collect(const std::string& text, const std::regex& marker, std::set<std::string>& ids)
{
    for (std::sregex_iterator it(text.begin(), text.end(), marker), end; it != end; ++it)
        ids.insert((*it)[1].str());
}

bool ends_with(const fs::path& p, const std::string& suffix)
{
    const std::string s = p.filename().string();
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

} // namespace

std::set<std::string> documented_differences(const fs::path& doc)
{
    std::set<std::string> ids;
    std::istringstream in(read_text(doc));
    for (std::string line; std::getline(in, line);)
        if (line.rfind("### ", 0) == 0)
            ids.insert(line.substr(4));
    return ids;
}

std::set<std::string> readme_differences(const fs::path& readme)
{
    static const std::regex id(R"(`([a-z0-9_]+)`)");
    const std::string text = read_text(readme);
    const std::string lead = "The list today:";
    const size_t start = text.find(lead);
    if (start == std::string::npos)
        return {};
    const size_t end = text.find('.', start);
    std::set<std::string> ids;
    collect(text.substr(start, end == std::string::npos ? std::string::npos : end - start), id, ids);
    return ids;
}

std::set<std::string> marked_differences(const fs::path& root)
{
    static const std::regex guest_marker(R"(TEST_DIFF\(\s*([a-z0-9_]+)\s*,)");
    static const std::regex unit_marker(R"(// DIFF\(([a-z0-9_]+)\))");
    std::set<std::string> ids;
    for (const auto& e : fs::recursive_directory_iterator(root / "guests" / "conformance"))
        if (e.is_regular_file() && e.path().extension() == ".c")
            collect(read_text(e.path()), guest_marker, ids);
    for (const char* dir : { "src", "tests" })
        for (const auto& e : fs::recursive_directory_iterator(root / dir))
            if (e.is_regular_file() && (ends_with(e.path(), "_test.cpp") || ends_with(e.path(), "_test.c")))
                collect(read_text(e.path()), unit_marker, ids);
    return ids;
}

std::string diff_line_id(const std::string& line)
{
    const size_t first = line.find(": ");
    if (first == std::string::npos)
        return {};
    const size_t second = line.find(": ", first + 2);
    if (second == std::string::npos)
        return {};
    return line.substr(first + 2, second - first - 2);
}

std::vector<std::string> undocumented_diffs(const std::vector<std::string>& diff_lines)
{
    const auto documented = documented_differences(fs::path(XKVM_SOURCE_DIR) / "docs" / "xen-differences.md");
    std::vector<std::string> out;
    for (const auto& line : diff_lines)
        if (!documented.contains(diff_line_id(line)))
            out.push_back(line);
    return out;
}

} // namespace xkvm::test
