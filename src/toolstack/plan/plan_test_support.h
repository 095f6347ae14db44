// Test-only helpers for the plan tests: configs from text, boot files, fixture hosts (topology, sysfs,
// DMAR table), and a PlanContext that never reads the real host by accident.
#pragma once

#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config/domain_config.h"
#include "config/parser.h"
#include "loader/test_elf_builder.h"
#include "numa/topology.h"
#include "numa/topology_fixture.h"
#include "toolstack/plan/plan.h"

// Readable sets in gtest failure messages.
namespace xkvm::numa {
template<typename Tag>
void PrintTo(const IdSet<Tag>& set, std::ostream* os)
{
    *os << "{" << set.to_string() << "}";
}
} // namespace xkvm::numa

namespace xkvm::plan::test {

namespace fs = std::filesystem;

// A scratch directory with the files a plan reads: a PVH kernel, an HVM firmware image, a ramdisk, a
// sysfs root and a deliberately malformed DMAR table (so a plan that should not read it fails loudly).
class Scratch {
public:
    Scratch() : m_dir(make_dir())
    {
        loader::test::ElfBuilder kernel(loader::ElfClass::Elf32);
        kernel.entry(0x100000).segment(0x100000, loader::test::pattern(0x1000, 1)).phys32_entry(0x100000);
        m_kernel = write("vmlinux.elf", kernel.build());
        loader::test::ElfBuilder fw(loader::ElfClass::Elf32);
        fw.entry(0x100000).segment(0x100000, loader::test::pattern(0x1000, 2));
        m_firmware = write("firmware.elf", fw.build());
        m_ramdisk = write("initrd.img", std::vector<uint8_t>(4096, 0x5a));
        m_bad_dmar = write("garbage.dmar", std::vector<uint8_t>(64, 0xee));
        fs::create_directories(path("sys"));
    }

    std::string path(const std::string& rel) const { return (m_dir.path() / rel).string(); }
    std::string write(const std::string& rel, const std::vector<uint8_t>& bytes) const
    {
        const fs::path p = m_dir.path() / rel;
        fs::create_directories(p.parent_path());
        std::ofstream f(p, std::ios::binary);
        f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        EXPECT_TRUE(f.good()) << p;
        return p.string();
    }

    const std::string& kernel() const { return m_kernel; }
    const std::string& firmware() const { return m_firmware; }
    const std::string& ramdisk() const { return m_ramdisk; }
    const std::string& bad_dmar() const { return m_bad_dmar; }

private:
    static numa::testing::TempDir make_dir()
    {
        auto d = numa::testing::TempDir::create("xkvm-plan");
        if (!d)
            ADD_FAILURE() << d.error().message;
        return d.release_value();
    }

    numa::testing::TempDir m_dir;
    std::string m_kernel, m_firmware, m_ramdisk, m_bad_dmar;
};

// A fixture host topology: `nodes` nodes of `cpus_per_node` CPUs and `mem_mib` free each.
inline numa::Topology fixture_topology(uint32_t nodes, uint32_t cpus_per_node = 4, uint64_t mem_mib = 4096)
{
    auto dir = numa::testing::TempDir::create("xkvm-plan-topo");
    EXPECT_TRUE(dir) << dir.error().message;
    auto st = numa::testing::write_fixture(dir->path(), numa::testing::uniform_fixture(nodes, cpus_per_node, mem_mib));
    EXPECT_TRUE(st) << st.error().message;
    auto topo = numa::Topology::from_sysfs(dir->path());
    EXPECT_TRUE(topo) << topo.error().message;
    return topo.release_value();
}

// A context that reads only the scratch directory: empty sysfs, garbage DMAR table, 1-node topology.
inline PlanContext context(const Scratch& s, uint16_t domid = 7)
{
    PlanContext ctx;
    ctx.domid = domid;
    ctx.host.sysfs_root = s.path("sys");
    ctx.host.dmar_table = s.bad_dmar();
    ctx.topology = fixture_topology(1);
    ctx.log_dir = s.path("log");
    return ctx;
}

inline config::ParsedConfig parse(const std::string& text, const std::vector<std::string>& overrides = {})
{
    auto parsed = config::parse_string(text, "test.cfg", overrides);
    EXPECT_TRUE(parsed) << (parsed ? "" : parsed.error().str());
    return parsed ? parsed.release_value() : config::ParsedConfig {};
}

inline config::DomainConfig build(const config::ParsedConfig& parsed)
{
    auto cfg = config::build_domain_config(parsed);
    EXPECT_TRUE(cfg) << (cfg ? "" : cfg.error().str());
    return cfg ? cfg.release_value() : config::DomainConfig {};
}

inline config::DomainConfig config_from(const std::string& text, const std::vector<std::string>& overrides = {})
{
    return build(parse(text, overrides));
}

// A minimal PVH config booting the scratch kernel, plus `extra` lines.
inline std::string pvh_config(const Scratch& s, const std::string& extra = "")
{
    return "name = \"guest\"\ntype = \"pvh\"\nkernel = \"" + s.kernel() + "\"\nmemory = 64\n" + extra;
}

} // namespace xkvm::plan::test
