#include "xenstore/transaction.h"

#include <cerrno>

namespace xkvm::xenstore {

Transaction::Transaction(Store& store, uint32_t id, uint32_t max_nodes)
    : m_store(store)
    , m_id(id)
    , m_max_nodes(max_nodes)
{
}

Status Transaction::touch(const std::string& path)
{
    if (m_seen.contains(path))
        return {};
    if (m_max_nodes != 0 && m_seen.size() >= m_max_nodes)
        return fail(ENOSPC, "transaction {} touched more than {} nodes", m_id, m_max_nodes);
    const Node* node = m_store.find(path);
    m_seen.emplace(path, node ? node->generation : 0);
    m_bytes += path.size() + kEntryOverhead;
    return {};
}

const Node* Transaction::current(const std::string& path) const
{
    auto it = m_changed.find(path);
    if (it != m_changed.end())
        return it->second ? &*it->second : nullptr;
    return m_store.find(path);
}

namespace {

size_t copy_bytes(const std::string& path, const std::optional<Node>& copy)
{
    return copy ? held_bytes(path, *copy) : path.size() + kEntryOverhead;
}

} // namespace

void Transaction::keep_copy(const std::string& path, std::optional<Node> copy)
{
    m_bytes += copy_bytes(path, copy);
    auto [it, fresh] = m_changed.try_emplace(path, std::nullopt);
    if (!fresh)
        m_bytes -= copy_bytes(path, it->second);
    it->second = std::move(copy);
}

Result<const Node*> Transaction::get(const std::string& path)
{
    auto it = m_changed.find(path);
    if (it != m_changed.end())
        return it->second ? &*it->second : nullptr;
    TRY(touch(path));
    return m_store.find(path);
}

Status Transaction::put(const std::string& path, Node node)
{
    if (node.perms.empty())
        return fail(EINVAL, "node {} without permissions", path);
    TRY(touch(path));
    if (const Node* old = current(path))
        m_owned_delta[old->perms[0].domid]--;
    m_owned_delta[node.perms[0].domid]++;
    node.generation = m_store.next_generation();
    keep_copy(path, std::move(node));
    return {};
}

Status Transaction::erase(const std::string& path)
{
    if (path == "/")
        return fail(EINVAL, "the root cannot be removed");
    TRY(touch(path));
    const Node* old = current(path);
    if (!old)
        return fail(ENOENT, "no node {}", path);
    m_owned_delta[old->perms[0].domid]--;
    keep_copy(path, std::nullopt);
    return {};
}

int64_t Transaction::entries_owned(DomId domid) const
{
    auto it = m_owned_delta.find(domid);
    return m_store.entries_owned(domid) + (it == m_owned_delta.end() ? 0 : it->second);
}

void Transaction::record(std::vector<Change> changes)
{
    for (auto& c : changes) {
        auto [at, fresh] = m_change_at.try_emplace({ c.path, c.removed }, m_changes.size());
        if (!fresh) {
            m_changes[at->second].perms = std::move(c.perms);
            continue;
        }
        m_bytes += 2 * c.path.size() + c.perms.size() * 8 + 2 * kEntryOverhead;
        m_changes.push_back(std::move(c));
    }
}

Result<std::vector<Change>> Transaction::commit(const Caller& caller, const Quota& quota)
{
    for (const auto& [path, generation] : m_seen) {
        const Node* now = m_store.find(path);
        if ((now ? now->generation : 0) != generation)
            return fail(EAGAIN, "transaction {} conflicts on {}", m_id, path);
    }
    if (caller.unprivileged()) {
        auto it = m_owned_delta.find(caller.domid);
        if (it != m_owned_delta.end() && it->second > 0
            && m_store.entries_owned(caller.domid) + it->second > quota.max_entries_per_domain)
            return fail(ENOSPC, "commit would exceed domain {}'s node quota", caller.domid);
    }
    for (auto& [path, node] : m_changed) {
        if (node)
            TRY(m_store.put(path, std::move(*node)));
        else if (m_store.find(path))
            TRY(m_store.erase(path));
    }
    m_changed.clear();
    m_seen.clear();
    m_change_at.clear();
    m_bytes = 0;
    return std::move(m_changes);
}

} // namespace xkvm::xenstore
