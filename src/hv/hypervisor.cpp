#include "hv/hypervisor.h"

namespace xkvm::hv {

std::string_view accel_name(Accel accel)
{
    switch (accel) {
    case Accel::Auto: return "auto";
    case Accel::Kvm: return "kvm";
    case Accel::Emu: return "emu";
    }
    return "?";
}

Result<Accel> parse_accel(std::string_view text)
{
    for (Accel a : { Accel::Auto, Accel::Kvm, Accel::Emu })
        if (text == accel_name(a))
            return a;
    return fail(EINVAL, "unknown accelerator '{}': expected auto, kvm or emu", text);
}

} // namespace xkvm::hv
