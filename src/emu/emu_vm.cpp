#include "emu/emu_vm.h"

#include "base/log.h"
#include "emu/emu_vcpu.h"
#include "irqchip/msi.h"

namespace xkvm::emu {

namespace {

// hv::LevelLine on the user-space IOAPIC: at each EOI the IOAPIC asks the owner whether the line is
// still asserted, as KVM's resampling irqfd does.
class EmuLevelLine final : public hv::LevelLine {
public:
    EmuLevelLine(EmuVm& vm, uint32_t gsi, std::function<bool()> still_asserted) : m_vm(vm), m_gsi(gsi)
    {
        m_vm.ioapic().set_resample(gsi, std::move(still_asserted));
    }
    ~EmuLevelLine() override
    {
        m_vm.ioapic().set_resample(m_gsi, {});
        m_vm.ioapic().set_irq(m_gsi, false);
    }
    uint32_t gsi() const override { return m_gsi; }
    void assert_line() override { m_vm.ioapic().set_irq(m_gsi, true); }

private:
    EmuVm& m_vm;
    uint32_t m_gsi;
};

} // namespace

EmuVm::EmuVm() : m_ioapic(std::make_unique<irqchip::Ioapic>(*this))
{
    // The default routing: GSI n is PIC pin n (n < 16) and IOAPIC pin n.
    for (uint32_t gsi = 0; gsi < kGsiCount; ++gsi) {
        if (gsi < 16)
            m_routes[gsi].pins.push_back({ gsi < 8 ? IrqRoute::Chip::PicMaster : IrqRoute::Chip::PicSlave, gsi % 8 });
        m_routes[gsi].pins.push_back({ IrqRoute::Chip::Ioapic, gsi });
    }
}

EmuVm::~EmuVm()
{
    detach_physmap();
}

void EmuVm::attach_physmap(memory::Physmap& physmap)
{
    m_physmap = &physmap;
    physmap.add_listener(this);
}

void EmuVm::detach_physmap()
{
    if (m_physmap)
        m_physmap->remove_listener(this);
    m_physmap = nullptr;
}

void EmuVm::physmap_unmapped(const memory::Mapping&) { flush_all_tlbs(); }
void EmuVm::physmap_mapped(const memory::Mapping&, uint8_t*) { flush_all_tlbs(); }

void EmuVm::flush_all_tlbs()
{
    std::shared_lock guard(m_vcpus_lock);
    for (auto* v : m_vcpus)
        v->request_tlb_flush();
}

Status EmuVm::set_irq_line(uint32_t gsi, bool level)
{
    if (gsi >= kGsiCount)
        return fail(EINVAL, "GSI {} does not exist (the IOAPIC has {} pins)", gsi, kGsiCount);
    std::vector<std::pair<IrqRoute::Chip, uint32_t>> pins;
    {
        std::lock_guard guard(m_route_lock);
        pins = m_routes[gsi].pins;
    }
    for (auto [chip, pin] : pins) {
        if (chip == IrqRoute::Chip::Ioapic)
            m_ioapic->set_irq(pin, level);
        else
            m_pic.set_irq(chip == IrqRoute::Chip::PicMaster ? pin : pin + 8, level);
    }
    return {};
}

Status EmuVm::set_irq_routing(std::span<const IrqRoute> routes)
{
    std::array<Route, kGsiCount> table;
    for (const auto& r : routes) {
        uint32_t limit = r.chip == IrqRoute::Chip::Ioapic ? irqchip::Ioapic::kPins : 8;
        if (r.gsi >= kGsiCount || r.pin >= limit)
            return fail(EINVAL, "route of GSI {} to pin {}: out of range", r.gsi, r.pin);
        table[r.gsi].pins.push_back({ r.chip, r.pin });
    }
    std::lock_guard guard(m_route_lock);
    m_routes = std::move(table);
    return {};
}

Status EmuVm::signal_msi(uint64_t address, uint32_t data)
{
    auto msg = irqchip::decode_msi(address, data);
    if (!msg)
        return fail(EINVAL, "MSI address {:#x} data {:#x} is not an interrupt message", address, data);
    deliver(*msg);
    return {};
}

Result<std::unique_ptr<hv::LevelLine>> EmuVm::create_level_line(uint32_t gsi, std::function<bool()> still_asserted)
{
    if (gsi >= irqchip::Ioapic::kPins)
        return fail(EINVAL, "GSI {} has no IOAPIC pin (the IOAPIC has {})", gsi, irqchip::Ioapic::kPins);
    std::unique_ptr<hv::LevelLine> line = std::make_unique<EmuLevelLine>(*this, gsi, std::move(still_asserted));
    return line;
}

Result<std::unique_ptr<hv::Vcpu>> EmuVm::create_vcpu(uint32_t id)
{
    auto vcpu = std::make_unique<EmuVcpu>(*this, id);
    std::unique_lock guard(m_vcpus_lock);
    m_vcpus.push_back(vcpu.get());
    rebuild_bus_locked();
    std::unique_ptr<hv::Vcpu> out = std::move(vcpu);
    return out;
}

hv::IntrospectionCaps EmuVm::introspection_caps() const
{
    hv::IntrospectionCaps caps;
    caps.page_access = hv::kAccessAll;
    caps.breakpoints = true;
    caps.cr_writes = (1u << 0) | (1u << 3) | (1u << 4);
    caps.descriptor_access = true;
    caps.msr_writes = true;
    caps.single_step = true;
    return caps;
}

Status EmuVm::set_page_access(memory::Gpa gpa, uint64_t size, uint8_t allowed)
{
    constexpr uint64_t kPage = 4096;
    TRY(hv::check_page_access_request(m_physmap, gpa, size, allowed));
    m_limits.set(gpa / kPage, size / kPage, allowed);
    flush_all_tlbs();
    return {};
}

void EmuVm::vcpu_gone(EmuVcpu* vcpu)
{
    std::unique_lock guard(m_vcpus_lock);
    std::erase(m_vcpus, vcpu);
    rebuild_bus_locked();
}

void EmuVm::rebuild_bus_locked()
{
    // The bus's LAPIC set is fixed once built: a new one for each change (vCPUs come and go only
    // while the domain is built and torn down).
    m_bus = std::make_unique<irqchip::ApicBus>();
    for (auto* v : m_vcpus)
        m_bus->attach(v->lapic());
}

void EmuVm::deliver(const irqchip::InterruptMessage& msg)
{
    std::shared_lock guard(m_vcpus_lock);
    m_bus->deliver(msg);
}

void EmuVm::send_ipi(const irqchip::Ipi& ipi)
{
    std::shared_lock guard(m_vcpus_lock);
    m_bus->send_ipi(ipi);
}

void EmuVm::level_eoi(uint8_t vector)
{
    m_ioapic->eoi(vector);
}

void EmuVm::pic_output_changed()
{
    std::shared_lock guard(m_vcpus_lock);
    for (auto* v : m_vcpus)
        if (v->lapic().accepts_pic_interrupts())
            v->wake();
}

} // namespace xkvm::emu
