// The CLI on a host of the test's making (a sysfs tree in $XKVM_SYSFS_ROOT): automatic NUMA
// placement, and what create -n says of the host's reserved memory and PCI devices.
// XKVM-OWN: placement and the host fixtures are xkvm's own; the xl formats are cited at their cases.
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "cli_harness.h"

namespace xkvm::testing {
namespace {

// A host of the test's making, in $XKVM_SYSFS_ROOT (read by `create` for the NUMA topology, the PCI
// devices and the DMAR table): nodes 0 (CPUs 0-3, 1 GiB free) and 1 (CPUs 4-7, 8 GiB free), the
// laptop DMAR fixture, 00:14.0 bound to its USB driver and 00:1f.3 bound to vfio-pci. Dry runs only:
// nothing may run on CPUs this machine does not have.
class CliFixtureHost : public CliTest {
protected:
    void SetUp() override
    {
        CliTest::SetUp();
        if (IsSkipped() || HasFatalFailure())
            return;
        m_host = m_rundir + "/host";
        const std::string sys = m_host + "/sys";
        put(sys + "/devices/system/cpu/online", "0-7\n");
        put(sys + "/devices/system/node/online", "0-1\n");
        const uint64_t free_mib[] = { 1024, 8192 };
        for (int n = 0; n < 2; ++n) {
            const std::string dir = fmt::format("{}/devices/system/node/node{}", sys, n);
            put(dir + "/cpulist", fmt::format("{}-{}\n", 4 * n, 4 * n + 3));
            put(dir + "/meminfo", fmt::format("Node {0} MemTotal: {1} kB\nNode {0} MemFree: {1} kB\n", n,
                                              free_mib[n] * 1024));
            put(dir + "/distance", n == 0 ? "10 21\n" : "21 10\n");
        }
        put(m_host + "/proc/meminfo", "MemTotal: 9437184 kB\nMemFree: 9437184 kB\n");
        // The DMAR fixture checked in beside rdm's tests (this file is compiled by its absolute path).
        const auto dmar = std::filesystem::path(__FILE__).parent_path() / "../../src/rdm/testdata/laptop.dmar";
        std::filesystem::create_directories(sys + "/firmware/acpi/tables");
        ASSERT_TRUE(std::filesystem::copy_file(dmar, sys + "/firmware/acpi/tables/DMAR")) << dmar;
        for (auto [bdf, driver] : { std::pair { "0000:00:14.0", "xhci_hcd" }, std::pair { "0000:00:1f.3", "vfio-pci" } }) {
            const std::string dev = sys + "/bus/pci/devices/" + bdf;
            std::filesystem::create_directories(dev);
            std::filesystem::create_directories(sys + "/bus/pci/drivers/" + driver);
            std::filesystem::create_directory_symlink(std::string("../../../bus/pci/drivers/") + driver, dev + "/driver");
        }
        ::setenv("XKVM_SYSFS_ROOT", m_host.c_str(), 1);
    }
    void TearDown() override
    {
        ::unsetenv("XKVM_SYSFS_ROOT");
        CliTest::TearDown();
    }
    static void put(const std::string& path, const std::string& text)
    {
        std::filesystem::create_directories(std::filesystem::path(path).parent_path());
        std::ofstream(path) << text;
    }
    // `create -n --plan` of a hello config with `extra` lines (from line 5 on).
    RunResult plan_of(const std::string& extra)
    {
        return run({ "create", "-n", "--plan", guest_config("fx", XKVM_GUEST_ELF("hello"), extra) });
    }
    static nlohmann::json json_of(const RunResult& r)
    {
        auto j = nlohmann::json::parse(r.out, nullptr, false);
        EXPECT_FALSE(j.is_discarded()) << r.out << r.err;
        return j;
    }

    std::string m_host;
};

TEST_F(CliFixtureHost, AutomaticPlacementPicksTheNodeWithRoom)
{
    auto r = plan_of("memory = 2048\nvcpus = 2\n");
    ASSERT_EQ(r.rc, 0) << r.err;
    auto numa = json_of(r)["numa"];
    EXPECT_EQ(numa["host_nodes"], "0-1");
    EXPECT_EQ(numa["source"], "automatic") << numa.dump();
    EXPECT_EQ(numa["node_affinity"], "1") << numa["reason"];
    EXPECT_EQ(numa["memory_nodes"], nlohmann::json::array({ 1 }));
    ASSERT_EQ(numa["vcpus"].size(), 2u);
    EXPECT_EQ(numa["vcpus"][1]["soft"], "4-7");
    EXPECT_EQ(numa["vcpus"][1]["pinned"], "4-7");

    // A per-vCPU list turns placement off; the node affinity follows the vCPUs.
    auto off = plan_of("memory = 2048\nvcpus = 2\ncpus = [ \"0\", \"1-2\" ]\n");
    ASSERT_EQ(off.rc, 0) << off.err;
    EXPECT_EQ(json_of(off)["numa"]["source"], "from_affinity");
    EXPECT_EQ(json_of(off)["numa"]["node_affinity"], "0");
}

TEST_F(CliFixtureHost, NodesAndCpusTheHostLacksAreNamed)
{
    auto node = plan_of("nodes = [ 0, 3 ]\n");
    EXPECT_NE(node.rc, 0);
    EXPECT_NE(node.err.find("fx.cfg:5:9: error: nodes: NUMA node 3 does not exist on this host (host nodes: 0-1)"),
              std::string::npos) << node.err;
    auto cpu = plan_of("cpus_soft = \"2,9-10\"\n");
    EXPECT_NE(cpu.rc, 0);
    EXPECT_NE(cpu.err.find("fx.cfg:5:13: error: cpus_soft: CPUs 9-10 are not online on this host (online CPUs: 0-7)"),
              std::string::npos) << cpu.err;
    EXPECT_EQ(node.out + cpu.out, "");
}

TEST_F(CliFixtureHost, HostReservedDeviceMemoryIsInThePlannedMap)
{
    auto r = plan_of("memory = 64\nrdm = \"strategy=host\"\n");
    ASSERT_EQ(r.rc, 0) << r.err;
    auto j = json_of(r);
    std::vector<std::string> reserved;
    for (const auto& e : j["memory_map"])
        if (e["type"] == "reserved")
            reserved.push_back(e["start"].get<std::string>() + "-" + e["end"].get<std::string>());
    EXPECT_NE(std::find(reserved.begin(), reserved.end(), "0x3e2e0000-0x3e2fffff"), reserved.end()) << j["memory_map"];
    EXPECT_NE(std::find(reserved.begin(), reserved.end(), "0x7b800000-0x7f7fffff"), reserved.end()) << j["memory_map"];
    EXPECT_GE(j["reserved_device_memory"].size(), 2u);
}

TEST_F(CliFixtureHost, StrictConflictFailsNamingRegionAndDevices)
{
    auto r = plan_of("memory = 1024\nrdm = \"strategy=host,policy=strict\"\n");
    EXPECT_NE(r.rc, 0);
    EXPECT_EQ(r.out, "");
    for (const char* part : { "fx.cfg:6:7: error:", "[0x3e2e0000-0x3e2fffff]", "0000:00:14.0, 0000:00:1a.0, not assigned",
                              "policy strict" })
        EXPECT_NE(r.err.find(part), std::string::npos) << part << " in: " << r.err;

    // Relaxed: the domain plans, with a warning naming the region, which is left out of the map.
    auto relaxed = plan_of("memory = 1024\nrdm = \"strategy=host\"\n");
    ASSERT_EQ(relaxed.rc, 0) << relaxed.err;
    EXPECT_NE(relaxed.err.find("warning: "), std::string::npos);
    EXPECT_NE(relaxed.err.find("[0x3e2e0000-0x3e2fffff]"), std::string::npos) << relaxed.err;
    const auto map = json_of(relaxed)["memory_map"];
    ASSERT_TRUE(map.is_array());
    ASSERT_FALSE(map.empty()) << "no memory map to check";
    for (const auto& e : map)
        EXPECT_NE(e["start"], "0x3e2e0000") << "left out under relaxed";
}

TEST_F(CliFixtureHost, PciDevicesMustBeOnTheHostAndBoundForPassthrough)
{
    auto missing = plan_of("pci = [ \"00:15.0\" ]\n");
    EXPECT_NE(missing.rc, 0);
    EXPECT_NE(missing.err.find("0000:00:15.0"), std::string::npos) << missing.err;
    auto host_driver = plan_of("pci = [ \"00:14.0,rdm_policy=relaxed\" ]\n");
    EXPECT_NE(host_driver.rc, 0);
    EXPECT_NE(host_driver.err.find("0000:00:14.0"), std::string::npos) << host_driver.err;
    EXPECT_NE(host_driver.err.find("xhci_hcd"), std::string::npos) << host_driver.err;
    // Bound for passthrough, it checks out, and then xkvm says plainly it cannot assign it yet.
    auto bound = plan_of("pci = [ \"00:1f.3\" ]\n");
    EXPECT_NE(bound.rc, 0);
    EXPECT_NE(bound.err.find("0000:00:1f.3"), std::string::npos) << bound.err;
    EXPECT_NE(bound.err.find("not supported"), std::string::npos) << bound.err;
    EXPECT_EQ(missing.out + host_driver.out + bound.out, "");
}

} // namespace
} // namespace xkvm::testing
