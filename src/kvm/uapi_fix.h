// Linux's UAPI headers declare the variable-length KVM structs with __DECLARE_FLEX_ARRAY, which in
// C++ adds an empty struct before the array: sizeof() and the offset of the entries differ from C,
// and so do the ioctl numbers derived from them (the kernel then answers EINVAL). These are the C
// layouts and the numbers the kernel expects.
#pragma once

#include <cstdint>
#include <cstring>
#include <linux/kvm.h>
#include <vector>

namespace xkvm::kvm::uapi {

struct CpuidHeader {
    uint32_t nent;
    uint32_t padding;
};
struct MsrsHeader {
    uint32_t nmsrs;
    uint32_t pad;
};
struct IrqRoutingHeader {
    uint32_t nr;
    uint32_t flags;
};
static_assert(sizeof(CpuidHeader) == 8 && sizeof(MsrsHeader) == 8 && sizeof(IrqRoutingHeader) == 8);

inline constexpr unsigned long kGetSupportedCpuid = _IOWR(KVMIO, 0x05, CpuidHeader);
inline constexpr unsigned long kSetCpuid2 = _IOW(KVMIO, 0x90, CpuidHeader);
inline constexpr unsigned long kGetMsrs = _IOWR(KVMIO, 0x88, MsrsHeader);
inline constexpr unsigned long kSetMsrs = _IOW(KVMIO, 0x89, MsrsHeader);
inline constexpr unsigned long kSetGsiRouting = _IOW(KVMIO, 0x6a, IrqRoutingHeader);

// A header followed by `n` entries, laid out as the kernel reads it.
template<typename Header, typename Entry>
class VarBuffer {
public:
    explicit VarBuffer(size_t n) : m_bytes(sizeof(Header) + n * sizeof(Entry), 0) { }
    Header* header() { return reinterpret_cast<Header*>(m_bytes.data()); }
    Entry* entries() { return reinterpret_cast<Entry*>(m_bytes.data() + sizeof(Header)); }
    void* data() { return m_bytes.data(); }

private:
    std::vector<uint8_t> m_bytes;
};

using CpuidBuffer = VarBuffer<CpuidHeader, kvm_cpuid_entry2>;
using MsrsBuffer = VarBuffer<MsrsHeader, kvm_msr_entry>;
using IrqRoutingBuffer = VarBuffer<IrqRoutingHeader, kvm_irq_routing_entry>;

} // namespace xkvm::kvm::uapi
