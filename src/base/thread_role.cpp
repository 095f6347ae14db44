#include "base/thread_role.h"

#include <atomic>

namespace xkvm {

namespace {

std::atomic<ThreadRoleHook> g_hook { nullptr };

} // namespace

std::string_view thread_role_name(ThreadRole role)
{
    switch (role) {
    case ThreadRole::Control:
        return "control";
    case ThreadRole::Vcpu:
        return "vcpu";
    case ThreadRole::Io:
        return "io";
    case ThreadRole::Monitor:
        return "monitor";
    }
    return "unknown";
}

void set_thread_role_hook(ThreadRoleHook hook)
{
    g_hook.store(hook);
}

void enter_thread_role(ThreadRole role)
{
    if (auto hook = g_hook.load())
        hook(role);
}

} // namespace xkvm
