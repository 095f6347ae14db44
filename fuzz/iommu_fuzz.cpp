// Drives one IOMMU context with arbitrary operations (map, unmap, DMA, flushes, the bulk guard,
// caching mode), malformed ones included, and checks after each that changes the tables (and at
// the end) that the IOTLB agrees with them (no needed flush was skipped), and that a DMA's outcome
// is what the tables say.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "iommu/context.h"

using namespace xkvm::iommu;

namespace {

constexpr size_t kFrames = 1024; // 4 MiB of frames: mappings above it fault as BadFrame
std::vector<uint8_t> g_memory(kFrames * kPageSize);

uint64_t take(const uint8_t*& p, const uint8_t* end, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n && p < end; ++i)
        v |= uint64_t(*p++) << (8 * i);
    return v;
}

// What the tables (not the IOTLB) say a DMA of `len` bytes at `addr` must end in.
DmaFault expected(const Context& ctx, uint64_t addr, size_t len, bool write)
{
    if (len == 0)
        return DmaFault::None;
    if (addr + len - 1 < addr || ((addr + len - 1) >> (kDfnBits + kPageShift)))
        return DmaFault::OutOfRange;
    for (uint64_t a = addr; a < addr + len; a = (a | (kPageSize - 1)) + 1) {
        auto t = ctx.lookup(a >> kPageShift);
        if (!t)
            return DmaFault::NotPresent;
        if (!(t->perms & (write ? kWrite : kRead)))
            return write ? DmaFault::NotWritable : DmaFault::NotReadable;
        if (t->mfn_of(a >> kPageShift) >= kFrames)
            return DmaFault::BadFrame;
    }
    return DmaFault::None;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const uint8_t* p = data;
    const uint8_t* end = data + size;
    ContextOptions o;
    o.memory = g_memory;
    o.caching_mode = size && (data[0] & 1);
    o.superpages = !(size && (data[0] & 2));
    o.iotlb_entries = 1 + (size > 1 ? data[1] % 64 : 0);
    auto ctx = Context::create(o).release_value();
    std::optional<ScopedNoFlush> guard;
    p += std::min<size_t>(size, 2);
    while (p < end) {
        unsigned op = unsigned(take(p, end, 1)) % 8;
        // Beyond kMaxOrder too; without superpages large orders only cost time (2^18 leaves each).
        unsigned order = unsigned(take(p, end, 1)) % (o.superpages ? 32 : 13);
        uint64_t dfn = take(p, end, 3);                  // small space, so operations collide
        if (order >= 16)
            dfn <<= 16;                                  // room for big orders (misaligned ones too)
        uint64_t mfn = take(p, end, 2) << (order % 20);
        switch (op) {
        case 0:
        case 1:
            (void)ctx->map(dfn, mfn, order, unsigned(take(p, end, 1)) % 5);
            break;
        case 2:
            (void)ctx->unmap(dfn, order);
            break;
        case 3:
        case 4: {
            uint64_t addr = (dfn << kPageShift) | take(p, end, 2);
            size_t len = take(p, end, 1) * 33;
            uint8_t buf[255 * 33];
            bool write = op == 4;
            DmaFault want = expected(*ctx, addr, len, write);
            DmaStatus got = write ? ctx->dma_write(addr, std::span<const uint8_t>(buf, len))
                                  : ctx->dma_read(addr, std::span(buf, len));
            if (!guard && got.fault != want)
                __builtin_trap(); // a DMA saw something the tables do not say: a stale IOTLB entry
            break;
        }
        case 5:
            if (guard) {
                guard.reset();
                (void)ctx->flush_all(); // the end of a bulk population
            } else {
                guard.emplace();
            }
            break;
        case 6:
            ctx->set_caching_mode(!ctx->caching_mode());
            break;
        case 7:
            ctx->set_table_limit(take(p, end, 1) ? SIZE_MAX : ctx->table_count() + (order % 3));
            break;
        }
        // DMAs (which fill the IOTLB from the tables) and caching mode leave the tables as they
        // were; what they cached is audited after the next change, or at the end. Auditing every
        // step was three quarters of the time.
        bool tables_may_change = op <= 2 || op == 5 || op == 7;
        if (!guard && tables_may_change && ctx->audit_iotlb() != 0)
            __builtin_trap(); // an operation skipped a flush the rules require
    }
    if (!guard && ctx->audit_iotlb() != 0)
        __builtin_trap();
    return 0;
}
