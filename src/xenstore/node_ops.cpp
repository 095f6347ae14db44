#include "xenstore/node_ops.h"

#include <algorithm>
#include <cerrno>
#include <optional>

#include "xenstore/path.h"

namespace xkvm::xenstore {

namespace {

struct Ancestor {
    std::string path;
    const Node* node = nullptr;
};

// The closest existing node above `path` ("/" always exists).
Result<Ancestor> nearest_ancestor(NodeView& view, std::string_view path)
{
    std::string p(path);
    while (p != "/") {
        p.resize(parent_of(p).size()); // parent_of() is a prefix of p: truncate in place
        const Node* node = TRY(view.get(p));
        if (node)
            return Ancestor { std::move(p), node };
    }
    return fail(ENOENT, "the root node is missing");
}

Status check_node_size(const OpContext& ctx, const Node& node, std::string_view path)
{
    if (ctx.caller.unprivileged() && node_record_size(node) > ctx.quota.max_node_size)
        return fail(ENOSPC, "node {} would take {} bytes, quota {}", path, node_record_size(node),
                    ctx.quota.max_node_size);
    return {};
}

// One change, built in place: a braced list would copy its path and permissions.
std::vector<Change> one_change(std::string path, bool removed, Perms perms)
{
    std::vector<Change> out;
    out.push_back(Change { std::move(path), removed, std::move(perms) });
    return out;
}

// Creates `path` (absent, not "/") and any missing parents, the last one holding `value`.
// Everything is checked before anything is stored, so a failure leaves the view untouched.
Result<std::vector<Change>> create(const OpContext& ctx, const std::string& path, std::string_view value)
{
    Ancestor anc = TRY(nearest_ancestor(ctx.view, path));
    if (!allows(ctx.caller, anc.node->perms, kAccessWrite))
        return fail(EACCES, "no write access to {}", anc.path);

    std::vector<std::string_view> chain; // new nodes (prefixes of `path`), top first
    for (std::string_view p = path; p != anc.path; p = parent_of(p))
        chain.push_back(p);
    std::reverse(chain.begin(), chain.end());

    Perms perms = anc.node->perms;
    if (ctx.caller.unprivileged()) {
        perms[0].domid = ctx.caller.domid;
        int64_t owned = ctx.view.entries_owned(ctx.caller.domid);
        if (owned + static_cast<int64_t>(chain.size()) > ctx.quota.max_entries_per_domain)
            return fail(ENOSPC, "domain {} would own more than {} nodes", ctx.caller.domid,
                        ctx.quota.max_entries_per_domain);
    }

    Node parent = *anc.node;
    parent.children.emplace_back(basename_of(chain.front()));
    TRY(check_node_size(ctx, parent, anc.path));

    std::vector<Node> fresh(chain.size());
    for (size_t i = 0; i < chain.size(); i++) {
        fresh[i].perms = perms;
        if (i + 1 < chain.size())
            fresh[i].children.emplace_back(basename_of(chain[i + 1]));
        else
            fresh[i].value = std::string(value);
        TRY(check_node_size(ctx, fresh[i], chain[i]));
    }

    TRY(ctx.view.put(anc.path, std::move(parent)));
    for (size_t i = 0; i + 1 < chain.size(); i++)
        TRY(ctx.view.put(std::string(chain[i]), std::move(fresh[i])));
    TRY(ctx.view.put(path, std::move(fresh.back())));
    return one_change(path, false, std::move(perms));
}

} // namespace

Status check_path_quota(const Caller& caller, const Quota& quota, std::string_view path)
{
    if (caller.privileged)
        return {};
    std::string home = home_path(caller.domid);
    home.push_back('/');
    size_t len = path.starts_with(home) ? path.size() - home.size() : path.size();
    if (len > quota.max_path_length)
        return fail(EINVAL, "path of {} bytes exceeds the quota of {}", len, quota.max_path_length);
    return {};
}

Result<const Node*> lookup(NodeView& view, const Caller& caller, const std::string& path, uint8_t need)
{
    const Node* node = TRY(view.get(path));
    if (node) {
        if (!allows(caller, node->perms, need))
            return fail(EACCES, "access to {} denied", path);
        return node;
    }
    Ancestor anc = TRY(nearest_ancestor(view, path));
    if (!allows(caller, anc.node->perms, need & kAccessBoth))
        return fail(EACCES, "access to {} denied", path);
    return fail(ENOENT, "no node {}", path);
}

Result<std::vector<Change>> op_write(const OpContext& ctx, const std::string& path, std::string_view value)
{
    const Node* node = TRY(ctx.view.get(path));
    if (!node)
        return create(ctx, path, value);
    if (!allows(ctx.caller, node->perms, kAccessWrite))
        return fail(EACCES, "no write access to {}", path);
    Node updated = *node;
    updated.value = std::string(value);
    TRY(check_node_size(ctx, updated, path));
    Perms perms = updated.perms;
    TRY(ctx.view.put(path, std::move(updated)));
    return one_change(path, false, std::move(perms));
}

Result<std::vector<Change>> op_mkdir(const OpContext& ctx, const std::string& path)
{
    const Node* node = TRY(ctx.view.get(path));
    if (!node)
        return create(ctx, path, "");
    if (!allows(ctx.caller, node->perms, kAccessWrite))
        return fail(EACCES, "no write access to {}", path);
    return std::vector<Change> {};
}

Result<std::vector<Change>> op_rm(const OpContext& ctx, const std::string& path)
{
    if (path == "/")
        return fail(EINVAL, "the root cannot be removed");
    const Node* node = TRY(ctx.view.get(path));
    if (!node) {
        Ancestor anc = TRY(nearest_ancestor(ctx.view, path));
        if (!allows(ctx.caller, anc.node->perms, kAccessWrite))
            return fail(EACCES, "no write access to {}", path);
        if (anc.path == parent_of(path))
            return std::vector<Change> {};
        return fail(ENOENT, "neither {} nor its parent exist", path);
    }
    if (!allows(ctx.caller, node->perms, kAccessWrite))
        return fail(EACCES, "no write access to {}", path);
    Perms perms = node->perms;

    // Collect the whole subtree before changing anything: a transaction may run out of quota here.
    std::vector<std::string> doomed;
    std::vector<std::string> pending { path };
    while (!pending.empty()) {
        std::string p = std::move(pending.back());
        pending.pop_back();
        const Node* n = TRY(ctx.view.get(p));
        if (!n)
            continue;
        for (const auto& child : n->children)
            pending.push_back(join_path(p, child));
        doomed.push_back(std::move(p));
    }

    std::string parent_path(parent_of(path));
    const Node* parent = TRY(ctx.view.get(parent_path));
    std::optional<Node> new_parent;
    if (parent) {
        new_parent = *parent;
        auto& kids = new_parent->children;
        kids.erase(std::remove(kids.begin(), kids.end(), basename_of(path)), kids.end());
    }
    for (const auto& p : doomed) {
        auto erased = ctx.view.erase(p);
        if (!erased && erased.error().code != ENOENT)
            return make_unexpected(erased.release_error());
    }
    if (new_parent)
        TRY(ctx.view.put(parent_path, std::move(*new_parent)));
    return one_change(path, true, std::move(perms));
}

Result<std::vector<Change>> op_set_perms(const OpContext& ctx, const std::string& path, Perms perms)
{
    if (perms.empty())
        return fail(EINVAL, "empty permission list");
    if (ctx.caller.unprivileged() && perms.size() > ctx.quota.max_perms_per_node)
        return fail(ENOSPC, "{} permission entries exceed the quota of {}", perms.size(),
                    ctx.quota.max_perms_per_node);
    const Node* node = TRY(lookup(ctx.view, ctx.caller, path, kAccessWrite | kAccessOwner));
    if (ctx.caller.unprivileged() && perms[0].domid != node->perms[0].domid)
        return fail(EPERM, "only a privileged domain may change the owner of {}", path);
    Node updated = *node;
    updated.perms = perms;
    TRY(check_node_size(ctx, updated, path));
    TRY(ctx.view.put(path, std::move(updated)));
    return one_change(path, false, std::move(perms));
}

} // namespace xkvm::xenstore
