#include "ipc/notify_socket.h"

#include <sys/socket.h>

#include <cerrno>

namespace xkvm::ipc {

Result<NotifyPair> make_notify_pair()
{
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
        return make_unexpected(Error::from_errno("socketpair"));
    NotifyPair p { UniqueFd(sv[0]), UniqueFd(sv[1]) };
    // Each end is used one way only: the receiver never sends, the sender never reads.
    ::shutdown(p.receive_end.get(), SHUT_WR);
    ::shutdown(p.send_end.get(), SHUT_RD);
    return p;
}

Result<std::pair<UniqueFd, UniqueFd>> make_duplex_notify_pair()
{
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
        return make_unexpected(Error::from_errno("socketpair"));
    return std::pair { UniqueFd(sv[0]), UniqueFd(sv[1]) };
}

bool is_notify_socket(int fd)
{
    int domain = 0, type = 0;
    socklen_t len = sizeof(int);
    if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 || domain != AF_UNIX)
        return false;
    len = sizeof(int);
    return ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_DGRAM;
}

bool send_notify(int fd)
{
    const char one = 1;
    for (;;) {
        ssize_t n = ::send(fd, &one, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        return n == 1;
    }
}

size_t drain_notify(int fd)
{
    // The kernel bounds the queue (net.unix.max_dgram_qlen); the cap bounds the loop regardless.
    constexpr size_t kMaxPerDrain = 4096;
    size_t count = 0;
    char buf[16];
    while (count < kMaxPerDrain) {
        ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        ++count; // an empty datagram counts too
    }
    return count;
}

} // namespace xkvm::ipc
