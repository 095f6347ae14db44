// Reserved device memory from the user's side: xl.cfg text (rdm= and pci= as written, defaults left
// out or spelled out) through the parser, the model's defaults and plan_memory() against fixture DMAR
// tables, for every combination of strategy x global policy x per-device policy. rdm_layout_matrix
// checks the same rules on already-defaulted inputs; this proves the defaults and the override reach
// the guest's map (VMM fixed areas included) and its errors and warnings.
#include <ostream>

#include <gtest/gtest.h>

#include "rdm/dmar_builder.h"
#include "rdm/test_support.h"
#include "toolstack/plan/memory_plan.h"
#include "toolstack/plan/plan_test_support.h"
#include "vmm/guest_layout.h"
#include "vmm/vm_spec.h"

using namespace xkvm;
using namespace xkvm::plan;
using config::RdmPolicy;
using memory::MapEntry;
using memory::MemoryMap;
using memory::MiB;
using memory::RegionType;
using rdm::test::bdf;

namespace {

constexpr auto S = RdmPolicy::Strict;
constexpr auto R = RdmPolicy::Relaxed;

// rdm= as a user writes it, and what it means once the defaults are in.
struct Global {
    const char* name;
    const char* rdm; // nullptr: no rdm= line
    bool host;       // strategy=host
    RdmPolicy policy;
};

const Global kGlobals[] = {
    { "NoRdm", nullptr, false, R }, // the global default policy is relaxed
    { "PolicyStrict", "policy=strict", false, S },
    { "PolicyRelaxed", "policy=relaxed", false, R },
    { "HostDefaultPolicy", "strategy=host", true, R },
    { "HostStrict", "strategy=host,policy=strict", true, S },
    { "HostRelaxed", "policy=relaxed,strategy=host", true, R },
};

// The pci= entry of the device owning the region, and its effective per-device policy.
struct Device {
    const char* name;
    const char* suffix; // nullptr: the device is not assigned
    RdmPolicy policy;
};

const Device kDevices[] = {
    { "Unassigned", nullptr, R },
    { "DeviceDefault", "", S }, // the per-device default is strict
    { "DeviceStrict", ",rdm_policy=strict", S },
    { "DeviceRelaxed", ",permissive=1,rdm_policy=relaxed", R },
};

enum class Fate { Conflicts, Kept, Relocates };

struct Scenario {
    const char* name;
    uint64_t base, limit; // the RMRR, inclusive limit as in the table
    config::PciBdf owner;
    uint64_t memory_mib;
    Fate fate;
    const char* conflict_with; // part of the message when it conflicts
};

const Scenario kScenarios[] = {
    // Below rdm_mem_boundary inside low RAM: never relocated around.
    { "LowRamBelowBoundary", 0x3e2e0000, 0x3e2fffff, bdf(0, 0x14, 0), 3072, Fate::Conflicts, "rdm_mem_boundary" },
    // Above the boundary inside low RAM: low RAM ends below it, the rest moves above 4 GiB.
    { "LowRamAboveBoundary", 0xcb8f0000, 0xcf9fffff, bdf(0, 0x02, 0), 3584, Fate::Relocates, nullptr },
    // In the MMIO hole: reserved, so nothing is placed on it.
    { "MmioHole", 0xf8000000, 0xf80fffff, bdf(0, 0x1f, 3), 1024, Fate::Kept, nullptr },
    // On the VMM's special pages (xenstore and console rings): a conflict like one with RAM.
    { "SpecialPages", 0xfeff0000, 0xfeff0fff, bdf(0, 0x1f, 3), 1024, Fate::Conflicts, "special pages" },
};

using Param = std::tuple<Scenario, Global, Device>;

class plan_rdm_matrix : public ::testing::TestWithParam<Param> { };

std::string config_text(const Scenario& sc, const Global& g, const Device& d)
{
    std::string text = "name = \"rdm\"\ntype = \"hvm\"\nfirmware_override = \"/fw\"\nmemory = "
        + std::to_string(sc.memory_mib) + "\n";
    if (g.rdm)
        text += fmt::format("rdm = \"{}\"\n", g.rdm);
    // A device without RMRRs is always assigned: it changes nothing, and the DMAR table is read.
    text += "pci = [ '05:00.0'";
    if (d.suffix)
        text += fmt::format(", \"{}{}\"", rdm::bdf_str(sc.owner), d.suffix);
    return text + " ]\n";
}

bool overlaps(const MapEntry& e, uint64_t base, uint64_t end) { return e.base < end && base < e.end(); }

TEST_P(plan_rdm_matrix, MapErrorsAndWarnings)
{
    const auto& [sc, global, device] = GetParam();
    const bool assigned = device.suffix != nullptr;
    const bool included = global.host || assigned;
    const RdmPolicy effective = assigned ? device.policy : global.policy;
    const uint64_t base = sc.base, end = sc.limit + 1;

    rdm::test::TempTree host;
    host.write("DMAR", rdm::DmarBuilder()
                           .add_drhd(0, 0xfed90000, true)
                           .add_rmrr(0, sc.base, sc.limit, { rdm::endpoint_scope(sc.owner.bus, sc.owner.dev, sc.owner.func) })
                           .build());
    const std::string text = config_text(sc, global, device);
    SCOPED_TRACE(text);
    const config::DomainConfig cfg = test::config_from(text);
    ASSERT_EQ(cfg.rdm.policy, global.policy);
    ASSERT_EQ(cfg.rdm.strategy == config::RdmStrategy::Host, global.host);

    auto plan = plan_memory(cfg, { host.root(), host.path("DMAR") });
    const std::string range = rdm::range_str(base, end);
    const std::string naming = assigned ? "device " + rdm::bdf_str(sc.owner)
                                        : "host device " + rdm::bdf_str(sc.owner) + ", not assigned";

    if (included && sc.fate == Fate::Conflicts && effective == S) {
        ASSERT_FALSE(plan) << "a strict conflict must fail the plan";
        EXPECT_EQ(plan.error().code, EBUSY);
        for (const std::string& part : { range, naming, std::string("policy strict"), std::string(sc.conflict_with) })
            EXPECT_NE(plan.error().message.find(part), std::string::npos) << part << " in: " << plan.error().message;
        return;
    }
    ASSERT_TRUE(plan) << plan.error().message;

    uint64_t ram = 0;
    for (const auto& e : plan->map)
        ram += e.type == RegionType::Ram ? e.size : 0;
    EXPECT_EQ(ram + (0x100000 - 0x9fc00), sc.memory_mib * MiB) << "RAM lost or gained (the legacy hole aside)";

    if (!included || sc.fate == Fate::Conflicts) {
        // Not wanted, or relaxed: the guest sees the plain map.
        EXPECT_EQ(plan->map, vmm::default_memory_map(sc.memory_mib));
        if (!included) {
            EXPECT_TRUE(plan->regions.empty());
            EXPECT_TRUE(plan->warnings.empty()) << plan->warnings.front();
            return;
        }
        ASSERT_EQ(plan->regions.size(), 1u);
        EXPECT_FALSE(plan->regions[0].in_guest_map);
        EXPECT_EQ(plan->regions[0].policy, R);
        ASSERT_EQ(plan->warnings.size(), 1u);
        for (const std::string& part : { range, naming, std::string("relaxed"), std::string("left out") })
            EXPECT_NE(plan->warnings[0].find(part), std::string::npos) << part << " in: " << plan->warnings[0];
        return;
    }

    ASSERT_EQ(plan->regions.size(), 1u);
    EXPECT_TRUE(plan->regions[0].in_guest_map);
    EXPECT_EQ(plan->regions[0].policy, effective);
    EXPECT_EQ(plan->regions[0].assigned.empty(), !assigned);
    EXPECT_TRUE(plan->warnings.empty()) << plan->warnings.front();
    size_t reserved_entries = 0;
    for (const auto& e : plan->map) {
        if (e.type == RegionType::Ram) {
            EXPECT_FALSE(overlaps(e, base, end)) << "RAM on the reserved region";
        } else if (e.base == base && e.end() == end) {
            ++reserved_entries;
        }
    }
    EXPECT_EQ(reserved_entries, 1u) << "the region must be one reserved entry of the guest's map";
    if (sc.fate == Fate::Relocates) {
        const uint64_t low_end = base & ~(2 * MiB - 1);
        EXPECT_EQ(plan->map.back(), (MapEntry { vmm::kHighRamBase, sc.memory_mib * MiB - low_end, RegionType::Ram, "high RAM" }));
        for (const auto& e : plan->map) {
            if (e.type == RegionType::Ram && e.base < vmm::kHighRamBase) {
                EXPECT_LE(e.end(), low_end);
            }
        }
    }
}

std::string case_name(const ::testing::TestParamInfo<Param>& info)
{
    const auto& [sc, g, d] = info.param;
    return fmt::format("{}_{}_{}", sc.name, g.name, d.name);
}

void PrintTo(const Param& p, std::ostream* os)
{
    *os << std::get<0>(p).name << "/" << std::get<1>(p).name << "/" << std::get<2>(p).name;
}

INSTANTIATE_TEST_SUITE_P(All, plan_rdm_matrix,
                         ::testing::Combine(::testing::ValuesIn(kScenarios), ::testing::ValuesIn(kGlobals),
                                            ::testing::ValuesIn(kDevices)),
                         case_name);

} // namespace
