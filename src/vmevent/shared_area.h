// Memory a VMM shares with its monitor: a sealed memfd mapped on both sides. The VMM creates it
// and seals its size, so a monitor cannot shrink the file under our mapping (an access past the
// end would be SIGBUS in the VMM); the monitor maps what it received only if it carries that seal.
#pragma once

#include <cstddef>
#include <span>

#include "base/result.h"
#include "base/unique_fd.h"

namespace xkvm::vmevent {

class SharedArea {
public:
    // A zeroed area of `bytes` (a multiple of the page size), sealed against resizing.
    static Result<SharedArea> create(const char* name, size_t bytes);
    // Maps an area received from a VMM: it must be sealed against shrinking and at least `bytes` long.
    static Result<SharedArea> map(UniqueFd fd, size_t bytes);

    SharedArea(SharedArea&& o) noexcept;
    SharedArea& operator=(SharedArea&& o) noexcept;
    SharedArea(const SharedArea&) = delete;
    SharedArea& operator=(const SharedArea&) = delete;
    ~SharedArea();

    std::span<std::byte> bytes() const { return { m_base, m_size }; }
    int fd() const { return m_fd.get(); }
    Result<UniqueFd> dup_fd() const;

private:
    SharedArea(UniqueFd fd, std::byte* base, size_t size) : m_fd(std::move(fd)), m_base(base), m_size(size) { }
    void unmap();

    UniqueFd m_fd;
    std::byte* m_base = nullptr;
    size_t m_size = 0;
};

inline constexpr size_t kPageSize = 4096;

} // namespace xkvm::vmevent
