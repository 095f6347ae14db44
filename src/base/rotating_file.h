// An append-only log file with a size cap: when a write would take it past `max_bytes`, the file
// becomes `<path>.1` (replacing the previous one) and a fresh one starts, so the two together never
// exceed twice the cap. For logs that a guest or a VMM can fill (console.log, xkvmd.log).
// Opened with O_NOFOLLOW: a symlink planted at the path is refused, never followed. Rotation works
// relative to the directory the file was created in.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/unique_fd.h"

namespace xkvm {

class RotatingFile {
public:
    static constexpr uint64_t kDefaultMaxBytes = 8u << 20;

    static Result<std::unique_ptr<RotatingFile>> create(std::string path, uint64_t max_bytes = kDefaultMaxBytes);

    // Appends all of `bytes` (a single write larger than the cap keeps only its last max_bytes).
    // Errors are counted, not returned: a log must never stop its writer.
    void write(std::string_view bytes);

    const std::string& path() const { return m_path; }
    uint64_t size() const;
    uint64_t rotations() const;

private:
    RotatingFile(std::string path, UniqueFd dir, std::string name, uint64_t max_bytes, UniqueFd fd, uint64_t size)
        : m_path(std::move(path)), m_dir(std::move(dir)), m_name(std::move(name)), m_max(max_bytes), m_fd(std::move(fd)),
          m_size(size) { }
    void rotate_locked();

    const std::string m_path;
    const UniqueFd m_dir; // the directory it was created in: rotation renames and reopens there
    const std::string m_name;
    const uint64_t m_max;
    mutable std::mutex m_lock;
    UniqueFd m_fd;
    uint64_t m_size = 0;
    uint64_t m_rotations = 0;
};

// Opens `path` for appending, creating it with `mode`; refuses a symlink (ELOOP) or anything but a
// regular file (without blocking on a FIFO). Close-on-exec.
Result<UniqueFd> open_log_file(const std::string& path, unsigned mode = 0640);

} // namespace xkvm
