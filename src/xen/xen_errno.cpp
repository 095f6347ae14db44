#include "xen/xen_errno.h"

#include <algorithm>
#include <array>

namespace xkvm::xen {

int to_xen_errno(int host_errno)
{
    static constexpr std::array kKnown = {
        XEN_EPERM, XEN_ENOENT, XEN_ESRCH, XEN_EINTR, XEN_EIO, XEN_ENXIO, XEN_E2BIG, XEN_ENOEXEC,
        XEN_EBADF, XEN_ECHILD, XEN_EAGAIN, XEN_ENOMEM, XEN_EACCES, XEN_EFAULT, XEN_EBUSY, XEN_EEXIST,
        XEN_EXDEV, XEN_ENODEV, XEN_ENOTDIR, XEN_EISDIR, XEN_EINVAL, XEN_ENFILE, XEN_EMFILE, XEN_ENOSPC,
        XEN_EROFS, XEN_EMLINK, XEN_EDOM, XEN_ERANGE, XEN_EDEADLK, XEN_ENAMETOOLONG, XEN_ENOLCK,
        XEN_ENOSYS, XEN_ENOTEMPTY, XEN_ENODATA, XEN_ETIME, XEN_EBADMSG, XEN_EOVERFLOW, XEN_EILSEQ,
        XEN_ERESTART, XEN_ENOTSOCK, XEN_EMSGSIZE, XEN_EOPNOTSUPP, XEN_EADDRINUSE, XEN_EADDRNOTAVAIL,
        XEN_ENOBUFS, XEN_EISCONN, XEN_ENOTCONN, XEN_ETIMEDOUT, XEN_ECONNREFUSED,
    };
    return std::find(kKnown.begin(), kKnown.end(), host_errno) != kKnown.end() ? host_errno : XEN_EINVAL;
}

} // namespace xkvm::xen
