#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "vmm/cpuid_setup.h"
#include "vmm/guest_layout.h"
#include "vmm/vm_spec.h"

using namespace xkvm;
using namespace xkvm::vmm;

TEST(VmSpec, JsonRoundTrip)
{
    VmSpec s;
    s.domid = 9;
    s.name = "round";
    s.uuid[3] = 0x42;
    s.type = BootType::Hvm;
    s.kernel = "/k";
    s.cmdline = "console=hvc0";
    s.memory_mib = 256;
    s.maxmem_mib = 512;
    s.vcpus = 2;
    s.max_vcpus = 4;
    s.memory_map = default_memory_map(256);
    s.cpuid.push_back({ 0x40000002, std::nullopt, 3, 0x7, 0 });
    s.cpuid.push_back({ 7, 0u, 1, 0, 0x20 });
    s.vcpu_affinity = { { 0, 1 }, { 1 } };
    s.memory_nodes = { 0 };
    auto back = vm_spec_from_json(vm_spec_to_json(s));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->domid, 9);
    EXPECT_EQ(back->uuid[3], 0x42);
    EXPECT_EQ(back->type, BootType::Hvm);
    EXPECT_EQ(back->maxmem_mib, 512u);
    EXPECT_EQ(back->max_vcpus, 4u);
    EXPECT_EQ(back->memory_map, s.memory_map);
    ASSERT_EQ(back->cpuid.size(), 2u);
    EXPECT_FALSE(back->cpuid[0].subleaf.has_value());
    EXPECT_EQ(back->cpuid[1].subleaf, 0u);
    EXPECT_EQ(back->cpuid[1].clear, 0x20u);
    EXPECT_EQ(back->vcpu_affinity, s.vcpu_affinity);
}

TEST(VmSpec, RejectsNonsense)
{
    VmSpec s;
    s.name = "x";
    s.kernel = "/k";
    s.memory_map = default_memory_map(64);
    auto j = vm_spec_to_json(s);
    j["vcpus"] = 0;
    EXPECT_FALSE(vm_spec_from_json(j));
    j["vcpus"] = 4;
    j["max_vcpus"] = 2;
    EXPECT_FALSE(vm_spec_from_json(j));
    j.erase("kernel");
    EXPECT_FALSE(vm_spec_from_json(j));
    EXPECT_FALSE(vm_spec_from_json(nlohmann::json::array()));
}

TEST(DefaultMemoryMap, SplitsAroundTheHoleAndReservesSpecialPages)
{
    auto small = default_memory_map(64);
    uint64_t ram = 0;
    bool special = false;
    for (const auto& e : small) {
        if (e.type == memory::RegionType::Ram)
            ram += e.size;
        if (e.base == kSpecialPagesGpa && e.type == memory::RegionType::Reserved)
            special = true;
    }
    EXPECT_TRUE(special);
    EXPECT_LE(ram, 64 * memory::MiB);
    auto big = default_memory_map(4096);
    EXPECT_EQ(big.back().base, 4 * memory::GiB);
    EXPECT_EQ(big.back().size, 4096 * memory::MiB - kDefaultLowRamCeiling);
}

TEST(CpuidOverrides, SetAndClearBits)
{
    hv::CpuidTable t;
    t.set(1, 0, { 0, 0, 0xf0, 0 });
    apply_cpuid_overrides(t, { { 1, std::nullopt, 2, 0x1, 0x10 }, { 0x80000001, std::nullopt, 3, 0x800, 0 } });
    EXPECT_EQ(t.get(1)->ecx, 0xe1u);
    EXPECT_EQ(t.get(0x80000001)->edx, 0x800u);
}
