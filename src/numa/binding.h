// Enacting a placement on Linux: memory policy on guest RAM, CPU affinity on vCPU threads, and the
// kernel's own answer to "where is it now?" for verification.
#pragma once

#include <cstddef>
#include <vector>

#include <pthread.h>
#include <sys/types.h>

#include "base/result.h"
#include "numa/cpuset.h"

namespace xkvm::numa {

enum class MemPolicy {
    Bind,          // MPOL_BIND: only these nodes; allocation fails rather than spill over
    PreferredMany, // MPOL_PREFERRED_MANY (Linux 5.15+): these nodes first, others when full,
                   // which is what Xen's node affinity does
};

// Sets the memory policy of [addr, addr+len) to `nodes`. addr must be page aligned.
// Call it before the memory is first touched: the policy decides where pages are allocated when
// they fault in. Pages already present are asked to move (MPOL_MF_MOVE), best effort.
// On a MAP_SHARED memfd/shmem mapping the policy is stored on the shared object, so it holds for
// every mapping of that range, and it must be set before any of them faults the pages.
// On a single-node host and for an all-nodes set, the call still succeeds and is harmless.
Status bind_memory(void* addr, size_t len, const NodeSet& nodes, MemPolicy policy = MemPolicy::Bind);

// Where each page of [addr, addr+len) sits, asked of the kernel with move_pages(2) in query mode:
// entry i is the node of page i, or a negative errno (-ENOENT: not faulted in yet).
Result<std::vector<int>> nodes_of_pages(const void* addr, size_t len);

// Pins a thread to `cpus` (sched_setaffinity). tid 0 is the calling thread.
Status pin_thread(pid_t tid, const CpuSet& cpus);
Status pin_thread(pthread_t thread, const CpuSet& cpus);

// The CPUs a thread may run on (sched_getaffinity). tid 0 is the calling thread.
Result<CpuSet> query_thread_affinity(pid_t tid);

} // namespace xkvm::numa
