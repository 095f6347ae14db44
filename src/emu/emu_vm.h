// The emulated backend's hv::Vm: guest RAM straight from the physmap, and the user-space interrupt
// controllers (an IOAPIC and a dual 8259 shared by the machine, one LAPIC per vCPU).
#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "emu/page_limits.h"
#include "hv/vm.h"
#include "irqchip/apic_bus.h"
#include "irqchip/ioapic.h"
#include "irqchip/pic.h"
#include "irqchip/types.h"

namespace xkvm::emu {

class EmuVcpu;

class EmuVm final : public hv::Vm, public memory::PhysmapListener, public irqchip::IoapicHost {
public:
    static constexpr uint64_t kIoapicBase = 0xfec00000;
    static constexpr uint32_t kGsiCount = 24;

    EmuVm();
    ~EmuVm() override;

    void attach_physmap(memory::Physmap& physmap) override;
    void detach_physmap() override;
    Status set_irq_line(uint32_t gsi, bool level) override;
    Status set_irq_routing(std::span<const IrqRoute> routes) override;
    Status signal_msi(uint64_t address, uint32_t data) override;
    Result<std::unique_ptr<hv::LevelLine>> create_level_line(uint32_t gsi, std::function<bool()> still_asserted) override;
    Result<std::unique_ptr<hv::Vcpu>> create_vcpu(uint32_t id) override;
    hv::IntrospectionCaps introspection_caps() const override;
    // Limits take effect on each vCPU at its next instruction boundary (a TLB flush request).
    Status set_page_access(memory::Gpa gpa, uint64_t size, uint8_t allowed) override;

    // For the vCPUs.
    memory::Physmap* physmap() const { return m_physmap; }
    uint8_t page_allow(uint64_t page_gpa) const { return m_limits.get(page_gpa >> 12); }
    irqchip::Ioapic& ioapic() { return *m_ioapic; }
    irqchip::Pic& pic() { return m_pic; }
    // An IPI from one of the LAPICs, to every LAPIC it names.
    void send_ipi(const irqchip::Ipi& ipi);
    // A LAPIC's level-triggered EOI, for the IOAPIC's remote IRR.
    void level_eoi(uint8_t vector);
    void vcpu_gone(EmuVcpu* vcpu);

    // memory::PhysmapListener: cached host pointers are dropped on every change.
    void physmap_unmapped(const memory::Mapping&) override;
    void physmap_mapped(const memory::Mapping&, uint8_t* host) override;

    // irqchip::IoapicHost (and MSIs): to every LAPIC the message names.
    void deliver(const irqchip::InterruptMessage& msg) override;

private:
    void flush_all_tlbs();
    void rebuild_bus_locked();
    void pic_output_changed();

    memory::Physmap* m_physmap = nullptr;
    std::unique_ptr<irqchip::Ioapic> m_ioapic;
    irqchip::Pic m_pic { [this] { pic_output_changed(); } };

    std::mutex m_route_lock;
    struct Route {
        std::vector<std::pair<hv::Vm::IrqRoute::Chip, uint32_t>> pins;
    };
    std::array<Route, kGsiCount> m_routes;

    PageLimits m_limits;

    std::shared_mutex m_vcpus_lock;
    std::vector<EmuVcpu*> m_vcpus;
    std::unique_ptr<irqchip::ApicBus> m_bus = std::make_unique<irqchip::ApicBus>();
};

} // namespace xkvm::emu
