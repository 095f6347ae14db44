// The GSI (or PCI INTx) form of HVM_PARAM_CALLBACK_IRQ: a level-triggered line that stays asserted
// while vCPU 0 has evtchn_upcall_pending set, as Xen keeps it.
//
// KVM's resampling irqfd does the holding: a write asserts the line, the guest's EOI deasserts it
// in the kernel and tells us, and we assert again only if events are still pending. Without the
// resample the in-kernel IOAPIC would re-deliver after every EOI until some exit let us lower it.
#pragma once

#include <functional>
#include <memory>
#include <thread>

#include "base/result.h"
#include "base/unique_fd.h"

namespace xkvm::kvm {
class Vm;
}

namespace xkvm::vmm {

class CallbackLine {
public:
    // `still_pending` is asked after each EOI (on this object's thread).
    static Result<std::unique_ptr<CallbackLine>> create(kvm::Vm& vm, uint32_t gsi, std::function<bool()> still_pending);
    ~CallbackLine();

    uint32_t gsi() const { return m_gsi; }
    void assert_line();

private:
    CallbackLine(kvm::Vm& vm, uint32_t gsi, std::function<bool()> pending)
        : m_vm(vm), m_gsi(gsi), m_still_pending(std::move(pending)) { }
    void run();

    kvm::Vm& m_vm;
    uint32_t m_gsi;
    std::function<bool()> m_still_pending;
    UniqueFd m_irq, m_resample, m_stop;
    std::thread m_thread;
};

} // namespace xkvm::vmm
