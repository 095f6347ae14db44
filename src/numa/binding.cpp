#include "numa/binding.h"

#include <cerrno>
#include <memory>

#include <numaif.h>
#include <sched.h>
#include <unistd.h>

#include "base/log.h"

namespace xkvm::numa {

namespace {

static_assert(sizeof(unsigned long) == sizeof(uint64_t), "node masks are built from 64-bit words");

// A cpu_set_t sized for `bits` CPUs, freed on scope exit.
struct CpuMask {
    explicit CpuMask(size_t bits) : count(bits < 64 ? 64 : bits), bytes(CPU_ALLOC_SIZE(count)), set(CPU_ALLOC(count))
    {
        if (set)
            CPU_ZERO_S(bytes, set);
    }
    ~CpuMask() { CPU_FREE(set); }
    CpuMask(const CpuMask&) = delete;
    CpuMask& operator=(const CpuMask&) = delete;

    size_t count;
    size_t bytes;
    cpu_set_t* set;
};

Result<std::unique_ptr<CpuMask>> to_mask(const CpuSet& cpus)
{
    if (cpus.empty())
        return fail(EINVAL, "cannot pin a thread to an empty CPU set");
    auto mask = std::make_unique<CpuMask>(cpus.bound());
    if (!mask->set)
        return fail(ENOMEM, "allocating a CPU mask for {} CPUs", cpus.bound());
    for (uint32_t cpu : cpus.ids())
        CPU_SET_S(cpu, mask->bytes, mask->set);
    return mask;
}

long do_mbind(void* addr, size_t len, int mode, const NodeSet& nodes)
{
    std::vector<unsigned long> mask(nodes.words().begin(), nodes.words().end());
    // The kernel reads maxnode - 1 bits, hence the + 1.
    unsigned long maxnode = mask.size() * 64 + 1;
    return mbind(addr, len, mode, mask.data(), maxnode, MPOL_MF_MOVE);
}

} // namespace

Status bind_memory(void* addr, size_t len, const NodeSet& nodes, MemPolicy policy)
{
    const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    if (reinterpret_cast<uintptr_t>(addr) % page)
        return fail(EINVAL, "bind_memory: address {} is not page aligned", addr);
    if (nodes.empty())
        return fail(EINVAL, "bind_memory: no node to bind to");
    if (len == 0)
        return {};

    int mode = policy == MemPolicy::Bind ? MPOL_BIND : MPOL_PREFERRED_MANY;
    if (do_mbind(addr, len, mode, nodes) == 0)
        return {};
    int err = errno;
    if (policy == MemPolicy::PreferredMany && err == EINVAL && nodes.count() == 1) {
        // Kernels before 5.15 lack MPOL_PREFERRED_MANY; for one node MPOL_PREFERRED is the same.
        if (do_mbind(addr, len, MPOL_PREFERRED, nodes) == 0)
            return {};
        err = errno;
    }
    return make_unexpected(Error::from_errno(
        fmt::format("mbind({} bytes at {}, {} nodes {})", len, addr,
            policy == MemPolicy::Bind ? "MPOL_BIND" : "MPOL_PREFERRED_MANY", nodes.to_string()),
        err));
}

Result<std::vector<int>> nodes_of_pages(const void* addr, size_t len)
{
    const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    const auto start = reinterpret_cast<uintptr_t>(addr) & ~(page - 1);
    const auto end = reinterpret_cast<uintptr_t>(addr) + len;
    const size_t count = len == 0 ? 0 : (end - start + page - 1) / page;

    std::vector<int> status(count, 0);
    constexpr size_t kBatch = 4096; // bounds the pointer array, not the mapping size
    std::vector<void*> pages;
    for (size_t done = 0; done < count; done += pages.size()) {
        pages.clear();
        for (size_t i = done; i < count && pages.size() < kBatch; ++i)
            pages.push_back(reinterpret_cast<void*>(start + i * page));
        // nodes == nullptr: only report, move nothing.
        if (move_pages(0, pages.size(), pages.data(), nullptr, status.data() + done, 0) < 0)
            return make_unexpected(Error::from_errno(fmt::format("move_pages (query {} pages at {})", pages.size(), pages.front())));
    }
    return status;
}

Status pin_thread(pid_t tid, const CpuSet& cpus)
{
    auto mask = TRY(to_mask(cpus));
    if (sched_setaffinity(tid, mask->bytes, mask->set) < 0)
        return make_unexpected(Error::from_errno(fmt::format("sched_setaffinity(tid {}, CPUs {})", tid, cpus.to_string())));
    return {};
}

Status pin_thread(pthread_t thread, const CpuSet& cpus)
{
    auto mask = TRY(to_mask(cpus));
    if (int err = pthread_setaffinity_np(thread, mask->bytes, mask->set); err != 0)
        return make_unexpected(Error::from_errno(fmt::format("pthread_setaffinity_np(CPUs {})", cpus.to_string()), err));
    return {};
}

Result<CpuSet> query_thread_affinity(pid_t tid)
{
    // The kernel refuses a mask smaller than its CPU count; grow until it fits.
    for (size_t bits = 1024; bits <= (size_t { 1 } << 22); bits *= 2) {
        CpuMask mask(bits);
        if (!mask.set)
            return fail(ENOMEM, "allocating a CPU mask for {} CPUs", bits);
        if (sched_getaffinity(tid, mask.bytes, mask.set) < 0) {
            if (errno == EINVAL)
                continue;
            return make_unexpected(Error::from_errno(fmt::format("sched_getaffinity(tid {})", tid)));
        }
        CpuSet out;
        for (size_t cpu = 0; cpu < mask.bytes * 8; ++cpu)
            if (CPU_ISSET_S(cpu, mask.bytes, mask.set))
                out.set(static_cast<uint32_t>(cpu));
        return out;
    }
    return fail(EINVAL, "sched_getaffinity(tid {}): no mask size was accepted", tid);
}

} // namespace xkvm::numa
