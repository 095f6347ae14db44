// Node permissions as xenstored has them: the first entry names the owner and the access everyone
// not listed gets; later entries grant (or deny) access to single domains. The owner, a domain
// targeting the owner (SET_TARGET) and privileged callers have full access.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "xenstore/wire.h"

namespace xkvm::xenstore {

enum Access : uint8_t {
    kAccessNone = 0,
    kAccessRead = 1,
    kAccessWrite = 2,
    kAccessBoth = kAccessRead | kAccessWrite,
    kAccessOwner = 4, // not stored; reported by access_for() for the owner
};

struct Perm {
    DomId domid = 0;
    uint8_t access = kAccessNone; // kAccessRead | kAccessWrite

    bool operator==(const Perm&) const = default;
};

// Never empty: element 0 is the owner and default access.
using Perms = std::vector<Perm>;

// Who is asking.
struct Caller {
    DomId domid = 0;
    bool privileged = false; // dom0 / the toolstack: bypasses permissions and quotas
    std::optional<DomId> target; // SET_TARGET: acts with the target's rights as well

    bool unprivileged() const { return !privileged; }
};

// "<n|r|w|b><domid>", e.g. "b0", "r5". EINVAL otherwise.
Result<Perm> parse_perm(std::string_view text);
std::string format_perm(const Perm& perm);
// Each entry followed by a NUL, as GET_PERMS replies.
std::string format_perms(const Perms& perms);

// The access `caller` has to a node with `perms` (kAccessOwner set for owners and privileged).
uint8_t access_for(const Caller& caller, const Perms& perms);
inline bool allows(const Caller& caller, const Perms& perms, uint8_t need)
{
    return (access_for(caller, perms) & need) == need;
}

} // namespace xkvm::xenstore
