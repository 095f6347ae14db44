#include "base/rotating_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <utility>

#include <fmt/format.h>

namespace xkvm {

namespace {

// The directory part of `path` ("." for none) and the name in it.
std::pair<std::string, std::string> split_path(const std::string& path)
{
    auto slash = path.rfind('/');
    if (slash == std::string::npos)
        return { ".", path };
    return { slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1) };
}

Result<UniqueFd> open_log_file_at(int dir, const std::string& name, const std::string& path, unsigned mode)
{
    UniqueFd fd(::openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, mode));
    if (!fd)
        return make_unexpected(Error::from_errno(fmt::format("open {}", path)));
    struct stat st;
    if (::fstat(fd.get(), &st) < 0)
        return make_unexpected(Error::from_errno(fmt::format("stat {}", path)));
    if (!S_ISREG(st.st_mode))
        return fail(EINVAL, "{} is not a regular file", path);
    return fd;
}

} // namespace

Result<UniqueFd> open_log_file(const std::string& path, unsigned mode)
{
    return open_log_file_at(AT_FDCWD, path, path, mode);
}

Result<std::unique_ptr<RotatingFile>> RotatingFile::create(std::string path, uint64_t max_bytes)
{
    if (max_bytes == 0)
        return fail(EINVAL, "log {}: a cap of 0 bytes", path);
    auto [dir_path, name] = split_path(path);
    // Rotation works in this directory from now on, even where its path can no longer be walked
    // (a sandboxed VMM that left root, src/sandbox/).
    UniqueFd dir(::open(dir_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir)
        return make_unexpected(Error::from_errno(fmt::format("open {}", dir_path)));
    auto fd = TRY(open_log_file_at(dir.get(), name, path, 0640));
    struct stat st;
    if (::fstat(fd.get(), &st) < 0)
        return make_unexpected(Error::from_errno(fmt::format("stat {}", path)));
    auto f = std::unique_ptr<RotatingFile>(new RotatingFile(std::move(path), std::move(dir), std::move(name), max_bytes,
                                                            std::move(fd), static_cast<uint64_t>(st.st_size)));
    if (f->m_size >= max_bytes) {
        std::lock_guard guard(f->m_lock);
        f->rotate_locked();
    }
    return f;
}

void RotatingFile::rotate_locked()
{
    // rename() replaces the old generation and never follows a symlink at either name.
    std::string old = m_name + ".1";
    (void)::renameat(m_dir.get(), m_name.c_str(), m_dir.get(), old.c_str());
    auto fd = open_log_file_at(m_dir.get(), m_name, m_path, 0640);
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
