// /dev/kvm itself: API version, capabilities, and what CPUID KVM can offer. The KVM backend's
// hv::Hypervisor.
#pragma once

#include <linux/kvm.h>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "hv/hypervisor.h"

namespace xkvm::kvm {

class KvmSystem final : public hv::Hypervisor {
public:
    // Opens /dev/kvm (or XKVM_KVM_DEVICE) and checks the API version and the capabilities xkvm needs.
    static Result<std::unique_ptr<KvmSystem>> open();

    int fd() const { return m_fd.get(); }
    int check_extension(long cap) const;
    bool has(long cap) const { return check_extension(cap) > 0; }
    int vcpu_mmap_size() const { return m_vcpu_mmap_size; }

    // hv::Hypervisor
    hv::Accel accel() const override { return hv::Accel::Kvm; }
    const hv::Capabilities& capabilities() const override { return m_caps; }
    const hv::CpuidTable& supported_cpuid() const override { return m_supported_cpuid; }
    Result<std::unique_ptr<hv::Vm>> create_vm(const hv::VmOptions& opts) override;

    // Whether /dev/kvm can be used at all here; tests use the reason to SKIP.
    static Result<void> probe();

private:
    explicit KvmSystem(UniqueFd fd) : m_fd(std::move(fd)) { }
    UniqueFd m_fd;
    int m_vcpu_mmap_size = 0;
    hv::Capabilities m_caps; // no KVM_CAP_XEN_HVM: VMCALL cannot reach user space
    hv::CpuidTable m_supported_cpuid;
};

} // namespace xkvm::kvm
