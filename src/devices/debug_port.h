// The 0xe9 debug console: every byte written goes to the console; reads answer 0xe9 (so guests can
// detect it, as with Bochs and QEMU).
#pragma once

#include "devices/io_bus.h"

namespace xkvm::devices {

inline constexpr uint16_t kDebugPort = 0xe9;

class DebugPort final : public IoDevice {
public:
    explicit DebugPort(ConsoleSink& sink) : m_sink(sink) { }
    void io_read(uint64_t, std::span<uint8_t> data) override
    {
        for (auto& b : data)
            b = 0xe9;
    }
    void io_write(uint64_t, std::span<const uint8_t> data) override
    {
        // Only the low byte of a wider write is the character.
        char c = static_cast<char>(data[0]);
        m_sink.console_output(std::string_view(&c, 1));
    }

private:
    ConsoleSink& m_sink;
};

} // namespace xkvm::devices
