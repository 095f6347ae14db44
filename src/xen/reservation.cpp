#include "xen/reservation.h"

#include <algorithm>

#include "base/log.h"
#include "xen/xen_errno.h"

namespace xkvm::xen {

namespace {

constexpr uint64_t kPage = memory::kPageSize;
// Guest frames the DMA space can map (48-bit addresses); above it no extent is populated.
constexpr uint64_t kGfnLimit = 1ull << 36;

bool extent_in_range(uint64_t gfn, unsigned order) { return gfn < kGfnLimit && (1ull << order) <= kGfnLimit - gfn; }

} // namespace

Reservation::Reservation(memory::Physmap& physmap, const ReservationSetup& setup)
    : m_physmap(physmap), m_ram_backing(setup.ram_backing), m_max_order(setup.max_extent_order),
      m_current(setup.current_pages), m_max(setup.max_pages)
{
    // RAM backing that no guest frame maps yet is free for populate_physmap.
    auto maps = physmap.mappings();
    for (const auto& run : m_ram_backing) {
        uint64_t at = run.offset, end = run.offset + run.size;
        std::vector<std::pair<uint64_t, uint64_t>> used;
        for (const auto& m : maps)
            if (m.offset < end && m.offset + m.size > at)
                used.emplace_back(std::max(m.offset, at), std::min(m.offset + m.size, end));
        std::sort(used.begin(), used.end());
        for (auto [lo, hi] : used) {
            if (lo > at)
                (void)m_pool.release(at, lo - at);
            at = std::max(at, hi);
        }
        if (at < end)
            (void)m_pool.release(at, end - at);
    }
}

uint64_t Reservation::current_pages() const
{
    std::lock_guard guard(m_lock);
    return m_current;
}

uint64_t Reservation::max_pages() const
{
    std::lock_guard guard(m_lock);
    return m_max;
}

void Reservation::set_max_pages(uint64_t pages)
{
    std::lock_guard guard(m_lock);
    m_max = pages;
}

uint64_t Reservation::pool_pages() const
{
    std::lock_guard guard(m_lock);
    return m_pool.free_bytes() / kPage;
}

bool Reservation::is_ram_backing(uint64_t offset, uint64_t size) const
{
    return std::any_of(m_ram_backing.begin(), m_ram_backing.end(), [&](const memory::BackingRun& r) {
        return offset >= r.offset && offset + size <= r.offset + r.size;
    });
}

bool Reservation::increase(unsigned order)
{
    // A translated guest gets pages it cannot reach until it populates frames: only the count moves.
    std::lock_guard guard(m_lock);
    if (order > m_max_order || m_current + (1ull << order) > m_max)
        return false;
    m_current += 1ull << order;
    return true;
}

bool Reservation::populate(uint64_t gfn, unsigned order)
{
    std::lock_guard guard(m_lock);
    uint64_t pages = 1ull << order;
    if (order > m_max_order || !extent_in_range(gfn, order) || m_current + pages > m_max)
        return false;
    if (!m_physmap.mapped_in(gfn * kPage, pages * kPage).empty())
        return false; // already populated, wholly or in part
    auto runs = m_pool.take(pages * kPage, std::min<uint64_t>(pages * kPage, memory::GiB));
    if (!runs)
        return false;
    uint64_t gpa = gfn * kPage;
    for (size_t i = 0; i < runs->size(); ++i) {
        const auto& r = (*runs)[i];
        if (auto st = m_physmap.map(gpa, r.size, r.offset); !st) {
            log::get("xen")->error("populating gfn {:#x}: {}", gfn, st.error().message);
            (void)m_physmap.unmap(gfn * kPage, gpa - gfn * kPage);
            for (const auto& back : *runs)
                (void)m_pool.release(back.offset, back.size);
            return false;
        }
        gpa += r.size;
    }
    m_current += pages;
    return true;
}

std::vector<memory::Mapping> Reservation::removable_prefix(uint64_t gfn, uint64_t pages) const
{
    std::vector<memory::Mapping> prefix;
    uint64_t next = gfn * kPage;
    for (const auto& m : m_physmap.mapped_in(gfn * kPage, pages * kPage)) {
        if (m.gpa != next || m.prot != memory::Protection::ReadWrite)
            break;
        // Page by page, as far as the RAM backing goes.
        uint64_t ok = 0;
        while (ok < m.size && is_ram_backing(m.offset + ok, kPage))
            ok += kPage;
        if (ok)
            prefix.push_back({ m.gpa, ok, m.offset, m.prot });
        if (ok < m.size)
            break;
        next = m.end();
    }
    return prefix;
}

bool Reservation::decrease(uint64_t gfn, unsigned order)
{
    std::lock_guard guard(m_lock);
    uint64_t pages = 1ull << order;
    if (order > m_max_order || !extent_in_range(gfn, order))
        return false;
    auto prefix = removable_prefix(gfn, pages);
    uint64_t removed = 0;
    for (const auto& m : prefix)
        removed += m.size;
    if (removed && !m_physmap.unmap(gfn * kPage, removed))
        return false;
    for (const auto& m : prefix) {
        if (auto st = m_physmap.discard(m.offset, m.size); !st)
            log::get("xen")->warn("balloon: {}", st.error().message); // the pages stay allocated, still free for reuse
        (void)m_pool.release(m.offset, m.size);
    }
    m_current -= std::min(m_current, removed / kPage);
    return removed == pages * kPage;
}

Status Reservation::drop_page_locked(const memory::Mapping& page)
{
    TRY(m_physmap.unmap(page.gpa, kPage));
    if (is_ram_backing(page.offset, kPage)) {
        (void)m_physmap.discard(page.offset, kPage);
        (void)m_pool.release(page.offset, kPage);
    }
    return {};
}

Status Reservation::move_frame(uint64_t from, uint64_t to)
{
    if (from >= kGfnLimit || to >= kGfnLimit)
        return xen_fail(XEN_EINVAL, "gfn {:#x} or {:#x} out of range", from, to);
    std::lock_guard guard(m_lock);
    auto src = m_physmap.mapped_in(from * kPage, kPage);
    if (src.empty() || src[0].prot != memory::Protection::ReadWrite || !is_ram_backing(src[0].offset, kPage))
        return xen_fail(XEN_EINVAL, "gfn {:#x} is not populated RAM", from);
    if (from == to)
        return {};
    auto dst = m_physmap.mapped_in(to * kPage, kPage);
    if (!dst.empty()) {
        if (!is_ram_backing(dst[0].offset, kPage))
            return xen_fail(XEN_EINVAL, "gfn {:#x} holds a frame that is not RAM", to);
        TRY(drop_page_locked(dst[0])); // the page there is freed, as Xen frees it
        m_current -= std::min<uint64_t>(m_current, 1);
    }
    TRY(m_physmap.unmap(from * kPage, kPage));
    return m_physmap.map(to * kPage, kPage, src[0].offset);
}

Status Reservation::remove_frame(uint64_t gfn)
{
    if (gfn >= kGfnLimit)
        return xen_fail(XEN_ENOENT, "gfn {:#x} out of range", gfn);
    std::lock_guard guard(m_lock);
    auto page = m_physmap.mapped_in(gfn * kPage, kPage);
    if (page.empty())
        return xen_fail(XEN_ENOENT, "nothing at gfn {:#x}", gfn);
    return drop_page_locked(page[0]);
}

} // namespace xkvm::xen
