// Per-domain limits for unprivileged domains. Defaults are xenstored's; the error each one gives
// is the one xenstored gives.
#pragma once

#include <chrono>
#include <cstdint>

#include "xenstore/wire.h"

namespace xkvm::xenstore {

struct Quota {
    // Nodes a domain may own. Creating one more: ENOSPC.
    uint32_t max_entries_per_domain = 1000;
    // Watches a domain may hold. One more: E2BIG.
    uint32_t max_watches_per_domain = 128;
    // Transactions a domain may have open. One more: ENOSPC.
    uint32_t max_transactions_per_domain = 10;
    // Bytes of one node record (value + child names + permissions, see node_record_size()).
    // Bigger: ENOSPC.
    uint32_t max_node_size = 2048;
    // Entries in one node's permission list. More: ENOSPC.
    uint32_t max_perms_per_node = 5;
    // Distinct nodes one transaction may touch. More: ENOSPC.
    uint32_t max_transaction_nodes = 1024;
    // Path length, counted below the domain's home for paths there. Longer: EINVAL.
    uint32_t max_path_length = kRelPathMax;
    // (Ours, not xenstored's.) A transaction of an unprivileged domain open longer than this is
    // discarded with its copy of the nodes it touched; using or ending it then gives EAGAIN, so the
    // guest starts it again. 0: no limit.
    std::chrono::milliseconds transaction_timeout { 10'000 };
    // (Ours.) Memory the whole store may hold for all domains together: nodes, transactions and
    // watches (Server::memory_used). At or past it, a guest's requests that could add to it get
    // ENOSPC, and the toolstack cannot create another domain. Per-domain quotas bound one domain;
    // this bounds the daemon however many domains run. 0: no limit.
    size_t max_total_bytes = size_t(256) << 20;
};

} // namespace xkvm::xenstore
