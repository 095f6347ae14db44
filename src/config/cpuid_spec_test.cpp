#include "config/cpuid_spec.h"

#include <gtest/gtest.h>

using namespace xkvm::config;

namespace {

CpuidPolicy xend(std::initializer_list<std::string_view> entries)
{
    CpuidPolicy p;
    for (auto e : entries) {
        auto r = apply_cpuid_xend(e, p);
        EXPECT_TRUE(r.has_value()) << e << ": " << (r ? "" : r.error().message);
    }
    return p;
}

CpuidPolicy libxl(std::string_view s)
{
    CpuidPolicy p;
    auto r = apply_cpuid_libxl(s, p);
    EXPECT_TRUE(r.has_value()) << s << ": " << (r ? "" : r.error().message);
    return p;
}

CpuidRegPolicy reg(uint32_t leaf, std::optional<uint32_t> subleaf, CpuidReg r, uint32_t set, uint32_t clear,
                   uint32_t host = 0)
{
    CpuidRegPolicy p;
    p.leaf = leaf;
    p.subleaf = subleaf;
    p.reg = r;
    p.set_mask = set;
    p.clear_mask = clear;
    p.host_mask = host;
    return p;
}

SpecError xend_err(std::string_view e)
{
    CpuidPolicy p;
    auto r = apply_cpuid_xend(e, p);
    EXPECT_FALSE(r.has_value()) << e;
    return r ? SpecError {} : r.error();
}

SpecError libxl_err(std::string_view s)
{
    CpuidPolicy p;
    auto r = apply_cpuid_libxl(s, p);
    EXPECT_FALSE(r.has_value()) << s;
    return r ? SpecError {} : r.error();
}

} // namespace

TEST(CpuidSpec, HexValueForcesEveryBit)
{
    // Seed 000: enable the PV extension framework, PV clock and PV event channels.
    EXPECT_EQ(xend({ "0x40000002:edx=0x7" }),
              CpuidPolicy { reg(0x40000002, std::nullopt, CpuidReg::Edx, 0x7, 0xfffffff8) });
}

TEST(CpuidSpec, BitStringsAreMostSignificantFirst)
{
    auto p = xend({ "1:ecx=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0,edx=xx0xxxxxxxxxxxxxxxxxxxxxxxxxxxxx" });
    EXPECT_EQ(p, (CpuidPolicy { reg(1, std::nullopt, CpuidReg::Ecx, 0, 1u), reg(1, std::nullopt, CpuidReg::Edx, 0, 1u << 29) }));
    EXPECT_EQ(cpuid_bits_string(p[1]), "xx0xxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
}

TEST(CpuidSpec, LibxlFormMatchesTheEquivalentXendForm)
{
    // xl.cfg(5) gives these two as the same policy.
    EXPECT_EQ(libxl("host,tm=0,sse3=0"),
              xend({ "1:ecx=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0,edx=xx0xxxxxxxxxxxxxxxxxxxxxxxxxxxxx" }));
}

TEST(CpuidSpec, HostAndDefaultCharacters)
{
    auto p = xend({ "7,0:ebx=kkkkxxxxxxxxxxxxxxxxxxxxxxxx1s0x" });
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].subleaf, 0u);
    EXPECT_EQ(p[0].host_mask, 0xf0000000u | (1u << 2));
    EXPECT_EQ(p[0].set_mask, 1u << 3);
    EXPECT_EQ(p[0].clear_mask, 1u << 1);
    EXPECT_EQ(cpuid_bits_string(p[0]), "kkkkxxxxxxxxxxxxxxxxxxxxxxxx1k0x"); // 's' is read as 'k'
}

TEST(CpuidSpec, LaterEntriesReplaceARegisterAndStaySorted)
{
    auto p = xend({ "0x80000001:ecx=0x0", "1:eax=0x1", "7,1:eax=0x2", "7,0:ebx=0x3", "7:eax=0x4", "1:eax=0x5" });
    ASSERT_EQ(p.size(), 5u);
    EXPECT_EQ(p[0].leaf, 1u);
    EXPECT_EQ(p[0].set_mask, 5u);
    EXPECT_EQ(p[1].leaf, 7u);
    EXPECT_FALSE(p[1].subleaf.has_value());
    EXPECT_EQ(p[2].subleaf, 0u);
    EXPECT_EQ(p[3].subleaf, 1u);
    EXPECT_EQ(p[4].leaf, 0x80000001u);
}

TEST(CpuidSpec, LibxlFlagsOnlyTouchTheirBits)
{
    auto p = libxl("host,sse3=1,aes=k,avx=x,nx=0");
    ASSERT_EQ(p.size(), 2u);
    EXPECT_EQ(p[0], reg(1, std::nullopt, CpuidReg::Ecx, 1u, 0, 1u << 25));
    EXPECT_EQ(p[1], reg(0x80000001, std::nullopt, CpuidReg::Edx, 0, 1u << 20));
    EXPECT_TRUE(libxl("host").empty());
}

TEST(CpuidSpec, FamilyAndModelUseTheExtendedFields)
{
    auto p = libxl("host,family=6,model=0x55");
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(cpuid_bits_string(p[0]), "xxxx000000000101xxxx01100101xxxx");
    EXPECT_EQ(cpuid_bits_string(libxl("host,family=0x19")[0]), "xxxx00001010xxxxxxxx1111xxxxxxxx");
    EXPECT_EQ(cpuid_bits_string(libxl("host,stepping=k,family=k")[0]), "xxxxkkkkkkkkxxxxxxxxkkkkxxxxkkkk");
}

TEST(CpuidSpec, NumericFields)
{
    auto p = libxl("host,maxleaf=0xd,procpkg=3");
    ASSERT_EQ(p.size(), 2u);
    EXPECT_EQ(p[0], reg(0, std::nullopt, CpuidReg::Eax, 0xd, ~0xdu));
    EXPECT_EQ(p[1], reg(4, 0u, CpuidReg::Eax, 3u << 26, 0x3cu << 26));
}

TEST(CpuidSpec, XendFormErrors)
{
    struct Case {
        std::string_view text;
        size_t offset;
        std::string_view message;
    };
    const std::string bad_char = "1:ecx=" + std::string(31, 'x') + "q";
    const Case cases[] = {
        { "0x1ecx=0", 8, "missing ':' (expected leaf[,subleaf]:reg=VALUE[,reg=VALUE...])" },
        { "1:efx=0x1", 2, "unknown register 'efx' (expected eax, ebx, ecx or edx)" },
        { "1:ecx=0101", 6, "ecx: expected 32 characters of 0/1/x/k/s, found 4 (or a 0x-hex value)" },
        { bad_char, 37, "ecx: 'q' is not one of 0, 1, x, k, s (or a 0x-hex value)" },
        { "1:ecx=0x1, ecx=0x2", 11, "register ecx is given more than once" },
        { "1:", 2, "no register after ':' (expected leaf[,subleaf]:reg=VALUE[,reg=VALUE...])" },
        { "1:eax", 2, "expected reg=VALUE (reg one of eax, ebx, ecx, edx), found 'eax'" },
        { "zz:eax=0x1", 0, "leaf 'zz' is not a 32-bit decimal or 0x-hex number (expected leaf[,subleaf]:reg=VALUE[,reg=VALUE...])" },
        { "1,2,3:eax=0x1", 4, "expected at most a leaf and a subleaf before ':'" },
        { "1:eax=0x100000000", 6, "'0x100000000' is not a 32-bit hex value" },
    };
    for (const auto& c : cases) {
        auto e = xend_err(c.text);
        EXPECT_EQ(e.offset, c.offset) << c.text;
        EXPECT_EQ(e.message, c.message) << c.text;
    }
}

TEST(CpuidSpec, LibxlFormErrors)
{
    auto e = libxl_err("tm=0");
    EXPECT_EQ(e.offset, 0u);
    EXPECT_EQ(e.message, "a cpuid string must start with 'host' (libxl form \"host,NAME=VALUE,...\"); for the xend form "
                         "use a list [ \"leaf[,subleaf]:reg=VALUE[,reg=VALUE...]\" ]");
    e = libxl_err("host,frob=1");
    EXPECT_EQ(e.offset, 5u);
    EXPECT_EQ(e.message, "unknown CPUID feature or field 'frob' (names as in xl.cfg(5) / cpufeatureset.h, lowercase with '-')");
    e = libxl_err("host,sse3=2");
    EXPECT_EQ(e.offset, 10u);
    EXPECT_EQ(e.message, "'sse3' expects one of 0, 1, x, k, s, found '2'");
    e = libxl_err("host,nc=300");
    EXPECT_EQ(e.offset, 8u);
    EXPECT_EQ(e.message, "'nc' is a 8-bit field; 300 does not fit");
    e = libxl_err("host,family=300");
    EXPECT_EQ(e.message, "family 300 is out of range (at most 270)");
    e = libxl_err("host,sse3");
    EXPECT_EQ(e.message, "expected NAME=VALUE, found 'sse3'");
    e = libxl_err("host,model=junk");
    EXPECT_EQ(e.message, "'model' expects a number or one of x, k, s, found 'junk'");
}

TEST(CpuidSpec, BitStringRoundTrip)
{
    CpuidRegPolicy p;
    ASSERT_TRUE(set_cpuid_bits(p, "10xk10xk10xk10xk10xk10xk10xk10xk").has_value());
    EXPECT_EQ(cpuid_bits_string(p), "10xk10xk10xk10xk10xk10xk10xk10xk");
    EXPECT_EQ(p.set_mask & p.clear_mask, 0u);
    EXPECT_EQ(p.set_mask & p.host_mask, 0u);
    EXPECT_EQ(reg_from_name("ecx"), CpuidReg::Ecx);
    EXPECT_EQ(reg_from_name("rax"), std::nullopt);
}
