// hv::LevelLine on KVM (used for the Xen GSI/PCI INTx callback, held while events are pending).
//
// KVM's resampling irqfd does the holding: a write asserts the line, the guest's EOI deasserts it
// in the kernel and tells us, and we assert again only if the owner says the condition holds.
// Without the resample the in-kernel IOAPIC would re-deliver after every EOI until some exit let
// us lower it.
#pragma once

#include <functional>
#include <memory>
#include <thread>

#include "base/result.h"
#include "base/unique_fd.h"
#include "hv/vm.h"

namespace xkvm::kvm {

class Vm;

class LevelLine final : public hv::LevelLine {
public:
    // `still_pending` is asked after each EOI (on this object's thread).
    static Result<std::unique_ptr<LevelLine>> create(Vm& vm, uint32_t gsi, std::function<bool()> still_pending);
    ~LevelLine() override;

    uint32_t gsi() const override { return m_gsi; }
    void assert_line() override;

private:
    LevelLine(Vm& vm, uint32_t gsi, std::function<bool()> pending)
        : m_vm(vm), m_gsi(gsi), m_still_pending(std::move(pending)) { }
    void run();

    Vm& m_vm;
    uint32_t m_gsi;
    std::function<bool()> m_still_pending;
    UniqueFd m_irq, m_resample, m_stop;
    std::thread m_thread;
};

} // namespace xkvm::kvm
