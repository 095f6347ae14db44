// Database requests: READ, WRITE, MKDIR, RM, DIRECTORY, DIRECTORY_PART, GET_PERMS, SET_PERMS.
#include <cerrno>

#include "xenstore/node_ops.h"
#include "xenstore/path.h"
#include "xenstore/server.h"

namespace xkvm::xenstore {

namespace {

// The payload must be exactly one NUL-terminated string.
Result<std::string_view> one_arg(const Message& req)
{
    auto args = split_strings(req.payload);
    if (!args || args->size() != 1)
        return fail(EINVAL, "{} needs exactly one argument", msg_type_name(req.type));
    return args->front();
}

std::string children_blob(const Node& node)
{
    std::string out;
    for (const auto& child : node.children) {
        out += child;
        out.push_back('\0');
    }
    return out;
}

} // namespace

Server::Reply Server::op_read(Connection& conn, const Message& req)
{
    std::string_view arg = TRY(one_arg(req));
    std::string path = TRY(resolve(conn, arg));
    NodeView* view = TRY(view_for(conn, req));
    const Node* node = TRY(lookup(*view, caller_for(conn.domid), path, kAccessRead));
    return node->value;
}

Server::Reply Server::op_write(Connection& conn, const Message& req)
{
    auto parts = split_first(req.payload);
    if (!parts)
        return fail(EINVAL, "WRITE without a NUL after the path");
    std::string path = TRY(resolve(conn, parts->first));
    NodeView* view = TRY(view_for(conn, req));
    Caller caller = caller_for(conn.domid);
    auto changes = TRY(xenstore::op_write(OpContext { *view, caller, m_quota }, path, parts->rest));
    announce(conn, req, std::move(changes));
    return kOkPayload;
}

Server::Reply Server::op_mkdir(Connection& conn, const Message& req)
{
    std::string_view arg = TRY(one_arg(req));
    std::string path = TRY(resolve(conn, arg));
    NodeView* view = TRY(view_for(conn, req));
    Caller caller = caller_for(conn.domid);
    auto changes = TRY(xenstore::op_mkdir(OpContext { *view, caller, m_quota }, path));
    announce(conn, req, std::move(changes));
    return kOkPayload;
}

Server::Reply Server::op_rm(Connection& conn, const Message& req)
{
    std::string_view arg = TRY(one_arg(req));
    std::string path = TRY(resolve(conn, arg));
    NodeView* view = TRY(view_for(conn, req));
    Caller caller = caller_for(conn.domid);
    auto changes = TRY(xenstore::op_rm(OpContext { *view, caller, m_quota }, path));
    announce(conn, req, std::move(changes));
    return kOkPayload;
}

Server::Reply Server::op_directory(Connection& conn, const Message& req)
{
    std::string_view arg = TRY(one_arg(req));
    std::string path = TRY(resolve(conn, arg));
    NodeView* view = TRY(view_for(conn, req));
    const Node* node = TRY(lookup(*view, caller_for(conn.domid), path, kAccessRead));
    std::string blob = children_blob(*node);
    if (blob.size() > kPayloadMax)
        return fail(E2BIG, "the children of {} take {} bytes", path, blob.size());
    return blob;
}

// "<path>\0<offset>\0" -> "<generation>\0" then the children from byte `offset` of the full list
// that fit in one payload; an extra "\0" marks that the list is complete.
Server::Reply Server::op_directory_part(Connection& conn, const Message& req)
{
    auto args = split_strings(req.payload);
    if (!args || args->size() != 2)
        return fail(EINVAL, "DIRECTORY_PART needs a path and an offset");
    auto offset = parse_decimal((*args)[1], UINT32_MAX);
    if (!offset)
        return fail(EINVAL, "DIRECTORY_PART offset is not a number");
    std::string path = TRY(resolve(conn, (*args)[0]));
    NodeView* view = TRY(view_for(conn, req));
    const Node* node = TRY(lookup(*view, caller_for(conn.domid), path, kAccessRead));

    std::string blob = children_blob(*node);
    std::string out = std::to_string(node->generation);
    out.push_back('\0');
    size_t start = *offset;
    if (start >= blob.size()) {
        out.push_back('\0');
        return out;
    }
    size_t end = start;
    while (end < blob.size()) {
        size_t next = blob.find('\0', end) + 1;
        if (out.size() + (next - start) + 1 > kPayloadMax)
            break;
        end = next;
    }
    if (end == start)
        return fail(E2BIG, "a child name of {} does not fit in a reply", path);
    out.append(blob, start, end - start);
    if (end == blob.size())
        out.push_back('\0');
    return out;
}

Server::Reply Server::op_get_perms(Connection& conn, const Message& req)
{
    std::string_view arg = TRY(one_arg(req));
    Caller caller = caller_for(conn.domid);
    if (is_special(arg)) {
        auto it = m_special_perms.find(arg);
        if (it == m_special_perms.end())
            return fail(ENOENT, "no special node {}", arg);
        if (!allows(caller, it->second, kAccessRead))
            return fail(EACCES, "no read access to {}", arg);
        return format_perms(it->second);
    }
    std::string path = TRY(resolve(conn, arg));
    NodeView* view = TRY(view_for(conn, req));
    const Node* node = TRY(lookup(*view, caller, path, kAccessRead));
    return format_perms(node->perms);
}

Server::Reply Server::op_set_perms(Connection& conn, const Message& req)
{
    auto args = split_strings(req.payload);
    if (!args || args->size() < 2)
        return fail(EINVAL, "SET_PERMS needs a path and at least one permission");
    Perms perms;
    for (size_t i = 1; i < args->size(); i++)
        perms.push_back(TRY(parse_perm((*args)[i])));
    Caller caller = caller_for(conn.domid);
    std::string_view target = args->front();
    if (is_special(target)) {
        auto it = m_special_perms.find(target);
        if (it == m_special_perms.end())
            return fail(ENOENT, "no special node {}", target);
        if (!allows(caller, it->second, kAccessWrite | kAccessOwner))
            return fail(EACCES, "not the owner of {}", target);
        it->second = std::move(perms);
        return kOkPayload;
    }
    std::string path = TRY(resolve(conn, target));
    NodeView* view = TRY(view_for(conn, req));
    auto changes = TRY(xenstore::op_set_perms(OpContext { *view, caller, m_quota }, path, std::move(perms)));
    announce(conn, req, std::move(changes));
    return kOkPayload;
}

} // namespace xkvm::xenstore
