// The deliberate differences from Xen (docs/xen-differences.md) and the markers that check them:
// `TEST_DIFF(<id>, ...)` in conformance guests, `// DIFF(<id>)` in unit tests, and the `DIFF: <case>:
// <id>: ...` lines the guests print.
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <vector>

namespace xkvm::test {

// The ids of the `### <id>` headings of the differences document.
std::set<std::string> documented_differences(const std::filesystem::path& doc);

// The ids the README's list of differences names: the backquoted words after "The list today:"
// up to the sentence's full stop.
std::set<std::string> readme_differences(const std::filesystem::path& readme);

// The ids marked in the sources under `root`: guests/conformance/**.c, src/**_test.cpp, tests/*.cpp.
std::set<std::string> marked_differences(const std::filesystem::path& root);

// The id of a guest's DIFF line (what follows "DIFF: "): "<case>: <id>: <what>"; empty if malformed.
std::string diff_line_id(const std::string& line);

// The DIFF lines whose id is not documented.
std::vector<std::string> undocumented_diffs(const std::vector<std::string>& diff_lines);

} // namespace xkvm::test
