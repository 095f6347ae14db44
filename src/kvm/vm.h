// One KVM virtual machine: memslots, the in-kernel interrupt controllers, and its vCPUs' file handles.
// The KVM backend's hv::Vm.
#pragma once

#include <cstdint>
#include <linux/kvm.h>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "hv/vm.h"
#include "kvm/kvm_system.h"
#include "memory/physmap.h"

namespace xkvm::kvm {

class Vcpu;

class Vm final : public hv::Vm, public memory::PhysmapListener {
public:
    static Result<std::unique_ptr<Vm>> create(KvmSystem& sys, const hv::VmOptions& opts = {});
    ~Vm() override;

    KvmSystem& system() { return m_sys; }
    int fd() const { return m_fd.get(); }

    // Follow a physmap: every mapping becomes a memslot, kept in step as the physmap changes.
    void attach_physmap(memory::Physmap& physmap) override;
    void detach_physmap() override;

    // Interrupts into the in-kernel IOAPIC/PIC (level: 1 assert, 0 deassert) and LAPICs (MSI).
    Status set_irq_line(uint32_t gsi, bool level) override;
    // KVM_SET_GSI_ROUTING replaces KVM's default table.
    Status set_irq_routing(std::span<const IrqRoute> routes) override;
    Status signal_msi(uint64_t address, uint32_t data) override;
    // A resampling irqfd (see level_line.h).
    Result<std::unique_ptr<hv::LevelLine>> create_level_line(uint32_t gsi, std::function<bool()> still_asserted) override;

    // Event file descriptors bound to guest actions, for fast paths that skip the vCPU thread.
    Status add_ioeventfd(uint64_t addr, uint32_t len, int fd, bool pio);
    Status add_irqfd(int fd, uint32_t gsi);
    // A level-triggered line: a write to `fd` asserts `gsi`; the guest's EOI deasserts it and makes
    // `resample_fd` readable, so the owner can assert again if the condition still holds.
    Status add_resample_irqfd(int fd, int resample_fd, uint32_t gsi);
    Status remove_irqfd(int fd, uint32_t gsi);

    Result<std::unique_ptr<hv::Vcpu>> create_vcpu(uint32_t id) override;

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
