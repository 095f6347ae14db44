// The system calls each thread role of a running VMM needs, found by tracing the guest suite on
// both backends (README.md says how to find a missing one). Names are the x86-64 kernel's.
#include "sandbox/syscall_tables.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/sched.h>
#include <sys/mman.h>
#include <unistd.h>

namespace xkvm::sandbox {

namespace {

constexpr AllowedCall allow(std::string_view name) { return { name, false, {} }; }
constexpr AllowedCall allow_if(std::string_view name, uint8_t index, uint64_t mask, uint64_t value)
{
    return { name, true, { index, mask, value } };
}

// ioctl requests of type 0xAE are KVM's (/dev/kvm, the VM and vCPU descriptors); TCGETS is stdio
// asking whether stdout/stderr are terminals on their first use.
constexpr uint64_t kIoctlTypeMask = 0xff00;
constexpr uint64_t kKvmIoctlType = 0xae00;
constexpr uint64_t kTcgets = 0x5401;
// Read-only opens: none of these flags set.
constexpr uint64_t kWritingOpenFlags = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND;
// How base/rotating_file.cpp opens the next console.log after a rotation: exactly this.
constexpr uint64_t kLogOpenFlags = O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;

constexpr AllowedCall kCommon[] = {
    // Memory: glibc's malloc, thread stacks. Never executable: no new code once built.
    allow("brk"),
    allow_if("mmap", 2, PROT_EXEC, 0),
    allow_if("mprotect", 2, PROT_EXEC, 0),
    allow("munmap"),
    allow("mremap"),
    allow("madvise"),
    // Locks, condition variables, sleeps, clocks (when the vDSO is not used).
    allow("futex"),
    allow("sched_yield"),
    allow("nanosleep"),
    allow("clock_nanosleep"),
    allow("clock_gettime"),
    allow("gettimeofday"),
    allow("restart_syscall"),
    allow("getpid"),
    allow("gettid"),
    // Kicking a vCPU thread (hv::VcpuRunner) and abort(): signals to our own threads only.
    allow_if("tgkill", 0, ~0ull, ArgCheck::kOwnPid),
    allow("rt_sigprocmask"),
    allow("rt_sigreturn"),
    // Descriptors the thread already holds: eventfds, logs (spdlog to stderr), notification sockets.
    allow("read"),
    allow("write"),
    allow("close"),
    // KVM's descriptors: every thread may raise a line or change a memslot. Stdio's terminal check.
    allow_if("ioctl", 1, kIoctlTypeMask, kKvmIoctlType),
    allow_if("ioctl", 1, ~0ull, kTcgets),
    allow("newfstatat"),
    allow("fstat"),
    // glibc runs the uid/gid drop on every thread (SIGSETXID); after it, with no capabilities
    // left, these can only set the ids the thread already has.
    allow("setresuid"),
    allow("setresgid"),
    allow("setgroups"),
    allow("exit"),
    allow("exit_group"),
};

constexpr AllowedCall kControl[] = {
    // The daemon's channel and the console sockets.
    allow("poll"),
    allow("ppoll"),
    allow("recvmsg"),
    allow("sendmsg"),
    allow("recvfrom"),
    allow("sendto"),
    allow("accept4"),
    allow("shutdown"),
    allow("getsockopt"),
    allow("fcntl"),
    // Interdomain channels the daemon connects (vmm/evtchn_relay.cpp).
    allow("socketpair"),
    allow("epoll_ctl"),
    // status: /proc/self/task/<tid>/stat, read-only.
    allow_if("openat", 2, kWritingOpenFlags, 0),
    allow("lseek"),
    allow("sched_getaffinity"),
    allow("sched_setaffinity"),
    // The console socket goes when the domain ends.
    allow("unlink"),
    // adopt: a restarted daemon's log pipe becomes our stderr (vmm/control_attach.cpp); nothing else.
    allow_if("dup2", 1, ~0ull, STDERR_FILENO),
};

constexpr AllowedCall kVcpu[] = {
    // Ballooning punches pages out of the guest's memfd.
    allow_if("fallocate", 1, ~0ull, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE),
    // Interdomain binds (EVTCHNOP_bind_interdomain) and sends.
    allow("socketpair"),
    allow("sendto"),
    allow("sendmsg"),
    allow("getsockopt"),
    allow("shutdown"),
    allow("fcntl"),
    allow("epoll_ctl"),
    // console.log rotation (base/rotating_file.cpp), relative to the directory it was opened in.
    allow_if("openat", 2, ~0ull, kLogOpenFlags),
    allow("renameat"),
    allow("renameat2"),
    // On KVM a vCPU starts a level line (kvm/level_line.cpp) when the guest picks a GSI callback:
    // its irqfd, resample and stop eventfds, and its thread: threads only (never a process), and
    // the new thread's own filter on top of this one.
    allow("eventfd2"),
    allow_if("clone", 0, CLONE_THREAD, CLONE_THREAD),
    allow("set_robust_list"),
    allow("rseq"),
    allow("seccomp"),
    allow("poll"),
};

constexpr AllowedCall kIo[] = {
    // Timers, the relay's notification sockets, the shutdown waiter, KVM's resample eventfds.
    allow("poll"),
    allow("ppoll"),
    allow("epoll_wait"),
    allow("epoll_pwait"),
    allow("recvfrom"),
    allow("recvmsg"),
    allow("sendto"),
};

constexpr AllowedCall kMonitor[] = {
    // One monitor at a time on the socket, checked with SO_PEERCRED.
    allow("poll"),
    allow("ppoll"),
    allow("accept4"),
    allow("recvmsg"),
    allow("sendmsg"),
    allow("recvfrom"),
    allow("sendto"),
    allow("getsockopt"),
    allow("geteuid"),
    allow("shutdown"),
    // Its ring and slots: sealed memfds, and a notification socket pair each.
    allow("memfd_create"),
    allow("ftruncate"),
    allow("fcntl"),
    allow("socketpair"),
    // The socket goes when the endpoint stops.
    allow("unlink"),
};

constexpr std::string_view kEnosys[] = {
    // clone3's flags sit in memory a filter cannot read; glibc falls back to clone, checked above.
    "clone3",
};

} // namespace

std::span<const AllowedCall> common_calls() { return kCommon; }

std::span<const AllowedCall> role_calls(ThreadRole role)
{
    switch (role) {
    case ThreadRole::Control:
        return kControl;
    case ThreadRole::Vcpu:
        return kVcpu;
    case ThreadRole::Io:
        return kIo;
    case ThreadRole::Monitor:
        return kMonitor;
    }
    return {};
}

std::span<const std::string_view> answered_enosys() { return kEnosys; }

} // namespace xkvm::sandbox
