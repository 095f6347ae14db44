#include "loader/guest_ram.h"

#include <algorithm>

#include "memory/physmap.h"

namespace xkvm::loader {

using memory::Gpa;
using memory::kPageSize;

namespace {

// Round up to a page; nullopt on overflow.
std::optional<Gpa> page_up(Gpa v)
{
    if (v > ~0ull - (kPageSize - 1))
        return std::nullopt;
    return (v + kPageSize - 1) & ~(kPageSize - 1);
}

} // namespace

std::vector<GpaRange> ram_runs(const memory::MemoryMap& map)
{
    std::vector<GpaRange> ram;
    for (const auto& e : map)
        if (e.type == memory::RegionType::Ram && e.size != 0 && !memory::range_wraps(e.base, e.size))
            ram.push_back({ e.base, e.size });
    std::sort(ram.begin(), ram.end(), [](const GpaRange& a, const GpaRange& b) { return a.base < b.base; });
    std::vector<GpaRange> runs;
    for (const auto& r : ram) {
        if (!runs.empty() && r.base <= runs.back().end()) {
            runs.back().size = std::max(runs.back().end(), r.end()) - runs.back().base;
            continue;
        }
        runs.push_back(r);
    }
    return runs;
}

bool ram_covers(const memory::MemoryMap& map, Gpa base, uint64_t size)
{
    if (memory::range_wraps(base, size))
        return false;
    if (size == 0)
        return true;
    for (const auto& run : ram_runs(map))
        if (run.base <= base && base + size <= run.end())
            return true;
    return false;
}

std::optional<memory::MapEntry> first_non_ram_overlap(const memory::MemoryMap& map, Gpa base, uint64_t size)
{
    std::optional<memory::MapEntry> found;
    uint64_t end = memory::range_wraps(base, size) ? ~0ull : base + size;
    for (const auto& e : map) {
        if (e.type == memory::RegionType::Ram || e.size == 0)
            continue;
        uint64_t e_end = memory::range_wraps(e.base, e.size) ? ~0ull : e.end();
        if (e.base < end && e_end > base && (!found || e.base < found->base))
            found = e;
    }
    return found;
}

std::optional<Gpa> find_free_ram(const memory::MemoryMap& map, std::span<const GpaRange> occupied,
                                 uint64_t size, Gpa from, Gpa limit)
{
    if (size == 0)
        return std::nullopt;
    for (const auto& run : ram_runs(map)) {
        uint64_t run_end = std::min(run.end(), limit);
        auto candidate = page_up(std::max(run.base, from));
        // Each retry moves the candidate past one occupied range, so this ends after at most
        // occupied.size() + 1 rounds per run.
        while (candidate && *candidate < run_end && size <= run_end - *candidate) {
            Gpa lo = *candidate;
            auto clash = std::find_if(occupied.begin(), occupied.end(), [&](const GpaRange& r) {
                return r.size != 0 && r.base < lo + size && lo < r.end();
            });
            if (clash == occupied.end())
                return lo;
            candidate = page_up(clash->end());
        }
    }
    return std::nullopt;
}

std::string describe_range(memory::Gpa base, uint64_t size)
{
    if (size == 0)
        return fmt::format("[{:#x}+0]", base);
    if (memory::range_wraps(base, size - 1))
        return fmt::format("[{:#x}+{:#x}]", base, size);
    return fmt::format("[{:#x}-{:#x}]", base, base + size - 1);
}

} // namespace xkvm::loader
