// The 0xe9 debug console: every byte written goes to the console. Reads are Xen's: its handler
// takes writes only (xen/arch/x86/hvm/hvm.c, hvm_print_line), so with no device model behind the
// port a PVH guest reads all ones (Bochs and QEMU's debugcon answer 0xe9 instead).
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
            b = 0xff;
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
