// The runtime directory shared by the CLI, xkvmd and the VMMs: $XKVM_RUNDIR, else /run/xkvm.
//
//   <rundir>/xkvmd.sock              the daemon's socket (CLI requests)
//   <rundir>/xkvmd.pid               the daemon's pid, flock()ed while it runs (one daemon per rundir)
//   <logdir>/xkvmd.log               the daemon's stderr (see log_dir())
//   <rundir>/<domid>/console.sock    a domain's console, served by its VMM
//   <rundir>/<domid>/monitor.sock    a domain's vm_event monitor endpoint, served by its VMM
//   <rundir>/<domid>/control.sock    a domain's control socket, where a restarted xkvmd finds its VMM
//   <rundir>/domains/<domid>.json    xkvmd's record of a domain, to re-adopt it after a restart
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"

namespace xkvm::ipc {

inline constexpr const char* kDefaultRundir = "/run/xkvm";
inline constexpr const char* kDefaultLogdir = "/var/log/xkvm";

std::string runtime_dir();
// Where logs go: $XKVM_LOGDIR; else /var/log/xkvm for the default rundir, because /run is RAM and
// logs are what a guest or a VMM can make grow; else the chosen rundir itself, so that daemons with
// rundirs of their own (tests, users) never share a log.
std::string log_dir(const std::string& rundir);
std::string daemon_socket_path(const std::string& rundir);
std::string daemon_pid_path(const std::string& rundir);
std::string daemon_log_path(const std::string& rundir);
std::string domain_dir(const std::string& rundir, uint32_t domid);
std::string console_socket_path(const std::string& rundir, uint32_t domid);
std::string monitor_socket_path(const std::string& rundir, uint32_t domid);
std::string control_socket_path(const std::string& rundir, uint32_t domid);
std::string domain_records_dir(const std::string& rundir);
std::string domain_record_path(const std::string& rundir, uint32_t domid);

// mkdir -p with `mode` for the directories it creates.
Status make_dirs(const std::string& path, unsigned mode = 0700);
// Creates the runtime (or log) directory if need be and checks it: a directory (not a symlink),
// owned by us, writable by nobody else. EPERM saying what is wrong otherwise: root must not put its
// sockets, pid file and logs where another user can swap them.
Status prepare_rundir(const std::string& path);
// Opens (creating, mode 0644) a file of ours inside the rundir without following a symlink and
// refusing anything but a regular file with one link that we own (a planted hard link, a FIFO).
Result<UniqueFd> open_private_file(const std::string& path, int flags);
// rm -r of a directory that only holds files and empty directories we created; missing is fine.
void remove_tree(const std::string& path);

} // namespace xkvm::ipc
