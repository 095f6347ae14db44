#include "rdm/dmar.h"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>

#include <gtest/gtest.h>

#include "rdm/dmar_builder.h"
#include "rdm/test_support.h"

using namespace xkvm;
using namespace xkvm::rdm;
using xkvm::rdm::test::bdf;
using xkvm::rdm::test::TempTree;

namespace {

// A laptop-shaped table: one remapping unit, USB legacy-emulation RMRR shared by two controllers,
// the IGD stolen-memory RMRR, and an RMRR for a device behind a root port (00:1c.0 -> bus 2).
std::vector<uint8_t> laptop_table()
{
    DeviceScope behind_root_port { kScopeEndpoint, 0, 0x00, { { 0x1c, 0 }, { 0x00, 0 } } };
    return DmarBuilder()
        .host_address_width(39)
        .add_drhd(0, 0xfed90000, true)
        .add_rmrr(0, 0x3e2e0000, 0x3e2fffff, { endpoint_scope(0, 0x14, 0), endpoint_scope(0, 0x1a, 0) })
        .add_rmrr(0, 0x7b800000, 0x7f7fffff, { endpoint_scope(0, 0x02, 0) })
        .add_rmrr(0, 0xcb000000, 0xcb0fffff, { behind_root_port })
        .build();
}

std::vector<uint8_t> read_all(const std::string& path)
{
    std::ifstream f(path, std::ios::binary);
    return { std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>() };
}

void put16(std::vector<uint8_t>& t, size_t off, uint16_t v)
{
    t[off] = static_cast<uint8_t>(v);
    t[off + 1] = static_cast<uint8_t>(v >> 8);
}

void put32(std::vector<uint8_t>& t, size_t off, uint32_t v)
{
    put16(t, off, static_cast<uint16_t>(v));
    put16(t, off + 2, static_cast<uint16_t>(v >> 16));
}

void put64(std::vector<uint8_t>& t, size_t off, uint64_t v)
{
    put32(t, off, static_cast<uint32_t>(v));
    put32(t, off + 4, static_cast<uint32_t>(v >> 32));
}

// Offsets inside a table holding a single RMRR with one endpoint scope.
constexpr size_t kRmrr = kDmarHeaderSize;
constexpr size_t kScope = kRmrr + kRmrrFixedSize;

std::vector<uint8_t> one_rmrr()
{
    return DmarBuilder().add_rmrr(0, 0x7b800000, 0x7f7fffff, { endpoint_scope(0, 2, 0) }).build();
}

} // namespace

TEST(rdm_dmar, ParsesBuiltTable)
{
    auto t = parse_dmar(laptop_table());
    ASSERT_TRUE(t) << t.error().message;
    EXPECT_EQ(t->host_address_width, 39);
    EXPECT_TRUE(t->warnings.empty());
    ASSERT_EQ(t->rmrrs.size(), 3u); // the DRHD is stepped over
    EXPECT_EQ(t->rmrrs[0].base, 0x3e2e0000u);
    EXPECT_EQ(t->rmrrs[0].limit, 0x3e2fffffu);
    ASSERT_EQ(t->rmrrs[0].scopes.size(), 2u);
    EXPECT_EQ(t->rmrrs[0].scopes[1], endpoint_scope(0, 0x1a, 0));
    ASSERT_EQ(t->rmrrs[2].scopes.size(), 1u);
    EXPECT_EQ(t->rmrrs[2].scopes[0].path, (std::vector<PciPathEntry> { { 0x1c, 0 }, { 0, 0 } }));
}

TEST(rdm_dmar, SegmentAndScopeFieldsSurvive)
{
    DeviceScope bridge { kScopeBridge, 7, 0x80, { { 3, 1 } } };
    auto t = parse_dmar(DmarBuilder().add_rmrr(0x0002, 0x1000, 0x1fff, { bridge }).build());
    ASSERT_TRUE(t) << t.error().message;
    ASSERT_EQ(t->rmrrs.size(), 1u);
    EXPECT_EQ(t->rmrrs[0].segment, 2);
    EXPECT_EQ(t->rmrrs[0].scopes[0], bridge);
}

TEST(rdm_dmar, BadChecksumAndTrailingBytesWarnButParse)
{
    auto bytes = one_rmrr();
    bytes[9] ^= 0x5a;
    bytes.push_back(0xee);
    auto t = parse_dmar(bytes);
    ASSERT_TRUE(t) << t.error().message;
    EXPECT_EQ(t->rmrrs.size(), 1u);
    ASSERT_EQ(t->warnings.size(), 2u);
    EXPECT_NE(t->warnings[0].find("1 bytes after"), std::string::npos) << t->warnings[0];
    EXPECT_NE(t->warnings[1].find("checksum"), std::string::npos) << t->warnings[1];
}

struct Malformed {
    const char* name;
    std::vector<uint8_t> (*make)();
    const char* expect; // in the error message
};

const Malformed kMalformed[] = {
    { "empty", [] { return std::vector<uint8_t> {}; }, "truncated" },
    { "header cut short", [] { auto t = one_rmrr(); t.resize(20); return t; }, "truncated" },
    { "wrong signature", [] { auto t = one_rmrr(); t[0] = 'F'; return t; }, "'FMAR'" },
    { "length below header", [] { auto t = one_rmrr(); put32(t, 4, 40); return t; }, "shorter than its 48-byte header" },
    { "length claims more", [] { auto t = one_rmrr(); put32(t, 4, uint32_t(t.size() + 1)); return t; }, "claims" },
    { "length claims 4 GiB", [] { auto t = one_rmrr(); put32(t, 4, 0xffffffff); return t; }, "claims" },
    { "structure header cut", [] { auto t = one_rmrr(); t.resize(kRmrr + 2); put32(t, 4, uint32_t(t.size())); return t; },
      "header at offset 48 is truncated" },
    { "zero-length structure", [] { auto t = one_rmrr(); put16(t, kRmrr + 2, 0); return t; }, "length 0" },
    { "structure shorter than header", [] { auto t = one_rmrr(); put16(t, kRmrr + 2, 3); return t; }, "length 3" },
    { "structure runs past table", [] { auto t = one_rmrr(); put16(t, kRmrr + 2, 0x400); return t; }, "runs past the table" },
    { "rmrr shorter than fixed part", [] { auto t = one_rmrr(); put16(t, kRmrr + 2, 16); return t; }, "RMRR at offset 48 has length 16" },
    { "zero-length scope", [] { auto t = one_rmrr(); t[kScope + 1] = 0; return t; }, "device scope at offset 72 has length 0" },
    { "scope shorter than fixed part", [] { auto t = one_rmrr(); t[kScope + 1] = 5; return t; }, "length 5" },
    { "scope runs past rmrr", [] { auto t = one_rmrr(); t[kScope + 1] = 10; return t; }, "runs past the end of its RMRR" },
    { "half a path entry", [] { auto t = one_rmrr(); t[kScope + 1] = 7; put16(t, kRmrr + 2, kRmrrFixedSize + 7); t.pop_back(); put32(t, 4, uint32_t(t.size())); return t; },
      "half a path entry" },
    { "scope header cut", [] { auto t = one_rmrr(); put16(t, kRmrr + 2, kRmrrFixedSize + 1); t.resize(kScope + 1); put32(t, 4, uint32_t(t.size())); return t; },
      "truncated" },
    { "base above limit", [] { auto t = one_rmrr(); put64(t, kRmrr + 8, 0x80000000); return t; }, "above its limit" },
    { "limit beyond 52 bits", [] { auto t = one_rmrr(); put64(t, kRmrr + 16, ~0ull); return t; }, "52-bit" },
};

TEST(rdm_dmar, MalformedTablesRejected)
{
    for (const auto& m : kMalformed) {
        SCOPED_TRACE(m.name);
        auto bytes = m.make();
        fix_dmar_checksum(bytes); // the structural check must fire, not the checksum warning
        auto t = parse_dmar(bytes);
        ASSERT_FALSE(t);
        EXPECT_EQ(t.error().code, EINVAL);
        EXPECT_NE(t.error().message.find(m.expect), std::string::npos) << t.error().message;
    }
}

TEST(rdm_dmar, EveryTruncationRejected)
{
    const auto full = laptop_table();
    for (size_t n = 0; n < full.size(); ++n) {
        std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<long>(n));
        EXPECT_FALSE(parse_dmar(cut)) << "prefix of " << n << " bytes";
    }
}

TEST(rdm_dmar, RandomCorruptionNeverYieldsBadRegions)
{
    std::mt19937 rng(1234);
    const auto good = laptop_table();
    int parsed = 0;
    for (int i = 0; i < 5000; ++i) {
        auto t = good;
        for (int flips = 1 + static_cast<int>(rng() % 4); flips > 0; --flips)
            t[kDmarHeaderSize + rng() % (t.size() - kDmarHeaderSize)] = static_cast<uint8_t>(rng());
        auto parsed_table = parse_dmar(t);
        if (!parsed_table)
            continue;
        ++parsed;
        for (const auto& r : parsed_table->rmrrs)
            ASSERT_LE(r.base, r.limit);
        auto host = resolve_host_regions(*parsed_table, "/nonexistent");
        for (const auto& r : host.regions) {
            ASSERT_GT(r.size, 0u);
            ASSERT_EQ(r.base % 4096, 0u);
            ASSERT_EQ(r.size % 4096, 0u);
        }
    }
    EXPECT_GT(parsed, 0); // some corruptions (addresses, bus numbers) still parse
}

TEST(rdm_dmar, ResolvesSingleHopAndBridgedScopes)
{
    TempTree sys;
    sys.add_bridge(bdf(0, 0x1c, 0), 0x02);
    auto t = parse_dmar(laptop_table());
    ASSERT_TRUE(t);
    auto host = resolve_host_regions(*t, sys.root());
    EXPECT_TRUE(host.warnings.empty()) << host.warnings.front();
    ASSERT_EQ(host.regions.size(), 3u);
    EXPECT_EQ(host.regions[0].base, 0x3e2e0000u);
    EXPECT_EQ(host.regions[0].size, 0x20000u);
    EXPECT_EQ(host.regions[0].devices, (std::vector<config::PciBdf> { bdf(0, 0x14, 0), bdf(0, 0x1a, 0) }));
    EXPECT_EQ(host.regions[1].devices, (std::vector<config::PciBdf> { bdf(0, 0x02, 0) }));
    EXPECT_EQ(host.regions[2].devices, (std::vector<config::PciBdf> { bdf(2, 0, 0) }));
}

TEST(rdm_dmar, UnresolvableBridgeWarnsAndDropsDevice)
{
    TempTree sys; // no bridge in it
    auto t = parse_dmar(laptop_table());
    ASSERT_TRUE(t);
    auto host = resolve_host_regions(*t, sys.root());
    ASSERT_EQ(host.regions.size(), 3u);
    EXPECT_TRUE(host.regions[2].devices.empty());
    ASSERT_EQ(host.warnings.size(), 2u);
    EXPECT_NE(host.warnings[0].find("cannot resolve device scope"), std::string::npos) << host.warnings[0];
    EXPECT_NE(host.warnings[0].find("0000:00:1c.0"), std::string::npos) << host.warnings[0];
    EXPECT_NE(host.warnings[1].find("names no PCI device"), std::string::npos) << host.warnings[1];
}

TEST(rdm_dmar, NonPciScopesAndBadPathsWarn)
{
    DeviceScope ioapic { 3, 8, 0xf0, { { 0x1f, 0 } } };
    DeviceScope bad_dev { kScopeEndpoint, 0, 0, { { 0x20, 0 } } };
    DeviceScope no_path { kScopeEndpoint, 0, 0, {} };
    auto t = parse_dmar(DmarBuilder().add_rmrr(0, 0x1000, 0x1fff, { ioapic, bad_dev, no_path, endpoint_scope(0, 4, 0) }).build());
    ASSERT_TRUE(t) << t.error().message;
    auto host = resolve_host_regions(*t, "/nonexistent");
    ASSERT_EQ(host.regions.size(), 1u);
    EXPECT_EQ(host.regions[0].devices, (std::vector<config::PciBdf> { bdf(0, 4, 0) }));
    ASSERT_EQ(host.warnings.size(), 3u);
    EXPECT_NE(host.warnings[0].find("not a PCI device"), std::string::npos) << host.warnings[0];
    EXPECT_NE(host.warnings[1].find("20.0 is not a PCI device.function"), std::string::npos) << host.warnings[1];
    EXPECT_NE(host.warnings[2].find("empty path"), std::string::npos) << host.warnings[2];
}

TEST(rdm_dmar, MisalignedRangesWidenToPagesAndIdenticalRangesMerge)
{
    auto t = parse_dmar(DmarBuilder()
                            .add_rmrr(0, 0x7b800000, 0x7f7fffff, { endpoint_scope(0, 2, 0) })
                            .add_rmrr(0, 0x3e2e0010, 0x3e2ffeff, { endpoint_scope(0, 0x14, 0) })
                            .add_rmrr(0, 0x7b800000, 0x7f7fffff, { endpoint_scope(0, 2, 0), endpoint_scope(0, 3, 0) })
                            .build());
    ASSERT_TRUE(t);
    auto host = resolve_host_regions(*t, "/nonexistent");
    ASSERT_EQ(host.regions.size(), 2u); // sorted, the two identical ranges merged
    EXPECT_EQ(host.regions[0].base, 0x3e2e0000u);
    EXPECT_EQ(host.regions[0].end(), 0x3e300000u);
    EXPECT_EQ(host.regions[1].base, 0x7b800000u);
    EXPECT_EQ(host.regions[1].devices, (std::vector<config::PciBdf> { bdf(0, 2, 0), bdf(0, 3, 0) }));
    ASSERT_EQ(host.warnings.size(), 1u);
    EXPECT_NE(host.warnings[0].find("[0x3e2e0010-0x3e2ffeff] is not page aligned; reserving [0x3e2e0000-0x3e2fffff]"),
              std::string::npos)
        << host.warnings[0];
}

TEST(rdm_dmar, MissingTableMeansNoRegions)
{
    TempTree dir;
    auto host = read_host_rdm({ dir.root(), dir.path("no-such-DMAR") });
    ASSERT_TRUE(host) << host.error().message;
    EXPECT_TRUE(host->regions.empty());
    EXPECT_TRUE(host->warnings.empty());
}

TEST(rdm_dmar, UnreadableOrMalformedTableIsAnError)
{
    TempTree dir;
    auto is_dir = read_host_rdm({ dir.root(), dir.root() });
    ASSERT_FALSE(is_dir);
    EXPECT_EQ(is_dir.error().code, EISDIR);

    auto bad = one_rmrr();
    bad.resize(60);
    dir.write("DMAR", bad);
    auto malformed = read_host_rdm({ dir.root(), dir.path("DMAR") });
    ASSERT_FALSE(malformed);
    EXPECT_NE(malformed.error().message.find(dir.path("DMAR")), std::string::npos) << malformed.error().message;

    dir.write("BIG", std::vector<uint8_t>(kMaxDmarTableSize + 1, 0));
    auto big = read_host_rdm({ dir.root(), dir.path("BIG") });
    ASSERT_FALSE(big);
    EXPECT_EQ(big.error().code, EFBIG);
}

// The binary fixture is what the builder makes; XKVM_RDM_REGEN=1 rewrites it.
TEST(rdm_dmar, BinaryFixtureReadFromOverriddenPath)
{
    const std::string path = std::string(XKVM_RDM_TESTDATA) + "/laptop.dmar";
    if (std::getenv("XKVM_RDM_REGEN")) {
        std::ofstream f(path, std::ios::binary);
        const auto bytes = laptop_table();
        f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    }
    EXPECT_EQ(read_all(path), laptop_table());

    TempTree sys;
    sys.add_bridge(bdf(0, 0x1c, 0), 0x02);
    auto host = read_host_rdm({ sys.root(), path });
    ASSERT_TRUE(host) << host.error().message;
    ASSERT_EQ(host->regions.size(), 3u);
    EXPECT_EQ(host->regions[2].devices, (std::vector<config::PciBdf> { bdf(2, 0, 0) }));
}
