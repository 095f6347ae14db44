#include "loader/boot_file.h"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace xkvm::loader {

Result<BootFile> BootFile::open(std::string role, std::string path, uint64_t max_bytes)
{
    if (path.empty())
        return fail(EINVAL, "no {} file given", role);
    std::string label = fmt::format("{} {}", role, path);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd) {
        if (errno == ENOENT)
            return fail(ENOENT, "{}: file not found", label);
        return make_unexpected(Error::from_errno(label));
    }
    struct stat st;
    if (::fstat(fd.get(), &st) < 0)
        return make_unexpected(Error::from_errno(label));
    if (!S_ISREG(st.st_mode))
        return fail(EINVAL, "{}: not a regular file", label);
    if (st.st_size == 0)
        return fail(EINVAL, "{}: file is empty", label);
    uint64_t size = static_cast<uint64_t>(st.st_size);
    if (size > max_bytes)
        return fail(EFBIG, "{}: file is {} MiB, larger than the {} MiB limit", label, size >> 20, max_bytes >> 20);
    return BootFile(std::move(fd), size, std::move(label));
}

Status BootFile::read_at(uint64_t offset, std::span<uint8_t> out) const
{
    size_t done = 0;
    while (done < out.size()) {
        ssize_t n = ::pread(m_fd.get(), out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return make_unexpected(Error::from_errno(fmt::format("{}: read", m_label)));
        if (n == 0)
            return fail(EIO, "{}: file shrank while it was being read", m_label);
        done += static_cast<size_t>(n);
    }
    return {};
}

Result<std::vector<uint8_t>> BootFile::read_all() const
{
    std::vector<uint8_t> bytes(m_size);
    TRY(read_at(0, bytes));
    return bytes;
}

Status BootFile::copy_to_guest(memory::Physmap& physmap, memory::Gpa gpa) const
{
    constexpr uint64_t kChunk = 1 * memory::MiB;
    std::vector<uint8_t> buf(std::min(kChunk, m_size));
    for (uint64_t done = 0; done < m_size;) {
        std::span<uint8_t> chunk(buf.data(), std::min(kChunk, m_size - done));
        TRY(read_at(done, chunk));
        auto st = physmap.write(gpa + done, chunk);
        if (!st)
            return fail(st.error().code, "{}: writing guest memory at {:#x}: {}", m_label, gpa + done,
                        st.error().message);
        done += chunk.size();
    }
    return {};
}

} // namespace xkvm::loader
