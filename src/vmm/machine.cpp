#include "vmm/machine.h"

#include <algorithm>
#include <fcntl.h>
#include <x86intrin.h>

#include "base/log.h"
#include "devices/debug_port.h"
#include "loader/loader.h"
#include "numa/binding.h"
#include "hv/select.h"
#include "vmm/cpuid_setup.h"
#include "vmm/guest_device_clock.h"
#include "vmm/guest_layout.h"
#include "vmm/vcpu_exits.h"
#include "xen/abi/cpuid.h"
#include "xen/abi/hvm.h"
#include "xen/cpuid_leaves.h"
#include "xen/abi/sched.h"

namespace xkvm::vmm {

namespace {

uint64_t page_up(uint64_t v) { return (v + memory::kPageSize - 1) & ~(memory::kPageSize - 1); }
uint64_t page_down(uint64_t v) { return v & ~(memory::kPageSize - 1); }

// The far end of a channel whose backend lives in this VMM.
class BackendEndpoint final : public xen::Endpoint {
public:
    explicit BackendEndpoint(std::function<void()> on_notify) : m_on_notify(std::move(on_notify)) { }
    void notify() override { m_on_notify(); }

private:
    std::function<void()> m_on_notify;
};

// Port numbers the backends use on the dom0 side, as EVTCHNOP_status reports them.
constexpr evtchn_port_t kStoreBackendPort = 1;
constexpr evtchn_port_t kConsoleBackendPort = 2;

} // namespace

Result<std::unique_ptr<Machine>> Machine::create(const VmSpec& spec, hv::Accel accel)
{
    std::unique_ptr<Machine> m(new Machine(spec));
    m->m_console = TRY(ConsoleLog::create(spec.console_log));
    TRY(m->build_memory());
    m->m_hv = TRY(hv::open_hypervisor(accel));
    if (m->m_hv->capabilities().vmcall_hypercalls)
        m->m_trap = xen::HypercallTrap::Vmcall;
    hv::VmOptions vm_opts;
    vm_opts.tss_addr = kKvmTssGpa;
    vm_opts.identity_map_addr = kKvmIdentityMapGpa;
    m->m_vm = TRY(m->m_hv->create_vm(vm_opts));
    m->m_vm->attach_physmap(*m->m_physmap);
    TRY(m->create_vcpus());

    xen::DomainSetup setup;
    setup.domid = spec.domid;
    setup.name = spec.name;
    setup.type = spec.type == BootType::Hvm ? xen::GuestType::Hvm : xen::GuestType::Pvh;
    setup.max_vcpus = spec.max_vcpus;
    setup.memory_map = spec.memory_map;
    setup.ram_pages = spec.memory_mib * memory::MiB / memory::kPageSize;
    setup.max_pages = std::max(spec.maxmem_mib, spec.memory_mib) * memory::MiB / memory::kPageSize;
    setup.ram_backing = { { 0, m->m_special_offset }, { m->m_growth_offset, m->m_growth_bytes } };
    setup.max_evtchn_port = spec.max_evtchn_port;
    setup.max_extent_order = spec.memop_max_order;
    setup.handle = spec.uuid;
    setup.shared_info_page = m->m_physmap->host_base() + m->m_shared_info_offset;
    setup.shared_info_offset = m->m_shared_info_offset;
    setup.clock = m->m_clock;
    setup.tsc_at_boot = m->m_guest_tsc0;
    setup.emul_pin_virqs = xen::effective_pv_features(requested_pv_features(spec)) & XEN_CPUID_FEAT2_HVM_PV_EVTCHN;
    m->m_xen = std::make_unique<xen::Domain>(*m, setup);

    TRY(m->build_devices());
    TRY(m->load_guest());
    TRY(m->start_vcpus());
    std::vector<hv::VcpuRunner*> runners;
    for (auto& r : m->m_runners)
        runners.push_back(r.get());
    m->m_monitor = std::make_unique<MonitorService>(*m->m_vm, *m->m_physmap, std::move(runners));
    return m;
}

Machine::~Machine()
{
    destroy();
    if (m_vm)
        m_vm->detach_physmap();
    if (m_dma_mirror)
        m_physmap->remove_listener(m_dma_mirror.get());
}

Status Machine::check_dma_space() const
{
    TRY(m_dma_mirror->status());
    return iommu::verify_dma_space(*m_dma, *m_physmap);
}

Status Machine::after_memory_op() const
{
    return m_check_dma ? check_dma_space() : m_dma_mirror->status();
}

Status Machine::build_memory()
{
    uint64_t ram_bytes = 0;
    for (const auto& e : m_spec.memory_map)
        if (e.type == memory::RegionType::Ram)
            ram_bytes += page_up(e.end()) - page_down(e.base);
    if (ram_bytes == 0)
        return fail(EINVAL, "the memory map has no RAM");
    m_special_offset = ram_bytes;
    m_shared_info_offset = m_special_offset + kSpecialPagesCount * memory::kPageSize;
    // Up to maxmem the balloon may populate beyond the initial RAM: backing for it (sparse, so free
    // until used), after the pages the VMM owns.
    m_growth_offset = m_shared_info_offset + memory::kPageSize;
    uint64_t maxmem = m_spec.maxmem_mib * memory::MiB, mem = m_spec.memory_mib * memory::MiB;
    m_growth_bytes = maxmem > mem ? maxmem - mem : 0;
    uint64_t backing = m_growth_offset + m_growth_bytes;
    m_check_dma = getenv("XKVM_CHECK_DMA") && std::string_view(getenv("XKVM_CHECK_DMA")) == "1";
    m_physmap = TRY(memory::Physmap::create(backing, fmt::format("xkvm-{}", m_spec.name)));
    // NUMA placement binds the backing now, before any page is touched.
    if (!m_spec.memory_nodes.empty())
        TRY(numa::bind_memory(m_physmap->host_base(), backing, numa::NodeSet::from_ids(m_spec.memory_nodes)));
    // The DMA space follows the physmap from the start; the build maps everything under the bulk
    // guard (no flush per operation) and flushes once (seed 003).
    iommu::ContextOptions dma;
    dma.memory = std::span(m_physmap->host_base(), backing);
    m_dma = TRY(iommu::Context::create(dma));
    m_dma_mirror = std::make_unique<iommu::PhysmapMirror>(*m_dma);
    m_physmap->add_listener(m_dma_mirror.get());
    {
        iommu::ScopedNoFlush bulk;
        uint64_t offset = 0;
        for (const auto& e : m_spec.memory_map) {
            if (e.type != memory::RegionType::Ram)
                continue;
            uint64_t base = page_down(e.base);
            uint64_t size = page_up(e.end()) - base;
            TRY(m_physmap->map(base, size, offset));
            offset += size;
        }
        TRY(m_physmap->map(kSpecialPagesGpa, kSpecialPagesCount * memory::kPageSize, m_special_offset));
    }
    TRY(m_dma->flush_all());
    return m_dma_mirror->status(); // a failed DMA map fails the domain build
}

Status Machine::build_devices()
{
    TRY(IsaIrqRouter::install_routes(*m_vm));
    m_isa_irq = std::make_unique<IsaIrqRouter>(*m_vm, *m_xen);
    auto debug = std::make_unique<devices::DebugPort>(*m_console);
    TRY(m_pio.claim(devices::kDebugPort, 1, debug.get(), "debug port"));
    m_devices.push_back(std::move(debug));

    auto uart = std::make_unique<devices::Uart16550>(*m_console, [this](bool level) {
        m_isa_irq->set_level(devices::kCom1Irq, level);
    });
    m_uart = uart.get();
    TRY(m_pio.claim(devices::kCom1Base, 8, uart.get(), "COM1"));
    m_devices.push_back(std::move(uart));

    // The PIT runs on the guest's system time; counter 0's OUT is ISA IRQ 0, one pulse per edge.
    m_device_clock = std::make_unique<GuestDeviceClock>(*this);
    m_pit = std::make_unique<devices::I8254Pit>(*m_device_clock, [this](bool level) {
        m_isa_irq->set_level(devices::kPitIrq, level);
    });
    TRY(m_pio.claim(devices::kPitBase, devices::kPitPorts, m_pit.get(), "PIT"));
    TRY(m_pio.claim(devices::kSystemControlPort, 1, &m_pit->control_port(), "port 0x61"));

    // The PV console: its ring in a special page, its channel bound to a backend in this VMM.
    uint8_t* console_page = m_physmap->host_base() + m_special_offset + kConsolePageIndex * memory::kPageSize;
    auto console_port = std::make_shared<evtchn_port_t>(0);
    m_pv_console = std::make_unique<devices::PvConsole>(console_page, *m_console, [this, console_port] {
        m_xen->evtchn().raise(*console_port);
    });
    auto console_ep = std::make_shared<BackendEndpoint>([this] { m_pv_console->guest_notified(); });
    *console_port = TRY(m_xen->evtchn().bind_backend(console_ep, 0, kConsoleBackendPort));
    TRY(m_xen->set_param(HVM_PARAM_CONSOLE_PFN, special_page_gfn(kConsolePageIndex), false));
    TRY(m_xen->set_param(HVM_PARAM_CONSOLE_EVTCHN, *console_port, false));

    // The xenstore ring and channel exist from the start; a backend is attached before unpausing.
    uint8_t* store_page = m_physmap->host_base() + m_special_offset + kStorePageIndex * memory::kPageSize;
    m_xenstore = TRY(XenstoreLink::create(store_page, [this] { m_xen->evtchn().raise(m_store_port); }));
    auto store_ep = std::make_shared<BackendEndpoint>([this] { m_xenstore->guest_notified(); });
    m_store_port = TRY(m_xen->evtchn().bind_backend(store_ep, 0, kStoreBackendPort));
    TRY(m_xen->set_param(HVM_PARAM_STORE_PFN, special_page_gfn(kStorePageIndex), false));
    TRY(m_xen->set_param(HVM_PARAM_STORE_EVTCHN, m_store_port, false));
    return {};
}

Status Machine::load_guest()
{
    loader::LoadRequest req;
    req.protocol = m_spec.type == BootType::Pvh ? loader::BootProtocol::Pvh : loader::BootProtocol::HvmFirmware;
    req.kernel = m_spec.kernel;
    req.ramdisk = m_spec.ramdisk;
    req.cmdline = m_spec.cmdline;
    loader::BootInfo boot = TRY(loader::load_kernel(*m_physmap, m_spec.memory_map, req));
    log::get("vmm")->info("{}: loaded {} [{:#x}-{:#x}), entry {:#x}", m_spec.name, m_spec.kernel, boot.image_low,
                   boot.image_high, boot.entry);
    TRY(m_vcpus[0]->set_cpu_state(x86::flat_protected_mode_32(boot.entry, boot.ebx)));
    return {};
}

Status Machine::set_max_memory_kib(uint64_t kib)
{
    uint64_t built_kib = std::max(m_spec.maxmem_mib, m_spec.memory_mib) * 1024;
    if (kib == 0 || kib > built_kib)
        return fail(EINVAL, "the maximum of domain '{}' can be 1 to {} KiB (the maxmem it was built with), not {}",
                    m_spec.name, built_kib, kib);
    m_xen->reservation().set_max_pages(kib * 1024 / memory::kPageSize);
    return {};
}

Status Machine::use_local_xenstore()
{
    m_local_xenstore = TRY(LocalXenstore::create(m_spec.domid, m_spec.name, *m_xenstore));
    m_xenstore->set_backend(m_local_xenstore.get());
    return {};
}

void Machine::unpause()
{
    m_paused = false;
    for (auto& r : m_runners)
        r->remove_pause(hv::kPauseController);
}

void Machine::pause()
{
    m_paused = true;
    for (auto& r : m_runners)
        r->add_pause(hv::kPauseController);
}

void Machine::destroy()
{
    if (m_monitor)
        m_monitor->stop();
    for (auto& r : m_runners)
        r->stop();
    m_timers.shutdown();
}

void Machine::console_input(std::string_view bytes)
{
    if (m_uart)
        m_uart->receive(bytes);
    if (m_pv_console)
        m_pv_console->receive(bytes);
}

void Machine::guest_shutdown(unsigned reason, std::string detail)
{
    {
        std::lock_guard guard(m_shutdown_lock);
        if (m_shutdown)
            return;
        // A code set earlier with SCHEDOP_shutdown_code decides, as in Xen.
        if (auto preset = m_xen->preset_shutdown_code())
            reason = *preset;
        m_shutdown = ShutdownInfo { reason, std::move(detail) };
    }
    for (auto& r : m_runners)
        r->add_pause(hv::kPauseShutdown);
    m_shutdown_cv.notify_all();
}

std::optional<ShutdownInfo> Machine::wait_for_shutdown(std::chrono::milliseconds timeout)
{
    std::unique_lock lock(m_shutdown_lock);
    m_shutdown_cv.wait_for(lock, timeout, [&] { return m_shutdown.has_value(); });
    return m_shutdown;
}

std::optional<ShutdownInfo> Machine::shutdown_info() const
{
    std::lock_guard guard(m_shutdown_lock);
    return m_shutdown;
}

void Machine::lapic_vector(uint32_t vcpu, uint8_t vector)
{
    // vCPU n has APIC id n.
    if (auto r = m_vm->send_fixed_interrupt(vcpu, vector); !r)
        log::get("vmm")->warn("{}", r.error().message);
}

void Machine::assert_callback_gsi(uint32_t gsi)
{
    std::lock_guard guard(m_callback_lock);
    if (!m_callback_line || m_callback_line->gsi() != gsi) {
        m_callback_line.reset(); // a line the guest moved away from falls silent
        auto line = m_vm->create_level_line(gsi, [this, gsi] {
            auto via = m_xen->callback_via();
            bool ours = (via.kind == xen::CallbackVia::Kind::Gsi || via.kind == xen::CallbackVia::Kind::PciIntx)
                && via.gsi == gsi;
            return ours && m_xen->shared_info().upcall_pending(0);
        });
        if (!line) {
            log::get("vmm")->warn("callback GSI {}: {}", gsi, line.error().message);
            return;
        }
        m_callback_line = line.release_value();
    }
    m_callback_line->assert_line();
}

uint64_t Machine::system_time_ns() const
{
    // The guest's clock: TSC ticks since m_host_tsc0 through the PV clock scale. The guest counts
    // the same ticks from m_guest_tsc0 on its own TSC.
    return xen::ticks_to_ns(__rdtsc() - m_host_tsc0, m_clock);
}

uint64_t Machine::set_alarm(uint64_t deadline_ns, std::function<void()> fn)
{
    return m_alarms.set(deadline_ns, std::move(fn));
}

void Machine::cancel_alarm(uint64_t handle)
{
    m_alarms.cancel(handle);
}

} // namespace xkvm::vmm
