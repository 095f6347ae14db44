#include "xen/shared_info.h"

#include <cstddef>

#include "xen/abi/compat32.h"

namespace xkvm::xen {

namespace {

enum { kTestAndSet, kTestAndClear, kTest };

constexpr size_t kPending64 = offsetof(shared_info, evtchn_pending);
constexpr size_t kMask64 = offsetof(shared_info, evtchn_mask);
constexpr size_t kPending32 = offsetof(shared_info_compat32, evtchn_pending);
constexpr size_t kMask32 = offsetof(shared_info_compat32, evtchn_mask);
constexpr size_t kPendingSel64 = offsetof(vcpu_info, evtchn_pending_sel);
constexpr size_t kPendingSel32 = offsetof(vcpu_info_compat32, evtchn_pending_sel);

template<typename Word>
bool apply(Word* w, Word bit, int op)
{
    switch (op) {
    case kTestAndSet: return __atomic_fetch_or(w, bit, __ATOMIC_SEQ_CST) & bit;
    case kTestAndClear: return __atomic_fetch_and(w, static_cast<Word>(~bit), __ATOMIC_SEQ_CST) & bit;
    default: return __atomic_load_n(w, __ATOMIC_SEQ_CST) & bit;
    }
}

} // namespace

SharedInfo::SharedInfo(uint8_t* page, uint32_t max_vcpus) : m_page(page), m_registered(max_vcpus, nullptr) { }

bool SharedInfo::bit_op(size_t array_offset, uint32_t port, int op)
{
    if (is_32bit()) {
        auto* w = reinterpret_cast<uint32_t*>(m_page + array_offset) + port / 32;
        return apply<uint32_t>(w, 1u << (port % 32), op);
    }
    auto* w = reinterpret_cast<uint64_t*>(m_page + array_offset) + port / 64;
    return apply<uint64_t>(w, 1ull << (port % 64), op);
}

bool SharedInfo::test_and_set_pending(uint32_t port) { return bit_op(is_32bit() ? kPending32 : kPending64, port, kTestAndSet); }
bool SharedInfo::test_and_clear_pending(uint32_t port) { return bit_op(is_32bit() ? kPending32 : kPending64, port, kTestAndClear); }
bool SharedInfo::is_pending(uint32_t port) const
{
    return const_cast<SharedInfo*>(this)->bit_op(is_32bit() ? kPending32 : kPending64, port, kTest);
}
bool SharedInfo::is_masked(uint32_t port) const
{
    return const_cast<SharedInfo*>(this)->bit_op(is_32bit() ? kMask32 : kMask64, port, kTest);
}
bool SharedInfo::test_and_set_mask(uint32_t port) { return bit_op(is_32bit() ? kMask32 : kMask64, port, kTestAndSet); }
bool SharedInfo::test_and_clear_mask(uint32_t port) { return bit_op(is_32bit() ? kMask32 : kMask64, port, kTestAndClear); }

uint8_t* SharedInfo::vcpu_info(uint32_t vcpu) const
{
    std::lock_guard guard(m_vcpu_info_lock);
    if (vcpu < m_registered.size() && m_registered[vcpu])
        return m_registered[vcpu];
    if (vcpu < XEN_LEGACY_MAX_VCPUS)
        return m_page + vcpu * sizeof(struct vcpu_info);
    return nullptr; // a vCPU beyond 32 has no vcpu_info until it registers one
}

void SharedInfo::set_vcpu_info(uint32_t vcpu, uint8_t* host)
{
    std::lock_guard guard(m_vcpu_info_lock);
    if (vcpu < m_registered.size())
        m_registered[vcpu] = host;
}

bool SharedInfo::vcpu_info_registered(uint32_t vcpu) const
{
    std::lock_guard guard(m_vcpu_info_lock);
    return vcpu < m_registered.size() && m_registered[vcpu];
}

bool SharedInfo::test_and_set_pending_sel(uint32_t vcpu, uint32_t word)
{
    uint8_t* vi = vcpu_info(vcpu);
    if (!vi)
        return true; // nowhere to record it: behave as if already set
    if (is_32bit())
        return apply<uint32_t>(reinterpret_cast<uint32_t*>(vi + kPendingSel32), 1u << (word % 32), kTestAndSet);
    return apply<uint64_t>(reinterpret_cast<uint64_t*>(vi + kPendingSel64), 1ull << (word % 64), kTestAndSet);
}

bool SharedInfo::test_and_set_upcall_pending(uint32_t vcpu)
{
    uint8_t* vi = vcpu_info(vcpu);
    if (!vi)
        return true;
    return __atomic_exchange_n(vi + offsetof(struct vcpu_info, evtchn_upcall_pending), uint8_t(1), __ATOMIC_SEQ_CST) != 0;
}

bool SharedInfo::upcall_pending(uint32_t vcpu) const
{
    uint8_t* vi = vcpu_info(vcpu);
    return vi && __atomic_load_n(vi + offsetof(struct vcpu_info, evtchn_upcall_pending), __ATOMIC_SEQ_CST) != 0;
}

bool SharedInfo::upcall_masked(uint32_t vcpu) const
{
    uint8_t* vi = vcpu_info(vcpu);
    return !vi || __atomic_load_n(vi + offsetof(struct vcpu_info, evtchn_upcall_mask), __ATOMIC_SEQ_CST) != 0;
}

void SharedInfo::set_upcall_mask(uint32_t vcpu, bool masked)
{
    if (uint8_t* vi = vcpu_info(vcpu))
        __atomic_store_n(vi + offsetof(struct vcpu_info, evtchn_upcall_mask), uint8_t(masked), __ATOMIC_SEQ_CST);
}

void SharedInfo::update_wallclock(uint64_t sec, uint32_t nsec)
{
    size_t version_off = is_32bit() ? offsetof(shared_info_compat32, wc_version) : offsetof(shared_info, wc_version);
    auto* version = reinterpret_cast<uint32_t*>(m_page + version_off);
    // Odd while updating, as the seqlock protocol of the ABI requires.
    __atomic_fetch_add(version, 1, __ATOMIC_SEQ_CST);
    auto* wc = reinterpret_cast<uint32_t*>(m_page + version_off + 4);
    __atomic_store_n(&wc[0], static_cast<uint32_t>(sec), __ATOMIC_RELAXED);
    __atomic_store_n(&wc[1], nsec, __ATOMIC_RELAXED);
    size_t hi_off = is_32bit() ? offsetof(shared_info_compat32, wc_sec_hi) : offsetof(shared_info, wc_sec_hi);
    __atomic_store_n(reinterpret_cast<uint32_t*>(m_page + hi_off), static_cast<uint32_t>(sec >> 32), __ATOMIC_RELAXED);
    __atomic_fetch_add(version, 1, __ATOMIC_SEQ_CST);
}

} // namespace xkvm::xen
