// The one place where errors become what the guest sees: Xen's negative errno values.
// Handlers fail with xen_fail(XEN_E..., "why"); host errors (EFAULT from a bad guest pointer) map here.
#pragma once

#include "base/result.h"
#include "xen/abi/errno.h"

namespace xkvm::xen {

// Xen's errno numbers are Linux's on x86; anything unexpected becomes EINVAL rather than leaking.
int to_xen_errno(int host_errno);

// The value placed in the guest's return register for an error.
inline int64_t guest_error_value(const Error& e) { return -static_cast<int64_t>(to_xen_errno(e.code)); }

template<typename... Args>
Unexpected<Error> xen_fail(int xen_errno, fmt::format_string<Args...> f, Args&&... args)
{
    return fail(xen_errno, f, std::forward<Args>(args)...);
}

} // namespace xkvm::xen
