#include "devices/pv_console.h"

#include <cstddef>

#include "base/log.h"
#include "xen/abi/console.h"

namespace xkvm::devices {

namespace {

uint32_t load(uint8_t* ring, size_t off) { return __atomic_load_n(reinterpret_cast<uint32_t*>(ring + off), __ATOMIC_ACQUIRE); }
void store(uint8_t* ring, size_t off, uint32_t v) { __atomic_store_n(reinterpret_cast<uint32_t*>(ring + off), v, __ATOMIC_RELEASE); }

constexpr size_t kOut = offsetof(xencons_interface, out);
constexpr size_t kIn = offsetof(xencons_interface, in);
constexpr size_t kOutCons = offsetof(xencons_interface, out_cons);
constexpr size_t kOutProd = offsetof(xencons_interface, out_prod);
constexpr size_t kInCons = offsetof(xencons_interface, in_cons);
constexpr size_t kInProd = offsetof(xencons_interface, in_prod);
constexpr size_t kInputLimit = 64 * 1024;

} // namespace

PvConsole::PvConsole(uint8_t* ring, ConsoleSink& sink, std::function<void()> notify_guest)
    : m_ring(ring), m_sink(sink), m_notify(std::move(notify_guest))
{
}

void PvConsole::drain_output(std::unique_lock<std::mutex>&, bool& notify)
{
    uint32_t cons = load(m_ring, kOutCons);
    uint32_t prod = load(m_ring, kOutProd);
    uint32_t avail = prod - cons;
    if (avail == 0)
        return;
    if (avail > XENCONS_OUT_SIZE) {
        m_broken = true;
        log::get("console")->warn("PV console ring broken (out_prod {} out_cons {}): ignoring it from now on", prod, cons);
        return;
    }
    char buf[XENCONS_OUT_SIZE];
    for (uint32_t i = 0; i < avail; ++i)
        buf[i] = static_cast<char>(m_ring[kOut + XENCONS_MASK(cons + i, XENCONS_OUT_SIZE)]);
    store(m_ring, kOutCons, prod);
    m_sink.console_output(std::string_view(buf, avail));
    notify = true;
}

void PvConsole::push_input(bool& notify)
{
    if (m_pending_input.empty())
        return;
    uint32_t cons = load(m_ring, kInCons);
    uint32_t prod = load(m_ring, kInProd);
    uint32_t used = prod - cons;
    if (used > XENCONS_IN_SIZE) {
        m_broken = true;
        return;
    }
    uint32_t room = XENCONS_IN_SIZE - used;
    uint32_t n = std::min<uint32_t>(room, static_cast<uint32_t>(m_pending_input.size()));
    for (uint32_t i = 0; i < n; ++i)
        m_ring[kIn + XENCONS_MASK(prod + i, XENCONS_IN_SIZE)] = static_cast<uint8_t>(m_pending_input[i]);
    if (n == 0)
        return;
    store(m_ring, kInProd, prod + n);
    m_pending_input.erase(0, n);
    notify = true;
}

void PvConsole::guest_notified()
{
    if (m_broken)
        return;
    bool notify = false;
    {
        std::unique_lock lock(m_lock);
        drain_output(lock, notify);
        if (!m_broken)
            push_input(notify);
    }
    if (notify && m_notify)
        m_notify();
}

void PvConsole::receive(std::string_view bytes)
{
    if (m_broken)
        return;
    bool notify = false;
    {
        std::lock_guard lock(m_lock);
        m_pending_input.append(bytes.substr(0, kInputLimit - std::min(kInputLimit, m_pending_input.size())));
        push_input(notify);
    }
    if (notify && m_notify)
        m_notify();
}

} // namespace xkvm::devices
