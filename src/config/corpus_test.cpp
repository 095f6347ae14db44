// Golden corpus: testdata/good/NAME.cfg must build and print NAME.json (and the warnings in
// NAME.warnings, none if absent); testdata/bad/NAME.cfg must fail with the one line in NAME.err.
// NAME.overrides, if present, holds command-line KEY=VALUE overrides, one per line.
// XKVM_UPDATE_GOLDEN=1 rewrites the .json files from the current output (review the diff!).
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>

#include "config/json.h"

using namespace xkvm::config;
namespace fs = std::filesystem;

namespace {

const fs::path kTestdata = XKVM_CONFIG_TESTDATA;

std::string slurp(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<std::string> lines_of(const fs::path& p)
{
    std::vector<std::string> out;
    if (!fs::exists(p))
        return out;
    std::ifstream in(p);
    for (std::string line; std::getline(in, line);)
        if (!line.empty())
            out.push_back(line);
    return out;
}

std::vector<fs::path> configs_in(const fs::path& dir)
{
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".cfg")
            out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

// Positions name the file as given (a full path here); compare by base name.
template<typename T>
std::string shown(T located, const fs::path& cfg)
{
    if (located.file == cfg.string())
        located.file = cfg.filename().string();
    return located.str();
}

ConfigResult<DomainConfig> load(const fs::path& cfg, std::vector<ConfigWarning>* warnings = nullptr)
{
    auto overrides = lines_of(fs::path(cfg).replace_extension(".overrides"));
    auto parsed = TRY(parse_file(cfg.string(), overrides));
    std::vector<ConfigWarning> all = parsed.warnings;
    auto model = build_domain_config(parsed, all);
    if (warnings)
        *warnings = std::move(all);
    return model;
}

} // namespace

TEST(Corpus, GoodConfigsPrintTheExpectedJson)
{
    auto cfgs = configs_in(kTestdata / "good");
    ASSERT_GE(cfgs.size(), 8u);
    bool update = std::getenv("XKVM_UPDATE_GOLDEN") != nullptr;
    for (const auto& cfg : cfgs) {
        SCOPED_TRACE(cfg.filename().string());
        std::vector<ConfigWarning> warnings;
        auto model = load(cfg, &warnings);
        ASSERT_TRUE(model.has_value()) << shown(model.error(), cfg);

        std::vector<std::string> got_warnings;
        for (const auto& w : warnings)
            got_warnings.push_back(shown(w, cfg));
        EXPECT_EQ(got_warnings, lines_of(fs::path(cfg).replace_extension(".warnings")));

        auto golden_path = fs::path(cfg).replace_extension(".json");
        nlohmann::json actual = to_json(*model);
        if (update)
            std::ofstream(golden_path) << actual.dump(4) << "\n";
        ASSERT_TRUE(fs::exists(golden_path)) << golden_path;
        auto expected = nlohmann::json::parse(slurp(golden_path), nullptr, false);
        ASSERT_FALSE(expected.is_discarded()) << "bad JSON in " << golden_path;
        EXPECT_EQ(actual, expected) << "actual:\n" << actual.dump(4) << "\nexpected:\n" << expected.dump(4);

        auto back = from_json(actual);
        ASSERT_TRUE(back.has_value()) << back.error().str();
        EXPECT_EQ(*back, *model) << "JSON round trip changed the model";
    }
}

TEST(Corpus, BadConfigsFailAtTheExpectedPosition)
{
    auto cfgs = configs_in(kTestdata / "bad");
    ASSERT_GE(cfgs.size(), 15u);
    for (const auto& cfg : cfgs) {
        SCOPED_TRACE(cfg.filename().string());
        auto expected = lines_of(fs::path(cfg).replace_extension(".err"));
        ASSERT_EQ(expected.size(), 1u) << "need exactly one line in the .err file";
        auto model = load(cfg);
        ASSERT_FALSE(model.has_value()) << "built, but expected: " << expected[0];
        EXPECT_EQ(shown(model.error(), cfg), expected[0]);
    }
}
