// The filter tables as data (every name resolves, each role gets what it should and nothing it
// should not) and as filters loaded in a child process (allowed calls work, others kill it).
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <functional>

#include <gtest/gtest.h>

#include "sandbox/privileges.h"
#include "sandbox/sandbox.h"
#include "sandbox/seccomp_filter.h"
#include "sandbox/syscall_tables.h"

namespace xkvm::sandbox {
namespace {

bool allows(ThreadRole role, std::string_view name)
{
    auto has = [&](std::span<const AllowedCall> list) {
        return std::any_of(list.begin(), list.end(), [&](const AllowedCall& c) { return c.name == name; });
    };
    return has(common_calls()) || has(role_calls(role));
}

TEST(SandboxTables, EveryNameResolvesOnThisArchitecture)
{
    EXPECT_TRUE(unresolved_names().empty()) << "first unknown: " << unresolved_names().front();
    for (ThreadRole role : kThreadRoles)
        EXPECT_TRUE(build_filter(role, Enforcement::Kill)) << thread_role_name(role);
}

TEST(SandboxTables, NoRoleMayStartProgramsOpenNetworkSocketsOrTouchOtherProcesses)
{
    for (ThreadRole role : kThreadRoles)
        for (std::string_view name : { "execve", "execveat", "fork", "vfork", "ptrace", "kill", "socket", "connect",
                                       "bind", "listen", "process_vm_readv", "process_vm_writev", "mount",
                                       "setuid", "prctl", "open", "chmod", "chown", "unlinkat", "mkdir", "clone3" })
            EXPECT_FALSE(allows(role, name)) << thread_role_name(role) << " allows " << name;
}

TEST(SandboxTables, EachRoleHasWhatItsWorkNeedsAndOnlyItsOwn)
{
    EXPECT_TRUE(allows(ThreadRole::Vcpu, "fallocate")); // ballooning
    EXPECT_FALSE(allows(ThreadRole::Control, "fallocate"));
    EXPECT_TRUE(allows(ThreadRole::Monitor, "memfd_create")); // a monitor's ring and slots
    for (ThreadRole role : { ThreadRole::Control, ThreadRole::Vcpu, ThreadRole::Io })
        EXPECT_FALSE(allows(role, "memfd_create")) << thread_role_name(role);
    EXPECT_TRUE(allows(ThreadRole::Control, "accept4")); // console clients
    EXPECT_FALSE(allows(ThreadRole::Vcpu, "accept4"));
    EXPECT_FALSE(allows(ThreadRole::Io, "accept4"));
    EXPECT_TRUE(allows(ThreadRole::Control, "sched_setaffinity"));
    EXPECT_FALSE(allows(ThreadRole::Vcpu, "sched_setaffinity"));
    EXPECT_TRUE(allows(ThreadRole::Vcpu, "clone")); // KVM's level-line thread, threads only
    EXPECT_FALSE(allows(ThreadRole::Control, "clone"));
}

TEST(SandboxTables, RoleListsOnlyAddToTheCommonList)
{
    for (ThreadRole role : kThreadRoles)
        for (const auto& call : role_calls(role))
            for (const auto& common : common_calls())
                EXPECT_FALSE(call.name == common.name && !common.checked)
                    << thread_role_name(role) << " repeats " << call.name;
}

// Ends a confined child straight through the system call: libc's and ASan's exit paths make calls of
// their own (ASan's tears down its signal stack), which would make a filter test measure them. Always
// inlined: ASan precedes every call of a noreturn function with a hook that asks for the signal stack.
[[noreturn, gnu::always_inline]] inline void child_exit(int code)
{
    // Not libc's syscall(): under ASan even that is wrapped.
    asm volatile("syscall" : : "a"(SYS_exit_group), "D"(code) : "rcx", "r11", "memory");
    __builtin_unreachable();
}

// Runs `body` in a child with `role`'s filter loaded; returns its wait status.
int run_confined(ThreadRole role, const std::function<void()>& body)
{
    pid_t pid = ::fork();
    if (pid == 0) {
        if (!load_filter(role, Enforcement::Kill))
            child_exit(90);
        body();
        child_exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return status;
}

bool killed_by_sigsys(int status) { return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS; }
bool exited_cleanly(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

TEST(SandboxFilter, AllowedCallsWorkAndAForbiddenOneKillsTheProcess)
{
    ASSERT_EQ(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0); // a descriptor held before the filter, as a thread's eventfd is
    EXPECT_TRUE(exited_cleanly(run_confined(ThreadRole::Io, [&] {
        char c;
        if (::write(fds[1], "x", 1) != 1 || ::read(fds[0], &c, 1) != 1 || ::getpid() <= 0)
            child_exit(1);
    })));
    EXPECT_TRUE(killed_by_sigsys(run_confined(ThreadRole::Io, [] { int p[2]; (void)::pipe(p); })));
    ::close(fds[0]);
    ::close(fds[1]);
    EXPECT_TRUE(killed_by_sigsys(run_confined(ThreadRole::Io, [] { (void)::socket(AF_INET, SOCK_STREAM, 0); })));
    EXPECT_TRUE(killed_by_sigsys(run_confined(ThreadRole::Vcpu, [] { (void)::syscall(SYS_getppid); })));
}

TEST(SandboxFilter, ArgumentChecksHold)
{
    ASSERT_EQ(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
    // The control thread opens read-only (its status reads), never for writing.
    EXPECT_TRUE(exited_cleanly(run_confined(ThreadRole::Control, [] { ::close(::open("/proc/self/stat", O_RDONLY)); })));
    EXPECT_TRUE(killed_by_sigsys(run_confined(ThreadRole::Control, [] { (void)::open("/dev/null", O_WRONLY); })));
    // Signals go to our own threads only.
    EXPECT_TRUE(exited_cleanly(run_confined(ThreadRole::Io, [] { (void)::syscall(SYS_tgkill, ::getpid(), ::gettid(), 0); })));
    EXPECT_TRUE(killed_by_sigsys(run_confined(ThreadRole::Io, [] { (void)::syscall(SYS_tgkill, 1, 1, 0); })));
    // No new executable memory.
    EXPECT_TRUE(killed_by_sigsys(run_confined(ThreadRole::Vcpu, [] {
        (void)::mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    })));
    // clone3 is answered ENOSYS (glibc falls back to clone, whose flags the filter sees).
    EXPECT_TRUE(exited_cleanly(run_confined(ThreadRole::Vcpu, [] {
        if (::syscall(SYS_clone3, nullptr, 0) != -1 || errno != ENOSYS)
            child_exit(1);
    })));
}

// A process that has not stamped a log line yet: glibc loads the time zone on the first localtime_r.
// The test runs itself again (a fork would inherit ours, loaded by now) with this variable set.
constexpr const char* kFreshChild = "XKVM_SANDBOX_TEST_FRESH_CHILD";

TEST(SandboxFilter, AConfinedThreadsFirstLocalTimeNeedsNoFile)
{
    if (std::getenv(kFreshChild)) {
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
            child_exit(91);
        activate(Mode::Enforce);
        if (!load_filter(ThreadRole::Vcpu, Enforcement::Kill))
            child_exit(90);
        // What stamps every log line: a vCPU thread's first warning, provoked by its guest.
        std::time_t now = std::time(nullptr);
        std::tm local {};
        child_exit(::localtime_r(&now, &local) ? 0 : 1);
    }
    pid_t pid = ::fork();
    if (pid == 0) {
        ::setenv(kFreshChild, "1", 1);
        const char* argv[] = { "sandbox_test", "--gtest_filter=SandboxFilter.AConfinedThreadsFirstLocalTimeNeedsNoFile",
                               nullptr };
        ::execv("/proc/self/exe", const_cast<char* const*>(argv));
        ::_exit(127);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(exited_cleanly(status)) << "wait status " << status;
}

TEST(SandboxMode, SwitchesAndTheirErrors)
{
#if !defined(__SANITIZE_ADDRESS__)
    EXPECT_EQ(*mode_from(false, nullptr), Mode::Enforce);
#endif
    EXPECT_EQ(*mode_from(false, "1"), Mode::Enforce);
    EXPECT_EQ(*mode_from(false, "0"), Mode::Off);
    EXPECT_EQ(*mode_from(false, "off"), Mode::Off);
    EXPECT_EQ(*mode_from(false, "report"), Mode::Report);
    EXPECT_EQ(*mode_from(true, "1"), Mode::Off);
    EXPECT_FALSE(mode_from(false, "maybe"));
}

TEST(SandboxPrivileges, OneUidPerDomainFromAConfigurableBase)
{
    ::unsetenv("XKVM_VMM_UID_BASE");
    auto a = domain_identity(1), b = domain_identity(2);
    ASSERT_TRUE(a && b);
    if (::geteuid() != 0) {
        EXPECT_FALSE(*a) << "not root: the VMM keeps its uid";
        return;
    }
    EXPECT_EQ((*a)->uid, kDefaultUidBase + 1);
    EXPECT_EQ((*b)->uid, kDefaultUidBase + 2);
    EXPECT_EQ((*a)->gid, (*a)->uid);
    ::setenv("XKVM_VMM_UID_BASE", "500000", 1);
    EXPECT_EQ((*domain_identity(7))->uid, 500007u);
    ::setenv("XKVM_VMM_UID_BASE", "0", 1);
    EXPECT_FALSE(domain_identity(7));
    ::setenv("XKVM_VMM_UID_BASE", "12x", 1);
    EXPECT_FALSE(domain_identity(7));
    ::unsetenv("XKVM_VMM_UID_BASE");
    EXPECT_FALSE(domain_identity(0x7ff0));
}

TEST(SandboxPrivileges, DroppingLeavesNoWayBackAndOnlyTheKeptDescriptors)
{
    if (::geteuid() != 0)
        GTEST_SKIP() << "needs root to drop privileges";
    int keep = ::open("/dev/null", O_RDONLY);
    int other = ::open("/dev/null", O_RDONLY);
    pid_t pid = ::fork();
    if (pid == 0) {
        int kept[] = { keep };
        if (!close_descriptors_except(kept) || ::fcntl(keep, F_GETFD) < 0 || ::fcntl(other, F_GETFD) >= 0)
            child_exit(1);
        if (!drop_privileges({ kDefaultUidBase + 5, kDefaultUidBase + 5 }))
            child_exit(2);
        if (::getuid() != kDefaultUidBase + 5 || ::getgid() != kDefaultUidBase + 5 || ::setuid(0) == 0)
            child_exit(3);
        child_exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(exited_cleanly(status)) << WEXITSTATUS(status);
    ::close(keep);
    ::close(other);
}

} // namespace
} // namespace xkvm::sandbox
