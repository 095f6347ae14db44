// A transaction: a NodeView over the store that keeps its own copies of the nodes it changes and
// remembers the generation of every node it touched. Committing fails with EAGAIN when any of
// those nodes changed in the store meanwhile (so adding a child elsewhere in a directory the
// transaction listed or extended is a conflict); otherwise the copies replace the originals at once.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "xenstore/quota.h"
#include "xenstore/store.h"

namespace xkvm::xenstore {

class Transaction final : public NodeView {
public:
    // `max_nodes`: distinct nodes this transaction may touch; 0 for no limit.
    Transaction(Store& store, uint32_t id, uint32_t max_nodes);

    uint32_t id() const { return m_id; }

    Result<const Node*> get(const std::string& path) override;
    Status put(const std::string& path, Node node) override;
    Status erase(const std::string& path) override;
    int64_t entries_owned(DomId domid) const override;

    // Changes made inside the transaction, announced to watchers only when it commits: once per
    // path and kind, as xenstored announces a transaction's nodes, however often the guest wrote them.
    void record(std::vector<Change> changes);
    size_t touched() const { return m_seen.size(); }
    // Memory this transaction holds (its copies, what it touched, its changes), for the daemon-wide cap.
    size_t bytes() const { return m_bytes; }

    // EAGAIN on a conflict; ENOSPC when the committing unprivileged `caller` would end up owning
    // more nodes than its quota. On success returns the changes to announce.
    Result<std::vector<Change>> commit(const Caller& caller, const Quota& quota);

private:
    Status touch(const std::string& path);
    const Node* current(const std::string& path) const;
    // Sets the transaction's copy of `path` (nullopt: removed), keeping m_bytes.
    void keep_copy(const std::string& path, std::optional<Node> copy);

    Store& m_store;
    uint32_t m_id;
    uint32_t m_max_nodes;
    std::map<std::string, uint64_t> m_seen; // store generation at first touch; 0: absent
    std::map<std::string, std::optional<Node>> m_changed; // nullopt: removed
    std::unordered_map<DomId, int64_t> m_owned_delta;
    std::vector<Change> m_changes;
    std::map<std::pair<std::string, bool>, size_t> m_change_at; // (path, removed) -> index in m_changes
    size_t m_bytes = 0;
};

} // namespace xkvm::xenstore
