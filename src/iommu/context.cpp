#include "iommu/context.h"

#include <cerrno>
#include <cstring>

namespace xkvm::iommu {

namespace {

thread_local unsigned t_no_flush_depth = 0;

bool is_pow2(uint64_t v) { return v && (v & (v - 1)) == 0; }

} // namespace

ScopedNoFlush::ScopedNoFlush() { ++t_no_flush_depth; }
ScopedNoFlush::~ScopedNoFlush() { --t_no_flush_depth; }
bool ScopedNoFlush::active() { return t_no_flush_depth != 0; }

const char* flush_kind_name(FlushKind k)
{
    switch (k) {
    case FlushKind::None: return "none";
    case FlushKind::Added: return "added";
    case FlushKind::Modified: return "modified";
    }
    return "?";
}

const char* dma_fault_name(DmaFault f)
{
    switch (f) {
    case DmaFault::None: return "none";
    case DmaFault::NotPresent: return "not present";
    case DmaFault::NotReadable: return "not readable";
    case DmaFault::NotWritable: return "not writable";
    case DmaFault::OutOfRange: return "out of range";
    case DmaFault::BadFrame: return "bad frame";
    }
    return "?";
}

Status check_unmap_args(Dfn dfn, unsigned order)
{
    if (order > kMaxOrder)
        return fail(EINVAL, "order {} is larger than {}", order, kMaxOrder);
    if (dfn & ((1ull << order) - 1))
        return fail(EINVAL, "dfn {:#x} is not aligned to order {}", dfn, order);
    if ((dfn >> kDfnBits) || ((dfn + (1ull << order) - 1) >> kDfnBits))
        return fail(ERANGE, "dfn {:#x} order {} is beyond {} bits", dfn, order, kDfnBits);
    return {};
}

Status check_map_args(Dfn dfn, Mfn mfn, unsigned order, unsigned perms)
{
    TRY(check_unmap_args(dfn, order));
    if (!perms || (perms & ~unsigned(kReadWrite)))
        return fail(EINVAL, "permissions {:#x} are not read and/or write", perms);
    if (mfn & ((1ull << order) - 1))
        return fail(EINVAL, "mfn {:#x} is not aligned to order {}", mfn, order);
    if ((mfn >> kMfnBits) || ((mfn + (1ull << order) - 1) >> kMfnBits))
        return fail(ERANGE, "mfn {:#x} order {} is beyond {} bits", mfn, order, kMfnBits);
    return {};
}

Result<std::unique_ptr<Context>> Context::create(const ContextOptions& opts)
{
    if (opts.memory.size() % kPageSize)
        return fail(EINVAL, "DMA memory of {} bytes is not a page multiple", opts.memory.size());
    return std::unique_ptr<Context>(new Context(opts));
}

unsigned Context::piece_order(Dfn dfn, std::optional<Mfn> mfn, uint64_t left) const
{
    if (m_opts.superpages)
        for (unsigned order : kSuperpageOrders) {
            uint64_t mask = (1ull << order) - 1;
            if (!(dfn & mask) && !(mfn.value_or(0) & mask) && left > mask)
                return order;
        }
    return 0;
}

Status Context::map(Dfn dfn, Mfn mfn, unsigned order, unsigned perms)
{
    TRY(check_map_args(dfn, mfn, order, perms));
    std::lock_guard guard(m_lock);
    ++m_stats.operations;
    uint64_t pages = 1ull << order;
    FlushKind kind = FlushKind::None;
    for (uint64_t done = 0; done < pages;) {
        unsigned o = piece_order(dfn + done, mfn + done, pages - done);
        auto r = m_tables.set_leaf(dfn + done, mfn + done, o, perms, m_opts.superpages);
        if (!r) {
            // Undo this call's entries, then flush everything: no stale or half-made mapping stays.
            FlushKind ignored = FlushKind::None;
            (void)clear_range_locked(dfn, done, ignored);
            flush_all_locked();
            return fail(r.error().code, "map dfn {:#x} order {} failed after {} pages: {}", dfn, order, done,
                        r.error().message);
        }
        after_entry_locked(dfn + done, o);
        kind = combine(kind, *r);
        done += 1ull << o;
    }
    after_operation_locked(dfn, pages, kind);
    return {};
}

Status Context::clear_range_locked(Dfn dfn, uint64_t pages, FlushKind& kind)
{
    for (uint64_t done = 0; done < pages;) {
        unsigned o = piece_order(dfn + done, std::nullopt, pages - done);
        kind = combine(kind, TRY(m_tables.clear(dfn + done, o)));
        after_entry_locked(dfn + done, o);
        done += 1ull << o;
    }
    return {};
}

Status Context::unmap(Dfn dfn, unsigned order)
{
    TRY(check_unmap_args(dfn, order));
    std::lock_guard guard(m_lock);
    ++m_stats.operations;
    FlushKind kind = FlushKind::None;
    if (auto st = clear_range_locked(dfn, 1ull << order, kind); !st) {
        flush_all_locked(); // some pages went: make sure no cached translation of them survives
        return st;
    }
    after_operation_locked(dfn, 1ull << order, kind);
    return {};
}

void Context::after_entry_locked(Dfn dfn, unsigned order)
{
    if (m_opts.policy == FlushPolicy::EveryPage)
        flush_locked(dfn, 1ull << order, FlushKind::Modified);
}

void Context::after_operation_locked(Dfn dfn, uint64_t pages, FlushKind kind)
{
    if (m_opts.policy == FlushPolicy::EveryPage)
        return;
    if (ScopedNoFlush::active()) {
        m_stats.suppressed += kind != FlushKind::None;
        return;
    }
    flush_locked(dfn, pages, kind);
}

void Context::flush(Dfn dfn, uint64_t count, FlushKind kind)
{
    std::lock_guard guard(m_lock);
    flush_locked(dfn, count, kind);
}

void Context::flush_locked(Dfn dfn, uint64_t count, FlushKind kind)
{
    FlushRecord rec { dfn, count, kind, FlushScope::Elided };
    if (kind == FlushKind::None) {
        ++m_stats.elided_none;
    } else if (kind == FlushKind::Added && !m_opts.caching_mode) {
        ++m_stats.elided_added;
    } else if (is_pow2(count) && !(dfn & (count - 1)) && !((dfn + count - 1) >> kDfnBits)) {
        m_iotlb.invalidate_range(dfn, count);
        ++m_stats.page_selective;
        rec.scope = FlushScope::PageSelective;
    } else {
        m_iotlb.invalidate_all();
        ++m_stats.domain_wide;
        rec.scope = FlushScope::DomainWide;
    }
    m_last_flush = rec;
}

void Context::flush_all_locked()
{
    m_iotlb.invalidate_all();
    ++m_stats.domain_wide;
    m_last_flush = FlushRecord { 0, 1ull << kDfnBits, FlushKind::Modified, FlushScope::DomainWide };
}

Status Context::flush_all()
{
    std::lock_guard guard(m_lock);
    flush_all_locked();
    return {};
}

std::optional<Translation> Context::lookup(Dfn dfn) const
{
    std::lock_guard guard(m_lock);
    return m_tables.lookup(dfn);
}

std::optional<Translation> Context::translate_locked(Dfn dfn)
{
    if (auto hit = m_iotlb.find(dfn))
        return hit->t;
    auto t = m_tables.lookup(dfn);
    if (t)
        m_iotlb.insert(*t);
    else if (m_opts.caching_mode)
        m_iotlb.insert_not_present(dfn);
    return t;
}

DmaStatus Context::fault_locked(DmaFault f, uint64_t address)
{
    ++m_stats.dma_faults;
    return DmaStatus { f, address };
}

DmaStatus Context::dma(uint64_t address, uint8_t* buf, size_t len, bool write)
{
    std::lock_guard guard(m_lock);
    if (len == 0)
        return {};
    uint64_t last = address + len - 1;
    if (last < address || (last >> (kDfnBits + kPageShift)))
        return fault_locked(DmaFault::OutOfRange, address);
    while (len) {
        auto t = translate_locked(address >> kPageShift);
        if (!t)
            return fault_locked(DmaFault::NotPresent, address);
        if (!(t->perms & (write ? kWrite : kRead)))
            return fault_locked(write ? DmaFault::NotWritable : DmaFault::NotReadable, address);
        uint64_t in_page = address & (kPageSize - 1);
        size_t chunk = std::min<uint64_t>(len, kPageSize - in_page);
        Mfn mfn = t->mfn_of(address >> kPageShift);
        if (mfn >= m_opts.memory.size() / kPageSize)
            return fault_locked(DmaFault::BadFrame, address);
        uint8_t* host = m_opts.memory.data() + (mfn << kPageShift) + in_page;
        write ? std::memcpy(host, buf, chunk) : std::memcpy(buf, host, chunk);
        address += chunk, buf += chunk, len -= chunk;
    }
    return {};
}

DmaStatus Context::dma_read(uint64_t address, std::span<uint8_t> out)
{
    return dma(address, out.data(), out.size(), false);
}

DmaStatus Context::dma_write(uint64_t address, std::span<const uint8_t> in)
{
    return dma(address, const_cast<uint8_t*>(in.data()), in.size(), true);
}

void Context::set_caching_mode(bool on)
{
    std::lock_guard guard(m_lock);
    m_iotlb.invalidate_all();
    m_opts.caching_mode = on;
}

bool Context::caching_mode() const
{
    std::lock_guard guard(m_lock);
    return m_opts.caching_mode;
}

void Context::set_flush_policy(FlushPolicy policy)
{
    std::lock_guard guard(m_lock);
    m_opts.policy = policy;
}

void Context::for_each_leaf(const std::function<void(const Translation&)>& fn, Dfn first, uint64_t count) const
{
    std::lock_guard guard(m_lock);
    m_tables.for_each_leaf(fn, first, count);
}

size_t Context::audit_iotlb() const
{
    std::lock_guard guard(m_lock);
    return m_iotlb.audit(m_tables);
}

FlushStats Context::stats() const
{
    std::lock_guard guard(m_lock);
    return m_stats;
}

IotlbStats Context::iotlb_stats() const
{
    std::lock_guard guard(m_lock);
    return m_iotlb.stats();
}

std::optional<FlushRecord> Context::last_flush() const
{
    std::lock_guard guard(m_lock);
    return m_last_flush;
}

size_t Context::table_count() const
{
    std::lock_guard guard(m_lock);
    return m_tables.table_count();
}

void Context::set_table_limit(size_t limit)
{
    std::lock_guard guard(m_lock);
    m_tables.set_table_limit(limit);
}

} // namespace xkvm::iommu
