// Port I/O and MMIO dispatch: devices claim ranges, exits are routed to whoever owns the address.
#pragma once

#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"

namespace xkvm::devices {

class IoDevice {
public:
    virtual ~IoDevice() = default;
    // `offset` is relative to the start of the claimed range; data.size() is the access width.
    virtual void io_read(uint64_t offset, std::span<uint8_t> data) = 0;
    virtual void io_write(uint64_t offset, std::span<const uint8_t> data) = 0;
};

class IoBus {
public:
    // Claims [base, base+len). Overlapping claims are refused.
    Status claim(uint64_t base, uint64_t len, IoDevice* device, std::string name);
    // False when nobody owns the address (reads then see all ones).
    bool read(uint64_t addr, std::span<uint8_t> data);
    bool write(uint64_t addr, std::span<const uint8_t> data);

private:
    struct Range {
        uint64_t base, len;
        IoDevice* device;
        std::string name;
    };
    const Range* find(uint64_t addr) const;

    mutable std::mutex m_lock;
    std::vector<Range> m_ranges;
};

// Where guest console bytes go.
class ConsoleSink {
public:
    virtual ~ConsoleSink() = default;
    virtual void console_output(std::string_view bytes) = 0;
};

} // namespace xkvm::devices
