#include "devices/io_bus.h"

#include <algorithm>
#include <cstring>

namespace xkvm::devices {

Status IoBus::claim(uint64_t base, uint64_t len, IoDevice* device, std::string name)
{
    if (len == 0 || base + len < base)
        return fail(EINVAL, "{}: empty or wrapping range {:#x}+{:#x}", name, base, len);
    std::lock_guard guard(m_lock);
    for (const auto& r : m_ranges)
        if (base < r.base + r.len && r.base < base + len)
            return fail(EEXIST, "{}: [{:#x}+{:#x}] overlaps {}", name, base, len, r.name);
    m_ranges.push_back({ base, len, device, std::move(name) });
    std::sort(m_ranges.begin(), m_ranges.end(), [](const Range& a, const Range& b) { return a.base < b.base; });
    return {};
}

const IoBus::Range* IoBus::find(uint64_t addr) const
{
    for (const auto& r : m_ranges)
        if (addr >= r.base && addr - r.base < r.len)
            return &r;
    return nullptr;
}

bool IoBus::read(uint64_t addr, std::span<uint8_t> data)
{
    IoDevice* dev = nullptr;
    uint64_t base = 0;
    {
        std::lock_guard guard(m_lock);
        if (const Range* r = find(addr))
            dev = r->device, base = r->base;
    }
    if (!dev) {
        std::memset(data.data(), 0xff, data.size());
        return false;
    }
    dev->io_read(addr - base, data);
    return true;
}

bool IoBus::write(uint64_t addr, std::span<const uint8_t> data)
{
    IoDevice* dev = nullptr;
    uint64_t base = 0;
    {
        std::lock_guard guard(m_lock);
        if (const Range* r = find(addr))
            dev = r->device, base = r->base;
    }
    if (!dev)
        return false;
    dev->io_write(addr - base, data);
    return true;
}

} // namespace xkvm::devices
