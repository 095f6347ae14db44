#include "config/pci_spec.h"

#include <gtest/gtest.h>

using namespace xkvm::config;

namespace {

PciSpecInput pci_ok(std::string_view s)
{
    auto r = parse_pci_spec(s);
    EXPECT_TRUE(r.has_value()) << s << ": " << (r ? "" : r.error().message);
    return r ? r.release_value() : PciSpecInput {};
}

SpecError pci_err(std::string_view s)
{
    auto r = parse_pci_spec(s);
    EXPECT_FALSE(r.has_value()) << s;
    return r ? SpecError {} : r.error();
}

} // namespace

TEST(PciBdf, ParsesAllFieldsInHex)
{
    EXPECT_EQ(*parse_pci_bdf("03:00.0"), (PciBdf { 0, 3, 0, 0 }));
    EXPECT_EQ(*parse_pci_bdf("0001:ff:1f.7"), (PciBdf { 1, 0xff, 0x1f, 7 }));
    EXPECT_EQ(*parse_pci_bdf("ABCD:0A:1.2"), (PciBdf { 0xabcd, 0x0a, 1, 2 }));
    EXPECT_EQ((PciBdf { 1, 0xff, 0x1f, 7 }).str(), "0001:ff:1f.7");
    EXPECT_EQ((PciBdf { 0, 3, 0, 0 }).str(), "0000:03:00.0");
}

TEST(PciBdf, RejectsMalformedAndOutOfRangeFields)
{
    struct Case {
        std::string_view text;
        size_t offset;
        std::string_view message;
    };
    const Case cases[] = {
        { "03:00", 5, "expected '.F' (the function) in '03:00', a BDF is [DDDD:]BB:DD.F" },
        { "03:20.0", 3, "device 0x20 is out of range (at most 0x1f)" },
        { "03:00.8", 6, "function 0x8 is out of range (at most 0x7)" },
        { "03:00.10", 6, "function '10' must be one digit 0-7" },
        { "10000:00:00.0", 0, "domain '10000' has more than 4 hex digits" },
        { "x3:00.0", 0, "bus 'x3' is not hexadecimal" },
        { "03:00.*", 6, "all-functions ('*') is not supported; list each function" },
        { "00.0", 0, "'00.0' is not a BDF (expected [DDDD:]BB:DD.F)" },
        { "0:0:0:0.0", 0, "'0:0:0:0.0' is not a BDF (expected [DDDD:]BB:DD.F)" },
        { ":00.0", 0, "missing bus (expected [DDDD:]BB:DD.F)" },
    };
    for (const auto& c : cases) {
        auto r = parse_pci_bdf(c.text);
        ASSERT_FALSE(r.has_value()) << c.text;
        EXPECT_EQ(r.error().offset, c.offset) << c.text;
        EXPECT_EQ(r.error().message, c.message) << c.text;
    }
}

TEST(PciSpec, DocumentedEquivalentFormsAgree)
{
    // xl-pci-configuration(5)'s example uses vslot 20, which as hex is past the last slot (0x1f).
    for (auto s : { "36:00.0@1a,seize=1", "36:00.0,vslot=1a,seize=1", "bdf=36:00.0,vslot=1a,seize=1",
                    "seize=1,36:00.0,1a", " 36:00.0@1a , seize = 1 " }) {
        auto p = pci_ok(s);
        ASSERT_TRUE(p.bdf.has_value()) << s;
        EXPECT_EQ(*p.bdf, (PciBdf { 0, 0x36, 0, 0 })) << s;
        EXPECT_EQ(p.vslot, std::optional<uint8_t>(0x1a)) << s;
        EXPECT_EQ(p.seize, std::optional<bool>(true)) << s;
        EXPECT_FALSE(p.permissive.has_value()) << s;
    }
}

TEST(PciSpec, EveryOptionParses)
{
    auto p = pci_ok("0000:03:00.1,permissive=1,msitranslate=0,seize=1,power_mgmt=1,rdm_policy=relaxed");
    EXPECT_EQ(*p.bdf, (PciBdf { 0, 3, 0, 1 }));
    EXPECT_EQ(p.permissive, true);
    EXPECT_EQ(p.msitranslate, false);
    EXPECT_EQ(p.seize, true);
    EXPECT_EQ(p.power_mgmt, true);
    EXPECT_EQ(p.rdm_policy, RdmPolicy::Relaxed);
    EXPECT_FALSE(p.vslot.has_value());
    EXPECT_FALSE(p.name.has_value());

    auto named = pci_ok("name=gpu0,rdm_policy=strict");
    EXPECT_FALSE(named.bdf.has_value());
    EXPECT_EQ(named.name, "gpu0");
    EXPECT_EQ(named.rdm_policy, RdmPolicy::Strict);
}

TEST(PciSpec, EmptyValueMeansDefault)
{
    auto p = pci_ok("03:00.0,permissive=,rdm_policy=");
    EXPECT_FALSE(p.permissive.has_value());
    EXPECT_FALSE(p.rdm_policy.has_value());
}

TEST(PciSpec, VslotIsHexAndBounded)
{
    EXPECT_EQ(pci_ok("03:00.0@1f").vslot, 0x1f);
    EXPECT_EQ(pci_ok("03:00.0,vslot=0x10").vslot, 0x10);
    auto e = pci_err("03:00.0@20");
    EXPECT_EQ(e.offset, 8u);
    EXPECT_EQ(e.message, "vslot 0x20 is out of range (at most 0x1f)");
}

TEST(PciSpec, UnknownKeysAndValuesAreErrorsNotGuesses)
{
    auto e = pci_err("03:00.0,msi_translate=1");
    EXPECT_EQ(e.offset, 8u);
    EXPECT_EQ(e.message, "unknown option 'msi_translate' (expected bdf, vslot, permissive, msitranslate, seize, "
                         "power_mgmt, rdm_policy or name)");
    e = pci_err("03:00.0,rdm_policy=force");
    EXPECT_EQ(e.offset, 19u);
    EXPECT_EQ(e.message, "rdm_policy: unknown policy 'force' (expected strict or relaxed)");
    e = pci_err("03:00.0,permissive=yes");
    EXPECT_EQ(e.offset, 19u);
    EXPECT_EQ(e.message, "'permissive' expects 0 or 1, found 'yes'");
    e = pci_err("03:00.0,1a,seize");
    EXPECT_EQ(e.offset, 11u);
    EXPECT_EQ(e.message, "unexpected 'seize' (expected KEY=VALUE)");
}

TEST(PciSpec, EachParameterAtMostOnce)
{
    EXPECT_EQ(pci_err("03:00.0,seize=1,seize=0").message, "'seize' is given more than once");
    EXPECT_EQ(pci_err("03:00.0@2,vslot=3").message, "'vslot' is given more than once");
    EXPECT_EQ(pci_err("bdf=03:00.0,04:00.0").message, "'bdf' is given more than once");
}

TEST(PciSpec, NeedsExactlyOneOfBdfAndName)
{
    EXPECT_EQ(pci_err("03:00.0,name=gpu").message, "give either a BDF or name=, not both");
    EXPECT_EQ(pci_err("seize=1").message, "missing the device: expected [DDDD:]BB:DD.F first, or bdf= or name=");
    EXPECT_EQ(pci_err("03:00.0,,seize=1").message, "empty parameter in '03:00.0,,seize=1'");
}

TEST(PciSpec, BdfErrorOffsetsAreRelativeToTheWholeString)
{
    auto e = pci_err("seize=1,bdf=03:2g.0");
    EXPECT_EQ(e.offset, 16u);
    EXPECT_EQ(e.message, "device '2g' is not hexadecimal");
}

TEST(RdmSpec, StrategyAndPolicy)
{
    auto r = parse_rdm_spec("strategy=host,policy=strict");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->strategy, RdmStrategy::Host);
    EXPECT_EQ(r->policy, RdmPolicy::Strict);
    auto only_policy = parse_rdm_spec("policy=relaxed");
    ASSERT_TRUE(only_policy.has_value());
    EXPECT_FALSE(only_policy->strategy.has_value());
    EXPECT_EQ(only_policy->policy, RdmPolicy::Relaxed);
}

TEST(RdmSpec, RejectsUnknownKeysValuesAndTheRfcSyntax)
{
    struct Case {
        std::string_view text;
        size_t offset;
        std::string_view message;
    };
    const Case cases[] = {
        { "strategy=all", 9, "unknown strategy 'all' (expected host)" },
        { "strategy=host,policy=force", 21, "unknown policy 'force' (expected strict or relaxed)" },
        { "host, reserve=force", 0, "expected KEY=VALUE with KEY strategy or policy, found 'host'" },
        { "strategy=host,reserve=try", 14, "unknown key 'reserve' (expected strategy or policy)" },
        { "policy=strict,policy=relaxed", 14, "'policy' is given more than once" },
        { "", 0, "empty string (expected strategy=host,policy=strict|relaxed)" },
    };
    for (const auto& c : cases) {
        auto r = parse_rdm_spec(c.text);
        ASSERT_FALSE(r.has_value()) << c.text;
        EXPECT_EQ(r.error().offset, c.offset) << c.text;
        EXPECT_EQ(r.error().message, c.message) << c.text;
    }
}
