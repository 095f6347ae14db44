// The tree operations (lookup, write, mkdir, rm, set-perms) with xenstored's permission, quota and
// inheritance rules, run against any NodeView (the store, or a transaction).
//
// Permission rules: an existing node needs the requested access, else EACCES. A missing node gives
// ENOENT, unless its nearest existing ancestor denies that access too, which gives EACCES (so
// existence is not leaked). Nodes are created when that ancestor grants write; each new node takes
// its parent's permissions, and an unprivileged creator becomes the owner.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "xenstore/quota.h"
#include "xenstore/store.h"

namespace xkvm::xenstore {

struct OpContext {
    NodeView& view;
    const Caller& caller;
    const Quota& quota;
};

// EINVAL when an unprivileged caller's path exceeds quota.max_path_length (counted below its
// home for paths there).
Status check_path_quota(const Caller& caller, const Quota& quota, std::string_view path);

// The node at `path` if `caller` has `need` (kAccessRead / kAccessWrite / kAccessOwner bits).
Result<const Node*> lookup(NodeView& view, const Caller& caller, const std::string& path, uint8_t need);

// Sets the value, creating the node and missing parents. ENOSPC on quota.
Result<std::vector<Change>> op_write(const OpContext& ctx, const std::string& path, std::string_view value);
// Creates the node (and parents) with an empty value unless it exists. Nothing changes if it does.
Result<std::vector<Change>> op_mkdir(const OpContext& ctx, const std::string& path);
// Removes the node and its subtree. Missing node: fine if its parent exists, else ENOENT.
// "/": EINVAL.
Result<std::vector<Change>> op_rm(const OpContext& ctx, const std::string& path);
// Replaces the permissions. Only the owner (or privileged) may; unprivileged callers may not
// hand the node to another owner (EPERM).
Result<std::vector<Change>> op_set_perms(const OpContext& ctx, const std::string& path, Perms perms);

} // namespace xkvm::xenstore
