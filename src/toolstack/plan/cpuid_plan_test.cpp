// cpuid= to CPUID overrides: the seed's 0x40000002:edx forms, bit strings, x/k/s, Xen leaves.
#include "toolstack/plan/cpuid_plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "toolstack/plan/plan_test_support.h"
#include "xen/cpuid_leaves.h"

using namespace xkvm;
using namespace xkvm::plan;
using namespace xkvm::plan::test;
using ::testing::HasSubstr;

namespace {

CpuidPlan from_cpuid(const std::string& value)
{
    return plan_cpuid(config_from("name = \"c\"\ntype = \"hvm\"\ncpuid = " + value + "\n").cpuid);
}

// What the guest ends up seeing in Xen leaf 2 EDX, folded the way vmm/cpuid_setup.cpp folds overrides.
uint32_t guest_pv_features(const CpuidPlan& plan)
{
    uint32_t edx = 0;
    for (const auto& o : plan.overrides)
        if (o.leaf == 0x40000002 && o.reg == 3)
            edx = (edx | o.set) & ~o.clear;
    return xen::effective_pv_features(edx);
}

} // namespace

TEST(plan_cpuid, SeedHexValueEnablesAllThreePvExtensions)
{
    auto plan = from_cpuid("[ '0x40000002:edx=0x7' ]");
    ASSERT_EQ(plan.overrides.size(), 1u);
    const auto& o = plan.overrides[0];
    EXPECT_EQ(o.leaf, 0x40000002u);
    EXPECT_FALSE(o.subleaf.has_value());
    EXPECT_EQ(o.reg, 3); // edx
    EXPECT_EQ(o.set, 0x7u);
    EXPECT_EQ(o.clear, 0xfffffff8u) << "a hex value forces every bit";
    EXPECT_TRUE(plan.warnings.empty());
    EXPECT_EQ(guest_pv_features(plan), 0x7u);
}

TEST(plan_cpuid, EventChannelBitWithoutClockIsPassedOnAndWarnedAbout)
{
    auto plan = from_cpuid("[ '0x40000002:edx=0x5' ]");
    ASSERT_EQ(plan.overrides.size(), 1u);
    EXPECT_EQ(plan.overrides[0].set, 0x5u);
    EXPECT_EQ(plan.overrides[0].clear, 0xfffffffau);
    ASSERT_EQ(plan.warnings.size(), 1u);
    EXPECT_THAT(plan.warnings[0], HasSubstr("PV event-channel bit (2) is ignored unless the PV clocksource bit (1)"));
    // The VMM's rule drops the event-channel bit; the framework bit stays.
    EXPECT_EQ(guest_pv_features(plan), 0x1u);
}

TEST(plan_cpuid, BitStringForms)
{
    auto low = from_cpuid("[ '0x40000002:edx=xxxxxxxxxxxxxxxxxxxxxxxxxxxxx111' ]");
    ASSERT_EQ(low.overrides.size(), 1u);
    EXPECT_EQ(low.overrides[0].set, 0x7u);
    EXPECT_EQ(low.overrides[0].clear, 0u) << "x bits are not forced";
    EXPECT_EQ(guest_pv_features(low), 0x7u);

    auto exact = from_cpuid("[ '0x40000002:edx=00000000000000000000000000000011' ]");
    ASSERT_EQ(exact.overrides.size(), 1u);
    EXPECT_EQ(exact.overrides[0].set, 0x3u);
    EXPECT_EQ(exact.overrides[0].clear, 0xfffffffcu);
    EXPECT_TRUE(exact.warnings.empty());

    auto off = from_cpuid("[ '0x40000002:edx=xxxxxxxxxxxxxxxxxxxxxxxxxxxxx0xx' ]");
    ASSERT_EQ(off.overrides.size(), 1u);
    EXPECT_EQ(off.overrides[0].set, 0u);
    EXPECT_EQ(off.overrides[0].clear, 0x4u);
}

TEST(plan_cpuid, HostAndDefaultBitsAreNotOverridden)
{
    auto plan = from_cpuid("[ '1:ecx=kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk,edx=ssssssssssssssssxxxxxxxxxxxxxxxx' ]");
    EXPECT_TRUE(plan.overrides.empty()) << "nothing forced: no override (and no empty leaf created)";

    auto mixed = from_cpuid("[ '0x80000001:ecx=sssssssssssssssssssssssssssssss1' ]");
    ASSERT_EQ(mixed.overrides.size(), 1u);
    EXPECT_EQ(mixed.overrides[0].set, 0x1u);
    EXPECT_EQ(mixed.overrides[0].clear, 0u);
}

TEST(plan_cpuid, SubleafAndOrderSurvive)
{
    auto plan = from_cpuid("[ '7,0:ebx=xxxxxxxxxxxxxxxxxxxxxxxxxxx0xxxx', '1:ecx=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0' ]");
    ASSERT_EQ(plan.overrides.size(), 2u);
    EXPECT_EQ(plan.overrides[0].leaf, 1u);
    EXPECT_EQ(plan.overrides[0].reg, 2); // ecx
    EXPECT_EQ(plan.overrides[0].clear, 0x1u);
    EXPECT_EQ(plan.overrides[1].leaf, 7u);
    ASSERT_TRUE(plan.overrides[1].subleaf.has_value());
    EXPECT_EQ(*plan.overrides[1].subleaf, 0u);
    EXPECT_EQ(plan.overrides[1].reg, 1); // ebx
    EXPECT_EQ(plan.overrides[1].clear, 1u << 4);
}

TEST(plan_cpuid, LibxlForm)
{
    auto plan = from_cpuid("\"host,sse3=0,hypervisor=1,aes=k,tm=0\"");
    uint32_t ecx_set = 0, ecx_clear = 0, edx_clear = 0;
    for (const auto& o : plan.overrides) {
        if (o.leaf == 1 && o.reg == 2) {
            ecx_set = o.set;
            ecx_clear = o.clear;
        }
        if (o.leaf == 1 && o.reg == 3)
            edx_clear = o.clear;
    }
    EXPECT_EQ(ecx_set, 1u << 31);   // hypervisor
    EXPECT_EQ(ecx_clear, 1u << 0);  // sse3
    EXPECT_EQ(edx_clear, 1u << 29); // tm
}

TEST(plan_cpuid, OtherXenLeavesAreDroppedWithAWarning)
{
    auto plan = from_cpuid("[ '0x40000001:eax=0x00040011', '0x40000002:ecx=0x1' ]");
    EXPECT_TRUE(plan.overrides.empty());
    ASSERT_EQ(plan.warnings.size(), 2u);
    EXPECT_THAT(plan.warnings[0], HasSubstr("cpuid 0x40000001:eax"));
    EXPECT_THAT(plan.warnings[1], HasSubstr("only 0x40000002:edx"));
}

TEST(plan_cpuid, UnknownPvBitsAreWarnedAbout)
{
    auto plan = from_cpuid("[ '0x40000002:edx=0x17' ]");
    ASSERT_EQ(plan.overrides.size(), 1u);
    ASSERT_EQ(plan.warnings.size(), 1u);
    EXPECT_THAT(plan.warnings[0], HasSubstr("bits 0x10 have no meaning"));
}

TEST(plan_cpuid, ArrivesInTheSpecThroughPlanDomain)
{
    Scratch s;
    auto cfg = config_from(pvh_config(s, "cpuid = [ '0x40000002:edx=0x5' ]\n"));
    auto p = plan_domain(cfg, context(s));
    ASSERT_TRUE(p) << p.error().message;
    ASSERT_EQ(p->spec.cpuid.size(), 1u);
    EXPECT_EQ(p->spec.cpuid[0].leaf, 0x40000002u);
    EXPECT_EQ(p->spec.cpuid[0].reg, 3);
    EXPECT_EQ(p->spec.cpuid[0].set, 0x5u);
    ASSERT_EQ(p->warnings.size(), 1u);
    EXPECT_THAT(p->warnings[0], HasSubstr("event-channel"));
}
