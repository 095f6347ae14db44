// `create -n`: what xl's dry run does, and no more. The config is parsed, defaults applied and the
// model printed as libxl-shaped JSON; nothing on this host is looked at (no kernel or firmware
// opened, no CPUs, NUMA nodes or PCI devices checked), so the output is the same on every machine.
// What `create` would refuse whatever the host (PV, HVM without firmware_override=, vnuma=, disk=,
// vif=, passthrough) is printed as a warning instead, so the dry run still says it. Only a config
// that does not parse, or whose values are invalid, fails.
#pragma once

#include <string>
#include <vector>

#include "config/parser.h"

namespace xkvm::plan {

struct DryRunOutput {
    int exit_code = 0;
    std::string out;              // the JSON and a newline; empty when the config is invalid
    std::vector<std::string> err; // stderr lines: warnings in order, then the error if any
};

// `prog` names the command in messages that have no file position ("xkvm: warning: ...").
DryRunOutput dry_run_file(const std::string& path, const std::vector<std::string>& overrides, const std::string& prog);

} // namespace xkvm::plan
