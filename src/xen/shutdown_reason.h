// SHUTDOWN_* codes as the toolstack and the VMM name them in messages and logs.
#pragma once

#include "xen/abi/sched.h"

namespace xkvm::xen {

constexpr const char* shutdown_reason_name(unsigned reason)
{
    switch (reason) {
    case SHUTDOWN_poweroff: return "poweroff";
    case SHUTDOWN_reboot: return "reboot";
    case SHUTDOWN_suspend: return "suspend";
    case SHUTDOWN_crash: return "crash";
    case SHUTDOWN_watchdog: return "watchdog";
    case SHUTDOWN_soft_reset: return "soft_reset";
    default: return "unknown";
    }
}

} // namespace xkvm::xen
