// Keeps vCPUs out of KVM_RUN while a VM-wide change that KVM cannot make atomically is under way:
// replacing a memslot takes a delete and a create, and a vCPU running in between would see a hole
// in guest RAM (its accesses there exit as MMIO, its fetches fail).
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <vector>

namespace xkvm::kvm {

class RunGate {
public:
    // Around one KVM_RUN on the vCPU's own thread; enter() waits while the gate is closed.
    // `kick` must make that KVM_RUN return soon; the gate calls it (under its lock) at most once
    // per entry, and only while the vCPU is inside.
    void enter(std::function<void()>* kick);
    void leave(std::function<void()>* kick);

    // Kicks every vCPU inside and waits until none is; vCPUs that arrive wait for open(). One
    // closer at a time (the caller serialises).
    void close();
    void open();

private:
    std::mutex m_lock;
    std::condition_variable m_cv;
    std::vector<std::function<void()>*> m_inside;
    bool m_closed = false;
};

} // namespace xkvm::kvm
