// The runtime directory shared by the CLI, xkvmd and the VMMs: $XKVM_RUNDIR, else /run/xkvm.
//
//   <rundir>/xkvmd.sock              the daemon's socket (CLI requests)
//   <rundir>/xkvmd.pid               the daemon's pid, flock()ed while it runs (one daemon per rundir)
//   <rundir>/xkvmd.log               the daemon's stderr
//   <rundir>/<domid>/console.sock    a domain's console, served by its VMM
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace xkvm::ipc {

inline constexpr const char* kDefaultRundir = "/run/xkvm";

std::string runtime_dir();
std::string daemon_socket_path(const std::string& rundir);
std::string daemon_pid_path(const std::string& rundir);
std::string daemon_log_path(const std::string& rundir);
std::string domain_dir(const std::string& rundir, uint32_t domid);
std::string console_socket_path(const std::string& rundir, uint32_t domid);

// mkdir -p with `mode` for the directories it creates.
Status make_dirs(const std::string& path, unsigned mode = 0700);
// rm -r of a directory that only holds files and empty directories we created; missing is fine.
void remove_tree(const std::string& path);

} // namespace xkvm::ipc
