#include "xenstore/permissions.h"

#include <cerrno>

#include <fmt/format.h>

#include "xenstore/message.h"

namespace xkvm::xenstore {

Result<Perm> parse_perm(std::string_view text)
{
    if (text.size() < 2)
        return fail(EINVAL, "permission '{}' is too short", text);
    Perm perm;
    switch (text.front()) {
    case 'n': perm.access = kAccessNone; break;
    case 'r': perm.access = kAccessRead; break;
    case 'w': perm.access = kAccessWrite; break;
    case 'b': perm.access = kAccessBoth; break;
    default: return fail(EINVAL, "permission '{}' has an unknown access letter", text);
    }
    auto id = parse_decimal(text.substr(1), 0xffff);
    if (!id)
        return fail(EINVAL, "permission '{}' has a bad domain id", text);
    perm.domid = static_cast<DomId>(*id);
    return perm;
}

std::string format_perm(const Perm& perm)
{
    char letter = 'n';
    switch (perm.access & kAccessBoth) {
    case kAccessRead: letter = 'r'; break;
    case kAccessWrite: letter = 'w'; break;
    case kAccessBoth: letter = 'b'; break;
    default: break;
    }
    return fmt::format("{}{}", letter, perm.domid);
}

std::string format_perms(const Perms& perms)
{
    std::string out;
    for (const auto& p : perms) {
        out += format_perm(p);
        out.push_back('\0');
    }
    return out;
}

uint8_t access_for(const Caller& caller, const Perms& perms)
{
    constexpr uint8_t kAll = kAccessBoth | kAccessOwner;
    if (caller.privileged)
        return kAll;
    if (perms.empty())
        return kAccessNone;
    auto is_me = [&](DomId id) { return id == caller.domid || (caller.target && id == *caller.target); };
    if (is_me(perms[0].domid))
        return kAll;
    for (size_t i = 1; i < perms.size(); i++)
        if (is_me(perms[i].domid))
            return perms[i].access & kAccessBoth;
    return perms[0].access & kAccessBoth;
}

} // namespace xkvm::xenstore
