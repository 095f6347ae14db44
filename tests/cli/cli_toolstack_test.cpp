// The NUMA/affinity side of the CLI: create -n, vcpu-list, vcpu-pin, list -n.
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

TEST_F(CliToolstack, CreateDryRunStillChecksTheConfig)
{
    std::string cfg = write_config("dry", "name = \"dry\"\ntype = \"pvh\"\nkernel = \"/nope\"\n");
    auto r = run({ "create", "-n", cfg });
    EXPECT_NE(r.rc, 0);
    EXPECT_NE(r.err.find(":3:10: error:"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
}

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
