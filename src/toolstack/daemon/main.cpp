// xkvmd: the toolstack daemon. Normally started on demand by the CLI (`xkvm`), one per runtime dir.
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>

#include <CLI/CLI.hpp>

#include "base/log.h"
#include "ipc/rundir.h"
#include "toolstack/daemon/daemon.h"

using namespace xkvm;

int main(int argc, char** argv)
{
    log::init_from_env();
    CLI::App app { "xkvmd: owns domain ids, names, xenstore and the VMM processes of one runtime directory" };
    std::string rundir = ipc::runtime_dir();
    int64_t idle_ms = 5000;
    if (const char* env = std::getenv("XKVM_DAEMON_IDLE_MS"); env && *env)
        idle_ms = std::strtoll(env, nullptr, 10);
    int ready_fd = -1;
    app.add_option("--rundir", rundir, "runtime directory (default $XKVM_RUNDIR or /run/xkvm)");
    app.add_option("--idle-ms", idle_ms, "exit after this long with no domain and no client (default "
                                         "$XKVM_DAEMON_IDLE_MS or 5000)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--ready-fd", ready_fd, "write one byte here once the socket accepts connections");
    std::string log_file;
    app.add_option("--log-file", log_file, "send stderr (ours and the VMMs') here, size-capped and rotated");
    size_t xenstore_cap_mib = toolstack::DaemonOptions {}.xenstore_cap_bytes >> 20;
    if (const char* env = std::getenv("XKVM_XENSTORE_CAP_MIB"); env && *env)
        xenstore_cap_mib = std::strtoull(env, nullptr, 10);
    app.add_option("--xenstore-cap-mib", xenstore_cap_mib, "memory all domains' xenstore data may hold together "
                                                          "(default $XKVM_XENSTORE_CAP_MIB or 256; 0: no cap)");
    bool no_namespaces = false;
    if (const char* env = std::getenv("XKVM_VMM_NAMESPACES"); env && std::string(env) == "0")
        no_namespaces = true;
    app.add_flag("--no-vmm-namespaces", no_namespaces, "start VMMs without PID and mount namespaces of their own "
                                                       "(also XKVM_VMM_NAMESPACES=0)");
    CLI11_PARSE(app, argc, argv);

    toolstack::DaemonOptions opts;
    opts.rundir = rundir;
    opts.idle_timeout = std::chrono::milliseconds(idle_ms);
    opts.vmm_path = toolstack::find_vmm_binary();
    opts.ready_fd = ready_fd;
    opts.log_file = log_file;
    opts.xenstore_cap_bytes = xenstore_cap_mib << 20;
    opts.vmm_namespaces = !no_namespaces;
    auto d = toolstack::Daemon::create(opts);
    if (!d) {
        std::fprintf(stderr, "xkvmd: %s\n", d.error().message.c_str());
        if (d.error().code == EBUSY)
            return 3; // the CLI sees EOF and connects to the daemon that holds the rundir
        // Not a race another start could win: the CLI reports it at once instead of retrying.
        if (ready_fd >= 0) {
            std::string failed = "F" + d.error().message;
            (void)!::write(ready_fd, failed.data(), std::min<size_t>(failed.size(), PIPE_BUF));
        }
        return 1;
    }
    return (*d)->run();
}
