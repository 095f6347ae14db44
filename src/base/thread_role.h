// The kinds of long-lived thread in a VMM process. Each such thread names its kind first thing, so
// that one process-wide policy can confine it: the VMM's sandbox (src/sandbox/) installs that kind's
// system-call filter there. Without a policy (tests, tools) entering a role does nothing.
#pragma once

#include <cstdint>
#include <string_view>

namespace xkvm {

enum class ThreadRole : uint8_t {
    Control, // the VMM's main thread: the daemon's channel, consoles, build and teardown
    Vcpu,    // one per vCPU (hv::VcpuRunner): guest exits, hypercalls, device models
    Io,      // timers, the interdomain relay, the shutdown waiter, KVM's level lines
    Monitor, // the vm_event monitor endpoint: accepts a monitor, hands it memfds
};

inline constexpr ThreadRole kThreadRoles[] = { ThreadRole::Control, ThreadRole::Vcpu, ThreadRole::Io,
                                               ThreadRole::Monitor };

std::string_view thread_role_name(ThreadRole role);

using ThreadRoleHook = void (*)(ThreadRole);

// Set once, before the threads it should see start (the VMM's main()).
void set_thread_role_hook(ThreadRoleHook hook);

// Called by the thread itself, before it does anything its role does not allow.
void enter_thread_role(ThreadRole role);

} // namespace xkvm
