#include "kvm/run_gate.h"

#include <algorithm>

namespace xkvm::kvm {

void RunGate::enter(std::function<void()>* kick)
{
    std::unique_lock guard(m_lock);
    m_cv.wait(guard, [&] { return !m_closed; });
    m_inside.push_back(kick);
}

void RunGate::leave(std::function<void()>* kick)
{
    std::lock_guard guard(m_lock);
    std::erase(m_inside, kick);
    m_cv.notify_all();
}

void RunGate::close()
{
    std::unique_lock guard(m_lock);
    m_closed = true;
    for (auto* kick : m_inside)
        (*kick)();
    m_cv.wait(guard, [&] { return m_inside.empty(); });
}

void RunGate::open()
{
    std::lock_guard guard(m_lock);
    m_closed = false;
    m_cv.notify_all();
}

} // namespace xkvm::kvm
