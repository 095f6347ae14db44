// Issue 11: the run directory is not trusted blindly, and neither are the daemon's clients.
#include <fcntl.h>
#include <gtest/gtest.h>

#include "base/testing/scratch_dir.h"
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "ipc/rundir.h"
#include "ipc/socket.h"

namespace xkvm::ipc {
namespace {

namespace fs = std::filesystem;

using TempDir = xkvm::testing::ScratchDir;

std::string content(const fs::path& p)
{
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(RundirChecks, LogsLeaveTheRamBackedRundirForVarLogUnlessToldOtherwise)
{
    ::unsetenv("XKVM_LOGDIR");
    EXPECT_EQ(daemon_log_path(kDefaultRundir), "/var/log/xkvm/xkvmd.log");
    EXPECT_EQ(log_dir("/tmp/xkvm-test-17"), "/tmp/xkvm-test-17") << "a rundir of one's own keeps its logs";
    ::setenv("XKVM_LOGDIR", "/srv/logs", 1);
    EXPECT_EQ(daemon_log_path(kDefaultRundir), "/srv/logs/xkvmd.log");
    EXPECT_EQ(log_dir("/tmp/xkvm-test-17"), "/srv/logs");
    ::unsetenv("XKVM_LOGDIR");
}

TEST(RundirChecks, APrivateDirectoryIsAcceptedAndAMissingOneMadePrivate)
{
    TempDir t("xkvm-rundir");
    EXPECT_TRUE(prepare_rundir(t.path));
    auto fresh = t.path / "a" / "run";
    ASSERT_TRUE(prepare_rundir(fresh));
    EXPECT_EQ(fs::status(fresh).permissions() & fs::perms::all, fs::perms::owner_all);
    ASSERT_EQ(::chmod(t.path.c_str(), 0755), 0);
    EXPECT_TRUE(prepare_rundir(t.path));
}

TEST(RundirChecks, ADirectoryOthersCanWriteIsRefused)
{
    TempDir t("xkvm-rundir");
    for (mode_t mode : { 0777, 0770, 0722, 01777 }) {
        ASSERT_EQ(::chmod(t.path.c_str(), mode), 0);
        auto r = prepare_rundir(t.path);
        ASSERT_FALSE(r) << std::oct << mode;
        EXPECT_EQ(r.error().code, EPERM);
        EXPECT_NE(r.error().message.find("writable by others"), std::string::npos) << r.error().message;
    }
}

TEST(RundirChecks, ASymlinkedOrForeignDirectoryIsRefused)
{
    TempDir t("xkvm-rundir");
    fs::create_directory(t.path / "real");
    fs::create_directory_symlink(t.path / "real", t.path / "link");
    EXPECT_FALSE(prepare_rundir(t.path / "link"));
    if (::geteuid() == 0) {
        ASSERT_EQ(::chown((t.path / "real").c_str(), 65534, 65534), 0);
        auto r = prepare_rundir(t.path / "real");
        ASSERT_FALSE(r);
        EXPECT_NE(r.error().message.find("belongs to uid 65534"), std::string::npos) << r.error().message;
    }
}

TEST(RundirChecks, APlantedSymlinkedPidFileIsRefusedAndItsTargetUntouched)
{
    TempDir t("xkvm-rundir");
    std::ofstream(t.path / "precious") << "keep me";
    fs::create_symlink(t.path / "precious", t.path / "xkvmd.pid");
    auto fd = open_private_file(t.path / "xkvmd.pid", O_RDWR);
    ASSERT_FALSE(fd);
    EXPECT_EQ(fd.error().code, ELOOP);
    EXPECT_EQ(content(t.path / "precious"), "keep me");
    // A hard link to someone else's file, or a FIFO, is refused as well.
    fs::remove(t.path / "xkvmd.pid");
    fs::create_hard_link(t.path / "precious", t.path / "xkvmd.pid");
    EXPECT_FALSE(open_private_file(t.path / "xkvmd.pid", O_RDWR));
    EXPECT_EQ(content(t.path / "precious"), "keep me");
    ASSERT_EQ(::mkfifo((t.path / "fifo").c_str(), 0600), 0);
    EXPECT_FALSE(open_private_file(t.path / "fifo", O_RDWR));
    // A plain file of ours is fine.
    EXPECT_TRUE(open_private_file(t.path / "mine.pid", O_RDWR));
}

TEST(RundirChecks, PeerCredentialsOfAnotherUserAreRefused)
{
    TempDir t("xkvm-rundir");
    auto sock = (t.path / "s.sock").string();
    auto listener = listen_unix(sock);
    ASSERT_TRUE(listener);
    // Ourselves: allowed.
    auto self = connect_unix(sock);
    ASSERT_TRUE(self);
    auto accepted = accept_unix(listener->get());
    ASSERT_TRUE(accepted);
    EXPECT_TRUE(check_peer_uid(accepted->get()));
    if (::geteuid() != 0)
        GTEST_SKIP() << "connecting as another user needs root";
    ASSERT_EQ(::chmod(t.path.c_str(), 0755), 0);
    ASSERT_EQ(::chmod(sock.c_str(), 0777), 0);
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        if (::setgid(65534) != 0 || ::setuid(65534) != 0)
            ::_exit(2);
        auto fd = connect_unix(sock);
        ::_exit(fd ? 0 : 3);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    auto other = accept_unix(listener->get());
    ASSERT_TRUE(other);
    auto r = check_peer_uid(other->get());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, EACCES);
}

} // namespace
} // namespace xkvm::ipc
