// The names of every operation one xkvm process asks of another. Each name is written once, here;
// the sender and the receiver's dispatch table both use the constant.
#pragma once

#include <string_view>

namespace xkvm::ipc::ops {

// xkvm / xl → xkvmd (<rundir>/xkvmd.sock)
inline constexpr std::string_view kPing = "ping";
inline constexpr std::string_view kCreate = "create";
inline constexpr std::string_view kList = "list";
inline constexpr std::string_view kDomain = "domain";
inline constexpr std::string_view kPause = "pause";
inline constexpr std::string_view kUnpause = "unpause";
inline constexpr std::string_view kDestroy = "destroy";
inline constexpr std::string_view kShutdown = "shutdown";
inline constexpr std::string_view kWait = "wait";
inline constexpr std::string_view kVcpuPin = "vcpu-pin";
inline constexpr std::string_view kVcpuSet = "vcpu-set";
inline constexpr std::string_view kMemSet = "mem-set";
inline constexpr std::string_view kMemMax = "mem-max";
inline constexpr std::string_view kDebugKeys = "debug-keys";
inline constexpr std::string_view kSchedCredit = "sched-credit";
inline constexpr std::string_view kXenstoreRead = "xenstore-read";
inline constexpr std::string_view kXenstoreWrite = "xenstore-write";
inline constexpr std::string_view kXenstoreLs = "xenstore-ls";
inline constexpr std::string_view kXenstoreRm = "xenstore-rm";

// xkvmd → xkvm-vmm (the control channel). kPause, kUnpause and kDestroy are shared with the above.
inline constexpr std::string_view kBuild = "build";
inline constexpr std::string_view kStatus = "status";
inline constexpr std::string_view kSetAffinity = "set-affinity";
inline constexpr std::string_view kSetMaxMemory = "set-max-memory";
inline constexpr std::string_view kConsoleInput = "console-input";
inline constexpr std::string_view kShutdownRequest = "shutdown-request";
inline constexpr std::string_view kDebugVirq = "debug-virq";
inline constexpr std::string_view kEndConsole = "end-console";
inline constexpr std::string_view kAdopt = "adopt"; // a restarted xkvmd on <rundir>/<domid>/control.sock
inline constexpr std::string_view kEvtchnConnect = "evtchn-connect";
inline constexpr std::string_view kEvtchnPeerClosed = "evtchn-peer-closed";
inline constexpr std::string_view kEvtchnDomainGone = "evtchn-domain-gone";
// Test-only (xkvmd forwards it from a client as it forwards pause): the VMM makes a system call its
// sandbox forbids, so that tests can watch the domain die of it. Refused unless the VMM runs with
// XKVM_TEST_OPS=1.
inline constexpr std::string_view kSandboxProbe = "sandbox-probe";

// a vm_event monitor → xkvm-vmm (<rundir>/<domid>/monitor.sock; src/vmevent/protocol.h)
inline constexpr std::string_view kMonitorOpen = "open";
inline constexpr std::string_view kMonitorSlotNotify = "slot-notify";
inline constexpr std::string_view kMonitorCaps = "caps";
inline constexpr std::string_view kMonitorEvents = "events";
inline constexpr std::string_view kMonitorSetAccess = "set-access";
inline constexpr std::string_view kMonitorGetAccess = "get-access";

// xkvm-vmm → xkvmd (the interdomain broker)
inline constexpr std::string_view kDomainExists = "domain-exists";
inline constexpr std::string_view kEvtchnBind = "evtchn-bind";

} // namespace xkvm::ipc::ops
