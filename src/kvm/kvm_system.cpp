#include "kvm/kvm_system.h"
#include "kvm/uapi_fix.h"

#include <cstdlib>
#include <fcntl.h>
#include <sys/ioctl.h>

#include "kvm/vm.h"

namespace xkvm::kvm {

namespace {

const char* device_path()
{
    const char* env = std::getenv("XKVM_KVM_DEVICE");
    return env && *env ? env : "/dev/kvm";
}

// Capabilities without which the VMM cannot work at all.
struct RequiredCap {
    long cap;
    const char* name;
};
constexpr RequiredCap kRequired[] = {
    { KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
    { KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
    { KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
    { KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
    { KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
    { KVM_CAP_X86_USER_SPACE_MSR, "KVM_CAP_X86_USER_SPACE_MSR" },
    { KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI" },
};

} // namespace

Result<void> KvmSystem::probe()
{
    UniqueFd fd(::open(device_path(), O_RDWR | O_CLOEXEC));
    if (!fd)
        return make_unexpected(Error::from_errno(fmt::format("cannot open {}", device_path())));
    int version = ::ioctl(fd.get(), KVM_GET_API_VERSION, 0);
    if (version != KVM_API_VERSION)
        return fail(ENOTSUP, "{}: KVM API version {} (need {})", device_path(), version, KVM_API_VERSION);
    return {};
}

int KvmSystem::check_extension(long cap) const
{
    int r = ::ioctl(m_fd.get(), KVM_CHECK_EXTENSION, cap);
    return r < 0 ? 0 : r;
}

Result<std::unique_ptr<KvmSystem>> KvmSystem::open()
{
    TRY(probe());
    UniqueFd fd(::open(device_path(), O_RDWR | O_CLOEXEC));
    if (!fd)
        return make_unexpected(Error::from_errno(fmt::format("cannot open {}", device_path())));
    std::unique_ptr<KvmSystem> sys(new KvmSystem(std::move(fd)));
    for (const auto& req : kRequired)
        if (!sys->has(req.cap))
            return fail(ENOTSUP, "KVM lacks {} which xkvm needs", req.name);

    sys->m_vcpu_mmap_size = ::ioctl(sys->fd(), KVM_GET_VCPU_MMAP_SIZE, 0);
    if (sys->m_vcpu_mmap_size <= 0)
        return make_unexpected(Error::from_errno("KVM_GET_VCPU_MMAP_SIZE"));

    // The entry count KVM needs is not known up front: grow until it fits.
    for (uint32_t n = 128; n <= 4096; n *= 2) {
        uapi::CpuidBuffer buf(n);
        buf.header()->nent = n;
        if (::ioctl(sys->fd(), uapi::kGetSupportedCpuid, buf.data()) == 0) {
            for (uint32_t i = 0; i < buf.header()->nent; ++i) {
                const kvm_cpuid_entry2& e = buf.entries()[i];
                sys->m_supported_cpuid.entries().push_back(
                    { e.function, e.index, (e.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) != 0, { e.eax, e.ebx, e.ecx, e.edx } });
            }
            return sys;
        }
        if (errno != E2BIG)
            return make_unexpected(Error::from_errno("KVM_GET_SUPPORTED_CPUID"));
    }
    return fail(E2BIG, "KVM_GET_SUPPORTED_CPUID: too many entries");
}

Result<std::unique_ptr<hv::Vm>> KvmSystem::create_vm(const hv::VmOptions& opts)
{
    std::unique_ptr<hv::Vm> vm = TRY(Vm::create(*this, opts));
    return vm;
}

} // namespace xkvm::kvm
