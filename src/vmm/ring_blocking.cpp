#include "vmm/ring_blocking.h"

namespace xkvm::vmm {

bool RingBlocking::after_put(uint32_t vcpu, uint32_t free, bool sync)
{
    auto vcpus = static_cast<uint32_t>(m_blocked.size());
    if (sync || free >= vcpus || m_blocked[vcpu])
        return false;
    m_blocked[vcpu] = true;
    ++m_count;
    return true;
}

std::vector<uint32_t> RingBlocking::wake(uint32_t free)
{
    std::vector<uint32_t> woken;
    auto vcpus = static_cast<uint32_t>(m_blocked.size());
    for (uint32_t step = 1; step <= vcpus && m_count > 0 && free > 0; ++step) {
        uint32_t v = (m_last_woken + step) % vcpus;
        if (!m_blocked[v])
            continue;
        m_blocked[v] = false;
        --m_count;
        --free;
        woken.push_back(v);
    }
    if (!woken.empty())
        m_last_woken = woken.back();
    return woken;
}

} // namespace xkvm::vmm
