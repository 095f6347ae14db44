// These run on the real host: the kernel, not our own bookkeeping, says where memory and threads are.
#include "numa/binding.h"

#include <future>
#include <thread>

#include <numaif.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "base/unique_fd.h"
#include "numa/affinity.h"
#include "numa/placement.h"
#include "numa/topology.h"

namespace xkvm::numa {
namespace {

constexpr size_t kMiB = 1024 * 1024;

// A MAP_SHARED memfd mapping, as the VMM maps guest RAM.
class MemfdMapping {
public:
    explicit MemfdMapping(size_t len) : m_len(len)
    {
        m_fd = UniqueFd(memfd_create("xkvm-numa-test", MFD_CLOEXEC));
        if (!m_fd || ftruncate(m_fd.get(), static_cast<off_t>(len)) < 0)
            return;
        m_addr = map();
    }
    ~MemfdMapping()
    {
        if (m_addr)
            munmap(m_addr, m_len);
    }
    // Another view of the same pages, as a second process or vhost would have.
    void* map() const
    {
        void* p = mmap(nullptr, m_len, PROT_READ | PROT_WRITE, MAP_SHARED, m_fd.get(), 0);
        return p == MAP_FAILED ? nullptr : p;
    }
    void* addr() const { return m_addr; }
    size_t len() const { return m_len; }

private:
    size_t m_len;
    UniqueFd m_fd;
    void* m_addr = nullptr;
};

void touch(void* addr, size_t len)
{
    auto* p = static_cast<volatile char*>(addr);
    for (size_t off = 0; off < len; off += 4096)
        p[off] = 1;
}

// The policy the kernel holds for the mapping at addr.
std::pair<int, NodeSet> policy_at(void* addr)
{
    int mode = -1;
    unsigned long mask[16] = {};
    if (get_mempolicy(&mode, mask, sizeof(mask) * 8, addr, MPOL_F_ADDR) < 0)
        return { -errno, {} };
    NodeSet nodes;
    for (uint32_t i = 0; i < sizeof(mask) * 8; ++i)
        if (mask[i / 64] >> (i % 64) & 1)
            nodes.set(i);
    return { mode, nodes };
}

Topology host()
{
    auto topo = Topology::from_sysfs("/");
    EXPECT_TRUE(topo) << topo.error().message;
    return topo.release_value();
}

// A node that has memory to spare (the last such one, to exercise more than node 0 when we can).
uint32_t target_node(const Topology& topo)
{
    uint32_t id = topo.nodes().front().id;
    for (const NodeInfo& n : topo.nodes())
        if (n.mem_free >= 256 * kMiB)
            id = n.id;
    return id;
}

TEST(numa_bind_memory, MemfdPagesLandOnTheBoundNode)
{
    Topology topo = host();
    const uint32_t node = target_node(topo);
    MemfdMapping ram(16 * kMiB);
    ASSERT_NE(ram.addr(), nullptr) << "memfd mapping: " << errno_string(errno);

    auto bound = bind_memory(ram.addr(), ram.len(), NodeSet { node });
    ASSERT_TRUE(bound) << bound.error().message;

    // Not faulted in yet: the kernel reports no node.
    auto before = nodes_of_pages(ram.addr(), ram.len());
    ASSERT_TRUE(before) << before.error().message;
    ASSERT_EQ(before->size(), ram.len() / 4096);
    EXPECT_EQ(before->front(), -ENOENT);

    touch(ram.addr(), ram.len());
    auto after = nodes_of_pages(ram.addr(), ram.len());
    ASSERT_TRUE(after) << after.error().message;
    ASSERT_EQ(after->size(), ram.len() / 4096);
    size_t on_node = 0;
    for (int n : *after)
        on_node += n == static_cast<int>(node);
    EXPECT_EQ(on_node, after->size()) << "pages not on node " << node;

    // The kernel holds MPOL_BIND to exactly that node for the range.
    auto [mode, nodes] = policy_at(ram.addr());
    EXPECT_EQ(mode, MPOL_BIND);
    EXPECT_EQ(nodes, NodeSet { node });
}

TEST(numa_bind_memory, ShmemPolicyHoldsForEveryMappingOfTheMemfd)
{
    Topology topo = host();
    const uint32_t node = target_node(topo);
    MemfdMapping ram(4 * kMiB);
    ASSERT_NE(ram.addr(), nullptr);
    ASSERT_TRUE(bind_memory(ram.addr(), ram.len(), NodeSet { node }));

    void* other = ram.map();
    ASSERT_NE(other, nullptr);
    auto [mode, nodes] = policy_at(other); // the policy lives on the shared object, not our VMA
    EXPECT_EQ(mode, MPOL_BIND);
    EXPECT_EQ(nodes, NodeSet { node });

    touch(other, ram.len()); // faulted through the unbound view
    auto where = nodes_of_pages(other, ram.len());
    ASSERT_TRUE(where) << where.error().message;
    ASSERT_EQ(where->size(), ram.len() / 4096); // a node for every page, so the loop checks them all
    for (int n : *where)
        ASSERT_EQ(n, static_cast<int>(node));
    munmap(other, ram.len());
}

TEST(numa_bind_memory, PreferredMany)
{
    Topology topo = host();
    const uint32_t node = target_node(topo);
    MemfdMapping ram(2 * kMiB);
    ASSERT_NE(ram.addr(), nullptr);
    auto bound = bind_memory(ram.addr(), ram.len(), NodeSet { node }, MemPolicy::PreferredMany);
    ASSERT_TRUE(bound) << bound.error().message;
    auto [mode, nodes] = policy_at(ram.addr());
    EXPECT_TRUE(mode == MPOL_PREFERRED_MANY || mode == MPOL_PREFERRED) << mode;
    EXPECT_EQ(nodes, NodeSet { node });
    touch(ram.addr(), ram.len());
    auto where = nodes_of_pages(ram.addr(), ram.len());
    ASSERT_TRUE(where);
    ASSERT_EQ(where->size(), ram.len() / 4096);
    for (int n : *where)
        ASSERT_EQ(n, static_cast<int>(node));
}

TEST(numa_bind_memory, EveryNodeOfAMultiNodeHost)
{
    Topology topo = host();
    if (topo.node_count() < 2)
        GTEST_SKIP() << "SKIP: single-node host, binding to a non-default node cannot be shown";
    size_t nodes_checked = 0;
    for (const NodeInfo& n : topo.nodes()) {
        if (n.mem_free < 64 * kMiB)
            continue;
        MemfdMapping ram(8 * kMiB);
        ASSERT_NE(ram.addr(), nullptr);
        ASSERT_TRUE(bind_memory(ram.addr(), ram.len(), NodeSet { n.id }));
        touch(ram.addr(), ram.len());
        auto where = nodes_of_pages(ram.addr(), ram.len());
        ASSERT_TRUE(where);
        ASSERT_EQ(where->size(), ram.len() / 4096);
        for (int page_node : *where)
            ASSERT_EQ(page_node, static_cast<int>(n.id));
        ++nodes_checked;
    }
    EXPECT_GE(nodes_checked, 2u) << "fewer than two nodes had 64 MiB free: nothing was shown";
}

TEST(numa_bind_memory, Errors)
{
    MemfdMapping ram(1 * kMiB);
    ASSERT_NE(ram.addr(), nullptr);
    auto s = bind_memory(static_cast<char*>(ram.addr()) + 1, 4096, NodeSet { 0 });
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message.find("not page aligned"), std::string::npos);

    s = bind_memory(ram.addr(), ram.len(), NodeSet {});
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message.find("no node"), std::string::npos);

    s = bind_memory(ram.addr(), ram.len(), NodeSet { 1000 });
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message.find("nodes 1000"), std::string::npos) << s.error().message;
    EXPECT_NE(s.error().code, 0);
}

TEST(numa_nodes_of_pages, UnmappedRangeReportsPerPageErrors)
{
    void* p = mmap(nullptr, 8192, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(p, MAP_FAILED);
    munmap(p, 8192);
    auto where = nodes_of_pages(p, 8192);
    ASSERT_TRUE(where) << where.error().message;
    ASSERT_EQ(where->size(), 2u);
    EXPECT_LT((*where)[0], 0);
    EXPECT_TRUE(nodes_of_pages(p, 0)->empty());
}

// A thread that reports its tid and waits until told to finish.
struct Worker {
    std::promise<pid_t> tid;
    std::promise<void> done;
    std::thread thread;

    Worker()
    {
        std::future<void> stop = done.get_future();
        thread = std::thread([this, stop = std::move(stop)]() mutable {
            tid.set_value(gettid());
            stop.wait();
        });
    }
    ~Worker()
    {
        done.set_value();
        thread.join();
    }
};

TEST(numa_pin_thread, ByTidAndByHandle)
{
    auto allowed = query_thread_affinity(0);
    ASSERT_TRUE(allowed) << allowed.error().message;
    ASSERT_FALSE(allowed->empty());
    const uint32_t last = allowed->ids().back();
    const uint32_t first = allowed->ids().front();

    Worker w;
    const pid_t tid = w.tid.get_future().get();

    ASSERT_TRUE(pin_thread(tid, CpuSet { last }));
    EXPECT_EQ(query_thread_affinity(tid).value(), CpuSet { last });

    ASSERT_TRUE(pin_thread(w.thread.native_handle(), CpuSet { first }));
    EXPECT_EQ(query_thread_affinity(tid).value(), CpuSet { first });

    ASSERT_TRUE(pin_thread(tid, *allowed));
    EXPECT_EQ(query_thread_affinity(tid).value(), *allowed);
    // The caller's own affinity is untouched.
    EXPECT_EQ(query_thread_affinity(0).value(), *allowed);
}

TEST(numa_pin_thread, Errors)
{
    Worker w;
    const pid_t tid = w.tid.get_future().get();
    auto s = pin_thread(tid, CpuSet {});
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message.find("empty CPU set"), std::string::npos);
    s = pin_thread(tid, CpuSet { 100000 });
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, EINVAL);
    EXPECT_FALSE(query_thread_affinity(-5));
}

// The whole path on this machine: place a guest, bind its memfd RAM and pin its vCPU threads as
// the VMM will, then ask the kernel where things are.
TEST(numa_end_to_end, GuestRamAndVcpuThreadsFollowThePlacement)
{
    Topology topo = host();
    auto allowed = query_thread_affinity(0);
    ASSERT_TRUE(allowed);
    const uint32_t cpu = allowed->ids().back();

    PlacementRequest req;
    req.vcpus = 2;
    req.memory_bytes = 8 * kMiB;
    req.cpus = config::AffinitySpec { config::AffinitySpec::Form::AllVcpus,
        { parse_cpuset_string(std::to_string(cpu)).value() } };
    auto placed = place(topo, req);
    ASSERT_TRUE(placed) << placed.error().message;
    ASSERT_FALSE(placed->nodes.empty());
    EXPECT_EQ(placed->nodes, topo.nodes_of(CpuSet { cpu })) << placed->reason;

    MemfdMapping ram(req.memory_bytes);
    ASSERT_NE(ram.addr(), nullptr);
    ASSERT_TRUE(bind_memory(ram.addr(), ram.len(), placed->nodes));

    Worker vcpu0, vcpu1;
    std::vector<pid_t> tids { vcpu0.tid.get_future().get(), vcpu1.tid.get_future().get() };
    for (uint32_t i = 0; i < 2; ++i)
        ASSERT_TRUE(pin_thread(tids[i], placed->thread_affinity(i)));

    touch(ram.addr(), ram.len());
    auto where = nodes_of_pages(ram.addr(), ram.len());
    ASSERT_TRUE(where);
    ASSERT_EQ(where->size(), ram.len() / 4096);
    for (int n : *where)
        ASSERT_TRUE(n >= 0 && placed->nodes.test(static_cast<uint32_t>(n))) << "page on node " << n;
    for (uint32_t i = 0; i < 2; ++i)
        EXPECT_EQ(query_thread_affinity(tids[i]).value(), CpuSet { cpu }) << "vCPU " << i;
}

} // namespace
} // namespace xkvm::numa
