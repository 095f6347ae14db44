// Choosing a backend: `auto` takes KVM when /dev/kvm opens and has what xkvm needs, else the
// emulated CPU. The one place that names both backends.
#pragma once

#include <memory>

#include "base/result.h"
#include "hv/hypervisor.h"

namespace xkvm::hv {

// XKVM_ACCEL (auto, kvm, emu) when set, else auto; EINVAL for anything else.
Result<Accel> accel_from_environment();

// Opens the backend. A forced backend that is unavailable is an error saying why; `auto` logs one
// line naming the backend it took, and why KVM was passed over.
Result<std::unique_ptr<Hypervisor>> open_hypervisor(Accel accel);

// Which backend `auto` would take here, and (for emu) why not KVM.
Accel resolve_auto(std::string* why_not_kvm = nullptr);

} // namespace xkvm::hv
