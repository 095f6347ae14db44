// A PhysmapListener for tests: records every mapping the physmap reports gone and made.
#pragma once

#include <cstdint>
#include <vector>

#include "memory/physmap.h"

namespace xkvm::memory::testing {

struct Recorder : PhysmapListener {
    std::vector<Mapping> unmapped, mapped;
    void physmap_unmapped(const Mapping& m) override { unmapped.push_back(m); }
    void physmap_mapped(const Mapping& m, uint8_t*) override { mapped.push_back(m); }
    void clear() { unmapped.clear(), mapped.clear(); }
};

} // namespace xkvm::memory::testing
