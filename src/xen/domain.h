// One guest's Xen ABI state: HVM params, shared_info, event channels, per-vCPU state, and the
// choice of how upcalls reach the guest. Hypercall handlers work on this; the VMM owns it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "memory/memory_map.h"
#include "xen/abi/hvm.h"
#include "xen/abi/xen.h"
#include "xen/event_channels.h"
#include "xen/guest_type.h"
#include "xen/platform.h"
#include "xen/pvclock.h"
#include "xen/reservation.h"
#include "xen/vcpu_timers.h"
#include "xen/shared_info.h"

namespace xkvm::xen {

struct DomainSetup {
    domid_t domid = 1;
    GuestType type = GuestType::Pvh;
    std::string name;
    uint32_t max_vcpus = 1;
    memory::MemoryMap memory_map; // what XENMEM_memory_map returns
    uint64_t ram_pages = 0;       // current reservation
    uint64_t max_pages = 0;       // maximum reservation
    // Backing-file ranges holding guest RAM, which the balloon may take and give back (empty: none).
    std::vector<memory::BackingRun> ram_backing;
    unsigned max_extent_order = 9; // largest extent of the reservation ops (memop-max-order)
    uint32_t max_evtchn_port = 1023;
    // Legacy ISA pins may be delivered as VIRQ_EMUL_PIN_START + pin (the CPUID leaf 2 EDX evtchn bit).
    bool emul_pin_virqs = false;
    std::array<uint8_t, 16> handle {}; // the domain's UUID
    // The PV clock: TSC scale, and the guest TSC value at system time 0.
    ClockParams clock;
    uint64_t tsc_at_boot = 0;
    // The domain's own shared_info page, outside guest RAM (host view + its offset in the backing file).
    uint8_t* shared_info_page = nullptr;
    uint64_t shared_info_offset = 0;
};

class Stats {
public:
    void count_hypercall(uint64_t op)
    {
        if (op < m_hypercalls.size())
            m_hypercalls[op].fetch_add(1, std::memory_order_relaxed);
    }
    uint64_t hypercalls(uint64_t op) const { return op < m_hypercalls.size() ? m_hypercalls[op].load() : 0; }

private:
    std::array<std::atomic<uint64_t>, XEN_HYPERCALL_COUNT> m_hypercalls {};
};

// How the domain asked to be told about events (HVM_PARAM_CALLBACK_IRQ and per-vCPU vectors).
struct CallbackVia {
    enum class Kind : uint8_t { None, Gsi, PciIntx, Vector };
    Kind kind = Kind::None;
    uint32_t gsi = 0;    // Gsi, and PciIntx after routing
    uint8_t vector = 0;  // Vector
};

struct VcpuXenState {
    std::atomic<bool> initialised { false };   // has a start state (vCPU 0 from the loader)
    std::atomic<uint8_t> upcall_vector { 0 }; // HVMOP_set_evtchn_upcall_vector; 0 = not set
    std::atomic<bool> blocked { false };      // in SCHEDOP_block / poll

    // SCHEDOP_poll. Set up by the vCPU itself, read by whoever makes a port pending.
    std::mutex poll_lock;
    std::vector<evtchn_port_t> poll_ports;    // wake when one of these is pending
    bool polling = false;
    bool poll_woken = false;                  // a poll of no ports: some port went pending
    uint64_t poll_deadline_ns = 0;            // 0: no timeout
    uint64_t poll_alarm = 0;                  // the alarm that kicks at the deadline; end_wait cancels it
};

class Domain {
public:
    Domain(Platform& platform, DomainSetup setup);
    Domain(const Domain&) = delete;
    Domain& operator=(const Domain&) = delete;

    domid_t domid() const { return m_setup.domid; }
    const std::string& name() const { return m_setup.name; }
    uint32_t max_vcpus() const { return m_setup.max_vcpus; }
    const DomainSetup& setup() const { return m_setup; }
    Platform& platform() { return m_platform; }
    memory::Physmap& physmap() { return m_platform.physmap(); }
    Stats& stats() { return m_stats; }
    SharedInfo& shared_info() { return m_shared; }
    EventChannels& evtchn() { return m_evtchn; }
    VcpuXenState& vcpu(uint32_t id) { return *m_vcpus.at(id); }
    VcpuTimers& timers() { return m_timers; }
    Reservation& reservation() { return m_reservation; }

    // VCPUOP_register_vcpu_info: move vcpu_info into guest memory at gfn:offset, as Xen does.
    Status register_vcpu_info(uint32_t vcpu, uint64_t gfn, uint32_t offset);
    // Write the PV clock record of one vCPU (wherever its vcpu_info is now).
    void update_vcpu_time(uint32_t vcpu);
    // The shared_info wallclock: wall time at system time 0.
    void update_wallclock();

    // HVM params (HVMOP_get/set_param and the toolstack).
    Result<uint64_t> get_param(uint32_t index) const;
    Status set_param(uint32_t index, uint64_t value, bool from_guest);

    // Where shared_info is mapped in the guest physmap, if anywhere.
    std::optional<uint64_t> shared_info_gfn() const;
    Status map_shared_info(uint64_t gfn);
    // XENMEM_remove_from_physmap took the frame at gfn away (shared_info, if it was there, is unhooked).
    void frame_removed(uint64_t gfn);

    // Delivery of an upcall to `vcpu` whose evtchn_upcall_pending just went 0 -> 1.
    void deliver_upcall(uint32_t vcpu);
    CallbackVia callback_via() const;
    // For the VMM's entry hook: is a no-EOI vector upcall due on this vCPU, and which vector?
    std::optional<uint8_t> direct_upcall_due(uint32_t vcpu) const;
    // SCHEDOP_block / SCHEDOP_poll on `vcpu`: begin, and end. A poll of no ports waits for any.
    // A poll with a deadline sets an alarm that kicks the vCPU then; the wait owns it, and end_wait
    // (or the next begin_wait) cancels it, so a guest woken early by events leaves none behind.
    // false: the platform refused the alarm (too many pending), and the poll must not wait.
    [[nodiscard]] bool begin_wait(uint32_t vcpu, std::vector<evtchn_port_t> poll_ports, uint64_t deadline_ns, bool poll);
    void end_wait(uint32_t vcpu);
    // Should a blocked or polling vCPU run again: an event for it, or the poll's deadline passed?
    bool wake_condition(uint32_t vcpu);

    // A port became pending: wake the vCPUs polling it, masked or not, as Xen does.
    void wake_pollers(evtchn_port_t port);

    // Is ISA pin `pin` delivered as an event (the guest bound its VIRQ) instead of through the IOAPIC?
    bool pin_routed_to_evtchn(uint32_t pin) const;

    // SCHEDOP_shutdown_code: the first code set is the one a later shutdown reports.
    void set_shutdown_code(unsigned reason)
    {
        int unset = -1;
        m_preset_shutdown_code.compare_exchange_strong(unset, static_cast<int>(reason));
    }
    // The VMM applies it to whatever ends the domain (a crash too), as Xen's domain_shutdown does.
    std::optional<unsigned> preset_shutdown_code() const;

private:
    Platform& m_platform;
    DomainSetup m_setup;
    Stats m_stats;
    SharedInfo m_shared;
    EventChannels m_evtchn;
    std::vector<std::unique_ptr<VcpuXenState>> m_vcpus;
    VcpuTimers m_timers;
    Reservation m_reservation;

    mutable std::mutex m_lock;
    std::array<uint64_t, HVM_NR_PARAMS> m_params {};
    CallbackVia m_via;
    std::optional<uint64_t> m_shared_info_gfn;
    // What the shared_info page displaced where it is now (usually a RAM page), put back when it
    // moves on: moving it leaves the guest's RAM whole, not a hole per move.
    std::optional<memory::Mapping> m_shared_info_displaced;
    std::atomic<int> m_preset_shutdown_code { -1 };
};

} // namespace xkvm::xen
