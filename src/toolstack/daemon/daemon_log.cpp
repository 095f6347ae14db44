#include "toolstack/daemon/daemon_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace xkvm::toolstack {

Result<std::unique_ptr<DaemonLog>> DaemonLog::create(const std::string& path, uint64_t max_bytes)
{
    auto file = TRY(RotatingFile::create(path, max_bytes));
    int p[2];
    // Both ends non-blocking: the reader is the poll loop, and a writer must never wait for it.
    if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
        return make_unexpected(Error::from_errno("pipe2"));
    UniqueFd rd(p[0]), wr(p[1]);
    (void)::fcntl(wr.get(), F_SETPIPE_SZ, 1 << 20); // room for bursts; the default if refused
    return std::unique_ptr<DaemonLog>(new DaemonLog(std::move(file), std::move(rd), std::move(wr)));
}

Status DaemonLog::redirect_stderr()
{
    // stdout too: nothing should go there, and what does must not reach the file past the cap.
    if (::dup2(m_write.get(), STDERR_FILENO) < 0 || ::dup2(m_write.get(), STDOUT_FILENO) < 0)
        return make_unexpected(Error::from_errno("dup2 stderr"));
    return {};
}

void DaemonLog::drain(size_t budget)
{
    char buf[16384];
    while (budget > 0) {
        ssize_t n = ::read(m_read.get(), buf, std::min(sizeof(buf), budget));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        m_file->write(std::string_view(buf, static_cast<size_t>(n)));
        budget -= static_cast<size_t>(n);
    }
}

} // namespace xkvm::toolstack
