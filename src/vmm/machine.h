// A running guest: guest memory, the backend's VM and its vCPU threads, devices, and the Xen ABI
// state. One per VMM process. It implements xen::Platform on top of an hv:: backend (KVM or emu).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "devices/i8254_pit.h"
#include "devices/io_bus.h"
#include "devices/pv_console.h"
#include "devices/uart16550.h"
#include "hv/hypervisor.h"
#include "hv/vcpu_runner.h"
#include "hv/vm.h"
#include "iommu/context.h"
#include "iommu/physmap_mirror.h"
#include "memory/physmap.h"
#include "vmm/console_log.h"
#include "vmm/isa_irq.h"
#include "vmm/monitor_service.h"
#include "vmm/guest_alarms.h"
#include "vmm/timer_service.h"
#include "vmm/vcpu_exits.h"
#include "vmm/vm_spec.h"
#include "vmm/xenstore_link.h"
#include "xen/domain.h"
#include "xen/hypercall_page.h"
#include "xen/pvclock.h"

namespace xkvm::vmm {

class VcpuExits;

// How the domain ended.
struct ShutdownInfo {
    unsigned reason = 0; // SHUTDOWN_* (poweroff, reboot, suspend, crash, watchdog, soft_reset)
    std::string detail;  // e.g. "triple fault on vcpu 0"
};

class Machine final : public xen::Platform {
public:
    // Builds the whole domain, paused: memory, the backend's VM, vCPUs, devices, loaded kernel.
    static Result<std::unique_ptr<Machine>> create(const VmSpec& spec, hv::Accel accel = hv::Accel::Auto);
    ~Machine() override;

    const VmSpec& spec() const { return m_spec; }
    ConsoleLog& console() { return *m_console; }
    xen::Domain& xen() { return *m_xen; }
    devices::IoBus& pio() { return m_pio; }
    devices::IoBus& mmio() { return m_mmio; }
    xen::HypercallTrap hypercall_trap() const { return m_trap; }
    uint32_t vcpu_count() const { return static_cast<uint32_t>(m_runners.size()); }
    hv::Accel accel() const { return m_hv->accel(); }
    hv::VcpuRunner& runner(uint32_t id) { return *m_runners.at(id); }
    // The vm_event monitor endpoint (issue 10): serve it with monitor().listen(path).
    MonitorService& monitor() { return *m_monitor; }

    // Toolstack controls.
    void unpause();
    void pause();
    bool paused() const { return m_paused.load(); }
    // Stop all vCPUs for good (xl destroy); also what the destructor does.
    void destroy();
    // Typed console input (goes to the UART and the PV console).
    void console_input(std::string_view bytes);

    // Called by vCPU threads when the guest shuts down; the first call wins.
    void guest_shutdown(unsigned reason, std::string detail);
    std::optional<ShutdownInfo> wait_for_shutdown(std::chrono::milliseconds timeout);
    std::optional<ShutdownInfo> shutdown_info() const;

    // The domain's DMA space (device models DMA through it), kept in step with the physmap.
    iommu::Context& dma() { return *m_dma; }
    // EIO unless the DMA space maps exactly what the physmap maps (or a change failed to mirror).
    Status check_dma_space() const;
    // After each memory_op: a failed mirror fails the domain; with XKVM_CHECK_DMA=1 in the VMM's
    // environment the whole DMA space is also compared with the physmap (tests, debugging).
    Status after_memory_op() const;

    // xen::Platform
    memory::Physmap& physmap() override { return *m_physmap; }
    void console_write(std::string_view bytes) override { m_console->console_output(bytes); }
    void kick_vcpu(uint32_t vcpu) override;
    void lapic_vector(uint32_t vcpu, uint8_t vector) override;
    void assert_callback_gsi(uint32_t gsi) override;
    uint64_t system_time_ns() const override;
    uint64_t set_alarm(uint64_t deadline_ns, std::function<void()> fn) override;
    void cancel_alarm(uint64_t handle) override;
    Status vcpu_initialise(uint32_t vcpu, const x86::CpuState& state) override;
    Status vcpu_up(uint32_t vcpu) override;
    Status vcpu_down(uint32_t vcpu) override;
    // For the guest (VCPUOP_is_up): an AP that may have been started by INIT-SIPI in the backend is
    // asked first, so the answer is as immediate as on Xen.
    bool vcpu_is_up(uint32_t vcpu) const override;
    // What is known without asking the vCPU (status for the toolstack).
    bool vcpu_known_up(uint32_t vcpu) const { return vcpu < m_vcpu_up.size() && m_vcpu_up[vcpu].load(); }
    // From the vCPU's own thread before each entry: an AP INIT-SIPI started becomes known as up.
    void vcpu_entering(uint32_t vcpu, hv::Vcpu& v);

    TimerService& timers() { return m_timers; }
    // Pin a vCPU's thread to host CPUs (empty: no restriction from now on, the current pinning stays).
    Status set_vcpu_affinity(uint32_t vcpu, const std::vector<uint32_t>& cpus);
    // xl mem-max: the reservation's new maximum. Below the current reservation is allowed (the
    // balloon must shrink before growing again); above the maxmem the domain was built with is not,
    // since no backing exists beyond it.
    Status set_max_memory_kib(uint64_t kib);
    // The guest's xenstore connection; give it a backend before unpausing (or use_local_xenstore()).
    XenstoreLink& xenstore() { return *m_xenstore; }
    // Serve xenstore from a private in-process store (a VMM running without the daemon).
    Status use_local_xenstore();

private:
    explicit Machine(const VmSpec& spec) : m_spec(spec) { }
    Status build_memory();
    Status create_vcpus();
    Status start_vcpus();
    Status build_devices();
    Status load_guest();
    Status apply_vcpu_affinity(uint32_t vcpu);

    VmSpec m_spec;
    xen::HypercallTrap m_trap = xen::HypercallTrap::PortIo;

    std::unique_ptr<ConsoleLog> m_console;
    std::unique_ptr<memory::Physmap> m_physmap;
    std::unique_ptr<iommu::Context> m_dma;
    std::unique_ptr<iommu::PhysmapMirror> m_dma_mirror; // a listener of m_physmap
    bool m_check_dma = false;
    uint64_t m_growth_offset = 0; // backing for memory populated above the initial reservation
    uint64_t m_growth_bytes = 0;
    uint64_t m_special_offset = 0;     // backing offset of the special pages
    uint64_t m_shared_info_offset = 0; // backing offset of the shared_info page
    std::unique_ptr<hv::Hypervisor> m_hv;
    std::unique_ptr<hv::Vm> m_vm;
    std::unique_ptr<xen::Domain> m_xen;

    devices::IoBus m_pio;
    devices::IoBus m_mmio;
    std::vector<std::unique_ptr<devices::IoDevice>> m_devices;
    devices::Uart16550* m_uart = nullptr;
    std::unique_ptr<IsaIrqRouter> m_isa_irq;
    std::mutex m_callback_lock;
    std::unique_ptr<hv::LevelLine> m_callback_line; // made on the first GSI callback
    std::unique_ptr<devices::PvConsole> m_pv_console;
    evtchn_port_t m_store_port = 0;
    std::unique_ptr<XenstoreLink> m_xenstore;
    std::unique_ptr<LocalXenstore> m_local_xenstore;

    TimerService m_timers;
    GuestAlarms m_alarms { m_timers, [this] { return system_time_ns(); } };
    // Declared after m_timers so they go first: the PIT's destructor cancels its alarm through them.
    std::unique_ptr<devices::DeviceClock> m_device_clock;
    std::unique_ptr<devices::I8254Pit> m_pit;
    std::vector<std::unique_ptr<hv::Vcpu>> m_vcpus;
    std::vector<std::unique_ptr<VcpuExits>> m_exits;
    std::vector<std::unique_ptr<hv::VcpuRunner>> m_runners;
    std::unique_ptr<MonitorService> m_monitor; // after m_runners: it goes first, posting to them as it does
    std::vector<std::atomic<bool>> m_vcpu_up;
    std::vector<std::atomic<bool>> m_vcpu_down; // taken down by VCPUOP_down (INIT-SIPI cannot start it)
    mutable std::mutex m_entry_lock;
    mutable std::condition_variable m_entry_cv;
    std::vector<uint64_t> m_entries; // entries per vCPU since the last answer, guarded by m_entry_lock
    xen::ClockParams m_clock;
    uint64_t m_host_tsc0 = 0;  // host TSC at system time 0
    uint64_t m_guest_tsc0 = 0; // the guest's TSC then (0 where the backend applies our offset)

    std::atomic<bool> m_paused { true };
    mutable std::mutex m_shutdown_lock;
    std::condition_variable m_shutdown_cv;
    std::optional<ShutdownInfo> m_shutdown;
};

} // namespace xkvm::vmm
