// xkvm console: the domain's console socket (served by its VMM) to stdout, stdin to it.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>

#include "ipc/ops.h"
#include "ipc/rundir.h"
#include "ipc/socket.h"
#include "toolstack/cli/commands.h"
#include "toolstack/cli/daemon_client.h"

namespace xkvm::cli {

namespace {

constexpr char kEscape = 0x1d; // Ctrl-], as xl console

bool write_all(int fd, const char* p, size_t n)
{
    while (n) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        p += w;
        n -= static_cast<size_t>(w);
    }
    return true;
}

class RawTerminal {
public:
    RawTerminal()
    {
        if (::isatty(0) && ::tcgetattr(0, &m_saved) == 0) {
            termios raw = m_saved;
            ::cfmakeraw(&raw);
            m_active = ::tcsetattr(0, TCSANOW, &raw) == 0;
        }
    }
    ~RawTerminal()
    {
        if (m_active)
            ::tcsetattr(0, TCSANOW, &m_saved);
    }
    bool active() const { return m_active; }

private:
    termios m_saved {};
    bool m_active = false;
};

} // namespace

Result<UniqueFd> connect_console(const Context& ctx, uint32_t domid)
{
    std::string path = ipc::console_socket_path(ctx.rundir, domid);
    auto sock = ipc::connect_unix(path);
    if (!sock && (sock.error().code == ENOENT || sock.error().code == ECONNREFUSED))
        return fail(ENOENT, "domain {} has no console (it has ended)", domid);
    return sock;
}

int attach_console(const Context& ctx, uint32_t domid)
{
    auto sock = connect_console(ctx, domid);
    if (!sock)
        return report(ctx, sock.error());
    return stream_console(ctx, sock.release_value());
}

int stream_console(const Context& ctx, UniqueFd sock)
{
    ::signal(SIGPIPE, SIG_IGN);
    RawTerminal term;
    bool stdin_open = true;
    char buf[16384];
    for (;;) {
        pollfd fds[2] = { { sock.get(), POLLIN, 0 }, { stdin_open ? 0 : -1, POLLIN, 0 } };
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return report(ctx, Error::from_errno("poll"));
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = ::read(sock.get(), buf, sizeof(buf));
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return 0; // the domain has ended
            if (!write_all(1, buf, static_cast<size_t>(n)))
                return report(ctx, Error::from_errno("writing the console out"));
        }
        if (stdin_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = ::read(0, buf, sizeof(buf));
            if (n <= 0) {
                stdin_open = false; // no more input; keep showing the output
                continue;
            }
            std::string_view in(buf, static_cast<size_t>(n));
            if (term.active()) {
                auto esc = in.find(kEscape);
                if (esc != std::string_view::npos) {
                    (void)write_all(sock.get(), in.data(), esc);
                    return 0;
                }
            }
            if (!write_all(sock.get(), in.data(), in.size()))
                return 0;
        }
    }
}

int cmd_console(const Context& ctx, const std::string& dom)
{
    auto client = DaemonClient::connect(ctx.rundir);
    if (!client)
        return report(ctx, client.error());
    auto rec = (*client)->call(ipc::ops::kDomain, ipc::Json { { "dom", dom } });
    if (!rec)
        return report(ctx, rec.error());
    return attach_console(ctx, (*rec)["domid"].get<uint32_t>());
}

} // namespace xkvm::cli
