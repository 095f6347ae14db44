#include "ipc/socket.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace xkvm::ipc {

namespace {

Result<sockaddr_un> make_addr(const std::string& path)
{
    sockaddr_un addr {};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof(addr.sun_path))
        return fail(ENAMETOOLONG, "socket path '{}' is empty or longer than {} bytes", path, sizeof(addr.sun_path) - 1);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    return addr;
}

} // namespace

Result<UniqueFd> listen_unix(const std::string& path, int backlog)
{
    auto addr = TRY(make_addr(path));
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd)
        return make_unexpected(Error::from_errno("socket"));
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0)
        return make_unexpected(Error::from_errno(fmt::format("bind {}", path)));
    if (::listen(fd.get(), backlog) < 0)
        return make_unexpected(Error::from_errno(fmt::format("listen {}", path)));
    return fd;
}

Result<UniqueFd> connect_unix(const std::string& path)
{
    auto addr = TRY(make_addr(path));
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd)
        return make_unexpected(Error::from_errno("socket"));
    int rc;
    do
        rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return make_unexpected(Error::from_errno(fmt::format("connect {}", path)));
    return fd;
}

Result<std::pair<UniqueFd, UniqueFd>> socket_pair()
{
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return make_unexpected(Error::from_errno("socketpair"));
    return std::pair { UniqueFd(sv[0]), UniqueFd(sv[1]) };
}

Result<UniqueFd> accept_unix(int listener)
{
    for (;;) {
        int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0)
            return UniqueFd(fd);
        if (errno == EINTR)
            continue;
        return make_unexpected(Error::from_errno("accept"));
    }
}

Result<ucred> peer_credentials(int fd)
{
    ucred cred {};
    socklen_t len = sizeof(cred);
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
        return make_unexpected(Error::from_errno("SO_PEERCRED"));
    return cred;
}

Status check_peer_uid(int fd)
{
    ucred cred = TRY(peer_credentials(fd));
    if (cred.uid != ::geteuid() && cred.uid != 0)
        return fail(EACCES, "a client of uid {} (pid {}) is neither root nor uid {}", cred.uid, cred.pid, ::geteuid());
    return {};
}

} // namespace xkvm::ipc
