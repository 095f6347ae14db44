// Issue 11, against the real xkvmd binary: a subverted VMM (hostile_vmm, spawned in xkvm-vmm's
// place through XKVM_VMM) cannot crash the daemon or starve its clients, a planted run directory
// is refused before anything is touched, and clients of another user are turned away.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "config/json.h"
#include "ipc/channel.h"
#include "ipc/json_message.h"
#include "ipc/socket.h"
#include "toolstack/daemon/domain_record.h"

namespace xkvm::toolstack {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Waits for `pid` (our child) to exit, at most `timeout`; its wait status.
std::optional<int> wait_child(pid_t pid, std::chrono::milliseconds timeout)
{
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (pidfd) {
        pollfd p { pidfd.get(), POLLIN, 0 };
        if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0)
            return std::nullopt;
    }
    int status = 0;
    if (::waitpid(pid, &status, pidfd ? 0 : WNOHANG) != pid)
        return std::nullopt;
    return status;
}

class DaemonProcess : public ::testing::Test {
protected:
    void SetUp() override
    {
        char tmpl[] = "/tmp/xkvmd-test-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        m_dir = tmpl;
        m_rundir = m_dir / "run";
        ASSERT_EQ(::mkdir(m_rundir.c_str(), 0700), 0);
    }
    void TearDown() override
    {
        if (m_pid > 0) {
            ::kill(m_pid, SIGTERM);
            if (!wait_child(m_pid, 10s)) {
                ::kill(m_pid, SIGKILL);
                (void)wait_child(m_pid, 10s);
            }
        }
        std::error_code ec;
        fs::remove_all(m_dir, ec);
    }

    // Starts xkvmd on m_rundir with the hostile VMM in `mode`; true once it is ready. On failure the
    // daemon has exited and m_status holds how.
    bool start(const std::string& mode)
    {
        int p[2];
        EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
        UniqueFd rd(p[0]), wr(p[1]);
        std::string fd_arg = std::to_string(wr.get());
        std::string log = (m_rundir / "xkvmd.log").string();
        m_pid = ::fork();
        if (m_pid == 0) {
            ::setenv("XKVM_VMM", XKVM_HOSTILE_VMM_PATH, 1);
            ::setenv("XKVM_HOSTILE", mode.c_str(), 1);
            ::fcntl(wr.get(), F_SETFD, 0);
            int err = ::open((m_dir / "stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            ::dup2(err, 2);
            const char* argv[] = { XKVM_XKVMD_PATH, "--rundir", m_rundir.c_str(), "--idle-ms", "600000",
                                   "--ready-fd", fd_arg.c_str(), "--log-file", log.c_str(), nullptr };
            ::execv(argv[0], const_cast<char* const*>(argv));
            ::_exit(127);
        }
        wr.reset();
        pollfd pf { rd.get(), POLLIN, 0 };
        char c;
        if (::poll(&pf, 1, 10'000) == 1 && ::read(rd.get(), &c, 1) == 1 && c == 'R')
            return true; // 'F' and the reason when it cannot start
        auto status = wait_child(m_pid, 10s);
        m_status = status.value_or(-1);
        m_pid = -1;
        return false;
    }

    std::unique_ptr<ipc::Channel> connect()
    {
        auto fd = ipc::connect_unix((m_rundir / "xkvmd.sock").string());
        EXPECT_TRUE(fd) << fd.error().message;
        return fd ? ipc::Channel::create(fd.release_value()).release_value() : nullptr;
    }

    // One request and its reply (an error when the daemon did not answer in time).
    Result<ipc::Json> call(ipc::Channel& chan, ipc::Json req, std::chrono::milliseconds timeout = 10s)
    {
        auto frame = TRY(chan.call(ipc::json_frame(req), timeout));
        return ipc::reply_result(TRY(ipc::parse_json(frame)));
    }

    static ipc::Json create_request(const std::string& name, uint64_t id)
    {
        config::DomainConfig cfg;
        cfg.name = name;
        cfg.type = config::DomainType::Pvh;
        cfg.kernel = "/nonexistent-kernel";
        ipc::Json spec = { { "domid", 1 }, { "name", name }, { "uuid", std::array<uint8_t, 16> {} },
                           { "type", "pvh" }, { "kernel", "/nonexistent-kernel" }, { "memory_mib", 32 },
                           { "vcpus", 1 },
                           { "memory_map", ipc::Json::array({ { { "base", 0 }, { "size", 1 << 20 }, { "type", "ram" } } }) } };
        return { { "op", "create" }, { "id", id }, { "config", config::to_json(cfg) }, { "spec", spec },
                 { "paused", true } };
    }

    std::string read_file(const fs::path& p)
    {
        std::ifstream in(p);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }

    fs::path m_dir, m_rundir;
    pid_t m_pid = -1;
    int m_status = 0;
};

TEST_F(DaemonProcess, AReplyNestedThirtyThousandDeepDoesNotCrashTheDaemon)
{
    ASSERT_TRUE(start("deep-reply")) << read_file(m_dir / "stderr");
    auto chan = connect();
    ASSERT_TRUE(chan);
    auto r = call(*chan, create_request("deep", 1), 30s);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().code, ETIMEDOUT) << r.error().message;
    // The same daemon answers, and no domain was left behind.
    auto ping = call(*chan, { { "op", "ping" }, { "id", 2 } });
    ASSERT_TRUE(ping) << ping.error().message;
    EXPECT_EQ((*ping)["pid"], m_pid);
    auto list = call(*chan, { { "op", "list" }, { "id", 3 } });
    ASSERT_TRUE(list);
    EXPECT_EQ((*list)["domains"].size(), 0u);
    EXPECT_EQ(::kill(m_pid, 0), 0);
}

TEST_F(DaemonProcess, AFloodingVmmDoesNotStarveOtherClients)
{
    ASSERT_TRUE(start("flood")) << read_file(m_dir / "stderr");
    auto chan = connect();
    ASSERT_TRUE(chan);
    auto created = call(*chan, create_request("flood", 1), 30s);
    ASSERT_TRUE(created) << created.error().message;
    // The VMM now sends as fast as it can and reads nothing. Every ping is still answered promptly.
    for (uint64_t i = 0; i < 50; ++i) {
        auto ping = call(*chan, { { "op", "ping" }, { "id", 10 + i } }, 5s);
        ASSERT_TRUE(ping) << "ping " << i << ": " << ping.error().message;
    }
    // And the daemon has not gathered the flood into memory.
    std::ifstream status(fmt::format("/proc/{}/status", m_pid));
    uint64_t rss_kb = 0;
    for (std::string line; std::getline(status, line);)
        if (line.starts_with("VmRSS:"))
            rss_kb = std::stoull(line.substr(6));
    EXPECT_LT(rss_kb, 256u * 1024) << "xkvmd grew to " << rss_kb << " KiB";
}

TEST_F(DaemonProcess, ARundirOthersCanWriteIsRefusedAndLeftAlone)
{
    ASSERT_EQ(::chmod(m_rundir.c_str(), 0777), 0);
    ASSERT_FALSE(start("none"));
    EXPECT_TRUE(WIFEXITED(m_status) && WEXITSTATUS(m_status) != 0) << m_status;
    EXPECT_NE(read_file(m_dir / "stderr").find("writable by others"), std::string::npos) << read_file(m_dir / "stderr");
    EXPECT_TRUE(fs::is_empty(m_rundir));
}

TEST_F(DaemonProcess, APlantedSymlinkedPidFileIsRefusedAndItsTargetUntouched)
{
    std::ofstream(m_dir / "precious") << "keep me";
    fs::create_symlink(m_dir / "precious", m_rundir / "xkvmd.pid");
    ASSERT_FALSE(start("none"));
    EXPECT_TRUE(WIFEXITED(m_status) && WEXITSTATUS(m_status) != 0) << m_status;
    EXPECT_EQ(read_file(m_dir / "precious"), "keep me");
    EXPECT_FALSE(fs::exists(m_rundir / "xkvmd.sock"));
}

TEST_F(DaemonProcess, AClientOfAnotherUserIsTurnedAway)
{
    if (::geteuid() != 0)
        GTEST_SKIP() << "connecting as another user needs root";
    ASSERT_TRUE(start("none")) << read_file(m_dir / "stderr");
    ASSERT_EQ(::chmod(m_dir.c_str(), 0755), 0);
    ASSERT_EQ(::chmod(m_rundir.c_str(), 0755), 0);
    ASSERT_EQ(::chmod((m_rundir / "xkvmd.sock").c_str(), 0777), 0);
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        if (::setgid(65534) != 0 || ::setuid(65534) != 0)
            ::_exit(2);
        auto fd = ipc::connect_unix((m_rundir / "xkvmd.sock").string());
        if (!fd)
            ::_exit(3);
        auto chan = ipc::Channel::create(fd.release_value());
        auto reply = (*chan)->call(ipc::json_frame({ { "op", "ping" }, { "id", 1 } }), 10s);
        ::_exit(reply ? 4 : 0); // refused: the daemon closed without answering
    }
    auto status = wait_child(child, 20s);
    ASSERT_TRUE(status);
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
    // We (the same user) are still served.
    auto chan = connect();
    ASSERT_TRUE(chan);
    EXPECT_TRUE(call(*chan, { { "op", "ping" }, { "id", 1 } }));
}

// Re-adoption (daemon_adopt.cpp): a stand-in VMM, a child of ours listening where a real one would,
// answers `adopt`, `status` and `destroy` (exit 0), and exits 3 if anything comes before `adopt`.
// It listens itself (the daemon learns the VMM's pid from the listener's credentials) and returns
// once it does.
pid_t fake_vmm(const fs::path& socket, uint32_t domid)
{
    int ready[2];
    if (::pipe(ready) != 0)
        return -1;
    pid_t pid = ::fork();
    if (pid != 0) {
        ::close(ready[1]);
        char c = 0;
        bool ok = ::read(ready[0], &c, 1) == 1;
        ::close(ready[0]);
        return ok ? pid : -1;
    }
    auto listener = ipc::listen_unix(socket.string());
    if (!listener)
        ::_exit(7);
    (void)!::write(ready[1], "L", 1);
    pollfd p { listener->get(), POLLIN, 0 };
    auto fd = ::poll(&p, 1, 30'000) == 1 ? ipc::accept_unix(listener->get()) : Result<UniqueFd>(fail(ETIMEDOUT, "-"));
    if (!fd)
        ::_exit(4);
    auto chan = ipc::Channel::create(fd.release_value()).release_value();
    bool adopted = false;
    for (;;) {
        pollfd q { chan->fd(), POLLIN, 0 };
        if (::poll(&q, 1, 30'000) != 1)
            ::_exit(5);
        std::vector<ipc::Frame> frames;
        auto open = chan->receive(frames);
        for (auto& f : frames) {
            auto j = ipc::parse_json(f).release_value();
            std::string op = j["op"];
            uint64_t id = j["id"];
            if (!adopted && op != "adopt")
                ::_exit(3);
            adopted = true;
            ipc::Json reply = op == "adopt" ? ipc::Json { { "domid", domid }, { "pid", ::getpid() }, { "paused", false } }
                : op == "status" ? ipc::Json { { "paused", false }, { "shutdown", false }, { "cpu_time_ns", 0 }, { "vcpus", ipc::Json::array() } }
                                 : ipc::Json::object();
            (void)chan->send(ipc::json_frame(ipc::ok_reply(id, reply)));
            (void)chan->flush_blocking(1s);
            if (op == "destroy")
                ::_exit(0);
        }
        if (!open || !*open)
            ::_exit(6);
    }
}

std::string record_text(uint32_t domid, const std::string& name, pid_t vmm)
{
    DomainRecord rec;
    rec.domid = domid;
    rec.name = name;
    rec.state = DomainState::Running;
    rec.vmm_pid = vmm;
    rec.config.name = name;
    rec.config.type = config::DomainType::Pvh;
    rec.config.kernel = "/nonexistent-kernel";
    rec.spec = { { "domid", domid } };
    return record_to_json(rec).dump();
}

TEST_F(DaemonProcess, ARestartedDaemonAdoptsLiveVmmsAndCleansUpTheRest)
{
    ASSERT_EQ(::mkdir((m_rundir / "5").c_str(), 0700), 0);
    pid_t vmm = fake_vmm(m_rundir / "5" / "control.sock", 5);
    ASSERT_GT(vmm, 0);
    ASSERT_TRUE(save_record(m_rundir.string(), 5, record_text(5, "kept", vmm)));
    // Domain 9's VMM is gone: a socket file nobody listens on.
    ASSERT_EQ(::mkdir((m_rundir / "9").c_str(), 0700), 0);
    // Discarded on purpose: closing the listener leaves the socket file with nobody behind it.
    (void)ipc::listen_unix((m_rundir / "9" / "control.sock").string());
    ASSERT_TRUE(save_record(m_rundir.string(), 9, record_text(9, "gone", vmm + 100000)));
    std::ofstream(m_rundir / "domains" / "12.json") << R"({"version": 1, "domid": 12})";
    ASSERT_EQ(::mkdir((m_rundir / "20").c_str(), 0700), 0); // no record: an orphan

    ASSERT_TRUE(start("none")) << read_file(m_dir / "stderr");
    auto chan = connect();
    ASSERT_TRUE(chan);
    auto list = call(*chan, { { "op", "list" }, { "id", 1 } });
    ASSERT_TRUE(list) << list.error().message;
    ASSERT_EQ((*list)["domains"].size(), 1u) << list->dump();
    EXPECT_EQ((*list)["domains"][0]["domid"], 5);
    EXPECT_EQ((*list)["domains"][0]["name"], "kept");
    EXPECT_FALSE(fs::exists(m_rundir / "domains" / "9.json"));
    EXPECT_FALSE(fs::exists(m_rundir / "9"));
    EXPECT_FALSE(fs::exists(m_rundir / "20"));
    EXPECT_TRUE(fs::exists(m_rundir / "domains" / "12.json.bad"));
    std::string log = read_file(m_rundir / "xkvmd.log");
    EXPECT_NE(log.find("12.json: ipc: field 'name'"), std::string::npos) << log;
    EXPECT_NE(log.find("handled as a crash"), std::string::npos) << log;

    // The adopted domain is managed like any other: destroy reaches its VMM, and its record goes.
    auto destroyed = call(*chan, { { "op", "destroy" }, { "id", 2 }, { "dom", "kept" } });
    ASSERT_TRUE(destroyed) << destroyed.error().message;
    auto status = wait_child(vmm, 10s);
    ASSERT_TRUE(status);
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << "the VMM heard something before adopt: " << *status;
    EXPECT_FALSE(fs::exists(m_rundir / "domains" / "5.json"));
    EXPECT_FALSE(fs::exists(m_rundir / "5"));
}

} // namespace
} // namespace xkvm::toolstack
