// What xkvm refuses to create, split by what it needs to know: the config alone (boot shape, PV,
// vnuma=, disk=, vif=, pci= by name, passthrough itself) or the host (files, PCI devices). plan_domain()
// runs them all and stops at the first; the dry run (dry_run.h) runs the config-only ones and turns
// each into a warning, so `create -n` still says what `create` would refuse.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "config/domain_config.h"
#include "toolstack/plan/plan.h"

namespace xkvm::plan {

// "file:line:column: " of the first of `keys` the parsed file sets (its value; with `item`, that item
// of a list value), or "" without one (or without ctx.source).
std::string where(const PlanContext& ctx, std::initializer_list<std::string_view> keys,
                  std::optional<size_t> item = std::nullopt);

Unexpected<Error> refuse(const PlanContext& ctx, std::initializer_list<std::string_view> keys, int code,
                         std::string_view message);
Unexpected<Error> refuse(const PlanContext& ctx, std::initializer_list<std::string_view> keys, Error e);
// The same, pointing at item `item` of the list `key`.
Unexpected<Error> refuse_item(const PlanContext& ctx, std::string_view key, size_t item, int code, std::string_view message);

// The type and its kernel/firmware/ramdisk/cmdline: PV, HVM without firmware_override=, HVM direct
// kernel boot, PVH without kernel= are refused; PVH with a firmware too is a warning.
Status check_boot_shape(const config::DomainConfig& cfg, const PlanContext& ctx, std::vector<std::string>& warnings);

// vnuma=, disk= and vif=: parsed into the model, but xkvm has no virtual NUMA, PV block or PV network
// backend yet, and never drops them silently.
Status check_unsupported_devices(const config::DomainConfig& cfg, const PlanContext& ctx);

// pci= by name= (xkvm keeps no assignable-device names).
Status check_pci_names(const config::DomainConfig& cfg, const PlanContext& ctx);

// Every config-only refusal, each as an Error (message with its position when known).
std::vector<Error> config_refusals(const config::DomainConfig& cfg, const PlanContext& ctx,
                                   std::vector<std::string>& warnings);

} // namespace xkvm::plan
