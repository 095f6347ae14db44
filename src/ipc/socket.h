// Unix stream sockets for the toolstack: listening, connecting, socket pairs.
#pragma once

#include <sys/socket.h>

#include <string>
#include <utility>

#include "base/result.h"
#include "base/unique_fd.h"

namespace xkvm::ipc {

// Binds and listens at `path` (which must not exist; callers that own the path remove stale ones).
// The socket is non-blocking and close-on-exec. ENAMETOOLONG past sun_path's 107 bytes.
Result<UniqueFd> listen_unix(const std::string& path, int backlog = 64);
// Connects (blocking) to `path`; the errno of a failure is kept (ENOENT, ECONNREFUSED, ...).
Result<UniqueFd> connect_unix(const std::string& path);
// A connected pair, close-on-exec.
Result<std::pair<UniqueFd, UniqueFd>> socket_pair();
// accept4 with CLOEXEC; EAGAIN when nothing is waiting.
Result<UniqueFd> accept_unix(int listener);
// The peer of a connected Unix socket (SO_PEERCRED) is this user or root; EACCES otherwise.
Status check_peer_uid(int fd);
// The peer's credentials as the kernel recorded them at connect (or socketpair) time.
Result<ucred> peer_credentials(int fd);

} // namespace xkvm::ipc
