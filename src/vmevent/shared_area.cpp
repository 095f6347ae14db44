#include "vmevent/shared_area.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <utility>

namespace xkvm::vmevent {

namespace {

Result<std::byte*> map_shared(int fd, size_t bytes)
{
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return make_unexpected(Error::from_errno("mmap of a vm_event area"));
    return static_cast<std::byte*>(p);
}

} // namespace

Result<SharedArea> SharedArea::create(const char* name, size_t bytes)
{
    if (bytes == 0 || bytes % kPageSize)
        return fail(EINVAL, "a vm_event area of {} bytes is not whole pages", bytes);
    UniqueFd fd(::memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!fd)
        return make_unexpected(Error::from_errno("memfd_create"));
    if (::ftruncate(fd.get(), static_cast<off_t>(bytes)) < 0)
        return make_unexpected(Error::from_errno("ftruncate of a vm_event area"));
    if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
        return make_unexpected(Error::from_errno("sealing a vm_event area"));
    std::byte* base = TRY(map_shared(fd.get(), bytes));
    return SharedArea(std::move(fd), base, bytes);
}

Result<SharedArea> SharedArea::map(UniqueFd fd, size_t bytes)
{
    int seals = ::fcntl(fd.get(), F_GET_SEALS);
    if (seals < 0 || !(seals & F_SEAL_SHRINK))
        return fail(EPROTO, "a vm_event area must be a memfd sealed against shrinking");
    struct stat st {};
    if (::fstat(fd.get(), &st) < 0)
        return make_unexpected(Error::from_errno("fstat of a vm_event area"));
    if (bytes == 0 || static_cast<size_t>(st.st_size) < bytes)
        return fail(EPROTO, "a vm_event area of {} bytes where {} were announced", st.st_size, bytes);
    std::byte* base = TRY(map_shared(fd.get(), bytes));
    return SharedArea(std::move(fd), base, bytes);
}

SharedArea::SharedArea(SharedArea&& o) noexcept
    : m_fd(std::move(o.m_fd)), m_base(std::exchange(o.m_base, nullptr)), m_size(std::exchange(o.m_size, 0))
{
}

SharedArea& SharedArea::operator=(SharedArea&& o) noexcept
{
    if (this != &o) {
        unmap();
        m_fd = std::move(o.m_fd);
        m_base = std::exchange(o.m_base, nullptr);
        m_size = std::exchange(o.m_size, 0);
    }
    return *this;
}

SharedArea::~SharedArea()
{
    unmap();
}

void SharedArea::unmap()
{
    if (m_base)
        ::munmap(m_base, m_size);
    m_base = nullptr;
}

Result<UniqueFd> SharedArea::dup_fd() const
{
    UniqueFd fd(::fcntl(m_fd.get(), F_DUPFD_CLOEXEC, 0));
    if (!fd)
        return make_unexpected(Error::from_errno("dup of a vm_event area"));
    return fd;
}

} // namespace xkvm::vmevent
