// Boots a test guest with xkvm-vmm in a child process and collects what it said: the console (the
// VMM's stdout), the VMM's own messages (stderr), how it ended, and the guest harness's PASS / FAIL /
// SKIP / RESULT lines (guests/lib/include/guest/test.h).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace xkvm::test {

// How a child process ended.
struct ProcessResult {
    bool started = false;   // the exec succeeded
    bool timed_out = false; // killed at the deadline
    int exit_code = -1;     // valid when it exited on its own
    int term_signal = 0;    // the signal that ended it, if one did
    std::string out;        // stdout
    std::string err;        // stderr
    std::chrono::milliseconds elapsed { 0 };
    std::string spawn_error; // why it did not start
};

// Sees each line of the child's stdout (without its newline) as it arrives, while the child runs:
// for tests that look at the process at moments the guest announces.
using LineObserver = std::function<void(pid_t pid, const std::string& line)>;

// Runs argv[0] with its arguments, stdin from /dev/null, and waits for it to end (its exit and EOF on
// both pipes), at most `timeout`: past it the child is killed with SIGKILL and reaped.
ProcessResult run_process(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          const LineObserver& on_line = {});

struct GuestOptions {
    std::string kernel;          // the guest ELF
    std::string type = "pvh";    // pvh | hvm
    unsigned memory_mib = 64;
    unsigned vcpus = 1;
    unsigned max_vcpus = 0;      // 0: same as vcpus
    std::vector<std::string> cpuid; // xl's form, e.g. "0x40000002:edx=0x7"
    std::string name = "guest";  // domain name (unique names make logs easier to read)
    std::string cmdline;         // PVH only
    std::vector<std::string> vmm_args; // more xkvm-vmm options
    std::chrono::milliseconds timeout { 60000 };
    LineObserver on_console_line; // optional: each console line as the guest prints it
};

struct GuestRun {
    ProcessResult process;
    std::vector<std::string> passes; // case names of "PASS: <case>"
    std::vector<std::string> fails;  // whole lines after "FAIL: "
    std::vector<std::string> skips;  // whole lines after "SKIP: "
    std::vector<std::string> diffs;  // whole lines after "DIFF: " (<case>: <id>: <what>)
    std::optional<std::string> result; // what follows the last "RESULT: "

    // The console and stderr, for test failure messages.
    std::string describe() const;
    bool passed(const std::string& name) const;
};

// The xkvm-vmm command line for `opts` (without the program path).
std::vector<std::string> vmm_arguments(const GuestOptions& opts);

// Boots the guest with `vmm` (the path to xkvm-vmm) and parses its console.
GuestRun run_guest(const std::string& vmm, const GuestOptions& opts);

// Fills passes/fails/skips/diffs/result from a console log.
void parse_console(const std::string& console, GuestRun& run);

// The message of vmm_main for the domain's end: "xkvm-vmm: domain <name>: <reason> (".
std::string shutdown_message(const std::string& name, const std::string& reason);

// The xkvm-vmm to test: $XKVM_VMM if set, else the one this build made (XKVM_VMM_PATH).
std::string vmm_path();

} // namespace xkvm::test
