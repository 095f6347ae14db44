// What the fuzz targets share: reading the fuzzer's bytes, and stopping on a broken invariant.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

namespace xkvm::fuzz {

// A broken invariant: abort, which libFuzzer and the replay driver both report with the input.
inline void check(bool ok)
{
    if (!ok)
        std::abort();
}

// Reads the input front to back. Past its end every number reads as 0 and every run of bytes is
// short or empty, so a target never has to check the length before a read.
class Input {
public:
    Input(const uint8_t* data, size_t size) : m_data(data), m_size(size) { }
    bool empty() const { return m_pos >= m_size; }
    uint8_t u8() { return m_pos < m_size ? m_data[m_pos++] : 0; }
    uint16_t u16() { return static_cast<uint16_t>(u8() | (u8() << 8)); }
    uint32_t u32() { return static_cast<uint32_t>(u16() | (static_cast<uint32_t>(u16()) << 16)); }
    // `n` bytes, little-endian (n <= 8).
    uint64_t le(unsigned n)
    {
        uint64_t v = 0;
        for (unsigned i = 0; i < n && i < 8; ++i)
            v |= uint64_t(u8()) << (8 * i);
        return v;
    }
    std::span<const uint8_t> bytes(size_t n)
    {
        n = std::min(n, m_size - std::min(m_pos, m_size));
        std::span<const uint8_t> out(m_data + m_pos, n);
        m_pos += n;
        return out;
    }
    std::string text(size_t n)
    {
        auto b = bytes(n);
        return std::string(reinterpret_cast<const char*>(b.data()), b.size());
    }

private:
    const uint8_t* m_data;
    size_t m_size;
    size_t m_pos = 0;
};

} // namespace xkvm::fuzz
