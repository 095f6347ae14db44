#include "hv/select.h"

#include <cstdlib>

#include "base/log.h"
#include "emu/emu_hypervisor.h"
#include "kvm/kvm_system.h"

namespace xkvm::hv {

Result<Accel> accel_from_environment()
{
    const char* env = std::getenv("XKVM_ACCEL");
    if (!env || !*env)
        return Accel::Auto;
    auto accel = parse_accel(env);
    if (!accel)
        return fail(EINVAL, "XKVM_ACCEL: {}", accel.error().message);
    return accel;
}

Accel resolve_auto(std::string* why_not_kvm)
{
    auto kvm = kvm::KvmSystem::open();
    if (kvm)
        return Accel::Kvm;
    if (why_not_kvm)
        *why_not_kvm = kvm.error().message;
    return Accel::Emu;
}

Result<std::unique_ptr<Hypervisor>> open_hypervisor(Accel accel)
{
    if (accel == Accel::Kvm) {
        auto kvm = kvm::KvmSystem::open();
        if (!kvm)
            return fail(kvm.error().code, "accelerator kvm is unavailable: {}", kvm.error().message);
        std::unique_ptr<Hypervisor> hv = kvm.release_value();
        return hv;
    }
    if (accel == Accel::Auto) {
        auto kvm = kvm::KvmSystem::open();
        if (kvm) {
            log::get("hv")->info("accelerator: kvm");
            std::unique_ptr<Hypervisor> hv = kvm.release_value();
            return hv;
        }
        // A warning, so that it shows at the default level: the emulated CPU is much slower.
        log::get("hv")->warn("accelerator: emu (kvm: {})", kvm.error().message);
    }
    std::unique_ptr<Hypervisor> hv = TRY(emu::EmuHypervisor::create());
    return hv;
}

} // namespace xkvm::hv
