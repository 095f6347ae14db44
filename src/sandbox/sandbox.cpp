#include "sandbox/sandbox.h"

#include <unistd.h>

#include <atomic>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "sandbox/private_root.h"
#include "sandbox/privileges.h"
#include "sandbox/seccomp_filter.h"

namespace xkvm::sandbox {

namespace {

std::atomic<Mode> g_mode { Mode::Off };
std::atomic<bool> g_private_root { false };

#if defined(__SANITIZE_ADDRESS__)
// ASan's runtime makes calls no list has (its own threads, sigaltstack, /proc reads): off unless asked.
constexpr Mode kDefaultMode = Mode::Off;
#else
constexpr Mode kDefaultMode = Mode::Enforce;
#endif

Enforcement enforcement() { return g_mode.load() == Mode::Report ? Enforcement::Report : Enforcement::Kill; }

void enter_role(ThreadRole role)
{
    if (auto r = load_filter(role, enforcement()); !r) {
        // A thread that cannot be confined must not run guest-facing code unconfined.
        std::fprintf(stderr, "xkvm-vmm: %s (XKVM_SANDBOX=0 runs without the sandbox)\n", r.error().message.c_str());
        std::abort();
    }
}

} // namespace

Result<Mode> mode_from(bool no_sandbox_flag, const char* env)
{
    if (no_sandbox_flag)
        return Mode::Off;
    std::string_view v = env ? env : "";
    if (v.empty())
        return kDefaultMode;
    if (v == "1" || v == "on")
        return Mode::Enforce;
    if (v == "0" || v == "off")
        return Mode::Off;
    if (v == "report")
        return Mode::Report;
    return fail(EINVAL, "XKVM_SANDBOX={}: give 1, on, 0, off or report", v);
}

std::string_view mode_name(Mode mode)
{
    switch (mode) {
    case Mode::Off:
        return "off";
    case Mode::Enforce:
        return "on";
    case Mode::Report:
        return "report";
    }
    return "unknown";
}

void activate(Mode mode, bool private_root)
{
    g_mode.store(mode);
    g_private_root.store(private_root);
    if (mode == Mode::Off)
        return;
    // localtime_r, which stamps every log line, reads the time zone file on its first call in a
    // process. Done now, before any filter: a confined thread's first warning (a vCPU's, provoked by
    // the guest) would otherwise be an openat that kills the domain.
    ::tzset();
    if (mode == Mode::Report)
        report_forbidden_calls();
    set_thread_role_hook(enter_role);
}

Mode active_mode() { return g_mode.load(); }

Status lock_down(const LockDown& what)
{
    if (g_mode.load() == Mode::Off)
        return {};
    if (auto who = TRY(domain_identity(what.domid))) {
        if (!what.domain_dir.empty())
            TRY(hand_over_dir(what.domain_dir, *who));
        // Mounting needs root, and the other threads' filters need nothing new for it: the mount
        // calls are this thread's, still unconfined.
        if (g_private_root.load() && !what.domain_dir.empty())
            TRY(enter_private_root(what.domain_dir));
        TRY(drop_privileges(*who));
    }
    TRY(make_undumpable());
    return load_filter(ThreadRole::Control, enforcement());
}

} // namespace xkvm::sandbox
