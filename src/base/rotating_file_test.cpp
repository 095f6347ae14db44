#include "base/rotating_file.h"

#include <gtest/gtest.h>

#include "base/testing/scratch_dir.h"
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace xkvm {
namespace {

namespace fs = std::filesystem;

using TempDir = xkvm::testing::ScratchDir;

uint64_t size_of(const fs::path& p)
{
    std::error_code ec;
    auto n = fs::file_size(p, ec);
    return ec ? 0 : n;
}

TEST(RotatingFile, AFloodStaysUnderTwiceTheCap)
{
    TempDir dir("xkvm-rotate");
    auto log = RotatingFile::create(dir.path / "console.log", 64 * 1024);
    ASSERT_TRUE(log) << log.error().message;
    std::string line(100, 'x');
    line += '\n';
    for (int i = 0; i < 100'000; ++i) // 10 MB offered
        (*log)->write(line);
    EXPECT_LE(size_of(dir.path / "console.log"), 64u * 1024);
    EXPECT_LE(size_of(dir.path / "console.log.1"), 64u * 1024);
    EXPECT_GT(size_of(dir.path / "console.log.1"), 60u * 1024); // the older part is kept, rotated
    EXPECT_GE((*log)->rotations(), 100u);
    // Only the two generations exist.
    EXPECT_EQ(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()), 2);
}

TEST(RotatingFile, AnExistingFullFileIsRotatedAtOpen)
{
    TempDir dir("xkvm-rotate");
    std::ofstream(dir.path / "x.log") << std::string(5000, 'a');
    auto log = RotatingFile::create(dir.path / "x.log", 4096);
    ASSERT_TRUE(log);
    EXPECT_EQ(size_of(dir.path / "x.log"), 0u);
    EXPECT_EQ(size_of(dir.path / "x.log.1"), 5000u);
    // One write beyond the cap keeps its tail.
    (*log)->write(std::string(10000, 'b'));
    EXPECT_EQ(size_of(dir.path / "x.log"), 4096u);
}

TEST(RotatingFile, APlantedSymlinkIsRefusedAndItsTargetUntouched)
{
    TempDir dir("xkvm-rotate");
    std::ofstream(dir.path / "target") << "precious";
    fs::create_symlink(dir.path / "target", dir.path / "x.log");
    auto log = RotatingFile::create(dir.path / "x.log");
    ASSERT_FALSE(log);
    EXPECT_EQ(log.error().code, ELOOP);
    std::ifstream in(dir.path / "target");
    std::string content;
    in >> content;
    EXPECT_EQ(content, "precious");
    // A directory or a FIFO is no log file either.
    ASSERT_EQ(::mkfifo((dir.path / "fifo").c_str(), 0600), 0);
    EXPECT_FALSE(open_log_file(dir.path / "fifo"));
}

} // namespace
} // namespace xkvm
