// One KVM virtual machine: memslots, the in-kernel interrupt controllers, and its vCPUs' file handles.
#pragma once

#include <cstdint>
#include <linux/kvm.h>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "kvm/kvm_system.h"
#include "memory/physmap.h"

namespace xkvm::kvm {

class Vcpu;

struct VmOptions {
    // Guest-physical pages KVM needs for real-mode emulation on Intel; they must not be guest RAM.
    uint64_t tss_addr = 0xfffbd000;
    uint64_t identity_map_addr = 0xfffbc000;
};

class Vm : public memory::PhysmapListener {
public:
    static Result<std::unique_ptr<Vm>> create(KvmSystem& sys, const VmOptions& opts = {});
    ~Vm() override;

    KvmSystem& system() { return m_sys; }
    int fd() const { return m_fd.get(); }

    // Follow a physmap: every mapping becomes a memslot, kept in step as the physmap changes.
    void attach_physmap(memory::Physmap& physmap);
    void detach_physmap();

    // Interrupts into the in-kernel IOAPIC/PIC (level: 1 assert, 0 deassert) and LAPICs (MSI).
    Status set_irq_line(uint32_t gsi, bool level);

    // Which interrupt-controller pins a GSI drives (KVM_SET_GSI_ROUTING replaces KVM's default
    // table, where GSI n is PIC pin n for n < 16 and IOAPIC pin n).
    struct IrqRoute {
        enum class Chip : uint8_t { PicMaster, PicSlave, Ioapic };
        uint32_t gsi;
        Chip chip;
        uint32_t pin;
    };
    Status set_irq_routing(std::span<const IrqRoute> routes);
    Status signal_msi(uint64_t address, uint32_t data);
    // Deliver `vector` to the LAPIC with this APIC id, fixed delivery, edge.
    Status send_fixed_interrupt(uint32_t apic_id, uint8_t vector);

    // Event file descriptors bound to guest actions, for fast paths that skip the vCPU thread.
    Status add_ioeventfd(uint64_t addr, uint32_t len, int fd, bool pio);
    Status add_irqfd(int fd, uint32_t gsi);
    // A level-triggered line: a write to `fd` asserts `gsi`; the guest's EOI deasserts it and makes
    // `resample_fd` readable, so the owner can assert again if the condition still holds.
    Status add_resample_irqfd(int fd, int resample_fd, uint32_t gsi);
    Status remove_irqfd(int fd, uint32_t gsi);

    Result<std::unique_ptr<Vcpu>> create_vcpu(uint32_t id);

    // memory::PhysmapListener
    void physmap_unmapped(const memory::Mapping&) override;
    void physmap_mapped(const memory::Mapping&, uint8_t* host) override;

private:
    Vm(KvmSystem& sys, UniqueFd fd) : m_sys(sys), m_fd(std::move(fd)) { }
    Status set_memslot(uint32_t slot, uint64_t gpa, uint64_t size, uint8_t* host, bool readonly);

    KvmSystem& m_sys;
    UniqueFd m_fd;
    memory::Physmap* m_physmap = nullptr;

    struct Slot {
        memory::Mapping mapping;
        bool used = false;
    };
    std::mutex m_slot_lock;
    std::vector<Slot> m_slots;
    uint32_t m_max_slots = 0;
};

} // namespace xkvm::kvm
