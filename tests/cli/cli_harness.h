// A fixture for driving the built `xkvm` binary end to end: a private runtime directory per test
// (XKVM_RUNDIR), commands run as child processes with their output captured, background processes
// (console), waits on conditions with deadlines, and a teardown that leaves no daemon, VMM or file
// behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace xkvm::testing {

using namespace std::chrono_literals;

// The process exists and is not a zombie.
bool process_alive(pid_t pid);
// User plus system CPU time of every thread of `pid`, in seconds (0 once it is gone).
double process_cpu_seconds(pid_t pid);

struct RunResult {
    int rc = -1; // exit code; -1 when killed at the deadline
    std::string out, err;
};

// A child process writing its stdout to a file.
struct Background {
    pid_t pid = -1;
    std::string out_path;
    std::optional<int> exit_code; // once reaped
};

class CliTest : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;

    // `xkvm args...` (argv0 picks the binary: "xkvm" or "xl"), stdin /dev/null.
    RunResult run(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 60s,
                  const std::string& argv0 = "xkvm");
    // `xkvm args...` in the background, stdout to `out_file` in the rundir.
    Background start(const std::vector<std::string>& args, const std::string& out_file);
    // Starts `xkvm console name` in the background and waits until it is connected.
    Background attach(const std::string& name, const std::string& out);
    // Reaps `bg` if it has exited by the deadline.
    bool wait_exit(Background& bg, std::chrono::milliseconds timeout);
    std::string read_file(const std::string& path) const;

    // Writes `<rundir>/<name>.cfg` and returns its path.
    std::string write_config(const std::string& name, const std::string& body);
    // A PVH config for one of the built guests.
    std::string guest_config(const std::string& name, const std::string& elf, const std::string& extra = "");

    // Polls `pred` until it holds or the deadline passes.
    static bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 20s);

    // The row of `xkvm list` for `name`, if listed.
    std::optional<std::string> list_row(const std::string& name);
    std::optional<uint32_t> domid_of(const std::string& name);
    // Processes started for this rundir (they inherit XKVM_RUNDIR), by command name.
    std::vector<pid_t> processes(const std::string& comm) const;
    std::optional<pid_t> daemon_pid() const;
    // The VMM process of domain `name` (found by its guest-memory memfd, "xkvm-<name>").
    std::optional<pid_t> vmm_of(const std::string& name) const;
    // The thread of vCPU `vcpu` in process `pid` (named "vcpu<N>").
    std::optional<pid_t> vcpu_thread(pid_t pid, uint32_t vcpu) const;
    // Entries of the rundir other than the daemon's own files and the test's configs and outputs.
    std::vector<std::string> domain_dirs() const;
    // Unix sockets connected to `path` right now (from /proc/net/unix), the listener included.
    static int socket_users(const std::string& path);

    std::string m_rundir;
};


} // namespace xkvm::testing
