#include "hv/introspection.h"

namespace xkvm::hv {

Status check_page_access_request(const memory::Physmap* physmap, memory::Gpa gpa, uint64_t size, uint8_t allowed)
{
    constexpr uint64_t kGpaLimit = 1ull << 52;
    if (allowed & ~kAccessAll)
        return fail(EINVAL, "page access {:#x} has bits beyond read, write and execute", allowed);
    if ((gpa | size) & (memory::kPageSize - 1) || size == 0 || gpa >= kGpaLimit || size > kGpaLimit - gpa)
        return fail(EINVAL, "page access range {:#x}+{:#x} is not a page-aligned guest-physical range", gpa, size);
    if (!physmap)
        return fail(EINVAL, "page access limits need guest memory");
    // Only RAM can be limited: the range must be mapped throughout.
    uint64_t covered = gpa;
    for (const memory::Mapping& m : physmap->mapped_in(gpa, size)) {
        if (m.gpa > covered)
            break;
        covered = std::max(covered, m.end());
    }
    if (covered < gpa + size)
        return fail(EINVAL, "page access range {:#x}+{:#x}: {:#x} is not guest RAM", gpa, size, covered);
    return {};
}

} // namespace xkvm::hv
