#include "sandbox/seccomp_filter.h"

#include <seccomp.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sandbox/syscall_tables.h"

namespace xkvm::sandbox {

namespace {

thread_local ThreadRole t_role = ThreadRole::Control;

Result<int> resolve(std::string_view name)
{
    int nr = seccomp_syscall_resolve_name(std::string(name).c_str());
    if (nr == __NR_SCMP_ERROR)
        return fail(ENOSYS, "sandbox: unknown system call '{}'", name);
    return nr;
}

Status add_rule(scmp_filter_ctx ctx, const AllowedCall& call)
{
    int nr = TRY(resolve(call.name));
    int rc;
    if (!call.checked) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
    } else {
        uint64_t value = call.check.value == ArgCheck::kOwnPid ? static_cast<uint64_t>(::getpid()) : call.check.value;
        scmp_arg_cmp cmp = call.check.mask == ~0ull
            ? scmp_arg_cmp { call.check.index, SCMP_CMP_EQ, value, 0 }
            : scmp_arg_cmp { call.check.index, SCMP_CMP_MASKED_EQ, call.check.mask, value };
        rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 1, &cmp);
    }
    if (rc < 0 && rc != -EEXIST)
        return fail(-rc, "sandbox: cannot allow '{}': {}", call.name, errno_string(-rc));
    return {};
}

void on_sigsys(int, siginfo_t* info, void*)
{
    // Only async-signal-safe calls here: the number, not its name (scmp_sys_resolver gives that).
    char line[160];
    std::string_view role = thread_role_name(t_role);
    int n = snprintf(line, sizeof(line), "xkvm-vmm: sandbox: %.*s thread %d made forbidden system call %d\n",
                     static_cast<int>(role.size()), role.data(), static_cast<int>(::gettid()), info->si_syscall);
    if (n > 0)
        (void)!::write(STDERR_FILENO, line, static_cast<size_t>(n));
    raise(SIGSYS); // SA_RESETHAND made it fatal again: the process dies of it, as under Kill
}

} // namespace

void FilterDeleter::operator()(void* ctx) const
{
    seccomp_release(ctx);
}

Result<Filter> build_filter(ThreadRole role, Enforcement enforcement)
{
    Filter filter(seccomp_init(enforcement == Enforcement::Kill ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_TRAP));
    if (!filter)
        return fail(ENOMEM, "sandbox: seccomp_init failed");
    // main() has set no_new_privs for the whole process already; a thread that has a filter may
    // not be allowed prctl().
    if (int rc = seccomp_attr_set(filter.get(), SCMP_FLTATR_CTL_NNP, 0); rc < 0)
        return fail(-rc, "sandbox: seccomp_attr_set: {}", errno_string(-rc));
    for (const auto& call : common_calls())
        TRY(add_rule(filter.get(), call));
    for (const auto& call : role_calls(role))
        TRY(add_rule(filter.get(), call));
    for (auto name : answered_enosys())
        if (int rc = seccomp_rule_add(filter.get(), SCMP_ACT_ERRNO(ENOSYS), TRY(resolve(name)), 0); rc < 0)
            return fail(-rc, "sandbox: cannot refuse '{}': {}", name, errno_string(-rc));
    return filter;
}

Status load_filter(ThreadRole role, Enforcement enforcement)
{
    auto filter = TRY(build_filter(role, enforcement));
    t_role = role;
    if (int rc = seccomp_load(filter.get()); rc < 0)
        return fail(-rc, "sandbox: cannot load the {} thread's filter: {}", thread_role_name(role), errno_string(-rc));
    return {};
}

std::vector<std::string_view> unresolved_names()
{
    std::vector<std::string_view> out;
    auto check = [&](std::string_view name) {
        if (!resolve(name))
            out.push_back(name);
    };
    for (const auto& call : common_calls())
        check(call.name);
    for (ThreadRole role : kThreadRoles)
        for (const auto& call : role_calls(role))
            check(call.name);
    for (auto name : answered_enosys())
        check(name);
    return out;
}

void report_forbidden_calls()
{
    struct sigaction sa {};
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO | SA_RESETHAND | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSYS, &sa, nullptr);
}

} // namespace xkvm::sandbox
