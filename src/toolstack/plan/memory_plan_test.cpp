// The guest memory map: equal to vmm::default_memory_map without reserved device memory; built around
// the fixture DMAR tables under strategy=host and per-device policies, strict and relaxed.
#include "toolstack/plan/memory_plan.h"

#include <ostream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "rdm/dmar_builder.h"
#include "rdm/test_support.h"
#include "toolstack/plan/plan.h"
#include "toolstack/plan/plan_test_support.h"
#include "vmm/guest_layout.h"
#include "vmm/vm_spec.h"

using namespace xkvm;
using namespace xkvm::plan;
using namespace xkvm::plan::test;
using memory::GiB;
using memory::MapEntry;
using memory::MemoryMap;
using memory::MiB;
using memory::RegionType;
using rdm::test::bdf;
using ::testing::HasSubstr;

namespace xkvm::memory {
void PrintTo(const MapEntry& e, std::ostream* os)
{
    *os << fmt::format("{{0x{:x}-0x{:x} {} {}}}", e.base, e.end(), e.type == RegionType::Ram ? "ram" : "reserved", e.why);
}
} // namespace xkvm::memory

namespace {

const std::string kLaptopDmar = std::string(XKVM_RDM_TESTDATA) + "/laptop.dmar";

MapEntry ram(uint64_t base, uint64_t end) { return { base, end - base, RegionType::Ram, {} }; }
MapEntry reserved(uint64_t base, uint64_t end) { return { base, end - base, RegionType::Reserved, {} }; }

// The entries every map has: low RAM to the EBDA, the legacy hole and the special pages.
const MapEntry kLowRam = ram(0, 0x9fc00);
const MapEntry kLegacy = reserved(0x9fc00, 0x100000);
const MapEntry kSpecial = reserved(vmm::kSpecialPagesGpa, vmm::kSpecialPagesGpa + 16 * 4096);

config::DomainConfig with_memory(uint64_t mib, const std::string& extra = "")
{
    return config_from("name = \"m\"\ntype = \"pvh\"\nkernel = \"/k\"\nmemory = " + std::to_string(mib) + "\n" + extra);
}

// The laptop fixture (laptop.dmar): USB RMRR 0x3e2e0000-0x3e2fffff (00:14.0 and 00:1a.0), IGD RMRR
// 0x7b800000-0x7f7fffff (00:02.0), and 0xcb000000-0xcb0fffff for 02:00.0 behind root port 00:1c.0.
struct LaptopHost {
    rdm::test::TempTree sys;
    rdm::HostPaths paths;
    LaptopHost()
    {
        sys.add_bridge(bdf(0, 0x1c, 0), 2);
        paths.sysfs_root = sys.root();
        paths.dmar_table = kLaptopDmar;
    }
};

config::PciSpec device(const config::PciBdf& b, config::RdmPolicy policy)
{
    config::PciSpec s;
    s.bdf = b;
    s.rdm_policy = policy;
    return s;
}

} // namespace

TEST(plan_memory, EqualsTheDefaultMapWithoutReservedDeviceMemory)
{
    for (uint64_t mib : { 1, 2, 32, 64, 1024, 3839, 3840, 3841, 4096, 8192, 65536 }) {
        auto plan = plan_memory_for_regions(with_memory(mib), {});
        ASSERT_TRUE(plan) << mib << ": " << plan.error().message;
        EXPECT_EQ(plan->map, vmm::default_memory_map(mib)) << mib << " MiB";
        EXPECT_TRUE(plan->regions.empty());
        EXPECT_TRUE(plan->warnings.empty());
    }
}

TEST(plan_memory, EqualsTheDefaultMapThroughPlanDomain)
{
    Scratch s;
    for (uint64_t mib : { 64, 4096, 6144 }) {
        auto cfg = config_from(pvh_config(s), { "memory=" + std::to_string(mib) });
        auto p = plan_domain(cfg, context(s));
        ASSERT_TRUE(p) << p.error().message;
        EXPECT_EQ(p->spec.memory_map, vmm::default_memory_map(mib)) << mib << " MiB";
    }
}

TEST(plan_memory, DmarIsReadOnlyWhenWanted)
{
    Scratch s;
    rdm::HostPaths garbage { s.path("sys"), s.bad_dmar() };
    // Neither rdm="strategy=host" nor pci=: the (malformed) table is never opened.
    auto plain = plan_memory(with_memory(512), garbage);
    ASSERT_TRUE(plain) << plain.error().message;
    EXPECT_EQ(plain->map, vmm::default_memory_map(512));

    auto host = plan_memory(with_memory(512, "rdm = \"strategy=host\"\n"), garbage);
    ASSERT_FALSE(host);
    EXPECT_EQ(host.error().code, EINVAL);

    // A host without a DMAR table (no VT-d) has no reserved regions.
    rdm::HostPaths none { s.path("sys"), s.path("no-such-table") };
    auto absent = plan_memory(with_memory(512, "rdm = \"strategy=host,policy=strict\"\n"), none);
    ASSERT_TRUE(absent) << absent.error().message;
    EXPECT_EQ(absent->map, vmm::default_memory_map(512));
}

TEST(plan_memory, HostStrategyKeepsRegionsOutsideRam)
{
    LaptopHost host;
    for (const char* policy : { "strict", "relaxed" }) {
        auto plan = plan_memory(with_memory(512, fmt::format("rdm = \"strategy=host,policy={}\"\n", policy)), host.paths);
        ASSERT_TRUE(plan) << policy << ": " << plan.error().message;
        const MemoryMap want { kLowRam, kLegacy, ram(0x100000, 512 * MiB), reserved(0x3e2e0000, 0x3e300000),
                               reserved(0x7b800000, 0x7f800000), reserved(0xcb000000, 0xcb100000), kSpecial };
        EXPECT_EQ(plan->map, want) << policy;
        ASSERT_EQ(plan->regions.size(), 3u);
        EXPECT_EQ(plan->regions[2].owners, std::vector<config::PciBdf> { bdf(2, 0, 0) }) << "resolved behind 00:1c.0";
        EXPECT_TRUE(plan->warnings.empty()) << plan->warnings.front();
    }
}

TEST(plan_memory, HostStrategyRelaxedLeavesConflictsOutWithWarnings)
{
    LaptopHost host;
    auto plan = plan_memory(with_memory(3072, "rdm = \"strategy=host,policy=relaxed\"\n"), host.paths);
    ASSERT_TRUE(plan) << plan.error().message;
    // Both low regions sit at or below rdm_mem_boundary (2048 MiB) inside RAM: not moved around, dropped.
    const MemoryMap want { kLowRam, kLegacy, ram(0x100000, 0xc0000000), reserved(0xcb000000, 0xcb100000), kSpecial };
    EXPECT_EQ(plan->map, want);
    ASSERT_EQ(plan->warnings.size(), 2u);
    EXPECT_THAT(plan->warnings[0], HasSubstr("[0x3e2e0000-0x3e2fffff] of host devices 0000:00:14.0, 0000:00:1a.0, not assigned"));
    EXPECT_THAT(plan->warnings[1], HasSubstr("[0x7b800000-0x7f7fffff] of host device 0000:00:02.0"));
    EXPECT_THAT(plan->warnings[1], HasSubstr("left out of the guest memory map"));
    EXPECT_FALSE(plan->regions[0].in_guest_map);
    EXPECT_TRUE(plan->regions[2].in_guest_map);
}

TEST(plan_memory, HostStrategyStrictRefusesConflicts)
{
    LaptopHost host;
    auto plan = plan_memory(with_memory(3072, "rdm = \"strategy=host,policy=strict\"\n"), host.paths);
    ASSERT_FALSE(plan);
    EXPECT_EQ(plan.error().code, EBUSY);
    EXPECT_THAT(plan.error().message, HasSubstr("[0x3e2e0000-0x3e2fffff]"));
    EXPECT_THAT(plan.error().message, HasSubstr("[0x7b800000-0x7f7fffff] of host device 0000:00:02.0, not assigned (policy strict)"));
}

TEST(plan_memory, LowRamMovesBelowARegionAboveTheBoundary)
{
    LaptopHost host;
    // 3584 MiB runs into 0xcb000000 (above the 2048 MiB boundary): low RAM ends there, the rest moves up.
    auto plan = plan_memory(with_memory(3584, "rdm = \"strategy=host\"\n"), host.paths);
    ASSERT_TRUE(plan) << plan.error().message;
    const MemoryMap want { kLowRam, kLegacy, ram(0x100000, 0xcb000000), reserved(0xcb000000, 0xcb100000), kSpecial,
                           ram(vmm::kHighRamBase, vmm::kHighRamBase + 0xe0000000 - 0xcb000000) };
    EXPECT_EQ(plan->map, want);
    EXPECT_EQ(plan->warnings.size(), 2u) << "the two regions below the boundary, relaxed by default";
    uint64_t total = 0;
    for (const auto& e : plan->map)
        total += e.type == RegionType::Ram ? e.size : 0;
    EXPECT_EQ(total, 3584 * MiB - (0x100000 - 0x9fc00)) << "no RAM lost beyond the legacy hole";
}

TEST(plan_memory, PerDevicePolicyOverridesTheGlobalOne)
{
    LaptopHost host;
    auto cfg = with_memory(3072, "rdm = \"policy=strict\"\n");
    // The IGD with rdm_policy=relaxed, under a strict global policy: relaxed wins for its region.
    cfg.pci = { device(bdf(0, 2, 0), config::RdmPolicy::Relaxed) };
    auto relaxed = plan_memory(cfg, host.paths);
    ASSERT_TRUE(relaxed) << relaxed.error().message;
    EXPECT_EQ(relaxed->map, (MemoryMap { kLowRam, kLegacy, ram(0x100000, 0xc0000000), kSpecial }));
    ASSERT_EQ(relaxed->regions.size(), 1u) << "strategy none: only the assigned device's region";
    ASSERT_EQ(relaxed->warnings.size(), 1u);
    EXPECT_THAT(relaxed->warnings[0], HasSubstr("of device 0000:00:02.0 (policy relaxed)"));

    // The per-device default is strict, whatever the global policy says.
    cfg = with_memory(3072, "rdm = \"policy=relaxed\"\n");
    cfg.pci = { device(bdf(0, 2, 0), config::RdmPolicy::Strict) };
    auto strict = plan_memory(cfg, host.paths);
    ASSERT_FALSE(strict);
    EXPECT_EQ(strict.error().code, EBUSY);
    EXPECT_THAT(strict.error().message, HasSubstr("of device 0000:00:02.0 (policy strict)"));

    // Small enough to leave the region alone: it is reserved in the map, RAM untouched.
    cfg.memory_mib = cfg.maxmem_mib = 1024;
    auto fits = plan_memory(cfg, host.paths);
    ASSERT_TRUE(fits) << fits.error().message;
    EXPECT_EQ(fits->map, (MemoryMap { kLowRam, kLegacy, ram(0x100000, 1024 * MiB), reserved(0x7b800000, 0x7f800000),
                                     kSpecial }));
}

TEST(plan_memory, RegionOnTheSpecialPagesIsAConflict)
{
    Scratch s;
    const std::string table = s.write("special.dmar",
        rdm::DmarBuilder().add_rmrr(0, 0xfeff8000, 0xfeffffff, { rdm::endpoint_scope(0, 0x1f, 0) }).build());
    rdm::HostPaths paths { s.path("sys"), table };

    auto strict = plan_memory(with_memory(256, "rdm = \"strategy=host,policy=strict\"\n"), paths);
    ASSERT_FALSE(strict);
    EXPECT_EQ(strict.error().code, EBUSY);
    EXPECT_THAT(strict.error().message, HasSubstr("[0xfeff8000-0xfeffffff] of host device 0000:00:1f.0, not assigned"));
    EXPECT_THAT(strict.error().message, HasSubstr("special pages"));

    auto relaxed = plan_memory(with_memory(256, "rdm = \"strategy=host,policy=relaxed\"\n"), paths);
    ASSERT_TRUE(relaxed) << relaxed.error().message;
    EXPECT_EQ(relaxed->map, vmm::default_memory_map(256));
    ASSERT_EQ(relaxed->warnings.size(), 1u);
    EXPECT_THAT(relaxed->warnings[0], HasSubstr("special pages"));
    EXPECT_FALSE(relaxed->regions[0].in_guest_map);
}

TEST(plan_memory, PlanDomainCarriesTheRdmMapAndWarnings)
{
    Scratch s;
    LaptopHost host;
    auto cfg = config_from(pvh_config(s, "rdm = \"strategy=host\"\n"), { "memory=3072" });
    PlanContext ctx = context(s);
    ctx.host = host.paths;
    auto p = plan_domain(cfg, ctx);
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->spec.memory_map,
              (MemoryMap { kLowRam, kLegacy, ram(0x100000, 0xc0000000), reserved(0xcb000000, 0xcb100000), kSpecial }));
    EXPECT_EQ(p->warnings.size(), 2u);
    EXPECT_EQ(p->rdm_regions.size(), 3u);
    EXPECT_THAT(p->summary, HasSubstr("1 of 3 reserved device memory regions kept"));

    ctx.host.dmar_table = s.bad_dmar();
    auto bad = plan_domain(cfg, ctx);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, EINVAL);
}

TEST(plan_memory, DescribesEntries)
{
    EXPECT_EQ(describe_entry({ 0x9fc00, 0x60400, RegionType::Reserved, "legacy" }), "[0x9fc00-0xfffff] reserved (legacy)");
    EXPECT_EQ(describe_entry({ 0, 0x1000, RegionType::Ram, "" }), "[0x0-0xfff] RAM");
}
