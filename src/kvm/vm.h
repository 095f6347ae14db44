// One KVM virtual machine: memslots, the in-kernel interrupt controllers, and its vCPUs' file handles.
// The KVM backend's hv::Vm.
#pragma once

#include <cstdint>
#include <linux/kvm.h>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "hv/vm.h"
#include "kvm/introspect_plan.h"
#include "kvm/kvm_system.h"
#include "kvm/run_gate.h"
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
    // The physmap followed, if any (a vCPU walks the guest's tables through it).
    const memory::Physmap* physmap() const { return m_physmap; }

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
    void vcpu_gone(Vcpu* vcpu);

    // Introspection (vm_introspect.cpp): write limits as read-only memslots, WRMSR intercepts
    // through the MSR filter. Read and execute limits are refused (ENOSYS): KVM keeps those
    // faults in the kernel.
    hv::IntrospectionCaps introspection_caps() const override;
    Status set_page_access(memory::Gpa gpa, uint64_t size, uint8_t allowed) override;
    bool write_limited(uint64_t gpa);
    Status write_ram(uint64_t gpa, std::span<const uint8_t> data);
    // `vcpu` intercepts WRMSR to `msrs`: the VM's filter denies writes to every MSR some vCPU
    // intercepts. A list KVM cannot filter changes nothing.
    Status set_msr_intercepts(const Vcpu* vcpu, std::span<const uint32_t> msrs);
    RunGate& run_gate() { return m_gate; }

    // memory::PhysmapListener
    void physmap_unmapped(const memory::Mapping&) override;
    void physmap_mapped(const memory::Mapping&, uint8_t* host) override;

private:
    Vm(KvmSystem& sys, UniqueFd fd) : m_sys(sys), m_fd(std::move(fd)) { }
    Status set_memslot(uint32_t slot, uint64_t gpa, uint64_t size, uint8_t* host, bool readonly);
    // With m_slot_lock held: the memslots of one mapping, deleted or created under `limits`.
    void drop_slots_locked(const memory::Mapping& m);
    Status add_slots_locked(const memory::Mapping& m, uint8_t* host, const FrameRanges& limits);
    uint32_t free_slots_locked() const;

    KvmSystem& m_sys;
    UniqueFd m_fd;
    memory::Physmap* m_physmap = nullptr;

    // A mapping is one memslot, or several when some of its frames are write-limited.
    struct Slot {
        memory::Mapping mapping;
        uint8_t* host = nullptr; // the mapping's, not the piece's
        SlotPiece piece;
        bool used = false;
    };
    std::mutex m_slot_lock;
    std::vector<Slot> m_slots;
    uint32_t m_max_slots = 0;
    FrameRanges m_write_limited; // under m_slot_lock
    RunGate m_gate;

    std::mutex m_vcpus_lock;
    std::map<const Vcpu*, std::vector<uint32_t>> m_msr_intercepts; // under m_vcpus_lock
};

} // namespace xkvm::kvm
