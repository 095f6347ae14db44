// daemon_msg_fuzz's input format, shared with its seed writer (daemon_msg_seeds.cpp).
//
// An input is a header, then steps. Header: one byte, the number of domains created before the
// first step (% 4), then one policy byte per domain (bits 0-1 on_poweroff, 2-3 on_reboot, 4-5
// on_crash: destroy, restart, rename-restart, preserve; their on_watchdog is coredump-destroy; a
// client's create picks coredump-destroy, coredump-restart, soft-reset or destroy). Each step is a Step byte (% kStepCount)
// followed by that step's bytes (daemon_msg_fuzz.cpp reads them; past the end they read as 0).
#pragma once

#include <cstdint>
#include <string_view>

#include "ipc/ops.h"

namespace xkvm::fuzz::daemon_msg {

enum Step : uint8_t {
    kVmmReply,     // vmm, which (in-flight index, or >= 0xf0: an id nobody asked for), form, form's bytes
    kVmmRequest,   // vmm, op, id form, domain selector, remote port u32, local port u32, descriptors
    kVmmEvent,     // vmm, kind, kind's bytes
    kVmmXenstore,  // vmm, type, tx, path selector, value length (bit 7: filler), value, req id u16
    kVmmRaw,       // vmm, length, bytes straight into the stream (broken headers)
    kVmmJunk,      // vmm, length u16, any text as a JSON frame
    kVmmExit,      // vmm, status (bit 7: killed by signal status & 0x7f; else exit code)
    kVmmHangup,    // vmm: it closes its socket (its end is reported later)
    kClientRequest, // client, op (kClientOps), id u16, the op's bytes
    kClientJunk,   // client, form, length, bytes
    kClientGone,   // client
    kTime,         // index into kTimeSteps: time passes, the loop's timers run
    kPoll,         // one pass of the poll loop
    kDaemonRestart, // live-VMM mask: xkvmd killed and started again; bit i % 8 of the i-th live VMM: it outlived the daemon
    kStepCount
};

// Reply forms (low 3 bits of the form byte; bits 3-4: descriptors attached; bit 5: sent as a
// xenstore frame). A kOk reply to a status has its fields' bytes after the form; to adoption, one
// byte (bit 0: a domid u32 follows, which the VMM claims; else its own).
enum ReplyForm : uint8_t { kOk, kError, kJunkField, kDeep, kHuge, kOddId, kNotAReply, kOddOk };

// The client ops, in the order a kClientRequest's op byte picks them (% the count; the last is
// unknown to the daemon).
inline constexpr std::string_view kClientOps[] = {
    ipc::ops::kPing, ipc::ops::kCreate, ipc::ops::kList, ipc::ops::kDomain, ipc::ops::kPause,
    ipc::ops::kUnpause, ipc::ops::kDestroy, ipc::ops::kShutdown, ipc::ops::kWait, ipc::ops::kVcpuPin,
    ipc::ops::kVcpuSet, ipc::ops::kMemSet, ipc::ops::kMemMax, ipc::ops::kSandboxProbe,
    ipc::ops::kDebugKeys, ipc::ops::kXenstoreRead, ipc::ops::kXenstoreWrite, ipc::ops::kXenstoreLs,
    ipc::ops::kXenstoreRm, ipc::ops::kSchedCredit, "no-such-op",
};
inline constexpr uint8_t kWaitOp = 8;

// kTime: how far the clock moves (ms): past the daemon's 2 s kill, 5 s request, 10 s transaction
// and 60 s build deadlines.
inline constexpr uint32_t kTimeSteps[] = { 0, 1, 100, 1000, 2100, 5100, 10100, 61000 };

} // namespace xkvm::fuzz::daemon_msg
