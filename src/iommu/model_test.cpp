// The randomized model test: long runs of map, unmap and remap of random orders, with DMA through
// the IOTLB in between, checked after every step against a plain reference map. A DMA must never see
// a stale translation, the IOTLB must agree with the tables after every operation (so every skipped
// flush was one the rules allow), and each operation's flush must be at least as strong as the
// reference says its changes need.
#include "iommu/context.h"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstdlib>
#include <map>
#include <random>

namespace xkvm::iommu {
namespace {

constexpr unsigned kSpaceBits = 20; // DFNs and MFNs in [0, 2^20): 4 GiB each, so order 18 collides
constexpr uint64_t kFrames = 1ull << kSpaceBits;

struct Value {
    Mfn mfn;
    unsigned perms;
};

// The reference: runs of pages [start, start + len) mapped to consecutive frames.
class RangeMap {
public:
    void assign(Dfn start, uint64_t len, std::optional<Value> v)
    {
        split(start), split(start + len);
        m_runs.erase(m_runs.lower_bound(start), m_runs.lower_bound(start + len));
        if (v)
            m_runs[start] = Run { len, v->mfn, v->perms };
    }
    std::optional<Value> get(Dfn dfn) const
    {
        auto it = m_runs.upper_bound(dfn);
        if (it == m_runs.begin())
            return std::nullopt;
        --it;
        if (dfn >= it->first + it->second.len)
            return std::nullopt;
        return Value { it->second.mfn + (dfn - it->first), it->second.perms };
    }
    // Calls fn(start, len, value) for the mapped pieces inside [start, start + len).
    template<typename Fn>
    void for_each(Dfn start, uint64_t len, Fn&& fn) const
    {
        auto it = m_runs.upper_bound(start);
        if (it != m_runs.begin())
            --it;
        for (; it != m_runs.end() && it->first < start + len; ++it) {
            Dfn lo = std::max(start, it->first), hi = std::min(start + len, it->first + it->second.len);
            if (lo < hi)
                fn(lo, hi - lo, Value { it->second.mfn + (lo - it->first), it->second.perms });
        }
    }
    uint64_t pages() const
    {
        uint64_t n = 0;
        for (const auto& [s, r] : m_runs)
            n += r.len;
        return n;
    }

private:
    struct Run {
        uint64_t len;
        Mfn mfn;
        unsigned perms;
    };
    void split(Dfn at)
    {
        auto it = m_runs.upper_bound(at);
        if (it == m_runs.begin())
            return;
        --it;
        Run& r = it->second;
        if (at <= it->first || at >= it->first + r.len)
            return;
        uint64_t head = at - it->first;
        m_runs[at] = Run { r.len - head, r.mfn + head, r.perms };
        r.len = head;
    }
    std::map<Dfn, Run> m_runs;
};

struct Params {
    const char* name;
    bool caching;
    bool superpages;
    FlushPolicy policy;
    size_t iotlb;
    uint32_t seed;
};

void PrintTo(const Params& p, std::ostream* os) { *os << p.name << " seed " << p.seed; }

class ModelRun {
public:
    ModelRun(const Params& p, uint8_t* frames) : m_p(p), m_rng(p.seed), m_frames(frames)
    {
        ContextOptions o;
        o.memory = std::span(frames, kFrames * kPageSize);
        o.caching_mode = p.caching, o.superpages = p.superpages, o.policy = p.policy, o.iotlb_entries = p.iotlb;
        ctx = Context::create(o).release_value();
    }

    unsigned random_order()
    {
        static constexpr unsigned kOrders[] = { 0, 0, 0, 0, 0, 1, 3, 8, 9, 9, 9, 10, 13, 17, 18, 18 };
        return kOrders[m_rng() % std::size(kOrders)];
    }
    uint64_t aligned(unsigned order) { return (m_rng() % kFrames) & ~((1ull << order) - 1); }
    unsigned random_perms() { return (unsigned[]) { kRead, kWrite, kReadWrite, kReadWrite }[m_rng() % 4]; }

    // The weakest flush the reference says a change of [dfn, 2^order) to `v` (or to nothing) needs.
    FlushKind needed(Dfn dfn, unsigned order, std::optional<Value> v) const
    {
        uint64_t len = 1ull << order, present = 0;
        bool changed = false;
        ref.for_each(dfn, len, [&](Dfn lo, uint64_t n, Value old) {
            present += n;
            changed = changed || !v || old.perms != v->perms || old.mfn != v->mfn + (lo - dfn);
        });
        if (changed)
            return FlushKind::Modified;
        return v && present < len ? FlushKind::Added : FlushKind::None;
    }

    void change(Dfn dfn, unsigned order, std::optional<Value> v)
    {
        FlushKind need = needed(dfn, order, v);
        auto before = ctx->stats();
        ASSERT_TRUE(v ? ctx->map(dfn, v->mfn, order, v->perms) : ctx->unmap(dfn, order));
        ref.assign(dfn, 1ull << order, v);
        auto after = ctx->stats();
        if (m_p.policy == FlushPolicy::PerOperation && !ScopedNoFlush::active()) {
            FlushKind got = ctx->last_flush().value().kind;
            ASSERT_GE(got, need) << "dfn " << dfn << " order " << order;
            if (!m_p.superpages) { // no splits or merges: the kinds match exactly
                ASSERT_EQ(got, need);
            }
            bool must = got == FlushKind::Modified || (got == FlushKind::Added && m_p.caching);
            ASSERT_EQ(after.flushes() - before.flushes(), must ? 1u : 0u);
        }
        ASSERT_EQ(ctx->audit_iotlb(), 0u) << "stale IOTLB entry after dfn " << dfn << " order " << order;
        for (int i = 0; i < 16; ++i) {
            Dfn d = dfn + (i == 0 ? 0 : i == 1 ? (1ull << order) - 1 : m_rng() % (1ull << order));
            auto got = ctx->lookup(d);
            auto want = ref.get(d);
            ASSERT_EQ(got.has_value(), want.has_value()) << d;
            if (got) {
                ASSERT_TRUE(got->mfn_of(d) == want->mfn && got->perms == want->perms) << d;
            }
        }
    }

    // One DMA, its outcome predicted from the reference alone.
    void dma()
    {
        Dfn dfn = (m_rng() % 2 && !m_recent.empty()) ? m_recent[m_rng() % m_recent.size()] : m_rng() % kFrames;
        uint64_t addr = (dfn << kPageShift) + m_rng() % kPageSize;
        size_t len = 1 + m_rng() % 96;
        bool write = m_rng() % 2;
        DmaFault want = DmaFault::None;
        uint64_t fault_at = 0;
        for (uint64_t a = addr; a < addr + len && want == DmaFault::None; a = (a | (kPageSize - 1)) + 1) {
            auto v = ref.get(a >> kPageShift);
            fault_at = a;
            if (!v || (a >> kPageShift) >= kFrames)
                want = DmaFault::NotPresent;
            else if (!(v->perms & (write ? kWrite : kRead)))
                want = write ? DmaFault::NotWritable : DmaFault::NotReadable;
        }
        uint8_t buf[96];
        for (size_t i = 0; i < len; ++i)
            buf[i] = static_cast<uint8_t>(m_rng());
        DmaStatus st = write ? ctx->dma_write(addr, std::span<const uint8_t>(buf, len)) : ctx->dma_read(addr, std::span(buf, len));
        ASSERT_EQ(st.fault, want) << "DMA at " << addr << " len " << len << (write ? " write" : " read");
        if (want != DmaFault::None) {
            ASSERT_EQ(st.address, fault_at);
        }
        uint64_t good = want == DmaFault::None ? addr + len : fault_at;
        for (uint64_t a = addr; a < good; ++a) { // the bytes moved to or from the reference's frame
            Mfn mfn = ref.get(a >> kPageShift)->mfn;
            ASSERT_EQ(m_frames[(mfn << kPageShift) + (a & (kPageSize - 1))], buf[a - addr]) << "stale DMA at " << a;
        }
    }

    void full_compare() const
    {
        uint64_t leaf_pages = 0;
        ctx->for_each_leaf([&](const Translation& t) {
            uint64_t covered = 0;
            ref.for_each(t.base_dfn, 1ull << t.order, [&](Dfn lo, uint64_t n, Value v) {
                covered += n;
                EXPECT_TRUE(v.mfn == t.mfn_of(lo) && v.perms == t.perms) << lo;
            });
            EXPECT_EQ(covered, 1ull << t.order) << "leaf at " << t.base_dfn;
            leaf_pages += 1ull << t.order;
        });
        EXPECT_EQ(leaf_pages, ref.pages());
    }

    void step()
    {
        unsigned what = m_rng() % 100, order = random_order();
        if (what < 35) {
            Dfn dfn = aligned(order);
            m_recent.push_back(dfn);
            change(dfn, order, Value { aligned(order), random_perms() });
        } else if (what < 50) {
            change(aligned(order), order, std::nullopt);
        } else if (what < 62 && !m_recent.empty()) { // remap something that is (or was) mapped
            Dfn dfn = m_recent[m_rng() % m_recent.size()] & ~((1ull << order) - 1);
            change(dfn, order, Value { aligned(order), random_perms() });
        } else if (what < 64) { // a bulk population: no flush per operation, then one flush-all
            {
                ScopedNoFlush guard;
                for (int i = 0; i < 4; ++i) {
                    unsigned o = random_order();
                    Dfn dfn = aligned(o);
                    Value v { aligned(o), kReadWrite };
                    ASSERT_TRUE(ctx->map(dfn, v.mfn, o, v.perms));
                    ref.assign(dfn, 1ull << o, v);
                }
            }
            ASSERT_TRUE(ctx->flush_all());
            ASSERT_EQ(ctx->audit_iotlb(), 0u);
        } else {
            for (int i = 0; i < 8; ++i)
                dma();
        }
        if (m_recent.size() > 256)
            m_recent.erase(m_recent.begin(), m_recent.begin() + 128);
    }

    RangeMap ref;
    std::unique_ptr<Context> ctx;

private:
    Params m_p;
    std::mt19937_64 m_rng;
    uint8_t* m_frames;
    std::vector<Dfn> m_recent;
};

class IommuModel : public ::testing::TestWithParam<Params> {
protected:
    static void SetUpTestSuite()
    {
        void* p = mmap(nullptr, kFrames * kPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        ASSERT_NE(p, MAP_FAILED);
        s_frames = static_cast<uint8_t*>(p);
    }
    static void TearDownTestSuite() { munmap(s_frames, kFrames * kPageSize); }
    static inline uint8_t* s_frames = nullptr;
};

TEST_P(IommuModel, RandomSequencesMatchTheReference)
{
    const Params& p = GetParam();
    uint32_t seed = p.seed;
    if (const char* s = std::getenv("XKVM_IOMMU_SEED"))
        seed = static_cast<uint32_t>(std::strtoul(s, nullptr, 0));
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    Params run = p;
    run.seed = seed;
    ModelRun m(run, s_frames);
    for (int i = 0; i < 2500; ++i) {
        SCOPED_TRACE(::testing::Message() << "step " << i);
        ASSERT_NO_FATAL_FAILURE(m.step());
        if (i % 250 == 249) {
            ASSERT_NO_FATAL_FAILURE(m.full_compare());
        }
    }
    auto s = m.ctx->stats();
    auto t = m.ctx->iotlb_stats();
    EXPECT_GT(t.hits, 0u); // the IOTLB was in the way, or the test proves nothing
    if (p.caching) {
        EXPECT_GT(t.negative_hits, 0u);
    }
    if (p.policy == FlushPolicy::PerOperation) {
        EXPECT_GT(s.elided_none, 0u);
        EXPECT_GT(p.caching ? s.page_selective : s.elided_added, 0u);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Configs, IommuModel,
    ::testing::Values(Params { "plain", false, true, FlushPolicy::PerOperation, 512, 1 },
                      Params { "caching", true, true, FlushPolicy::PerOperation, 512, 2 },
                      Params { "plain_4k", false, false, FlushPolicy::PerOperation, 512, 3 },
                      Params { "caching_4k", true, false, FlushPolicy::PerOperation, 512, 4 },
                      Params { "caching_tiny_iotlb", true, true, FlushPolicy::PerOperation, 4, 5 },
                      Params { "every_page", true, false, FlushPolicy::EveryPage, 512, 6 }),
    [](const ::testing::TestParamInfo<Params>& param) { return std::string(param.param.name); });

// The checker can fail: skip every flush (a guard that is never followed by flush-all) and it must
// see a stale IOTLB entry or a DMA that went to the wrong place.
TEST_F(IommuModel, TheCheckerCatchesSkippedFlushes)
{
    ModelRun m(Params { "broken", true, true, FlushPolicy::PerOperation, 512, 7 }, s_frames);
    ScopedNoFlush never_flushed;
    int caught = 0;
    for (int i = 0; i < 400 && !caught; ++i) {
        ::testing::TestPartResultArray failures;
        {
            ::testing::ScopedFakeTestPartResultReporter reporter(
                ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &failures);
            m.step();
        }
        caught += failures.size() > 0;
    }
    EXPECT_GT(caught, 0);
}

} // namespace
} // namespace xkvm::iommu
