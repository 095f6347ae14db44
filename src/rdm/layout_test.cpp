#include "rdm/layout.h"

#include <ostream>

#include <gtest/gtest.h>

#include "rdm/dmar_builder.h"
#include "rdm/test_support.h"

using namespace xkvm;
using namespace xkvm::rdm;
using config::RdmPolicy;
using config::RdmStrategy;
using memory::GiB;
using memory::MapEntry;
using memory::MemoryMap;
using memory::MiB;
using memory::RegionType;
using xkvm::rdm::test::bdf;
using xkvm::rdm::test::TempTree;

namespace xkvm::memory {
void PrintTo(const MapEntry& e, std::ostream* os)
{
    *os << fmt::format("{{0x{:x}+0x{:x} type {}}}", e.base, e.size, static_cast<uint32_t>(e.type));
}
} // namespace xkvm::memory

namespace {

constexpr uint64_t k4G = 4 * GiB;

MapEntry ram(uint64_t base, uint64_t end) { return { base, end - base, RegionType::Ram, {} }; }
MapEntry reserved(uint64_t base, uint64_t end) { return { base, end - base, RegionType::Reserved, {} }; }

config::PciSpec pci(const config::PciBdf& b, RdmPolicy policy)
{
    config::PciSpec s;
    s.bdf = b;
    s.rdm_policy = policy;
    return s;
}

void expect_well_formed(const MemoryMap& map)
{
    for (size_t i = 0; i < map.size(); ++i) {
        EXPECT_GT(map[i].size, 0u) << i;
        if (i) {
            EXPECT_LE(map[i - 1].end(), map[i].base) << "entries " << i - 1 << " and " << i << " overlap or are unsorted";
        }
    }
}

// ---- The matrix: every strategy x global policy x per-device policy, over fixture DMAR tables ----

enum class Device { Strict, Relaxed, Unassigned };

// How the upstream rules combine the three settings for one region owned by the device under test.
struct Combo {
    RdmStrategy strategy;
    RdmPolicy global;
    Device device;
    bool included;       // does the guest honour the region at all?
    RdmPolicy effective; // with which policy (meaningful when included)
};

constexpr auto S = RdmPolicy::Strict;
constexpr auto R = RdmPolicy::Relaxed;

const Combo kCombos[] = {
    // strategy=none: only regions of assigned devices, with the per-device policy.
    { RdmStrategy::None, S, Device::Strict, true, S },
    { RdmStrategy::None, S, Device::Relaxed, true, R },
    { RdmStrategy::None, S, Device::Unassigned, false, S },
    { RdmStrategy::None, R, Device::Strict, true, S },
    { RdmStrategy::None, R, Device::Relaxed, true, R },
    { RdmStrategy::None, R, Device::Unassigned, false, R },
    // strategy=host: every host region; the per-device policy overrides the global one for its regions.
    { RdmStrategy::Host, S, Device::Strict, true, S },
    { RdmStrategy::Host, S, Device::Relaxed, true, R },
    { RdmStrategy::Host, S, Device::Unassigned, true, S },
    { RdmStrategy::Host, R, Device::Strict, true, S },
    { RdmStrategy::Host, R, Device::Relaxed, true, R },
    { RdmStrategy::Host, R, Device::Unassigned, true, R },
};

struct Scenario {
    const char* name;
    uint64_t rmrr_base, rmrr_limit;
    config::PciBdf owner;
    uint64_t ram;
    bool conflicts;       // overlaps RAM even after low RAM is moved
    MemoryMap map_with;    // region honoured (unused when it conflicts)
    MemoryMap map_without; // region not honoured, or dropped under relaxed
};

const Scenario kScenarios[] = {
    { "BelowBoundaryInLowRam", 0x3e2e0000, 0x3e2fffff, bdf(0, 0x14, 0), 3 * GiB, true,
      {}, { ram(0, 0xc0000000) } },
    { "AboveBoundaryInLowRamIsRelocated", 0xcb8f0000, 0xcf9fffff, bdf(0, 0x02, 0), 3584 * MiB, false,
      { ram(0, 0xcb800000), reserved(0xcb8f0000, 0xcfa00000), ram(k4G, k4G + 0xe0000000 - 0xcb800000) },
      { ram(0, 0xe0000000) } },
    { "InMmioHole", 0xf8000000, 0xf80fffff, bdf(0, 0x1f, 3), 6 * GiB, false,
      { ram(0, 0xf0000000), reserved(0xf8000000, 0xf8100000), ram(k4G, k4G + 0x90000000) },
      { ram(0, 0xf0000000), ram(k4G, k4G + 0x90000000) } },
    { "AboveFourGiBInHighRam", 0x140000000, 0x1400fffff, bdf(3, 0, 0), 6 * GiB, true,
      {}, { ram(0, 0xf0000000), ram(k4G, k4G + 0x90000000) } },
    { "AboveFourGiBBeyondHighRam", 0x200000000, 0x2000fffff, bdf(3, 0, 0), 6 * GiB, false,
      { ram(0, 0xf0000000), ram(k4G, k4G + 0x90000000), reserved(0x200000000, 0x200100000) },
      { ram(0, 0xf0000000), ram(k4G, k4G + 0x90000000) } },
};

const char* device_name(Device d)
{
    return d == Device::Strict ? "DevStrict" : d == Device::Relaxed ? "DevRelaxed" : "DevUnassigned";
}

// Readable parameters in test listings (ctest shows them).
void PrintTo(const Scenario& sc, std::ostream* os) { *os << sc.name; }
void PrintTo(const Combo& c, std::ostream* os)
{
    *os << (c.strategy == RdmStrategy::Host ? "strategy=host" : "strategy=none")
        << (c.global == S ? " policy=strict " : " policy=relaxed ") << device_name(c.device);
}

class rdm_layout_matrix : public ::testing::TestWithParam<std::tuple<Scenario, Combo>> { };

TEST_P(rdm_layout_matrix, MapErrorsAndWarnings)
{
    const auto& [sc, combo] = GetParam();

    // The host: a DMAR table on disk, fed in through the path override.
    TempTree host;
    host.write("DMAR", DmarBuilder()
                           .add_drhd(0, 0xfed90000, true)
                           .add_rmrr(0, sc.rmrr_base, sc.rmrr_limit,
                                     { endpoint_scope(sc.owner.bus, sc.owner.dev, sc.owner.func) })
                           .build());
    auto host_rdm = read_host_rdm({ host.root(), host.path("DMAR") });
    ASSERT_TRUE(host_rdm) << host_rdm.error().message;

    LayoutInputs in;
    in.ram_bytes = sc.ram;
    in.rdm = { combo.strategy, combo.global };
    in.host_regions = host_rdm->regions;
    in.pci.push_back(pci(bdf(5, 0, 0), S)); // an assigned device with no RMRR changes nothing
    if (combo.device != Device::Unassigned)
        in.pci.push_back(pci(sc.owner, combo.device == Device::Strict ? S : R));
    ASSERT_TRUE(wants_host_rdm(in.rdm, in.pci));

    const std::string range = range_str(sc.rmrr_base, sc.rmrr_limit + 1);
    const std::string owner = bdf_str(sc.owner);
    const std::string naming = combo.device == Device::Unassigned ? "host device " + owner + ", not assigned"
                                                                  : "device " + owner;
    auto lay = compute_layout(in);

    if (combo.included && sc.conflicts && combo.effective == S) {
        ASSERT_FALSE(lay) << "expected a strict conflict";
        EXPECT_EQ(lay.error().code, EBUSY);
        EXPECT_NE(lay.error().message.find(range), std::string::npos) << lay.error().message;
        EXPECT_NE(lay.error().message.find(naming), std::string::npos) << lay.error().message;
        EXPECT_NE(lay.error().message.find("policy strict"), std::string::npos) << lay.error().message;
        return;
    }
    ASSERT_TRUE(lay) << lay.error().message;
    expect_well_formed(lay->map);

    if (!combo.included) {
        EXPECT_TRUE(lay->regions.empty());
        EXPECT_TRUE(lay->warnings.empty());
        EXPECT_EQ(lay->map, sc.map_without);
    } else if (sc.conflicts) { // relaxed: warned about and left out
        ASSERT_EQ(lay->regions.size(), 1u);
        EXPECT_FALSE(lay->regions[0].in_guest_map);
        EXPECT_EQ(lay->regions[0].policy, R);
        ASSERT_EQ(lay->warnings.size(), 1u);
        EXPECT_NE(lay->warnings[0].find(range), std::string::npos) << lay->warnings[0];
        EXPECT_NE(lay->warnings[0].find(naming), std::string::npos) << lay->warnings[0];
        EXPECT_NE(lay->warnings[0].find("left out"), std::string::npos) << lay->warnings[0];
        EXPECT_EQ(lay->map, sc.map_without);
    } else {
        ASSERT_EQ(lay->regions.size(), 1u);
        EXPECT_TRUE(lay->regions[0].in_guest_map);
        EXPECT_EQ(lay->regions[0].policy, combo.effective);
        EXPECT_EQ(lay->regions[0].owners, std::vector<config::PciBdf> { sc.owner });
        EXPECT_EQ(lay->regions[0].assigned.empty(), combo.device == Device::Unassigned);
        EXPECT_TRUE(lay->warnings.empty());
        EXPECT_EQ(lay->map, sc.map_with);
    }

    // low_ram_end and high_ram_size describe the same RAM the map does.
    uint64_t low = 0, high = 0;
    for (const auto& e : lay->map) {
        if (e.type != RegionType::Ram)
            continue;
        (e.base < k4G ? low : high) += e.size;
    }
    EXPECT_EQ(low, lay->low_ram_end);
    EXPECT_EQ(high, lay->high_ram_size);
    EXPECT_EQ(low + high, sc.ram);
}

std::string case_name(const ::testing::TestParamInfo<std::tuple<Scenario, Combo>>& param)
{
    const Scenario& sc = std::get<0>(param.param);
    const Combo& c = std::get<1>(param.param);
    return fmt::format("{}_{}_{}_{}", sc.name, c.strategy == RdmStrategy::Host ? "Host" : "None",
                       c.global == S ? "GlobalStrict" : "GlobalRelaxed", device_name(c.device));
}

INSTANTIATE_TEST_SUITE_P(All, rdm_layout_matrix,
                         ::testing::Combine(::testing::ValuesIn(kScenarios), ::testing::ValuesIn(kCombos)), case_name);

// ---- Single rules ----

HostRegion region(uint64_t base, uint64_t end, std::vector<config::PciBdf> devices)
{
    return { base, end - base, std::move(devices) };
}

LayoutInputs inputs(uint64_t ram_bytes, std::vector<HostRegion> regions, std::vector<config::PciSpec> devices,
                    config::RdmSpec rdm = {})
{
    LayoutInputs in;
    in.ram_bytes = ram_bytes;
    in.host_regions = std::move(regions);
    in.pci = std::move(devices);
    in.rdm = rdm;
    return in;
}

} // namespace

TEST(rdm_layout, WithoutRdmRamSplitsAtTheHole)
{
    auto small = compute_layout(inputs(2 * GiB, {}, {}));
    ASSERT_TRUE(small);
    EXPECT_EQ(small->map, (MemoryMap { ram(0, 2 * GiB) }));
    EXPECT_EQ(small->high_ram_size, 0u);

    auto exact = compute_layout(inputs(0xf0000000, {}, {}));
    ASSERT_TRUE(exact);
    EXPECT_EQ(exact->map, (MemoryMap { ram(0, 0xf0000000) }));

    auto big = compute_layout(inputs(5 * GiB, {}, {}));
    ASSERT_TRUE(big);
    EXPECT_EQ(big->low_ram_end, 0xf0000000u);
    EXPECT_EQ(big->map, (MemoryMap { ram(0, 0xf0000000), ram(k4G, k4G + GiB + 0x10000000) }));
}

TEST(rdm_layout, WantsHostRdmOnlyForStrategyHostOrPassthrough)
{
    EXPECT_FALSE(wants_host_rdm({}, {}));
    EXPECT_TRUE(wants_host_rdm({ RdmStrategy::Host, R }, {}));
    EXPECT_TRUE(wants_host_rdm({}, { pci(bdf(3, 0, 0), S) }));
}

TEST(rdm_layout, HoleStartAndBoundaryAreParameters)
{
    auto plain = inputs(3840 * MiB, {}, {});
    plain.mmio_hole_start = 0xe0000000;
    auto no_rdm = compute_layout(plain);
    ASSERT_TRUE(no_rdm);
    EXPECT_EQ(no_rdm->map, (MemoryMap { ram(0, 0xe0000000), ram(k4G, k4G + 0x10000000) }));

    auto in = inputs(3840 * MiB, { region(0x50000000, 0x50100000, { bdf(0, 2, 0) }) }, { pci(bdf(0, 2, 0), S) });
    in.mmio_hole_start = 0xe0000000;
    EXPECT_FALSE(compute_layout(in)); // below the default 2 GiB boundary: strict conflict

    in.rdm_mem_boundary = 1024 * MiB;
    auto lay = compute_layout(in);
    ASSERT_TRUE(lay) << lay.error().message;
    EXPECT_EQ(lay->low_ram_end, 0x50000000u);
    EXPECT_EQ(lay->map, (MemoryMap { ram(0, 0x50000000), reserved(0x50000000, 0x50100000),
                                     ram(k4G, k4G + 3840 * MiB - 0x50000000) }));
}

TEST(rdm_layout, RegionStartingAtTheBoundaryIsNotRelocated)
{
    auto in = inputs(3 * GiB, { region(0x80000000, 0x80100000, { bdf(0, 2, 0) }) }, { pci(bdf(0, 2, 0), S) });
    auto lay = compute_layout(in);
    ASSERT_FALSE(lay);
    EXPECT_NE(lay.error().message.find("[0x80000000-0x800fffff]"), std::string::npos) << lay.error().message;
    EXPECT_NE(lay.error().message.find("rdm_mem_boundary"), std::string::npos) << lay.error().message;
    EXPECT_NE(lay.error().message.find("0000:00:02.0"), std::string::npos) << lay.error().message;
}

TEST(rdm_layout, LowRamEndsTwoMiBAlignedBelowTheLowestRelocatedRegion)
{
    auto in = inputs(3 * GiB,
                     { region(0xd0000000, 0xd0100000, { bdf(0, 2, 0) }), region(0xa0301000, 0xa0400000, { bdf(0, 3, 0) }) },
                     { pci(bdf(0, 2, 0), S), pci(bdf(0, 3, 0), S) });
    auto lay = compute_layout(in);
    ASSERT_TRUE(lay) << lay.error().message;
    EXPECT_EQ(lay->low_ram_end, 0xa0200000u);
    EXPECT_EQ(lay->high_ram_size, 3 * GiB - 0xa0200000);
    EXPECT_EQ(lay->map, (MemoryMap { ram(0, 0xa0200000), reserved(0xa0301000, 0xa0400000),
                                     reserved(0xd0000000, 0xd0100000), ram(k4G, k4G + 3 * GiB - 0xa0200000) }));
}

TEST(rdm_layout, RelocatedRamCanRunIntoARegionAboveFourGiB)
{
    // 6 GiB: high RAM ends at 0x190000000; moving low RAM's end down to 0xc0000000 adds 0x30000000.
    auto in = inputs(6 * GiB,
                     { region(0xc0000000, 0xc0100000, { bdf(0, 2, 0) }), region(0x1a0000000, 0x1a0100000, { bdf(3, 0, 0) }) },
                     { pci(bdf(0, 2, 0), S), pci(bdf(3, 0, 0), S) });
    auto lay = compute_layout(in);
    ASSERT_FALSE(lay);
    EXPECT_NE(lay.error().message.find("[0x1a0000000-0x1a00fffff] of device 0000:03:00.0"), std::string::npos)
        << lay.error().message;
    EXPECT_NE(lay.error().message.find("high RAM [0x100000000-0x1bfffffff]"), std::string::npos) << lay.error().message;

    in.pci[1].rdm_policy = R;
    auto relaxed = compute_layout(in);
    ASSERT_TRUE(relaxed) << relaxed.error().message;
    EXPECT_EQ(relaxed->map, (MemoryMap { ram(0, 0xc0000000), reserved(0xc0000000, 0xc0100000),
                                         ram(k4G, k4G + 0xc0000000) }));
    ASSERT_EQ(relaxed->warnings.size(), 1u);
    EXPECT_NE(relaxed->warnings[0].find("0000:03:00.0"), std::string::npos);
}

TEST(rdm_layout, SharedRegionIsStrictIfAnyAssignedOwnerIs)
{
    const std::vector<HostRegion> usb { region(0x3e2e0000, 0x3e300000, { bdf(0, 0x14, 0), bdf(0, 0x1a, 0) }) };

    // Strict listed first, so "last device wins" (upstream's accident) would get this wrong.
    auto mixed = compute_layout(inputs(3 * GiB, usb, { pci(bdf(0, 0x14, 0), S), pci(bdf(0, 0x1a, 0), R) }));
    ASSERT_FALSE(mixed);
    EXPECT_NE(mixed.error().message.find("devices 0000:00:14.0, 0000:00:1a.0 (policy strict)"), std::string::npos)
        << mixed.error().message;

    auto relaxed = compute_layout(inputs(3 * GiB, usb, { pci(bdf(0, 0x14, 0), R), pci(bdf(0, 0x1a, 0), R) }));
    ASSERT_TRUE(relaxed) << relaxed.error().message;
    ASSERT_EQ(relaxed->warnings.size(), 1u);
    EXPECT_NE(relaxed->warnings[0].find("devices 0000:00:14.0, 0000:00:1a.0 (policy relaxed)"), std::string::npos)
        << relaxed->warnings[0];

    // Only one owner assigned, relaxed: it overrides a strict global policy even though the other
    // owner stays on the host.
    auto one = compute_layout(inputs(3 * GiB, usb, { pci(bdf(0, 0x14, 0), R) }, { RdmStrategy::Host, S }));
    ASSERT_TRUE(one) << one.error().message;
    ASSERT_EQ(one->regions.size(), 1u);
    EXPECT_EQ(one->regions[0].assigned, std::vector<config::PciBdf> { bdf(0, 0x14, 0) });
    EXPECT_EQ(one->regions[0].policy, R);
}

TEST(rdm_layout, StrictErrorNamesEveryConflictingRegion)
{
    auto lay = compute_layout(inputs(6 * GiB,
                                     { region(0x3e2e0000, 0x3e300000, { bdf(0, 0x14, 0) }),
                                       region(0x140000000, 0x140100000, { bdf(3, 0, 0) }) },
                                     { pci(bdf(0, 0x14, 0), S), pci(bdf(3, 0, 0), S) }));
    ASSERT_FALSE(lay);
    EXPECT_NE(lay.error().message.find("[0x3e2e0000-0x3e2fffff] of device 0000:00:14.0"), std::string::npos);
    EXPECT_NE(lay.error().message.find("[0x140000000-0x1400fffff] of device 0000:03:00.0"), std::string::npos);
}

TEST(rdm_layout, OverlappingRegionsBecomeOneReservedEntry)
{
    auto lay = compute_layout(inputs(2 * GiB,
                                     { region(0xf1000000, 0xf1200000, { bdf(0, 2, 0) }),
                                       region(0xf1100000, 0xf1300000, { bdf(0, 3, 0) }) },
                                     {}, { RdmStrategy::Host, S }));
    ASSERT_TRUE(lay) << lay.error().message;
    EXPECT_EQ(lay->regions.size(), 2u);
    EXPECT_EQ(lay->map, (MemoryMap { ram(0, 2 * GiB), reserved(0xf1000000, 0xf1300000) }));
    EXPECT_NE(lay->map[1].why.find("0000:00:02.0"), std::string::npos);
    EXPECT_NE(lay->map[1].why.find("0000:00:03.0"), std::string::npos);
}

TEST(rdm_layout, RegionNamingNoDeviceCountsOnlyUnderStrategyHost)
{
    const std::vector<HostRegion> orphan { region(0x3e2e0000, 0x3e300000, {}) };
    auto none = compute_layout(inputs(3 * GiB, orphan, { pci(bdf(3, 0, 0), S) }));
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->regions.empty());

    auto host = compute_layout(inputs(3 * GiB, orphan, { pci(bdf(3, 0, 0), S) }, { RdmStrategy::Host, S }));
    ASSERT_FALSE(host);
    EXPECT_NE(host.error().message.find("of no device"), std::string::npos) << host.error().message;
}

TEST(rdm_layout, ImpossibleInputsRejected)
{
    EXPECT_EQ(compute_layout(inputs(0, {}, {})).error().code, EINVAL);
    EXPECT_EQ(compute_layout(inputs(GiB + 1, {}, {})).error().code, EINVAL);
    EXPECT_EQ(compute_layout(inputs(1ull << 52, {}, {})).error().code, EINVAL);

    auto in = inputs(GiB, {}, {});
    in.mmio_hole_start = k4G + 0x1000;
    EXPECT_EQ(compute_layout(in).error().code, EINVAL);
    in.mmio_hole_start = 0;
    EXPECT_EQ(compute_layout(in).error().code, EINVAL);

    EXPECT_EQ(compute_layout(inputs(GiB, { region(0x1000, 0x1000, {}) }, {})).error().code, EINVAL);
    EXPECT_EQ(compute_layout(inputs(GiB, { { ~0ull - 0xfff, 0x2000, {} } }, {})).error().code, EINVAL);
}
