#include "sandbox/private_root.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace xkvm::sandbox {

namespace {

Status check(int rc, std::string_view what)
{
    if (rc != 0)
        return make_unexpected(Error::from_errno(fmt::format("private root: {}", what)));
    return {};
}

} // namespace

Status enter_private_root(const std::string& anchor)
{
    constexpr unsigned long kLocked = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    // Nothing mounted here may show in the daemon's namespace (the default is to share mounts).
    TRY(check(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), "making / private"));
    TRY(check(::mount("xkvm-vmm", anchor.c_str(), "tmpfs", kLocked, "size=16k,nr_inodes=16,mode=0755"),
              fmt::format("tmpfs on {}", anchor)));
    std::string proc = anchor + "/proc";
    TRY(check(::mkdir(proc.c_str(), 0555), "mkdir proc"));
    // The VMM's status reads its threads' CPU times from /proc/self/task. A procfs of our own PID
    // namespace shows our own process only; subset=pid (Linux 5.8) also hides the host-wide files.
    if (::mount("proc", proc.c_str(), "proc", kLocked | MS_RDONLY, "subset=pid") != 0)
        TRY(check(::mount("proc", proc.c_str(), "proc", kLocked | MS_RDONLY, nullptr), "mounting proc"));
    TRY(check(::chdir(anchor.c_str()), "chdir"));
    // pivot_root(".", ".") stacks the old root on the new one; detaching it leaves no path back.
    TRY(check(static_cast<int>(::syscall(SYS_pivot_root, ".", ".")), "pivot_root"));
    TRY(check(::umount2(".", MNT_DETACH), "detaching the old root"));
    TRY(check(::chdir("/"), "chdir /"));
    return check(::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | kLocked, nullptr),
                 "making / read-only");
}

} // namespace xkvm::sandbox
