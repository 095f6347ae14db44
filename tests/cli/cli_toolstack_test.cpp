// The NUMA/affinity side of the CLI: create -n, vcpu-list, vcpu-pin, list -n.
// XKVM-OWN: placement, the host fixtures, pinning threads and xkvm's warnings are xkvm's own; the
// xl formats are cited at their cases.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli_harness.h"
#include "xkvm/guest_paths.h"

namespace xkvm::testing {
namespace {

class CliToolstack : public CliTest {
protected:
    std::string ticker(const std::string& name, const std::string& extra = "")
    {
        return guest_config(name, XKVM_GUEST_ELF("tsguest"), "cmdline = \"ticker\"\n" + extra);
    }
    static std::string cpus_allowed(pid_t pid, pid_t tid)
    {
        std::ifstream in(fmt::format("/proc/{}/task/{}/status", pid, tid));
        for (std::string line; std::getline(in, line);)
            if (line.rfind("Cpus_allowed_list:", 0) == 0)
                return line.substr(line.find_first_not_of(" \t", 18));
        return "";
    }
    // The numa_maps line of the guest-RAM memfd mapping of domain `name`'s VMM (policy, pages per node).
    static std::string guest_ram_numa_maps(pid_t vmm, const std::string& name)
    {
        std::ifstream in(fmt::format("/proc/{}/numa_maps", vmm));
        const std::string want = "file=/memfd:xkvm-" + name + "\\040(deleted)";
        for (std::string line; std::getline(in, line);)
            if (line.find(want) != std::string::npos)
                return line;
        return "";
    }
    // The vcpu-list row of vCPU `vcpu` of domain `name`.
    std::string vcpu_row(const std::string& name, uint32_t vcpu)
    {
        auto r = run({ "vcpu-list", name });
        std::istringstream in(r.out);
        std::regex re(fmt::format("^{} +\\d+ +{} .*", name, vcpu));
        for (std::string line; std::getline(in, line);)
            if (std::regex_match(line, re))
                return line;
        return "";
    }
};

TEST_F(CliToolstack, CreateDryRunPrintsTheConfigAsJsonAndCreatesNothing)
{
    std::string cfg = guest_config("dry", XKVM_GUEST_ELF("hello"), "vcpus = 2\non_crash = \"preserve\"\n");
    auto r = run({ "create", "-n", cfg });
    ASSERT_EQ(r.rc, 0) << r.err;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.out;
    EXPECT_EQ(j["c_info"]["name"], "dry");
    EXPECT_EQ(j["c_info"]["type"], "pvh");
    EXPECT_EQ(j["b_info"]["max_vcpus"], 2);
    EXPECT_EQ(j["b_info"]["max_memkb"], 32 * 1024);
    EXPECT_EQ(j["on_crash"], "preserve");
    EXPECT_FALSE(daemon_pid()) << "a dry run must not even start the daemon";
    EXPECT_TRUE(domain_dirs().empty());

    auto plan = run({ "create", "-n", "--plan", cfg });
    ASSERT_EQ(plan.rc, 0) << plan.err;
    auto p = nlohmann::json::parse(plan.out, nullptr, false);
    ASSERT_FALSE(p.is_discarded());
    EXPECT_TRUE(p.contains("memory_map"));
    EXPECT_TRUE(p.contains("numa"));
}

// A dry run looks at the config only, as xl's does: a kernel that is not there is create's business.
// Values that are invalid still fail, with their position.
TEST_F(CliToolstack, CreateDryRunChecksTheConfigButNotTheHost)
{
    std::string cfg = write_config("dry", "name = \"dry\"\ntype = \"pvh\"\nkernel = \"/nope\"\ncpus = \"4000-4001\"\n");
    auto r = run({ "create", "-n", cfg });
    EXPECT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(r.err, "Parsing config from " + cfg + "\n");
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.out;
    EXPECT_EQ(j["b_info"]["kernel"], "/nope") << "printed as written, as xl does";

    std::string bad = write_config("bad", "name = \"bad\"\ntype = \"pvh\"\nkernel = \"/nope\"\n"
                                          "vif = [ 'bridge=xenbr0,mac=00:16:3e:00:00' ]\n");
    auto b = run({ "create", "-n", bad });
    EXPECT_NE(b.rc, 0);
    EXPECT_NE(b.err.find("bad.cfg:4:28: error: vif: mac '00:16:3e:00:00' is not six hex octets"), std::string::npos)
        << b.err;
    EXPECT_EQ(b.out, "");

    // create itself still checks the files, with file:line:column.
    auto c = run({ "create", cfg });
    EXPECT_NE(c.rc, 0);
    EXPECT_NE(c.err.find("dry.cfg:3:10: error: kernel /nope: file not found"), std::string::npos) << c.err;
    EXPECT_TRUE(domain_dirs().empty());
}

// Every config of the create -n corpus (src/toolstack/plan/testdata/create_n) through the real
// binary: stdout is its .json, stderr the "Parsing config" line and its .warnings, exit 0.
// xl create -n: "Parsing config from <file>" on stderr and the domain config as libxl's JSON
// (tools/xl/xl_vmcontrol.c, create_domain; tools/libs/light/libxl_types.idl gives the shape).
TEST_F(CliToolstack, CreateDryRunPrintsTheCorpusAsXlWould)
{
    const std::filesystem::path dir =
        std::filesystem::path(__FILE__).parent_path() / "../../src/toolstack/plan/testdata/create_n";
    std::vector<std::filesystem::path> cfgs;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.path().extension() == ".cfg")
            cfgs.push_back(std::filesystem::canonical(e.path()));
    ASSERT_GE(cfgs.size(), 10u) << dir;
    for (const auto& cfg : cfgs) {
        SCOPED_TRACE(cfg.filename().string());
        auto r = run({ "create", "-n", cfg.string() });
        EXPECT_EQ(r.rc, 0) << r.err;
        EXPECT_EQ(r.out, read_file(std::filesystem::path(cfg).replace_extension(".json").string()));
        std::string want = "Parsing config from " + cfg.string() + "\n";
        std::ifstream w(std::filesystem::path(cfg).replace_extension(".warnings"));
        for (std::string line; std::getline(w, line);)
            if (!line.empty())
                want += std::regex_replace(line, std::regex("^" + cfg.filename().string() + ":"), cfg.string() + ":")
                        + "\n";
        EXPECT_EQ(r.err, want);
    }
    EXPECT_FALSE(daemon_pid()) << "a dry run must not start the daemon";
}

// What the dry run warns about, create refuses: PV, disks, vifs -- each naming its key and position,
// and nothing is left behind.
TEST_F(CliToolstack, CreateRefusesWhatTheDryRunWarnsAbout)
{
    auto pv = run({ "create", write_config("pv", "name = \"pv\"\nkernel = \"" + std::string(XKVM_GUEST_ELF("hello"))
                                                   + "\"\n") });
    EXPECT_NE(pv.rc, 0);
    EXPECT_NE(pv.err.find("pv.cfg:1:1: error: no type= given, so this is a PV guest (xl's default): xkvm cannot run PV"),
              std::string::npos) << pv.err;
    auto disk = run({ "create", guest_config("d", XKVM_GUEST_ELF("hello"), "disk = [ '/srv/d.img,,xvda' ]\n") });
    EXPECT_NE(disk.rc, 0);
    EXPECT_NE(disk.err.find(":5:10: error: disk=: xkvm has no PV block backend yet"), std::string::npos) << disk.err;
    auto vif = run({ "create", guest_config("v", XKVM_GUEST_ELF("hello"), "vif = [ 'bridge=xenbr0' ]\n") });
    EXPECT_NE(vif.rc, 0);
    EXPECT_NE(vif.err.find(":5:9: error: vif=: xkvm has no PV network backend yet"), std::string::npos) << vif.err;
    EXPECT_TRUE(domain_dirs().empty());
}

TEST_F(CliToolstack, CreateAppliesCommandLineOverridesAfterTheFile)
{
    std::string cfg = guest_config("ovr", XKVM_GUEST_ELF("hello"), "vcpus = 1\ncmdline = \"a\"\n");
    auto r = run({ "create", "-n", cfg, "vcpus=2", "memory=48", "cmdline+=' b'", "cpus=[\"1\", \"0\"]", "nodes=[]" });
    ASSERT_EQ(r.rc, 0) << r.err;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.out;
    EXPECT_EQ(j["b_info"]["max_vcpus"], 2);
    EXPECT_EQ(j["b_info"]["target_memkb"], 48 * 1024);
    EXPECT_EQ(j["b_info"]["cmdline"], "a b");
    EXPECT_EQ(j["b_info"]["vcpu_hard_affinity_spec"], nlohmann::json::parse(R"(["1", "0"])"));
    EXPECT_FALSE(j["b_info"].contains("nodemap")) << "an empty nodes= list means automatic placement";

    // A bad override names the command line and which override, and nothing is created.
    auto bad = run({ "create", cfg, "vcpus=2", "cpus=[\"1\", \"0\"" });
    EXPECT_NE(bad.rc, 0);
    EXPECT_NE(bad.err.find("<command line>:2:6: error: list is never closed"), std::string::npos) << bad.err;
    EXPECT_TRUE(domain_dirs().empty());
}

TEST_F(CliToolstack, CreateDryRunWarnsAboutWhatXlIgnores)
{
    std::string cfg = guest_config("warn", XKVM_GUEST_ELF("hello"), "vcpus = 2\ncpus = [ \"0\", \"0\", \"1\" ]\nvif = [ '' ]\n"
                                                                   "vfb = [ 'vnc=1' ]\n");
    auto r = run({ "create", "-n", cfg });
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_NE(r.err.find(":8:1: warning: 'vfb' is not supported by xkvm (ignored)"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(":7:9: warning: xkvm cannot create this domain: vif=: xkvm has no PV network backend"),
              std::string::npos) << r.err;
    EXPECT_NE(r.err.find(":6:20: warning: 'cpus' lists 3 vCPUs but the guest has maxvcpus = 2"), std::string::npos)
        << r.err;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.out;
    EXPECT_EQ(j["b_info"]["vcpu_hard_affinity_spec"].size(), 2u);
}

// nodes= and cpus= reach the running domain: the kernel reports the guest RAM mapping bound to node 0
// with its pages there (numa_maps), and the vCPU thread allowed only on CPU 1.
TEST_F(CliToolstack, NodesBindGuestRamAndCpusPinTheVcpuThread)
{
    if (::sysconf(_SC_NPROCESSORS_ONLN) < 2)
        GTEST_SKIP() << "SKIP: needs two host CPUs";
    ASSERT_EQ(run({ "create", ticker("t", "nodes = [ 0 ]\ncpus = \"1\"\n") }).rc, 0);
    auto vmm = vmm_of("t");
    ASSERT_TRUE(vmm);
    auto tid = vcpu_thread(*vmm, 0);
    ASSERT_TRUE(tid);
    EXPECT_EQ(cpus_allowed(*vmm, *tid), "1");
    // The guest runs (and touches its RAM) while we look.
    EXPECT_TRUE(eventually([&] { return std::regex_search(vcpu_row("t", 0), std::regex("^t +\\d+ +0 +1 ")); }))
        << vcpu_row("t", 0);
    const std::string line = guest_ram_numa_maps(*vmm, "t");
    ASSERT_FALSE(line.empty()) << "no guest RAM mapping in /proc/" << *vmm << "/numa_maps";
    EXPECT_NE(line.find(" bind:0 "), std::string::npos) << line;
    std::smatch pages;
    ASSERT_TRUE(std::regex_search(line, pages, std::regex(" N0=(\\d+)"))) << line;
    EXPECT_GT(std::stoul(pages[1]), 0u) << line;
    EXPECT_FALSE(std::regex_search(line, std::regex(" N[1-9][0-9]*="))) << "pages on another node: " << line;

    auto list = run({ "list", "-n", "t" });
    ASSERT_EQ(list.rc, 0) << list.err;
    EXPECT_TRUE(std::regex_search(list.out, std::regex("\nt +1 .* (all|0)\n"))) << list.out;
}

// Xen 4.19: tools/xl/xl_vcpu.c, vcpulist and print_vcpuinfo (the header ends "Affinity (Hard /
// Soft)", one row per vCPU).
TEST_F(CliToolstack, VcpuListShowsEveryVcpu)
{
    ASSERT_EQ(run({ "create", ticker("t", "vcpus = 2\n") }).rc, 0);
    auto r = run({ "vcpu-list" });
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(r.out.rfind("Name", 0), 0u) << r.out;
    EXPECT_NE(r.out.find("Affinity (Hard / Soft)"), std::string::npos);
    EXPECT_FALSE(vcpu_row("t", 0).empty()) << r.out;
    EXPECT_FALSE(vcpu_row("t", 1).empty()) << r.out;
}

TEST_F(CliToolstack, VcpuPinMovesARunningVcpu)
{
    long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 2)
        GTEST_SKIP() << "SKIP: needs two host CPUs";
    ASSERT_EQ(run({ "create", ticker("t") }).rc, 0);
    auto vmm = vmm_of("t");
    ASSERT_TRUE(vmm);
    auto tid = vcpu_thread(*vmm, 0);
    ASSERT_TRUE(tid);
    auto r = run({ "vcpu-pin", "t", "0", "1" });
    ASSERT_EQ(r.rc, 0) << r.err;
    EXPECT_EQ(cpus_allowed(*vmm, *tid), "1");
    std::string row = vcpu_row("t", 0);
    EXPECT_TRUE(std::regex_search(row, std::regex(" 1 / all$"))) << row;
    // The guest keeps running there.
    EXPECT_TRUE(eventually([&] { return std::regex_search(vcpu_row("t", 0), std::regex("^t +\\d+ +0 +1 ")); }))
        << vcpu_row("t", 0);

    ASSERT_EQ(run({ "vcpu-pin", "t", "all", "all" }).rc, 0);
    EXPECT_EQ(cpus_allowed(*vmm, *tid), fmt::format("0-{}", cpus - 1));
    EXPECT_TRUE(std::regex_search(vcpu_row("t", 0), std::regex(" all / all$")));
}

TEST_F(CliToolstack, VcpuPinRejectsBadArguments)
{
    ASSERT_EQ(run({ "create", "-p", ticker("t") }).rc, 0);
    auto offline = run({ "vcpu-pin", "t", "0", "4000" });
    EXPECT_NE(offline.rc, 0);
    EXPECT_NE(offline.err.find("4000"), std::string::npos) << offline.err;
    auto no_vcpu = run({ "vcpu-pin", "t", "5", "0" });
    EXPECT_NE(no_vcpu.rc, 0);
    EXPECT_NE(run({ "vcpu-pin", "t", "0", "0-" }).rc, 0);
    EXPECT_NE(run({ "vcpu-pin", "ghost", "0", "0" }).rc, 0);
}

TEST_F(CliToolstack, ConfigAffinityShowsInVcpuList)
{
    ASSERT_EQ(run({ "create", "-p", ticker("t", "cpus = \"0\"\n") }).rc, 0);
    EXPECT_TRUE(std::regex_search(vcpu_row("t", 0), std::regex(" 0 / all$"))) << vcpu_row("t", 0);
    auto vmm = vmm_of("t");
    ASSERT_TRUE(vmm);
    auto tid = vcpu_thread(*vmm, 0);
    ASSERT_TRUE(tid);
    EXPECT_EQ(cpus_allowed(*vmm, *tid), "0");
}

// Xen 4.19: tools/xl/xl_list.c, list_domains (-n appends " NODE Affinity").
TEST_F(CliToolstack, ListNumaAddsNodeAffinity)
{
    ASSERT_EQ(run({ "create", "-p", ticker("t") }).rc, 0);
    auto r = run({ "list", "-n" });
    ASSERT_EQ(r.rc, 0) << r.err;
    std::istringstream in(r.out);
    std::string header, dom0, row;
    std::getline(in, header);
    std::getline(in, dom0);
    std::getline(in, row);
    EXPECT_EQ(header, "Name                                        ID   Mem VCPUs\tState\tTime(s) NODE Affinity");
    EXPECT_TRUE(std::regex_search(row, std::regex("^t +1 .* (all|0)$"))) << row;
}

} // namespace
} // namespace xkvm::testing
