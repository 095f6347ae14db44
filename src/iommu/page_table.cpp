#include "iommu/page_table.h"

#include <algorithm>
#include <cerrno>

namespace xkvm::iommu {

namespace {

// An entry: permission bits (present when any is set), a leaf bit, and a frame number or table index.
constexpr uint64_t kPermMask = kReadWrite;
constexpr uint64_t kLeafBit = 1ull << 7;
constexpr unsigned kAddrShift = 12;

bool present(uint64_t e) { return (e & kPermMask) != 0; }
bool is_leaf(uint64_t e) { return (e & kLeafBit) != 0; }
uint64_t addr(uint64_t e) { return e >> kAddrShift; }
unsigned perms(uint64_t e) { return static_cast<unsigned>(e & kPermMask); }
uint64_t make_leaf(Mfn mfn, unsigned p) { return (mfn << kAddrShift) | kLeafBit | (p & kPermMask); }
uint64_t make_dir(uint32_t index) { return (uint64_t(index) << kAddrShift) | kPermMask; }

// The order of a leaf stored in a table at `level` (level 1 holds 4 KiB leaves).
unsigned leaf_order(unsigned level) { return kLevelBits * (level - 1); }
unsigned index_at(Dfn dfn, unsigned level) { return (dfn >> leaf_order(level)) & 511; }
bool valid_leaf_order(unsigned order) { return order == 0 || order == 9 || order == 18; }

} // namespace

IoPageTable::IoPageTable() { m_tables.push_back(std::make_unique<Table>()); }

Result<uint32_t> IoPageTable::alloc_table()
{
    if (table_count() >= m_table_limit)
        return fail(ENOMEM, "I/O page table limit ({} tables) reached", m_table_limit);
    if (!m_free.empty()) {
        uint32_t index = m_free.back();
        m_free.pop_back();
        *m_tables[index] = Table {};
        return index;
    }
    m_tables.push_back(std::make_unique<Table>());
    return static_cast<uint32_t>(m_tables.size() - 1);
}

void IoPageTable::free_subtree(uint32_t index, unsigned level)
{
    if (level > 1)
        for (uint64_t e : table(index).e)
            if (present(e) && !is_leaf(e))
                free_subtree(static_cast<uint32_t>(addr(e)), level - 1);
    m_free.push_back(index);
}

Status IoPageTable::split(uint64_t& entry, unsigned level)
{
    uint64_t old = entry; // tables are heap objects, so `entry` survives alloc_table()
    uint32_t child = TRY(alloc_table());
    Table& t = table(child);
    unsigned step = leaf_order(level - 1);
    for (unsigned i = 0; i < 512; ++i)
        t.e[i] = make_leaf(addr(old) + (uint64_t(i) << step), perms(old));
    t.leaves = 512;
    entry = make_dir(child);
    return {};
}

FlushKind IoPageTable::store_leaf(uint32_t t, unsigned level, unsigned idx, uint64_t value)
{
    Table& tab = table(t);
    uint64_t old = tab.e[idx];
    FlushKind kind = FlushKind::None;
    if (!present(old)) {
        kind = present(value) ? FlushKind::Added : FlushKind::None;
    } else if (is_leaf(old)) {
        kind = old == value ? FlushKind::None : FlushKind::Modified;
        --tab.leaves;
    } else {
        free_subtree(static_cast<uint32_t>(addr(old)), level - 1); // a merge over a table
        kind = FlushKind::Modified;
    }
    tab.e[idx] = value;
    if (present(value))
        ++tab.leaves;
    return kind;
}

Result<uint32_t> IoPageTable::walk_to(Dfn dfn, unsigned level, FlushKind& kind)
{
    uint32_t t = 0;
    for (unsigned l = kLevels; l > level; --l) {
        unsigned idx = index_at(dfn, l);
        uint64_t e = table(t).e[idx];
        if (!present(e)) {
            uint32_t child = TRY(alloc_table());
            table(t).e[idx] = make_dir(child);
        } else if (is_leaf(e)) {
            TRY(split(table(t).e[idx], l));
            --table(t).leaves;
            kind = combine(kind, FlushKind::Modified);
        }
        t = static_cast<uint32_t>(addr(table(t).e[idx]));
    }
    return t;
}

Result<FlushKind> IoPageTable::set_leaf(Dfn dfn, Mfn mfn, unsigned order, unsigned p, bool merge)
{
    uint64_t mask = (1ull << order) - 1;
    if (!valid_leaf_order(order) || (dfn & mask) || (mfn & mask) || (p & ~kReadWrite) || !p)
        return fail(EINVAL, "bad leaf: dfn {:#x} mfn {:#x} order {} perms {}", dfn, mfn, order, p);
    unsigned level = order / kLevelBits + 1;
    FlushKind kind = FlushKind::None;
    uint32_t t = TRY(walk_to(dfn, level, kind));
    kind = combine(kind, store_leaf(t, level, index_at(dfn, level), make_leaf(mfn, p)));
    if (merge && try_merge(dfn, level))
        kind = FlushKind::Modified;
    return kind;
}

Result<FlushKind> IoPageTable::clear(Dfn dfn, unsigned order)
{
    if (!valid_leaf_order(order) || (dfn & ((1ull << order) - 1)))
        return fail(EINVAL, "bad clear: dfn {:#x} order {}", dfn, order);
    unsigned level = order / kLevelBits + 1;
    FlushKind kind = FlushKind::None;
    uint32_t t = 0;
    for (unsigned l = kLevels; l > level; --l) {
        unsigned idx = index_at(dfn, l);
        uint64_t e = table(t).e[idx];
        if (!present(e))
            return kind;
        if (is_leaf(e)) {
            TRY(split(table(t).e[idx], l));
            --table(t).leaves;
            kind = FlushKind::Modified;
        }
        t = static_cast<uint32_t>(addr(table(t).e[idx]));
    }
    return combine(kind, store_leaf(t, level, index_at(dfn, level), 0));
}

bool IoPageTable::try_merge(Dfn dfn, unsigned from_level)
{
    bool merged = false;
    for (unsigned level = from_level; level < 3; ++level) {
        // Tables on the path: parent at level+1 holds the entry that points at the table at level.
        uint32_t parent = 0;
        for (unsigned l = kLevels; l > level + 1; --l) {
            uint64_t e = table(parent).e[index_at(dfn, l)];
            if (!present(e) || is_leaf(e))
                return merged;
            parent = static_cast<uint32_t>(addr(e));
        }
        unsigned pidx = index_at(dfn, level + 1);
        uint64_t pe = table(parent).e[pidx];
        if (!present(pe) || is_leaf(pe))
            return merged;
        const Table& t = table(static_cast<uint32_t>(addr(pe)));
        if (t.leaves != 512 || !is_leaf(t.e[0]))
            return merged;
        Mfn first = addr(t.e[0]);
        unsigned p = perms(t.e[0]);
        if (first & ((1ull << leaf_order(level + 1)) - 1))
            return merged;
        for (unsigned i = 1; i < 512; ++i)
            if (t.e[i] != make_leaf(first + (uint64_t(i) << leaf_order(level)), p))
                return merged;
        store_leaf(parent, level + 1, pidx, make_leaf(first, p));
        merged = true;
    }
    return merged;
}

std::optional<Translation> IoPageTable::lookup(Dfn dfn) const
{
    if (dfn >> kDfnBits)
        return std::nullopt;
    uint32_t t = 0;
    for (unsigned l = kLevels; l >= 1; --l) {
        uint64_t e = table(t).e[index_at(dfn, l)];
        if (!present(e))
            return std::nullopt;
        if (is_leaf(e)) {
            unsigned order = leaf_order(l);
            return Translation { dfn & ~((1ull << order) - 1), addr(e), order, perms(e) };
        }
        t = static_cast<uint32_t>(addr(e));
    }
    return std::nullopt;
}

void IoPageTable::visit(uint32_t t, unsigned level, Dfn base, Dfn first, Dfn end,
                        const std::function<void(const Translation&)>& fn) const
{
    uint64_t span = 1ull << leaf_order(level);
    if (end <= base || first >= base + 512 * span)
        return;
    // Only the entries that overlap [first, end): a walk over a few pages reads a few entries per
    // level, not all 512.
    uint64_t lo = first > base ? (first - base) / span : 0;
    uint64_t hi = std::min<uint64_t>(512, (end - base + span - 1) / span);
    const auto& entries = table(t).e;
    for (uint64_t i = lo; i < hi; ++i) {
        uint64_t e = entries[i];
        Dfn dfn = base + i * span;
        if (!present(e))
            continue;
        if (is_leaf(e))
            fn(Translation { dfn, addr(e), leaf_order(level), perms(e) });
        else
            visit(static_cast<uint32_t>(addr(e)), level - 1, dfn, first, end, fn);
    }
}

void IoPageTable::for_each_leaf(const std::function<void(const Translation&)>& fn, Dfn first,
                                uint64_t count) const
{
    visit(0, kLevels, 0, first, first + count, fn);
}

} // namespace xkvm::iommu
