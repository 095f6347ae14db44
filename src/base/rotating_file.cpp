#include "base/rotating_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include <fmt/format.h>

namespace xkvm {

Result<UniqueFd> open_log_file(const std::string& path, unsigned mode)
{
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, mode));
    if (!fd)
        return make_unexpected(Error::from_errno(fmt::format("open {}", path)));
    struct stat st;
    if (::fstat(fd.get(), &st) < 0)
        return make_unexpected(Error::from_errno(fmt::format("stat {}", path)));
    if (!S_ISREG(st.st_mode))
        return fail(EINVAL, "{} is not a regular file", path);
    return fd;
}

Result<std::unique_ptr<RotatingFile>> RotatingFile::create(std::string path, uint64_t max_bytes)
{
    if (max_bytes == 0)
        return fail(EINVAL, "log {}: a cap of 0 bytes", path);
    auto fd = TRY(open_log_file(path));
    struct stat st;
    if (::fstat(fd.get(), &st) < 0)
        return make_unexpected(Error::from_errno(fmt::format("stat {}", path)));
    auto f = std::unique_ptr<RotatingFile>(new RotatingFile(std::move(path), max_bytes, std::move(fd),
                                                            static_cast<uint64_t>(st.st_size)));
    if (f->m_size >= max_bytes) {
        std::lock_guard guard(f->m_lock);
        f->rotate_locked();
    }
    return f;
}

void RotatingFile::rotate_locked()
{
    // rename() replaces the old generation and never follows a symlink at either name.
    std::string old = m_path + ".1";
    (void)::rename(m_path.c_str(), old.c_str());
    auto fd = open_log_file(m_path);
    m_fd = fd ? fd.release_value() : UniqueFd();
    m_size = 0;
    ++m_rotations;
}

void RotatingFile::write(std::string_view bytes)
{
    std::lock_guard guard(m_lock);
    if (bytes.size() > m_max)
        bytes.remove_prefix(bytes.size() - m_max);
    if (m_size + bytes.size() > m_max)
        rotate_locked();
    while (!bytes.empty() && m_fd) {
        ssize_t n = ::write(m_fd.get(), bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        m_size += static_cast<uint64_t>(n);
        bytes.remove_prefix(static_cast<size_t>(n));
    }
}

uint64_t RotatingFile::size() const
{
    std::lock_guard guard(m_lock);
    return m_size;
}

uint64_t RotatingFile::rotations() const
{
    std::lock_guard guard(m_lock);
    return m_rotations;
}

} // namespace xkvm
