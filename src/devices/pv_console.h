// The host side of the PV console ring (struct xencons_interface in a page the guest shares):
// drains what the guest wrote and feeds it what the console client typed. The guest owns half the
// indices and may scribble on all of them, so every read of them is checked.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "devices/io_bus.h"

namespace xkvm::devices {

class PvConsole {
public:
    // `ring` is the host view of the console page. `notify_guest` raises the console event channel.
    PvConsole(uint8_t* ring, ConsoleSink& sink, std::function<void()> notify_guest);

    // The guest sent on the console event channel: take its output, deliver pending input.
    void guest_notified();
    // Bytes typed at the console.
    void receive(std::string_view bytes);
    // A ring whose indices make no sense is dropped for good, as xenconsoled does.
    bool broken() const { return m_broken.load(); }

private:
    void drain_output(std::unique_lock<std::mutex>& lock, bool& notify);
    void push_input(bool& notify);

    uint8_t* m_ring;
    ConsoleSink& m_sink;
    std::function<void()> m_notify;
    std::mutex m_lock;
    std::string m_pending_input;
    std::atomic<bool> m_broken { false };
};

} // namespace xkvm::devices
