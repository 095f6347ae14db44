#include "memory/physmap.h"

#include <algorithm>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace xkvm::memory {

Result<std::unique_ptr<Physmap>> Physmap::create(uint64_t backing_bytes, const std::string& name)
{
    if (backing_bytes == 0 || !is_page_aligned(backing_bytes))
        return fail(EINVAL, "guest memory size {:#x} is not a non-zero page multiple", backing_bytes);
    UniqueFd fd(::memfd_create(name.c_str(), MFD_CLOEXEC));
    if (!fd)
        return make_unexpected(Error::from_errno("memfd_create"));
    if (::ftruncate(fd.get(), static_cast<off_t>(backing_bytes)) < 0)
        return make_unexpected(Error::from_errno(fmt::format("sizing guest memory to {} MiB", backing_bytes / MiB)));
    void* host = ::mmap(nullptr, backing_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd.get(), 0);
    if (host == MAP_FAILED)
        return make_unexpected(Error::from_errno("mmap guest memory"));
    // Guest memory has no business in a core dump of the VMM.
    ::madvise(host, backing_bytes, MADV_DONTDUMP);
    return std::unique_ptr<Physmap>(new Physmap(std::move(fd), static_cast<uint8_t*>(host), backing_bytes));
}

Physmap::~Physmap()
{
    if (m_host)
        ::munmap(m_host, m_backing_size);
}

long Physmap::find_locked(Gpa gpa) const
{
    auto it = std::upper_bound(m_entries.begin(), m_entries.end(), gpa,
                               [](Gpa g, const Mapping& m) { return g < m.gpa; });
    if (it == m_entries.begin())
        return -1;
    --it;
    return gpa < it->end() ? it - m_entries.begin() : -1;
}

void Physmap::notify_locked(const std::vector<Mapping>& removed, const std::vector<Mapping>& added)
{
    for (auto* l : m_listeners)
        for (const auto& m : removed)
            l->physmap_unmapped(m);
    for (auto* l : m_listeners)
        for (const auto& m : added)
            l->physmap_mapped(m, m_host + m.offset);
    for (auto* l : m_listeners)
        l->physmap_change_done();
}

Status Physmap::map(Gpa gpa, uint64_t size, uint64_t offset, Protection prot)
{
    if (size == 0 || !is_page_aligned(gpa) || !is_page_aligned(size) || !is_page_aligned(offset)
        || range_wraps(gpa, size))
        return fail(EINVAL, "mapping [{:#x}+{:#x}] is not page aligned", gpa, size);
    if (offset > m_backing_size || size > m_backing_size - offset)
        return fail(EINVAL, "mapping offset {:#x}+{:#x} is outside guest memory", offset, size);
    std::unique_lock guard(m_lock);
    auto it = std::lower_bound(m_entries.begin(), m_entries.end(), gpa,
                               [](const Mapping& m, Gpa g) { return m.end() <= g; });
    if (it != m_entries.end() && it->gpa < gpa + size)
        return fail(EEXIST, "guest range [{:#x}+{:#x}] overlaps mapping at {:#x}", gpa, size, it->gpa);
    // A range that continues its neighbours in both guest and backing space joins them: pages put
    // back where they were (after XENMEM_add_to_physmap moved a page away) leave one mapping, not
    // three, so memslots do not run out however often the guest moves a page.
    Mapping m { gpa, size, offset, prot };
    std::vector<Mapping> removed;
    auto joins = [&](const Mapping& low, const Mapping& high) {
        return low.end() == high.gpa && low.offset + low.size == high.offset && low.prot == high.prot;
    };
    if (it != m_entries.end() && joins(m, *it)) {
        removed.push_back(*it);
        m.size += it->size;
        it = m_entries.erase(it);
    }
    if (it != m_entries.begin() && joins(*(it - 1), m)) {
        --it;
        removed.push_back(*it);
        m = Mapping { it->gpa, it->size + m.size, it->offset, prot };
        it = m_entries.erase(it);
    }
    m_entries.insert(it, m);
    notify_locked(removed, { m });
    return {};
}

void Physmap::split_at_locked(Gpa at)
{
    long idx = find_locked(at);
    if (idx < 0 || m_entries[idx].gpa == at)
        return;
    Mapping high = m_entries[idx];
    uint64_t low_size = at - high.gpa;
    m_entries[idx].size = low_size;
    high.gpa = at;
    high.offset += low_size;
    high.size -= low_size;
    m_entries.insert(m_entries.begin() + idx + 1, high);
}

std::vector<Mapping> Physmap::overlapping_locked(Gpa gpa, uint64_t size) const
{
    std::vector<Mapping> out;
    for (const auto& m : m_entries)
        if (m.gpa < gpa + size && m.end() > gpa)
            out.push_back(m);
    return out;
}

template<typename Edit>
Status Physmap::rewrite(Gpa gpa, uint64_t size, Edit&& edit)
{
    if (!is_page_aligned(gpa) || !is_page_aligned(size) || range_wraps(gpa, size))
        return fail(EINVAL, "guest range [{:#x}+{:#x}] is not page aligned", gpa, size);
    std::unique_lock guard(m_lock);
    auto before = overlapping_locked(gpa, size);
    if (before.empty())
        return {};
    // Listeners see the difference over the whole span of the entries touched, so a split entry is
    // reported as one removal and the pieces that remain as additions.
    Gpa span_start = before.front().gpa;
    uint64_t span_size = before.back().end() - span_start;
    split_at_locked(gpa);
    split_at_locked(gpa + size);
    std::erase_if(m_entries, [&](Mapping& m) { return m.gpa >= gpa && m.end() <= gpa + size && !edit(m); });
    auto after = overlapping_locked(span_start, span_size);
    auto contains = [](const std::vector<Mapping>& v, const Mapping& m) { return std::find(v.begin(), v.end(), m) != v.end(); };
    std::vector<Mapping> removed, added;
    for (const auto& m : before)
        if (!contains(after, m))
            removed.push_back(m);
    for (const auto& m : after)
        if (!contains(before, m))
            added.push_back(m);
    notify_locked(removed, added);
    return {};
}

Status Physmap::unmap(Gpa gpa, uint64_t size)
{
    return rewrite(gpa, size, [](Mapping&) { return false; });
}

Status Physmap::protect(Gpa gpa, uint64_t size, Protection prot)
{
    return rewrite(gpa, size, [prot](Mapping& m) {
        m.prot = prot;
        return true;
    });
}

void Physmap::add_listener(PhysmapListener* listener)
{
    std::unique_lock guard(m_lock);
    m_listeners.push_back(listener);
    for (const auto& m : m_entries)
        listener->physmap_mapped(m, m_host + m.offset);
    listener->physmap_change_done();
}

void Physmap::remove_listener(PhysmapListener* listener)
{
    std::unique_lock guard(m_lock);
    std::erase(m_listeners, listener);
}

std::vector<Mapping> Physmap::mappings() const
{
    std::shared_lock guard(m_lock);
    return m_entries;
}

bool Physmap::is_mapped(Gpa gpa) const
{
    std::shared_lock guard(m_lock);
    return find_locked(gpa) >= 0;
}

std::vector<Mapping> Physmap::mapped_in(Gpa gpa, uint64_t size) const
{
    std::shared_lock guard(m_lock);
    std::vector<Mapping> out = overlapping_locked(gpa, size);
    for (auto& m : out) {
        Gpa lo = std::max(m.gpa, gpa), hi = std::min(m.end(), gpa + size);
        m.offset += lo - m.gpa;
        m.gpa = lo;
        m.size = hi - lo;
    }
    return out;
}

Status Physmap::discard(uint64_t offset, uint64_t size)
{
    if (!is_page_aligned(offset) || !is_page_aligned(size) || offset > m_backing_size
        || size > m_backing_size - offset)
        return fail(EINVAL, "discard [{:#x}+{:#x}] is not page aligned inside guest memory", offset, size);
    if (size && ::fallocate(m_memfd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                            static_cast<off_t>(size)) < 0)
        return make_unexpected(Error::from_errno("punching a hole in guest memory"));
    return {};
}

template<typename Fn>
Status Physmap::for_each_chunk(Gpa gpa, uint64_t len, bool for_write, Fn&& fn) const
{
    if (range_wraps(gpa, len))
        return fail(EFAULT, "guest range {:#x}+{:#x} wraps", gpa, len);
    std::shared_lock guard(m_lock);
    uint64_t done = 0;
    while (done < len) {
        long idx = find_locked(gpa + done);
        if (idx < 0)
            return fail(EFAULT, "guest address {:#x} is not mapped", gpa + done);
        const Mapping& m = m_entries[idx];
        if (for_write && m.prot == Protection::ReadOnly)
            return fail(EFAULT, "guest address {:#x} is read-only", gpa + done);
        uint64_t in_entry = gpa + done - m.gpa;
        uint64_t chunk = std::min(len - done, m.size - in_entry);
        fn(m_host + m.offset + in_entry, done, chunk);
        done += chunk;
    }
    return {};
}

Result<uint8_t*> Physmap::host_range(Gpa gpa, uint64_t len, bool for_write) const
{
    uint8_t* start = nullptr;
    bool contiguous = true;
    TRY(for_each_chunk(gpa, len == 0 ? 1 : len, for_write, [&](uint8_t* host, uint64_t done, uint64_t) {
        if (done == 0)
            start = host;
        else if (host != start + done)
            contiguous = false;
    }));
    if (!contiguous)
        return fail(EFAULT, "guest range {:#x}+{:#x} is not contiguous", gpa, len);
    return start;
}

Status Physmap::read(Gpa gpa, std::span<uint8_t> out) const
{
    return for_each_chunk(gpa, out.size(), false, [&](uint8_t* host, uint64_t done, uint64_t n) {
        std::memcpy(out.data() + done, host, n);
    });
}

Status Physmap::write(Gpa gpa, std::span<const uint8_t> in)
{
    return for_each_chunk(gpa, in.size(), true, [&](uint8_t* host, uint64_t done, uint64_t n) {
        std::memcpy(host, in.data() + done, n);
    });
}

Status Physmap::fill(Gpa gpa, uint8_t byte, uint64_t len)
{
    return for_each_chunk(gpa, len, true, [&](uint8_t* host, uint64_t, uint64_t n) { std::memset(host, byte, n); });
}

} // namespace xkvm::memory
