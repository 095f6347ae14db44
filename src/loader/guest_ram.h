// Questions about guest RAM the loader asks of a memory::MemoryMap: does a range lie wholly in RAM,
// and where is a free, page-aligned stretch of RAM for boot data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <span>
#include <vector>

#include "base/result.h"
#include "memory/memory_map.h"

namespace xkvm::loader {

struct GpaRange {
    memory::Gpa base = 0;
    uint64_t size = 0;
    memory::Gpa end() const { return base + size; }
};

// RAM entries of `map`, sorted and with touching or overlapping entries merged into one run.
std::vector<GpaRange> ram_runs(const memory::MemoryMap& map);

// Whether every byte of [base, base+size) is RAM. A wrapping range is never RAM.
bool ram_covers(const memory::MemoryMap& map, memory::Gpa base, uint64_t size);

// The first non-RAM entry of `map` that overlaps [base, base+size), if any (for error messages: a
// range that is not RAM but overlaps no entry lies in a hole).
std::optional<memory::MapEntry> first_non_ram_overlap(const memory::MemoryMap& map, memory::Gpa base,
                                                      uint64_t size);

// The lowest page-aligned address >= `from` where `size` bytes fit wholly in RAM, below `limit`, and
// overlap none of `occupied`. Nullopt when there is no such place.
std::optional<memory::Gpa> find_free_ram(const memory::MemoryMap& map, std::span<const GpaRange> occupied,
                                         uint64_t size, memory::Gpa from, memory::Gpa limit);

// "[first-last]" (last byte inclusive) for messages; "[base+0]" for an empty range.
std::string describe_range(memory::Gpa base, uint64_t size);

} // namespace xkvm::loader
