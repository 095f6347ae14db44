#include "xenstore/store.h"

#include <algorithm>
#include <cerrno>

namespace xkvm::xenstore {

bool Node::has_child(std::string_view name) const
{
    return std::find(children.begin(), children.end(), name) != children.end();
}

size_t node_record_size(const Node& node)
{
    size_t size = node.value.size() + node.perms.size() * 8;
    for (const auto& child : node.children)
        size += child.size() + 1;
    return size;
}

size_t held_bytes(const std::string& path, const Node& node)
{
    return path.size() + node_record_size(node) + kEntryOverhead;
}

Store::Store()
{
    Node root;
    root.perms = { Perm { 0, kAccessNone } };
    (void)put("/", std::move(root));
}

const Node* Store::find(std::string_view path) const
{
    auto it = m_nodes.find(path);
    return it == m_nodes.end() ? nullptr : &it->second;
}

Status Store::put(const std::string& path, Node node)
{
    if (node.perms.empty())
        return fail(EINVAL, "node {} without permissions", path);
    node.generation = next_generation();
    m_bytes += held_bytes(path, node);
    auto it = m_nodes.find(path);
    if (it != m_nodes.end()) {
        m_bytes -= held_bytes(path, it->second);
        m_owned[it->second.perms[0].domid]--;
        m_owned[node.perms[0].domid]++;
        it->second = std::move(node);
    } else {
        m_owned[node.perms[0].domid]++;
        m_nodes.emplace(path, std::move(node));
    }
    return {};
}

Status Store::erase(const std::string& path)
{
    auto it = m_nodes.find(path);
    if (it == m_nodes.end())
        return fail(ENOENT, "no node {}", path);
    if (path == "/")
        return fail(EINVAL, "the root cannot be removed");
    m_owned[it->second.perms[0].domid]--;
    m_bytes -= held_bytes(path, it->second);
    m_nodes.erase(it);
    next_generation();
    return {};
}

int64_t Store::entries_owned(DomId domid) const
{
    auto it = m_owned.find(domid);
    return it == m_owned.end() ? 0 : it->second;
}

} // namespace xkvm::xenstore
