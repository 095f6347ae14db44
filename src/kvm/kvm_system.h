// /dev/kvm itself: API version, capabilities, and what CPUID KVM can offer.
#pragma once

#include <linux/kvm.h>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace xkvm::kvm {

class KvmSystem {
public:
    // Opens /dev/kvm (or XKVM_KVM_DEVICE) and checks the API version and the capabilities xkvm needs.
    static Result<std::unique_ptr<KvmSystem>> open();

    int fd() const { return m_fd.get(); }
    int check_extension(long cap) const;
    bool has(long cap) const { return check_extension(cap) > 0; }
    int vcpu_mmap_size() const { return m_vcpu_mmap_size; }
    const std::vector<kvm_cpuid_entry2>& supported_cpuid() const { return m_supported_cpuid; }

    // Whether /dev/kvm can be used at all here; tests use the reason to SKIP.
    static Result<void> probe();

private:
    explicit KvmSystem(UniqueFd fd) : m_fd(std::move(fd)) { }
    UniqueFd m_fd;
    int m_vcpu_mmap_size = 0;
    std::vector<kvm_cpuid_entry2> m_supported_cpuid;
};

} // namespace xkvm::kvm
