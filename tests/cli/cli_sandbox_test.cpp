// Issue 11: the VMM's sandbox seen from outside while guests run. Every thread of a running VMM has
// its seccomp filter, no_new_privs and its domain's own non-root uid; a forbidden system call (the
// test-only `sandbox-probe` operation) ends that domain as a crash and no other. Under a root xkvmd
// each VMM has PID and mount namespaces of its own and an empty read-only root.
// XKVM-OWN: the VMM sandbox is xkvm's own.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>

#include "cli_harness.h"
#include "ipc/channel.h"
#include "ipc/json_message.h"
#include "ipc/ops.h"
#include "ipc/socket.h"
#include "xkvm/guest_paths.h"

namespace xkvm::testing {
namespace {

class CliSandbox : public CliTest {
protected:
    std::string ticker(const std::string& name, const std::string& extra = "")
    {
        return guest_config(name, XKVM_GUEST_ELF("tsguest"), "cmdline = \"ticker\"\n" + extra);
    }
    static size_t ticks(const std::string& text)
    {
        size_t n = 0;
        for (size_t p = 0; (p = text.find("tick ", p)) != std::string::npos; ++p)
            ++n;
        return n;
    }
    // "Key:\tvalue" lines of /proc/<pid>/task/<tid>/status, for every thread of `pid`.
    static std::map<pid_t, std::map<std::string, std::string>> thread_status(pid_t pid)
    {
        std::map<pid_t, std::map<std::string, std::string>> out;
        std::string dir = fmt::format("/proc/{}/task", pid);
        for (auto& entry : std::filesystem::directory_iterator(dir)) {
            std::ifstream in(entry.path() / "status");
            auto& fields = out[std::stoi(entry.path().filename())];
            for (std::string line; std::getline(in, line);)
                if (auto colon = line.find(':'); colon != std::string::npos) {
                    auto value = line.find_first_not_of(" \t", colon + 1);
                    fields[line.substr(0, colon)] = value == std::string::npos ? "" : line.substr(value);
                }
        }
        return out;
    }
    static uid_t real_uid(const std::string& uid_line) { return static_cast<uid_t>(std::stoul(uid_line)); }

    // One request straight to xkvmd (the CLI has no command for test-only operations).
    Result<ipc::Json> daemon_request(const ipc::Json& req)
    {
        auto chan = TRY(ipc::Channel::create(TRY(ipc::connect_unix(m_rundir + "/xkvmd.sock"))));
        TRY(chan->send(ipc::json_frame(req)));
        TRY(chan->flush_blocking(5s));
        auto frame = TRY(chan->receive_blocking(30s));
        return ipc::reply_result(TRY(ipc::parse_json(frame)));
    }
};

TEST_F(CliSandbox, EveryThreadOfARunningVmmIsFilteredWithoutNewPrivsAsItsDomainsOwnUid)
{
    ASSERT_EQ(run({ "create", ticker("a", "vcpus = 2\n") }).rc, 0);
    ASSERT_EQ(run({ "create", ticker("b") }).rc, 0);
    auto a = vmm_of("a"), b = vmm_of("b");
    ASSERT_TRUE(a && b);
    auto threads = thread_status(*a);
    // The control thread, the timer, two vCPUs, the relay, the monitor endpoint, the shutdown waiter.
    EXPECT_GE(threads.size(), 7u);
    for (auto& [tid, st] : threads) {
        EXPECT_EQ(st["Seccomp"], "2") << st["Name"];
        EXPECT_EQ(st["NoNewPrivs"], "1") << st["Name"];
        if (::geteuid() == 0) {
            EXPECT_NE(real_uid(st["Uid"]), 0u) << st["Name"] << ": " << st["Uid"];
            EXPECT_EQ(st["CapEff"], "0000000000000000") << st["Name"];
        }
    }
    if (::geteuid() == 0) {
        uid_t ua = real_uid(thread_status(*a).begin()->second["Uid"]);
        uid_t ub = real_uid(thread_status(*b).begin()->second["Uid"]);
        EXPECT_EQ(ub - ua, *domid_of("b") - *domid_of("a")) << "one uid per domain";
    }
    // Confined, the guests still run and their consoles still work.
    Background console = start({ "console", "a" }, "out");
    size_t seen = 0;
    ASSERT_TRUE(eventually([&] { return (seen = ticks(read_file(console.out_path))) >= 1; }));
    EXPECT_TRUE(eventually([&] { return ticks(read_file(console.out_path)) >= seen + 2; }));
    EXPECT_EQ(run({ "destroy", "a" }).rc, 0);
    EXPECT_EQ(run({ "destroy", "b" }).rc, 0);
}

TEST_F(CliSandbox, AVmmHoldsOnlyTheDescriptorsItNeeds)
{
    ASSERT_EQ(run({ "create", ticker("g") }).rc, 0);
    auto vmm = vmm_of("g");
    ASSERT_TRUE(vmm);
    std::string console_log = fmt::format("{}/{}/console.log", m_rundir, *domid_of("g"));
    size_t memfds = 0;
    for (auto& entry : std::filesystem::directory_iterator(fmt::format("/proc/{}/fd", *vmm))) {
        std::error_code ec;
        std::string target = std::filesystem::read_symlink(entry.path(), ec).string();
        if (target.starts_with("/memfd:"))
            ++memfds;
        // Sockets, pipes, eventfds, epoll and KVM descriptors are anonymous; of named files only these.
        // Compared as files, not names: a VMM in a root of its own shows its descriptors' paths
        // relative to mounts it has detached ("/null").
        if (target.starts_with("/") && !target.starts_with("/memfd:")) {
            struct stat held {};
            ASSERT_EQ(::stat(entry.path().c_str(), &held), 0) << entry.path();
            auto is = [&](const std::string& path) {
                struct stat st {};
                return ::stat(path.c_str(), &st) == 0 && st.st_dev == held.st_dev && st.st_ino == held.st_ino;
            };
            EXPECT_TRUE(is("/dev/null") || is("/dev/kvm") || is(console_log))
                << "fd " << entry.path().filename() << " -> " << target;
        }
    }
    EXPECT_GE(memfds, 1u) << "the guest's memory";
    EXPECT_EQ(run({ "destroy", "g" }).rc, 0);
}

TEST_F(CliSandbox, XkvmSandboxZeroThroughTheDaemonLeavesTheVmmUnconfined)
{
    ::setenv("XKVM_SANDBOX", "0", 1); // the daemon this test starts passes it to its VMMs
    ASSERT_EQ(run({ "create", ticker("g") }).rc, 0);
    ::unsetenv("XKVM_SANDBOX");
    auto vmm = vmm_of("g");
    ASSERT_TRUE(vmm);
    for (auto& [tid, st] : thread_status(*vmm)) {
        EXPECT_EQ(st["Seccomp"], "0") << st["Name"];
        EXPECT_EQ(real_uid(st["Uid"]), ::geteuid()) << st["Name"];
        EXPECT_EQ(st["NoNewPrivs"], "1") << st["Name"] << ": set either way";
    }
    EXPECT_EQ(run({ "destroy", "g" }).rc, 0);
}

TEST_F(CliSandbox, AForbiddenSystemCallEndsOnlyThatDomainAsItsCrash)
{
    ::setenv("XKVM_TEST_OPS", "1", 1); // inherited by the daemon this test starts, and its VMMs
    ::setenv("XKVM_LOG", "info", 1);   // the daemon logs how the VMM died
    ASSERT_EQ(run({ "create", ticker("victim", "on_crash = \"preserve\"\n") }).rc, 0);
    ASSERT_EQ(run({ "create", ticker("survivor") }).rc, 0);
    auto victim = vmm_of("victim");
    ASSERT_TRUE(victim);
    auto r = daemon_request({ { "op", ipc::ops::kSandboxProbe }, { "id", 1 }, { "dom", "victim" } });
    ::unsetenv("XKVM_TEST_OPS");
    ::unsetenv("XKVM_LOG");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message.find("sandbox is off"), std::string::npos) << r.error().message;
    std::optional<std::string> row;
    EXPECT_TRUE(eventually([&] { return (row = list_row("victim")) && row->find("---sc-") != std::string::npos; }))
        << row.value_or("(not listed)");
    EXPECT_TRUE(eventually([&] {
        return read_file(m_rundir + "/xkvmd.log").find(fmt::format("(pid {}) ended: killed by signal {}", *victim, SIGSYS))
            != std::string::npos;
    })) << read_file(m_rundir + "/xkvmd.log");
    EXPECT_EQ(processes("xkvm-vmm").size(), 1u);
    Background console = start({ "console", "survivor" }, "out");
    size_t seen = 0;
    ASSERT_TRUE(eventually([&] { return (seen = ticks(read_file(console.out_path))) >= 1; }));
    EXPECT_TRUE(eventually([&] { return ticks(read_file(console.out_path)) >= seen + 2; })) << "survivor stopped";
}

TEST_F(CliSandbox, TheProbeIsRefusedOutsideTests)
{
    ::unsetenv("XKVM_TEST_OPS");
    ASSERT_EQ(run({ "create", ticker("g") }).rc, 0);
    auto r = daemon_request({ { "op", ipc::ops::kSandboxProbe }, { "id", 1 }, { "dom", "g" } });
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("for tests"), std::string::npos) << r.error().message;
    EXPECT_TRUE(list_row("g"));
    EXPECT_EQ(run({ "destroy", "g" }).rc, 0);
}

// A VMM started by a root xkvmd runs in PID and mount namespaces of its own (pid 1 there), and once
// its domain is built it sees an empty read-only root holding only a procfs of its own namespace:
// no /etc, nothing of the host's. It still reports its threads' CPU time (from that procfs), and
// destroy still ends it.
TEST_F(CliSandbox, AVmmHasItsOwnPidAndMountNamespacesAndAnEmptyReadOnlyRoot)
{
    if (::geteuid() != 0)
        GTEST_SKIP() << "VMM namespaces need root";
    ASSERT_EQ(run({ "create", ticker("ns") }).rc, 0);
    auto vmm = vmm_of("ns");
    auto daemon = daemon_pid();
    ASSERT_TRUE(vmm && daemon);
    auto ns_of = [](pid_t pid, const char* ns) {
        std::error_code ec;
        return std::filesystem::read_symlink(fmt::format("/proc/{}/ns/{}", pid, ns), ec).string();
    };
    for (const char* ns : { "pid", "mnt" }) {
        EXPECT_FALSE(ns_of(*vmm, ns).empty()) << ns;
        EXPECT_NE(ns_of(*vmm, ns), ns_of(*daemon, ns)) << ns;
    }
    EXPECT_EQ(thread_status(*vmm)[*vmm]["NSpid"], fmt::format("{}\t1", *vmm)) << "pid 1 in its own namespace";

    const std::string root = fmt::format("/proc/{}/root", *vmm);
    std::vector<std::string> entries;
    for (auto& e : std::filesystem::directory_iterator(root))
        entries.push_back(e.path().filename().string());
    EXPECT_EQ(entries, std::vector<std::string> { "proc" });
    EXPECT_FALSE(std::filesystem::exists(root + "/etc"));
    EXPECT_LT(::open((root + "/planted").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644), 0);
    EXPECT_EQ(errno, EROFS);

    // The guest spins between ticks: its vCPU's time, read by the VMM from its own procfs, grows.
    EXPECT_TRUE(eventually([&] {
        auto row = list_row("ns");
        return row && std::stod(row->substr(row->find_last_of(' ') + 1)) > 0.0;
    })) << list_row("ns").value_or("(not listed)");
    EXPECT_EQ(run({ "destroy", "ns" }).rc, 0);
    EXPECT_TRUE(eventually([&] { return !process_alive(*vmm); }, 10s));
}

TEST_F(CliSandbox, XkvmVmmNamespacesZeroThroughTheDaemonKeepsTheHostsNamespaces)
{
    ::setenv("XKVM_VMM_NAMESPACES", "0", 1); // read by the daemon this test starts
    auto created = run({ "create", "-p", ticker("shared") });
    ::unsetenv("XKVM_VMM_NAMESPACES");
    ASSERT_EQ(created.rc, 0) << created.err;
    auto vmm = vmm_of("shared");
    auto daemon = daemon_pid();
    ASSERT_TRUE(vmm && daemon);
    for (const char* ns : { "pid", "mnt" })
        EXPECT_EQ(std::filesystem::read_symlink(fmt::format("/proc/{}/ns/{}", *vmm, ns)),
                  std::filesystem::read_symlink(fmt::format("/proc/{}/ns/{}", *daemon, ns)))
            << ns;
    EXPECT_TRUE(std::filesystem::exists(fmt::format("/proc/{}/root/etc", *vmm)));
}

} // namespace
} // namespace xkvm::testing
