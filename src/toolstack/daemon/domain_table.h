// xkvmd's table of domains: domid allocation, unique names, and what the daemon knows of each
// domain (state, uuid, config, VMM, affinity). Pure bookkeeping: no processes, no I/O.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "config/domain_config.h"

namespace xkvm::toolstack {

inline constexpr uint32_t kFirstDomid = 1;
inline constexpr uint32_t kDomidLimit = 0x7FF0; // DOMID_FIRST_RESERVED: ids from here on are Xen's

enum class DomainState {
    Creating, // VMM spawned, building
    Running,  // built (the guest may be paused)
    Shutdown, // the guest shut down and on_* said preserve: kept until destroyed
};
std::string_view state_name(DomainState s);

struct DomainRecord {
    uint32_t domid = 0;
    std::string name;
    std::array<uint8_t, 16> uuid {};
    DomainState state = DomainState::Creating;
    std::optional<unsigned> shutdown_reason; // SHUTDOWN_*, once the guest shut down
    std::string shutdown_detail;
    pid_t vmm_pid = 0; // 0: no VMM (never started, or it died)
    std::chrono::system_clock::time_point start_time = std::chrono::system_clock::now();
    config::DomainConfig config;
    nlohmann::json spec; // the VmSpec (JSON) the VMM was built from; a restart reuses it
    std::vector<std::vector<uint32_t>> hard, soft; // per-vCPU affinity as the toolstack set it
    std::vector<uint32_t> nodes;                   // node affinity
    unsigned restarts = 0;
};

std::string uuid_string(const std::array<uint8_t, 16>& u);

class DomainTable {
public:
    // Reserves `name` and the next free domid (EEXIST: name taken; ENOSPC: no domid left).
    Result<DomainRecord*> add(const std::string& name);
    // A domain a restarted daemon takes back (domain_record.h), under its own id and name (EEXIST
    // when either is taken, EINVAL outside 1..0x7fef). New ids are then allocated past it.
    Result<DomainRecord*> adopt(DomainRecord rec);
    // New ids go past `domid` (one that may still be in use, though no record of it is trusted).
    void skip_past(uint32_t domid);
    // Renames (EEXIST when the new name is taken).
    Status rename(uint32_t domid, const std::string& name);
    void remove(uint32_t domid);

    DomainRecord* find(uint32_t domid);
    DomainRecord* find_name(std::string_view name);
    // A decimal domain id or a name, as xl takes them. ENOENT with a message naming `what`.
    Result<DomainRecord*> lookup(std::string_view what);

    std::vector<DomainRecord*> all(); // by domid
    size_t size() const { return m_domains.size(); }
    bool empty() const { return m_domains.empty(); }

private:
    std::map<uint32_t, std::unique_ptr<DomainRecord>> m_domains;
    std::map<std::string, uint32_t, std::less<>> m_names;
    uint32_t m_next = kFirstDomid; // ids are not reused at once, as on Xen
};

} // namespace xkvm::toolstack
