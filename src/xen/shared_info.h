// shared_info and vcpu_info as the VMM touches them: atomic bit operations on memory the guest is
// using at the same moment, in whichever layout (64- or 32-bit) the guest latched.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

#include "base/result.h"
#include "memory/physmap.h"
#include "xen/abi/xen.h"

namespace xkvm::xen {

class SharedInfo {
public:
    // `page` is the host view of the domain's shared_info page (a page of its own, outside RAM).
    SharedInfo(uint8_t* page, uint32_t max_vcpus);

    uint8_t* page() const { return m_page; }
    bool is_32bit() const { return m_32bit.load(std::memory_order_relaxed); }
    // Xen latches the layout from the guest's mode when it sets up event delivery.
    void latch_layout(bool guest_is_64bit) { m_32bit.store(!guest_is_64bit, std::memory_order_relaxed); }

    uint32_t bits_per_word() const { return is_32bit() ? 32 : 64; }
    uint32_t max_2l_ports() const { return bits_per_word() * bits_per_word(); }

    // Event channel bits, atomically. Return the bit's previous value where useful.
    bool test_and_set_pending(uint32_t port);
    bool test_and_clear_pending(uint32_t port);
    bool is_pending(uint32_t port) const;
    bool is_masked(uint32_t port) const;
    bool test_and_set_mask(uint32_t port);
    bool test_and_clear_mask(uint32_t port);

    // vcpu_info: in shared_info for the first 32 vCPUs unless registered elsewhere.
    uint8_t* vcpu_info(uint32_t vcpu) const;
    void set_vcpu_info(uint32_t vcpu, uint8_t* host);
    bool vcpu_info_registered(uint32_t vcpu) const;

    bool test_and_set_pending_sel(uint32_t vcpu, uint32_t word);
    bool test_and_set_upcall_pending(uint32_t vcpu);
    bool upcall_pending(uint32_t vcpu) const;
    bool upcall_masked(uint32_t vcpu) const;
    void set_upcall_mask(uint32_t vcpu, bool masked);

    void update_wallclock(uint64_t sec, uint32_t nsec);

private:
    uint8_t* word_addr(size_t array_offset, uint32_t port) const;
    bool bit_op(size_t array_offset, uint32_t port, int op);

    uint8_t* m_page;
    std::atomic<bool> m_32bit { false };
    mutable std::mutex m_vcpu_info_lock;
    std::vector<uint8_t*> m_registered; // vcpu -> registered vcpu_info, or null
};

} // namespace xkvm::xen
