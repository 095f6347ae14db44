// Per-domain CPU control (issue 11): each domain's VMM process, all its threads, in a CPU group of
// its own, so that the host scheduler shares CPU time between domains, not between threads, and
// xl's credit-scheduler weight and cap mean what a Xen operator expects. A cgroup v2 `cpu` group
// where the controller is on the unified hierarchy, else a cgroup v1 `cpu` group, else the
// kernel's autogroups (each VMM leads a session of its own), else nothing.
//
// Every path is taken relative to a root directory: "/" on the host, a fixture tree in tests.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace xkvm::cpuctl {

// xl.cfg(5) cpu_weight and cap, and xl sched-credit's ranges.
inline constexpr uint32_t kDefaultWeight = 256;
inline constexpr uint32_t kMinWeight = 1;
inline constexpr uint32_t kMaxWeight = 65535;
// The CFS bandwidth period a cap is spread over.
inline constexpr uint32_t kPeriodUs = 100000;

struct CpuShare {
    uint32_t weight = kDefaultWeight;
    uint32_t cap = 0; // percent of one host CPU; 0: none
    bool operator==(const CpuShare&) const = default;
};

enum class Mechanism { CgroupV2, CgroupV1, Autogroup, None };
// "cgroup2", "cgroup1", "autogroup", "none": what `xkvm list -l` and the log show.
std::string_view mechanism_name(Mechanism m);

// xl's weight in each cgroup version's terms: 256 is each one's default. An autogroup gets an equal
// share whatever the weight (its nice level would be the daemon's until the VMM leads its session).
uint64_t v1_shares(uint32_t weight);    // cpu.shares: 1024 at 256, within the kernel's 2..262144
uint64_t v2_weight(uint32_t weight);    // cpu.weight: 100 at 256, within 1..10000
// A cap as CFS bandwidth: cpu.cfs_quota_us (-1: none) and cpu.max ("max 100000": none).
int64_t v1_quota_us(uint32_t cap);
std::string v2_max(uint32_t cap);

// The name of one daemon's subtree: daemons of different rundirs share a host, never a group.
std::string instance_name(std::string_view rundir);

class CpuGroups {
public:
    // Looks at <root>/proc/self/{mounts,cgroup} and the autogroup switch; creates nothing yet.
    static CpuGroups detect(std::string root, std::string instance);

    // The mechanism new domains get, and why not a better one (empty when cgroups work).
    Mechanism mechanism() const { return m_mech; }
    const std::string& why() const { return m_why; }
    // <our cgroup>/xkvm-<instance>-, and that followed by the domid: a domain's group. Empty
    // without a cgroup mechanism.
    std::string group_prefix() const;
    std::string group_dir(uint32_t domid) const;
    // The domids of this instance's groups that exist (a crashed daemon's included).
    std::vector<uint32_t> groups_present() const;

    struct Placement {
        Mechanism mechanism;
        std::string problem; // why it is less than mechanism(), or why the share is not all applied
    };
    // Puts process `pid` (all its threads) in domain `domid`'s group, made if missing, with
    // `share`. Idempotent: a restarted daemon calls it again for the VMMs it adopts. Never fails:
    // a cgroup that cannot be used leaves the domain to its autogroup, and says so.
    Placement place(uint32_t domid, pid_t pid, CpuShare share);
    // The mechanism domain `domid` was placed under (None if never placed).
    Mechanism mechanism_of(uint32_t domid) const;
    // Changes a placed domain's share: only in a cgroup (EOPNOTSUPP without one).
    Status set(uint32_t domid, pid_t pid, CpuShare share);
    // Moves process `pid` back to the cgroup we started in (so that its group can be removed).
    Status leave(pid_t pid);
    // Removes domain `domid`'s group (its processes have ended).
    void remove(uint32_t domid);
    // Removes every domain group of this instance that no process uses (after a crash, at exit).
    void remove_unused();

private:
    CpuGroups(std::string root, std::string instance) : m_root(std::move(root)), m_instance(std::move(instance)) { }
    void detect_cgroups();
    bool try_v2(const std::string& mount, const std::string& own);
    bool try_v1(const std::string& mount, const std::string& own);
    Status make_group(uint32_t domid);
    Status write_share(uint32_t domid, CpuShare share);
    Status join_group(uint32_t domid, pid_t pid, CpuShare share);
    std::string host(std::string_view path) const { return m_root + std::string(path); }

    std::string m_root, m_instance;
    Mechanism m_mech = Mechanism::None;
    bool m_autogroup = false; // the kernel's autogroups are on
    std::string m_why;
    std::string m_parent; // the cgroup our groups go under (host path, root included)
    std::map<uint32_t, Mechanism> m_placed;
};

} // namespace xkvm::cpuctl
