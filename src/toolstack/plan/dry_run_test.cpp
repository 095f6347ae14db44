// `create -n` without the host: the corpus in testdata/create_n (NAME.cfg prints NAME.json on stdout
// and exactly the lines of NAME.warnings on stderr, exit 0), and the dry run's own rules.
// XKVM_UPDATE_GOLDEN=1 rewrites the .json and .warnings files (review the diff!).
#include "toolstack/plan/dry_run.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace xkvm::plan {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const fs::path kCorpus = XKVM_CREATE_N_TESTDATA;

std::string slurp(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Positions name the file as given (a full path here); the golden files use its base name.
std::vector<std::string> shown(const std::vector<std::string>& lines, const fs::path& cfg)
{
    std::vector<std::string> out;
    for (std::string line : lines) {
        for (size_t at; (at = line.find(cfg.string())) != std::string::npos;)
            line.replace(at, cfg.string().size(), cfg.filename().string());
        out.push_back(line);
    }
    return out;
}

std::vector<std::string> lines_of(const fs::path& p)
{
    std::vector<std::string> out;
    std::ifstream in(p);
    for (std::string line; std::getline(in, line);)
        if (!line.empty())
            out.push_back(line);
    return out;
}

std::vector<fs::path> corpus_configs()
{
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(kCorpus))
        if (e.path().extension() == ".cfg")
            out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

TEST(dry_run, CorpusPrintsItsJsonAndWarnings)
{
    const bool update = std::getenv("XKVM_UPDATE_GOLDEN") != nullptr;
    auto cfgs = corpus_configs();
    ASSERT_GE(cfgs.size(), 10u);
    for (const auto& cfg : cfgs) {
        SCOPED_TRACE(cfg.filename().string());
        DryRunOutput o = dry_run_file(cfg.string(), {}, "xkvm");
        EXPECT_EQ(o.exit_code, 0);
        auto warnings = shown(o.err, cfg);
        const fs::path json = fs::path(cfg).replace_extension(".json");
        const fs::path warn = fs::path(cfg).replace_extension(".warnings");
        if (update) {
            std::ofstream(json) << o.out;
            std::ofstream w(warn);
            for (const auto& line : warnings)
                w << line << "\n";
        }
        EXPECT_EQ(o.out, slurp(json));
        EXPECT_EQ(warnings, lines_of(warn));
    }
}

// What the issue asked of the corpus: each kind of config xl prints and xkvm cannot create says so.
TEST(dry_run, CorpusWarnsAboutEveryRefusal)
{
    auto warnings_of = [](const std::string& name) {
        std::string all;
        for (const auto& l : lines_of(kCorpus / (name + ".warnings")))
            all += l + "\n";
        return all;
    };
    EXPECT_THAT(warnings_of("pv_no_type"), HasSubstr("pv_no_type.cfg:1:1: warning: xkvm cannot create this domain: no "
                                                     "type= given, so this is a PV guest (xl's default)"));
    EXPECT_THAT(warnings_of("pv_type_bootloader"), HasSubstr("cannot run PV guests"));
    EXPECT_THAT(warnings_of("hvm_no_firmware"), HasSubstr("hvm_no_firmware.cfg:3:11: warning: xkvm cannot create "
                                                          "this domain: type=\"hvm\" needs firmware_override="));
    EXPECT_THAT(warnings_of("hvm_no_firmware"), HasSubstr("disk=: xkvm has no PV block backend"));
    EXPECT_THAT(warnings_of("hvm_no_firmware"), HasSubstr("vif=: xkvm has no PV network backend"));
    EXPECT_THAT(warnings_of("hvm_vnuma"), HasSubstr("vnuma=: xkvm cannot give a guest a virtual NUMA topology"));
    EXPECT_THAT(warnings_of("pvh_passthrough"), HasSubstr("PCI passthrough is not supported"));
    // Host facts are not looked at: CPUs and nodes the host may lack, kernels not on this machine.
    EXPECT_EQ(warnings_of("pvh_host_lacks"), "");
    EXPECT_EQ(warnings_of("pvh_minimal"), "");
    EXPECT_EQ(warnings_of("hvm_firmware_override"), "");
}

TEST(dry_run, InvalidConfigsStillFailWithTheirPosition)
{
    auto dir = fs::temp_directory_path() / fs::path("xkvm-dry-run-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const fs::path bad = dir / "bad.cfg";
    std::ofstream(bad) << "name = \"b\"\ntype = \"pvh\"\nkernel = \"/k\"\ndisk = [ '/x,,xvda,rw,cdrom,speed=9' ]\n";
    DryRunOutput o = dry_run_file(bad.string(), {}, "xkvm");
    EXPECT_EQ(o.exit_code, 1);
    EXPECT_EQ(o.out, "");
    ASSERT_EQ(o.err.size(), 1u);
    EXPECT_EQ(o.err[0], bad.string() + ":4:29: error: disk: unknown disk parameter 'speed' (expected target, format, "
                                      "vdev, access, devtype, backend, backendtype or script)");
    // Overrides apply too, and a refusal without a file position is named by the program.
    const fs::path ok = dir / "ok.cfg";
    std::ofstream(ok) << "name = \"o\"\ntype = \"pvh\"\nkernel = \"/k\"\n";
    DryRunOutput v = dry_run_file(ok.string(), { "vif=['bridge=br9']" }, "xl");
    EXPECT_EQ(v.exit_code, 0);
    ASSERT_EQ(v.err.size(), 1u);
    EXPECT_EQ(v.err[0], "<command line>:1:6: warning: xkvm cannot create this domain: vif=: xkvm has no PV network "
                        "backend yet, so the vif would not reach the guest; remove vif= to create the domain without "
                        "network") << "the override's own position";
    fs::remove_all(dir);
}

} // namespace
} // namespace xkvm::plan
