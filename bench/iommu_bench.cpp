// IOMMU flush elision (seed 003), side by side with the behaviour before it: flushes per operation
// and time per page to map and unmap 2^order pages (orders 0, 9, 18), and the cost of populating a
// 4 GiB guest's DMA space page by page. No guest, no /dev/kvm: the software IOMMU of src/iommu/.
//
// Modes: "elided" (one flush per operation, superpages), "elided_4k" (one flush per operation, 4 KiB
// entries only: the flush rule alone), "every_page" (a flush after every entry, 4 KiB entries, no
// bulk guard: Xen before the seed). Caching mode is on unless a row says otherwise, so that maps of
// new entries need their flush too. Times are of this software IOTLB; on hardware each flush is also
// an invalidation round trip to the unit, so the flush counts are what carry over; the lines
// "_at_<n>ns_per_flush" add an assumed cost per flush (argument 1, default 1000 ns) to show that.
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <vector>

#include "iommu/context.h"

namespace {

using namespace xkvm::iommu;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kGuestPages = 1ull << 20; // 4 GiB
constexpr uint64_t kPagesPerRow = 1ull << 19;
constexpr int kRuns = 3; // the best of: the host is shared

struct Mode {
    const char* name;
    FlushPolicy policy;
    bool superpages;
};
constexpr Mode kModes[] = {
    { "elided", FlushPolicy::PerOperation, true },
    { "elided_4k", FlushPolicy::PerOperation, false },
    { "every_page", FlushPolicy::EveryPage, false },
};

std::span<uint8_t> frames()
{
    static void* p = mmap(nullptr, kGuestPages * kPageSize, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        std::perror("mmap");
        std::exit(1);
    }
    return { static_cast<uint8_t*>(p), kGuestPages * kPageSize };
}

std::unique_ptr<Context> make(const Mode& m, bool caching)
{
    ContextOptions o;
    o.memory = frames();
    o.policy = m.policy;
    o.superpages = m.superpages;
    o.caching_mode = caching;
    return Context::create(o).release_value();
}

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

struct OpRow {
    double map_flushes_per_op, unmap_flushes_per_op, map_ns_per_page, unmap_ns_per_page;
};
OpRow run_ops(const Mode& m, unsigned order, bool caching);

OpRow best_of(const Mode& m, unsigned order, bool caching)
{
    OpRow best = run_ops(m, order, caching);
    for (int i = 1; i < kRuns; ++i) {
        OpRow r = run_ops(m, order, caching);
        best.map_ns_per_page = std::min(best.map_ns_per_page, r.map_ns_per_page);
        best.unmap_ns_per_page = std::min(best.unmap_ns_per_page, r.unmap_ns_per_page);
    }
    return best;
}

// Map and unmap kPagesPerRow pages in operations of 2^order, a DMA to each mapped range in between
// (untimed) so that the IOTLB holds what the unmap must flush.
OpRow run_ops(const Mode& m, unsigned order, bool caching)
{
    auto ctx = make(m, caching);
    uint64_t ops = kPagesPerRow >> order, batch = std::min<uint64_t>(ops, 256);
    Clock::duration map_time {}, unmap_time {};
    uint64_t map_flushes = 0, unmap_flushes = 0;
    uint8_t byte = 0;
    for (uint64_t first = 0; first < ops; first += batch) {
        auto f0 = ctx->stats().flushes();
        auto t0 = Clock::now();
        for (uint64_t i = first; i < first + batch; ++i)
            if (!ctx->map(i << order, i << order, order, kReadWrite))
                std::exit(1);
        auto t1 = Clock::now();
        auto f1 = ctx->stats().flushes();
        for (uint64_t i = first; i < first + batch; ++i)
            (void)ctx->dma_read((i << order) << kPageShift, std::span(&byte, 1));
        auto t2 = Clock::now();
        for (uint64_t i = first; i < first + batch; ++i)
            if (!ctx->unmap(i << order, order))
                std::exit(1);
        auto t3 = Clock::now();
        map_time += t1 - t0, unmap_time += t3 - t2;
        map_flushes += f1 - f0, unmap_flushes += ctx->stats().flushes() - f1;
    }
    double pages = double(ops << order);
    return { double(map_flushes) / ops, double(unmap_flushes) / ops, seconds(map_time) * 1e9 / pages,
             seconds(unmap_time) * 1e9 / pages };
}

struct PopulateRow {
    uint64_t flushes;
    double ms;
};

// A 4 GiB guest's DMA space built page by page, as a domain build does: under the bulk guard and one
// flush-all at the end where the mode has it, a flush per page where it does not.
PopulateRow populate(const Mode& m)
{
    auto ctx = make(m, true);
    auto t0 = Clock::now();
    {
        ScopedNoFlush guard;
        for (Dfn d = 0; d < kGuestPages; ++d)
            if (!ctx->map(d, d, 0, kReadWrite))
                std::exit(1);
    }
    if (!ctx->flush_all())
        std::exit(1);
    auto t1 = Clock::now();
    return { ctx->stats().flushes(), seconds(t1 - t0) * 1e3 };
}

void result(const std::string& name, double value, const char* unit)
{
    std::printf("RESULT %s %.6g %s\n", name.c_str(), value, unit);
}

constexpr unsigned kOrders[] = { 0, 9, 18 };

// rows[mode][order]: caching mode on (best of kRuns); the caching-off runs are printed only.
void run_op_rows(OpRow (&rows)[3][3])
{
    std::printf("%-11s %5s %3s %14s %16s %13s %15s\n", "mode", "order", "CM", "map flush/op", "unmap flush/op",
                "map ns/page", "unmap ns/page");
    for (unsigned oi = 0; oi < 3; ++oi)
        for (unsigned mi = 0; mi < 3; ++mi)
            for (bool caching : { true, false }) {
                OpRow r = caching ? best_of(kModes[mi], kOrders[oi], true) : run_ops(kModes[mi], kOrders[oi], false);
                if (caching)
                    rows[mi][oi] = r;
                std::printf("%-11s %5u %3s %14.1f %16.1f %13.1f %15.1f\n", kModes[mi].name, kOrders[oi],
                            caching ? "on" : "off", r.map_flushes_per_op, r.unmap_flushes_per_op, r.map_ns_per_page,
                            r.unmap_ns_per_page);
            }
}

void op_results(const OpRow (&rows)[3][3])
{
    for (unsigned oi = 0; oi < 3; ++oi) {
        std::string o = "order" + std::to_string(kOrders[oi]);
        const OpRow &e = rows[0][oi], &e4 = rows[1][oi], &p = rows[2][oi];
        result("iommu_map_flushes_per_op_" + o + "_elided", e.map_flushes_per_op, "flushes");
        result("iommu_map_flushes_per_op_" + o + "_every_page", p.map_flushes_per_op, "flushes");
        result("iommu_unmap_flushes_per_op_" + o + "_elided", e.unmap_flushes_per_op, "flushes");
        result("iommu_unmap_flushes_per_op_" + o + "_every_page", p.unmap_flushes_per_op, "flushes");
        result("iommu_map_ns_per_page_" + o + "_elided", e.map_ns_per_page, "ns");
        result("iommu_map_ns_per_page_" + o + "_elided_4k", e4.map_ns_per_page, "ns");
        result("iommu_map_ns_per_page_" + o + "_every_page", p.map_ns_per_page, "ns");
        result("iommu_unmap_ns_per_page_" + o + "_elided", e.unmap_ns_per_page, "ns");
        result("iommu_unmap_ns_per_page_" + o + "_every_page", p.unmap_ns_per_page, "ns");
        result("iommu_flush_ratio_every_page_vs_elided_" + o,
               (p.map_flushes_per_op + p.unmap_flushes_per_op) / (e.map_flushes_per_op + e.unmap_flushes_per_op), "ratio");
        result("iommu_time_ratio_every_page_vs_elided_" + o,
               (p.map_ns_per_page + p.unmap_ns_per_page) / (e.map_ns_per_page + e.unmap_ns_per_page), "ratio");
        result("iommu_time_ratio_every_page_vs_elided_4k_" + o,
               (p.map_ns_per_page + p.unmap_ns_per_page) / (e4.map_ns_per_page + e4.unmap_ns_per_page), "ratio");
    }
}

void populate_results(const PopulateRow (&pop)[3], double flush_ns)
{
    result("iommu_populate_4g_flushes_elided", double(pop[0].flushes), "flushes");
    result("iommu_populate_4g_flushes_every_page", double(pop[2].flushes), "flushes");
    result("iommu_populate_4g_ms_elided", pop[0].ms, "ms");
    result("iommu_populate_4g_ms_elided_4k", pop[1].ms, "ms");
    result("iommu_populate_4g_ms_every_page", pop[2].ms, "ms");
    result("iommu_populate_4g_flush_ratio", double(pop[2].flushes) / double(pop[0].flushes), "ratio");
    result("iommu_populate_4g_time_ratio", pop[2].ms / pop[0].ms, "ratio");
    result("iommu_populate_4g_time_ratio_4k", pop[2].ms / pop[1].ms, "ratio");
    auto with_flushes = [&](const PopulateRow& r) { return r.ms + double(r.flushes) * flush_ns / 1e6; };
    std::string at = "_at_" + std::to_string(int(flush_ns)) + "ns_per_flush";
    result("iommu_populate_4g_ms_every_page" + at, with_flushes(pop[2]), "ms");
    result("iommu_populate_4g_time_ratio" + at, with_flushes(pop[2]) / with_flushes(pop[0]), "ratio");
}

} // namespace

int main(int argc, char** argv)
{
    // An assumed cost of one invalidation on hardware (queued invalidation and its wait), for the
    // "_at_<n>ns_per_flush" lines only: this software IOTLB flushes almost for free.
    double flush_ns = argc > 1 ? std::atof(argv[1]) : 1000.0;
    OpRow rows[3][3];
    run_op_rows(rows);
    PopulateRow pop[3];
    std::printf("\npopulate a 4 GiB guest (%llu pages, caching mode on):\n", (unsigned long long)kGuestPages);
    for (unsigned mi = 0; mi < 3; ++mi) {
        pop[mi] = populate(kModes[mi]);
        std::printf("%-11s %10llu flushes %10.1f ms %8.1f ns/page\n", kModes[mi].name,
                    (unsigned long long)pop[mi].flushes, pop[mi].ms, pop[mi].ms * 1e6 / kGuestPages);
    }
    std::printf("\n");
    op_results(rows);
    populate_results(pop, flush_ns);
    return 0;
}
