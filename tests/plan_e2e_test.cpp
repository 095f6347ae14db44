// End to end on this machine: plan a small PVH domain (the `hello` test guest), build it with
// vmm::Machine, run it, then ask the kernel where things are: the pages of guest RAM (move_pages),
// the memory policy on them (get_mempolicy), and each vCPU thread's CPU affinity (sched_getaffinity).
// XKVM-OWN: where the host kernel put the domain's threads and memory.
#include <numaif.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "numa/binding.h"
#include "numa/topology.h"
#include "numa/topology_fixture.h"
#include "rdm/dmar_builder.h"
#include "toolstack/plan/plan.h"
#include "vmm/machine.h"
#include "xen/abi/sched.h"

#include "xkvm/guest_paths.h"

namespace xkvm::numa {
template<typename Tag>
void PrintTo(const IdSet<Tag>& set, std::ostream* os)
{
    *os << "{" << set.to_string() << "}";
}
} // namespace xkvm::numa

using namespace xkvm;
using namespace xkvm::plan;
using ::testing::HasSubstr;

namespace {

namespace fs = std::filesystem;

const std::string kHello = XKVM_GUEST_ELF("hello");
const std::string kDemo = XKVM_GUEST_ELF("demo"); // prints both of its memory maps

// The policy the kernel holds for the page at addr.
std::pair<int, numa::NodeSet> policy_at(void* addr)
{
    int mode = -1;
    unsigned long mask[16] = {};
    if (get_mempolicy(&mode, mask, sizeof(mask) * 8, addr, MPOL_F_ADDR) < 0)
        return { -errno, {} };
    numa::NodeSet nodes;
    for (uint32_t i = 0; i < sizeof(mask) * 8; ++i)
        if (mask[i / 64] >> (i % 64) & 1)
            nodes.set(i);
    return { mode, nodes };
}

// The CPU a thread last ran on: field 39 of /proc/self/task/<tid>/stat.
int last_cpu_of(pid_t tid)
{
    std::ifstream f("/proc/self/task/" + std::to_string(tid) + "/stat");
    std::string line;
    std::getline(f, line);
    const size_t close = line.rfind(')');
    if (close == std::string::npos)
        return -1;
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    for (int i = 3; i <= 39 && rest >> field; ++i)
        if (i == 39)
            return std::stoi(field);
    return -1;
}

// The entry lines the demo guest prints under "memory map  <source>, N entries:" (indented).
std::string map_block(const std::string& console, const std::string& source)
{
    std::istringstream in(console.substr(std::min(console.size(), console.find(source))));
    std::string line, block;
    std::getline(in, line); // the header
    while (std::getline(in, line) && line.starts_with("              0x"))
        block += line + "\n";
    return block;
}

struct Pages {
    size_t touched = 0;
    size_t elsewhere = 0; // touched, but not on the expected node
};

Pages pages_on(vmm::Machine& m, uint32_t node)
{
    auto& physmap = m.physmap();
    auto where = numa::nodes_of_pages(physmap.host_base(), physmap.backing_size());
    EXPECT_TRUE(where) << where.error().message;
    Pages p;
    if (!where)
        return p;
    for (int n : *where) {
        if (n < 0)
            continue; // -ENOENT: never faulted in
        ++p.touched;
        p.elsewhere += n != static_cast<int>(node);
    }
    return p;
}

class plan_e2e : public ::testing::Test {
protected:
    void SetUp() override
    {
        auto topo = numa::Topology::detect();
        ASSERT_TRUE(topo) << topo.error().message;
        m_topo = topo.release_value();
        if (!m_topo.online_cpus().test(0) || !m_topo.online_cpus().test(1))
            GTEST_SKIP() << "SKIP: this test pins to CPUs 0 and 1, which are not both online here";
        if (!m_topo.node(0))
            GTEST_SKIP() << "SKIP: the host has no NUMA node 0";
        auto dir = numa::testing::TempDir::create("xkvm-plan-e2e");
        ASSERT_TRUE(dir) << dir.error().message;
        m_dir.emplace(dir.release_value());
    }

    // `host` is where the DMAR table and sysfs are read; unset, the real host's (no pci= and no rdm=,
    // so the DMAR table is not read at all).
    Result<DomainPlan> plan(const std::string& extra, uint16_t domid, const std::string& kernel = kHello,
                            const std::optional<rdm::HostPaths>& host = std::nullopt)
    {
        const std::string text = "name = \"plan-e2e-" + std::to_string(domid) + "\"\ntype = \"pvh\"\nkernel = \""
            + kernel + "\"\nmemory = 32\n" + extra;
        auto parsed = config::parse_string(text, "e2e.cfg");
        if (!parsed)
            return fail(EINVAL, "{}", parsed.error().str());
        auto cfg = config::build_domain_config(*parsed);
        if (!cfg)
            return fail(EINVAL, "{}", cfg.error().str());
        PlanContext ctx;
        ctx.domid = domid;
        ctx.topology = m_topo;
        ctx.log_dir = m_dir->path().string();
        if (host)
            ctx.host = *host;
        return plan_domain(*cfg, ctx);
    }

    // Builds the planned domain, runs the guest to its poweroff, and checks it said `done` on the way.
    std::unique_ptr<vmm::Machine> run(const DomainPlan& p, const std::string& done = "hello: done")
    {
        auto m = vmm::Machine::create(p.spec);
        EXPECT_TRUE(m) << m.error().message;
        if (!m)
            return nullptr;
        EXPECT_TRUE((*m)->use_local_xenstore());
        (*m)->unpause();
        auto info = (*m)->wait_for_shutdown(std::chrono::seconds(30));
        EXPECT_TRUE(info.has_value()) << "hello did not finish; console: " << (*m)->console().history();
        if (info) {
            EXPECT_EQ(info->reason, unsigned(SHUTDOWN_poweroff)) << info->detail;
        }
        EXPECT_THAT((*m)->console().history(), HasSubstr(done));
        return std::move(*m);
    }

    numa::Topology m_topo;
    std::optional<numa::testing::TempDir> m_dir;
};

} // namespace

TEST_F(plan_e2e, PinsTheVcpuToCpu1AndBindsRamToNode0)
{
    auto p = plan("cpus = \"1\"\nnodes = [ 0 ]\n", 41);
    ASSERT_TRUE(p) << p.error().message;
    ASSERT_EQ(p->spec.vcpu_affinity, (std::vector<std::vector<uint32_t>> { { 1 } }));
    ASSERT_EQ(p->spec.memory_nodes, std::vector<uint32_t> { 0 });

    auto m = run(*p);
    ASSERT_NE(m, nullptr);
    const pid_t tid = m->runner(0).tid();
    ASSERT_GT(tid, 0);
    auto aff = numa::query_thread_affinity(tid);
    ASSERT_TRUE(aff) << aff.error().message;
    EXPECT_EQ(*aff, numa::CpuSet { 1 });
    EXPECT_EQ(last_cpu_of(tid), 1) << "the vCPU thread ran somewhere else";

    // The kernel's policy on the guest RAM mapping is MPOL_BIND to exactly node 0 ...
    auto [mode, nodes] = policy_at(m->physmap().host_base());
    EXPECT_EQ(mode, MPOL_BIND);
    EXPECT_EQ(nodes, numa::NodeSet { 0 });
    // ... and every page the loader and the guest touched sits there.
    const Pages pages = pages_on(*m, 0);
    EXPECT_GT(pages.touched, 0u);
    EXPECT_EQ(pages.elsewhere, 0u);

    // The console log went where the plan said.
    std::ifstream log(p->spec.console_log);
    std::stringstream text;
    text << log.rdbuf();
    EXPECT_THAT(text.str(), HasSubstr("hello: done")) << p->spec.console_log;
}

TEST_F(plan_e2e, EachVcpuThreadCarriesItsOwnAffinity)
{
    auto p = plan("vcpus = 2\ncpus = [ \"1\", \"0\" ]\n", 42);
    ASSERT_TRUE(p) << p.error().message;
    ASSERT_EQ(p->spec.vcpu_affinity, (std::vector<std::vector<uint32_t>> { { 1 }, { 0 } }));

    auto m = run(*p);
    ASSERT_NE(m, nullptr);
    ASSERT_EQ(m->vcpu_count(), 2u);
    for (uint32_t i = 0; i < 2; ++i) {
        auto aff = numa::query_thread_affinity(m->runner(i).tid());
        ASSERT_TRUE(aff) << aff.error().message;
        EXPECT_EQ(*aff, numa::CpuSet { i == 0 ? 1u : 0u }) << "vCPU " << i;
    }
    EXPECT_EQ(last_cpu_of(m->runner(0).tid()), 1);
}

TEST_F(plan_e2e, WithoutSettingsNothingIsRestricted)
{
    auto p = plan("", 43);
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_TRUE(p->spec.vcpu_affinity.empty());
    EXPECT_TRUE(p->spec.memory_nodes.empty());

    auto m = run(*p);
    ASSERT_NE(m, nullptr);
    auto own = numa::query_thread_affinity(0);
    ASSERT_TRUE(own);
    auto vcpu = numa::query_thread_affinity(m->runner(0).tid());
    ASSERT_TRUE(vcpu);
    EXPECT_EQ(*vcpu, *own) << "an unpinned vCPU thread keeps the VMM's own affinity";
    EXPECT_EQ(policy_at(m->physmap().host_base()).first, MPOL_DEFAULT);
    EXPECT_GT(pages_on(*m, 0).touched, 0u);
}

// Reserved device memory reaches the guest: the demo guest prints the map from its PVH start info and
// from XENMEM_memory_map, and both must show the host's RMRRs as reserved, with low RAM ended below the
// one above rdm_mem_boundary and the rest of RAM moved above 4 GiB.
TEST_F(plan_e2e, ReservedDeviceMemoryIsReservedInBothGuestMemoryMaps)
{
    const std::string dmar = (m_dir->path() / "DMAR").string();
    {
        auto table = rdm::DmarBuilder()
                         .add_drhd(0, 0xfed90000, true)
                         .add_rmrr(0, 0x1800000, 0x180ffff, { rdm::endpoint_scope(0, 0x14, 0) })
                         .add_rmrr(0, 0xf8000000, 0xf80fffff, { rdm::endpoint_scope(0, 0x02, 0) })
                         .build();
        std::ofstream f(dmar, std::ios::binary);
        f.write(reinterpret_cast<const char*>(table.data()), static_cast<std::streamsize>(table.size()));
        ASSERT_TRUE(f.good());
    }
    fs::create_directories(m_dir->path() / "sys");
    auto p = plan("memory = 64\nrdm = \"strategy=host,policy=strict\"\nrdm_mem_boundary = 16\n", 44, kDemo,
                  rdm::HostPaths { (m_dir->path() / "sys").string(), dmar });
    ASSERT_TRUE(p) << p.error().message;
    ASSERT_EQ(p->rdm_regions.size(), 2u);

    auto m = run(*p, "powering off. Bye!");
    ASSERT_NE(m, nullptr);
    const std::string out = m->console().history();
    for (const char* source : { "from the PVH start info", "from XENMEM_memory_map" }) {
        SCOPED_TRACE(source);
        const std::string map = map_block(out, source);
        ASSERT_FALSE(map.empty()) << out;
        EXPECT_THAT(map, HasSubstr("0x0000000000100000-0x00000000017fffff  RAM")) << "low RAM ends at the RMRR";
        EXPECT_THAT(map, HasSubstr("0x0000000001800000-0x000000000180ffff  reserved"));
        EXPECT_THAT(map, HasSubstr("0x00000000f8000000-0x00000000f80fffff  reserved"));
        EXPECT_THAT(map, HasSubstr("0x0000000100000000-0x00000001027fffff  RAM")) << "the other 40 MiB above 4 GiB";
    }
}
