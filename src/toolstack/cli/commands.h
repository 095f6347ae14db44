// The `xkvm` (alias `xl`) subcommands. Each returns the process exit code and prints its own errors
// (to stderr, prefixed with the program name, or as file:line:column: for config errors).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace xkvm::cli {

struct Context {
    std::string prog = "xkvm"; // "xl" when invoked under that name
    std::string rundir;
};

struct CreateOptions {
    std::string config_file;
    std::vector<std::string> overrides; // KEY=VALUE
    bool paused = false;     // -p
    bool foreground = false; // -F: stay until the domain is gone
    bool console = false;    // -c
    bool dry_run = false;    // -n: print the config as JSON, create nothing
    bool plan_json = false;  // --plan (with -n): print the host-specific plan instead
    bool quiet = false;      // -q
};
int cmd_create(const Context& ctx, const CreateOptions& o);

struct ListOptions {
    bool long_format = false; // -l: JSON
    bool verbose = false;     // -v
    bool numa = false;        // -n
    std::vector<std::string> doms;
};
int cmd_list(const Context& ctx, const ListOptions& o);
int cmd_console(const Context& ctx, const std::string& dom);
int cmd_simple(const Context& ctx, const std::string& op, const std::string& dom); // pause, unpause, destroy
int cmd_shutdown(const Context& ctx, const std::string& kind, const std::string& dom, bool wait, bool force);
int cmd_info(const Context& ctx, const std::string& only);
int cmd_domid(const Context& ctx, const std::string& name);
int cmd_domname(const Context& ctx, const std::string& id);
int cmd_uptime(const Context& ctx, bool short_mode, const std::vector<std::string>& doms);
int cmd_vcpu_list(const Context& ctx, const std::vector<std::string>& doms);
int cmd_vcpu_pin(const Context& ctx, const std::string& dom, const std::string& vcpu, const std::string& hard,
                 const std::optional<std::string>& soft);
int cmd_xenstore(const Context& ctx, const std::string& op, const std::string& path, const std::string& value);
// xl sched-credit [-d DOM [-w WEIGHT] [-c CAP]]: unset optionals are left as they are.
struct SchedCreditOptions {
    std::string dom;
    std::optional<std::string> weight, cap;
};
int cmd_sched_credit(const Context& ctx, const SchedCreditOptions& o);
int cmd_vcpu_set(const Context& ctx, const std::string& dom, const std::string& count);
int cmd_debug_keys(const Context& ctx, const std::string& keys);
// Prints a domain's vm_event events of one kind until SIGINT/SIGTERM (xen-access's modes).
int cmd_access(const Context& ctx, const std::string& dom, const std::string& mode);
// xl mem-set / mem-max: `op` is ipc::ops::kMemSet or kMemMax, `size` in xl's syntax (MiB by default).
int cmd_memory(const Context& ctx, std::string_view op, const std::string& dom, const std::string& size);

// Prints "<prog>: <message>" to stderr and returns 1.
int report(const Context& ctx, const Error& e);
int report(const Context& ctx, const std::string& message);

// Streams a domain's console to stdout (and stdin to it) until the domain ends (0) or Ctrl-] (0).
int attach_console(const Context& ctx, uint32_t domid);
// The two halves of attach_console, for create -c: connect before the guest runs, then stream.
Result<UniqueFd> connect_console(const Context& ctx, uint32_t domid);
int stream_console(const Context& ctx, UniqueFd sock);

} // namespace xkvm::cli
