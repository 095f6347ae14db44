#include "kvm/vm.h"
#include "kvm/uapi_fix.h"

#include <fcntl.h>
#include <sys/ioctl.h>

#include "base/log.h"
#include "kvm/level_line.h"
#include "kvm/vcpu.h"

namespace xkvm::kvm {

Result<std::unique_ptr<Vm>> Vm::create(KvmSystem& sys, const hv::VmOptions& opts)
{
    int raw = ::ioctl(sys.fd(), KVM_CREATE_VM, 0);
    if (raw < 0)
        return make_unexpected(Error::from_errno("KVM_CREATE_VM"));
    std::unique_ptr<Vm> vm(new Vm(sys, UniqueFd(raw)));

    if (::ioctl(vm->fd(), KVM_SET_TSS_ADDR, opts.tss_addr) < 0)
        return make_unexpected(Error::from_errno("KVM_SET_TSS_ADDR"));
    uint64_t ident = opts.identity_map_addr;
    if (sys.has(KVM_CAP_SET_IDENTITY_MAP_ADDR) && ::ioctl(vm->fd(), KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0)
        return make_unexpected(Error::from_errno("KVM_SET_IDENTITY_MAP_ADDR"));
    if (::ioctl(vm->fd(), KVM_CREATE_IRQCHIP, 0) < 0)
        return make_unexpected(Error::from_errno("KVM_CREATE_IRQCHIP"));

    // MSRs KVM does not know (Xen's hypercall MSR among them) come to user space instead of #GP.
    kvm_enable_cap cap {};
    cap.cap = KVM_CAP_X86_USER_SPACE_MSR;
    cap.args[0] = KVM_MSR_EXIT_REASON_UNKNOWN | KVM_MSR_EXIT_REASON_FILTER;
    if (::ioctl(vm->fd(), KVM_ENABLE_CAP, &cap) < 0)
        return make_unexpected(Error::from_errno("enabling KVM_CAP_X86_USER_SPACE_MSR"));

    int slots = sys.check_extension(KVM_CAP_NR_MEMSLOTS);
    vm->m_max_slots = slots > 0 ? static_cast<uint32_t>(slots) : 32;
    return vm;
}

Vm::~Vm()
{
    detach_physmap();
}

void Vm::attach_physmap(memory::Physmap& physmap)
{
    m_physmap = &physmap;
    physmap.add_listener(this);
}

void Vm::detach_physmap()
{
    if (m_physmap)
        m_physmap->remove_listener(this);
    m_physmap = nullptr;
}

Status Vm::set_memslot(uint32_t slot, uint64_t gpa, uint64_t size, uint8_t* host, bool readonly)
{
    kvm_userspace_memory_region region {};
    region.slot = slot;
    region.flags = readonly ? KVM_MEM_READONLY : 0;
    region.guest_phys_addr = gpa;
    region.memory_size = size;
    region.userspace_addr = reinterpret_cast<uint64_t>(host);
    if (::ioctl(m_fd.get(), KVM_SET_USER_MEMORY_REGION, &region) < 0)
        return make_unexpected(Error::from_errno(fmt::format("KVM_SET_USER_MEMORY_REGION slot {} gpa {:#x}", slot, gpa)));
    return {};
}

void Vm::drop_slots_locked(const memory::Mapping& m)
{
    for (uint32_t i = 0; i < m_slots.size(); ++i) {
        if (!m_slots[i].used || !(m_slots[i].mapping == m))
            continue;
        if (auto r = set_memslot(i, m_slots[i].piece.gpa, 0, nullptr, false); !r)
            log::get("kvm")->error("{}", r.error().message);
        m_slots[i].used = false;
    }
}

uint32_t Vm::free_slots_locked() const
{
    uint32_t used = 0;
    for (const Slot& s : m_slots)
        used += s.used ? 1 : 0;
    return m_max_slots - used;
}

Status Vm::add_slots_locked(const memory::Mapping& m, uint8_t* host, const FrameRanges& limits)
{
    auto pieces = split_by_write_limits(m.gpa, m.size, m.prot == memory::Protection::ReadOnly, limits);
    if (pieces.size() > free_slots_locked())
        return fail(ENOSPC, "out of KVM memslots mapping [{:#x}+{:#x}] as {} slots", m.gpa, m.size, pieces.size());
    uint32_t slot = 0;
    for (const SlotPiece& p : pieces) {
        while (slot < m_slots.size() && m_slots[slot].used)
            ++slot;
        if (slot == m_slots.size())
            m_slots.emplace_back();
        TRY(set_memslot(slot, p.gpa, p.size, host + p.offset, p.readonly));
        m_slots[slot] = { m, host, p, true };
    }
    return {};
}

void Vm::physmap_unmapped(const memory::Mapping& m)
{
    std::lock_guard guard(m_slot_lock);
    drop_slots_locked(m);
}

void Vm::physmap_mapped(const memory::Mapping& m, uint8_t* host)
{
    std::lock_guard guard(m_slot_lock);
    if (auto r = add_slots_locked(m, host, m_write_limited); !r)
        log::get("kvm")->error("{}", r.error().message);
}

Status Vm::set_irq_line(uint32_t gsi, bool level)
{
    kvm_irq_level irq {};
    irq.irq = gsi;
    irq.level = level ? 1 : 0;
    if (::ioctl(m_fd.get(), KVM_IRQ_LINE, &irq) < 0)
        return make_unexpected(Error::from_errno(fmt::format("KVM_IRQ_LINE gsi {}", gsi)));
    return {};
}

Status Vm::set_irq_routing(std::span<const IrqRoute> routes)
{
    uapi::IrqRoutingBuffer buf(routes.size());
    buf.header()->nr = static_cast<uint32_t>(routes.size());
    for (size_t i = 0; i < routes.size(); ++i) {
        kvm_irq_routing_entry& e = buf.entries()[i];
        e.gsi = routes[i].gsi;
        e.type = KVM_IRQ_ROUTING_IRQCHIP;
        switch (routes[i].chip) {
        case IrqRoute::Chip::PicMaster: e.u.irqchip.irqchip = KVM_IRQCHIP_PIC_MASTER; break;
        case IrqRoute::Chip::PicSlave: e.u.irqchip.irqchip = KVM_IRQCHIP_PIC_SLAVE; break;
        case IrqRoute::Chip::Ioapic: e.u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC; break;
        }
        e.u.irqchip.pin = routes[i].pin;
    }
    if (::ioctl(m_fd.get(), uapi::kSetGsiRouting, buf.data()) < 0)
        return make_unexpected(Error::from_errno("KVM_SET_GSI_ROUTING"));
    return {};
}

Status Vm::signal_msi(uint64_t address, uint32_t data)
{
    kvm_msi msi {};
    msi.address_lo = static_cast<uint32_t>(address);
    msi.address_hi = static_cast<uint32_t>(address >> 32);
    msi.data = data;
    int r = ::ioctl(m_fd.get(), KVM_SIGNAL_MSI, &msi);
    if (r < 0)
        return make_unexpected(Error::from_errno("KVM_SIGNAL_MSI"));
    return {};
}

Status Vm::add_ioeventfd(uint64_t addr, uint32_t len, int fd, bool pio)
{
    kvm_ioeventfd ev {};
    ev.addr = addr;
    ev.len = len;
    ev.fd = fd;
    ev.flags = pio ? KVM_IOEVENTFD_FLAG_PIO : 0;
    if (::ioctl(m_fd.get(), KVM_IOEVENTFD, &ev) < 0)
        return make_unexpected(Error::from_errno("KVM_IOEVENTFD"));
    return {};
}

Status Vm::add_irqfd(int fd, uint32_t gsi)
{
    kvm_irqfd irqfd {};
    irqfd.fd = static_cast<uint32_t>(fd);
    irqfd.gsi = gsi;
    if (::ioctl(m_fd.get(), KVM_IRQFD, &irqfd) < 0)
        return make_unexpected(Error::from_errno("KVM_IRQFD"));
    return {};
}

Status Vm::add_resample_irqfd(int fd, int resample_fd, uint32_t gsi)
{
    kvm_irqfd irqfd {};
    irqfd.fd = static_cast<uint32_t>(fd);
    irqfd.gsi = gsi;
    irqfd.flags = KVM_IRQFD_FLAG_RESAMPLE;
    irqfd.resamplefd = static_cast<uint32_t>(resample_fd);
    if (::ioctl(m_fd.get(), KVM_IRQFD, &irqfd) < 0)
        return make_unexpected(Error::from_errno("KVM_IRQFD (resample)"));
    return {};
}

Status Vm::remove_irqfd(int fd, uint32_t gsi)
{
    kvm_irqfd irqfd {};
    irqfd.fd = static_cast<uint32_t>(fd);
    irqfd.gsi = gsi;
    irqfd.flags = KVM_IRQFD_FLAG_DEASSIGN;
    if (::ioctl(m_fd.get(), KVM_IRQFD, &irqfd) < 0)
        return make_unexpected(Error::from_errno("KVM_IRQFD (deassign)"));
    return {};
}

Result<std::unique_ptr<hv::Vcpu>> Vm::create_vcpu(uint32_t id)
{
    int raw = ::ioctl(m_fd.get(), KVM_CREATE_VCPU, static_cast<unsigned long>(id));
    if (raw < 0)
        return make_unexpected(Error::from_errno(fmt::format("KVM_CREATE_VCPU {}", id)));
    std::unique_ptr<hv::Vcpu> vcpu = TRY(Vcpu::create(*this, id, UniqueFd(raw)));
    return vcpu;
}

void Vm::vcpu_gone(Vcpu* vcpu)
{
    std::lock_guard guard(m_vcpus_lock);
    m_msr_intercepts.erase(vcpu);
}

Result<std::unique_ptr<hv::LevelLine>> Vm::create_level_line(uint32_t gsi, std::function<bool()> still_asserted)
{
    std::unique_ptr<hv::LevelLine> line = TRY(LevelLine::create(*this, gsi, std::move(still_asserted)));
    return line;
}

} // namespace xkvm::kvm
