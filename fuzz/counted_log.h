// A logger that fuzz inputs can reach (a guest's or a subverted peer's doing), counted at the level
// it would write (warn) but not printed: writing those lines to stderr cost the targets more than
// the inputs that caused them. Once per subsystem (from a static): the capture lives as long as the
// process.
#pragma once

#include "base/log.h"
#include "base/log_capture.h"

namespace xkvm::fuzz {

inline log::LogCapture& counted_log(const char* subsystem)
{
    log::get(subsystem)->sinks().clear();
    return *new log::LogCapture(subsystem);
}

} // namespace xkvm::fuzz
