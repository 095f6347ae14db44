// The xenstore database: a tree of nodes keyed by absolute path, each with a value, permissions,
// child names and a generation counter. NodeView is what operations run against: the Store itself,
// or a Transaction layered over it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "xenstore/permissions.h"

namespace xkvm::xenstore {

struct Node {
    std::string value; // any bytes
    Perms perms; // never empty
    std::vector<std::string> children; // leaf names, in creation order
    uint64_t generation = 0; // new on every change of this node (value, perms or child list)

    bool has_child(std::string_view name) const;
};

// Bytes a node record takes, for the node size quota: value, child names with their NULs, and
// 8 bytes per permission entry.
size_t node_record_size(const Node& node);

// What holding `node` at `path` costs in memory, for the daemon-wide cap (Quota::max_total_bytes):
// the record, the key, and an estimate of the containers' own overhead per entry.
inline constexpr size_t kEntryOverhead = 128;
size_t held_bytes(const std::string& path, const Node& node);

// What an operation changed, for watches.
struct Change {
    std::string path; // absolute, or a special "@..." path
    bool removed = false; // `path` and everything below it were removed
    Perms perms; // the node's permissions (before removal), deciding who may see the event
};

class NodeView {
public:
    virtual ~NodeView() = default;
    // The node at `path`, or nullptr. The pointer is valid until the next put/erase.
    // ENOSPC: a transaction touched more nodes than its quota allows.
    virtual Result<const Node*> get(const std::string& path) = 0;
    // Stores `node` (a new generation is assigned).
    virtual Status put(const std::string& path, Node node) = 0;
    virtual Status erase(const std::string& path) = 0;
    // Nodes whose owner is `domid`, as seen through this view.
    virtual int64_t entries_owned(DomId domid) const = 0;
};

class Store final : public NodeView {
public:
    // Starts with "/" owned by dom0, no access for anyone else.
    Store();

    Result<const Node*> get(const std::string& path) override { return find(path); }
    Status put(const std::string& path, Node node) override;
    Status erase(const std::string& path) override;
    int64_t entries_owned(DomId domid) const override;

    const Node* find(std::string_view path) const;
    // A fresh generation number (monotonic, never 0).
    uint64_t next_generation() { return ++m_generation; }
    size_t node_count() const { return m_nodes.size(); }
    // held_bytes() of every node.
    size_t bytes() const { return m_bytes; }

private:
    struct PathHash {
        using is_transparent = void; // find() by string_view without building a key
        size_t operator()(std::string_view path) const { return std::hash<std::string_view> {}(path); }
    };
    // Hashed: nothing needs the paths in order (children keep their own), and each operation looks up
    // several paths sharing a long prefix, which an ordered map compares again at every level.
    std::unordered_map<std::string, Node, PathHash, std::equal_to<>> m_nodes;
    size_t m_bytes = 0;
    std::unordered_map<DomId, int64_t> m_owned;
    uint64_t m_generation = 0;
};

} // namespace xkvm::xenstore
