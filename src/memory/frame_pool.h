// Pages of a domain's backing file that no guest frame uses: where ballooned-out memory goes (its
// pages punched out of the file) and where populated memory comes from. Ranges of byte offsets,
// kept coalesced. Not thread-safe: its owner (the domain's reservation) serialises.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace xkvm::memory {

struct BackingRun {
    uint64_t offset = 0;
    uint64_t size = 0;
    bool operator==(const BackingRun&) const = default;
};

class FramePool {
public:
    // Page-aligned runs; a run that overlaps one already free is a caller bug and is refused (false).
    bool release(uint64_t offset, uint64_t size);
    // `size` bytes: one run aligned to `align` if there is one (so the guest and DMA mappings can use
    // superpages), else one run, else several; nullopt (nothing taken) if the pool is too small.
    std::optional<std::vector<BackingRun>> take(uint64_t size, uint64_t align);
    uint64_t free_bytes() const { return m_free_bytes; }

private:
    void remove(uint64_t offset, uint64_t size);
    std::map<uint64_t, uint64_t> m_runs; // offset -> size
    uint64_t m_free_bytes = 0;
};

} // namespace xkvm::memory
