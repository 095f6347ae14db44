// Issue 11: xkvmd's log. Writers (the daemon, its VMMs) never block on it, and a flood leaves at
// most two capped generations on disk.
#include "toolstack/daemon/daemon_log.h"

#include <gtest/gtest.h>

#include "base/testing/scratch_dir.h"
#include <unistd.h>

#include <filesystem>

namespace xkvm::toolstack {
namespace {

namespace fs = std::filesystem;

using TempDir = xkvm::testing::ScratchDir;

TEST(DaemonLog, AWriterThatFloodsIsRefusedNotBlocked)
{
    TempDir dir("xkvm-dlog");
    auto log = DaemonLog::create(dir.path / "xkvmd.log", 64 * 1024);
    ASSERT_TRUE(log) << log.error().message;
    // Nobody drains: the pipe fills, and the next write fails at once with EAGAIN.
    std::string chunk(4096, 'v');
    ssize_t n = 0;
    for (int i = 0; i < 100'000 && n >= 0; ++i)
        n = ::write((*log)->write_fd(), chunk.data(), chunk.size());
    ASSERT_LT(n, 0) << "the pipe never filled";
    EXPECT_EQ(errno, EAGAIN);
}

TEST(DaemonLog, AFloodLeavesTwoCappedGenerations)
{
    TempDir dir("xkvm-dlog");
    auto log = DaemonLog::create(dir.path / "xkvmd.log", 64 * 1024);
    ASSERT_TRUE(log);
    std::string line(99, 'x');
    line += '\n';
    uint64_t offered = 0;
    for (int round = 0; round < 200; ++round) {
        while (::write((*log)->write_fd(), line.data(), line.size()) > 0)
            offered += line.size();
        (*log)->drain();
    }
    (*log)->drain(SIZE_MAX);
    EXPECT_GT(offered, 1u << 20);
    EXPECT_LE(fs::file_size(dir.path / "xkvmd.log"), 64u * 1024);
    EXPECT_LE(fs::file_size(dir.path / "xkvmd.log.1"), 64u * 1024);
    EXPECT_GT((*log)->file().rotations(), 10u);
}

TEST(DaemonLog, ASymlinkedLogIsRefused)
{
    TempDir dir("xkvm-dlog");
    fs::create_symlink("/etc/passwd", dir.path / "xkvmd.log");
    auto log = DaemonLog::create(dir.path / "xkvmd.log");
    ASSERT_FALSE(log);
    EXPECT_EQ(log.error().code, ELOOP);
}

} // namespace
} // namespace xkvm::toolstack
