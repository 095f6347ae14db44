#include "rdm/dmar_builder.h"

#include <algorithm>
#include <cstring>

namespace xkvm::rdm {

namespace {

void put16(std::vector<uint8_t>& v, uint16_t x)
{
    v.push_back(static_cast<uint8_t>(x));
    v.push_back(static_cast<uint8_t>(x >> 8));
}

void put32(std::vector<uint8_t>& v, uint32_t x)
{
    put16(v, static_cast<uint16_t>(x));
    put16(v, static_cast<uint16_t>(x >> 16));
}

void put64(std::vector<uint8_t>& v, uint64_t x)
{
    put32(v, static_cast<uint32_t>(x));
    put32(v, static_cast<uint32_t>(x >> 32));
}

void put_bytes(std::vector<uint8_t>& v, const char* s, size_t n)
{
    for (size_t i = 0; i < n; ++i) // a loop, not insert(): gcc 12 misreads insert() as an overflow
        v.push_back(static_cast<uint8_t>(s[i]));
}

void put_scopes(std::vector<uint8_t>& v, const std::vector<DeviceScope>& scopes)
{
    for (const auto& s : scopes) {
        v.push_back(s.type);
        v.push_back(static_cast<uint8_t>(kScopeFixedSize + 2 * s.path.size()));
        put16(v, 0); // flags, reserved
        v.push_back(s.enumeration_id);
        v.push_back(s.start_bus);
        for (const auto& hop : s.path) {
            v.push_back(hop.dev);
            v.push_back(hop.func);
        }
    }
}

void set_length16(std::vector<uint8_t>& v, size_t start)
{
    const size_t len = v.size() - start;
    v[start + 2] = static_cast<uint8_t>(len);
    v[start + 3] = static_cast<uint8_t>(len >> 8);
}

} // namespace

DeviceScope endpoint_scope(uint8_t bus, uint8_t dev, uint8_t func)
{
    return DeviceScope { kScopeEndpoint, 0, bus, { { dev, func } } };
}

DmarBuilder& DmarBuilder::host_address_width(uint8_t bits)
{
    m_width = bits;
    return *this;
}

DmarBuilder& DmarBuilder::add_drhd(uint16_t segment, uint64_t register_base, bool include_pci_all)
{
    const size_t start = m_body.size();
    put16(m_body, kDmarTypeDrhd);
    put16(m_body, 0);
    m_body.push_back(include_pci_all ? 1 : 0);
    m_body.push_back(0);
    put16(m_body, segment);
    put64(m_body, register_base);
    set_length16(m_body, start);
    return *this;
}

DmarBuilder& DmarBuilder::add_rmrr(uint16_t segment, uint64_t base, uint64_t limit,
                                   const std::vector<DeviceScope>& scopes)
{
    const size_t start = m_body.size();
    put16(m_body, kDmarTypeRmrr);
    put16(m_body, 0);
    put16(m_body, 0); // reserved
    put16(m_body, segment);
    put64(m_body, base);
    put64(m_body, limit);
    put_scopes(m_body, scopes);
    set_length16(m_body, start);
    return *this;
}

DmarBuilder& DmarBuilder::add_raw(std::vector<uint8_t> structure)
{
    m_body.insert(m_body.end(), structure.begin(), structure.end());
    return *this;
}

std::vector<uint8_t> DmarBuilder::build() const
{
    std::vector<uint8_t> t;
    t.reserve(kDmarHeaderSize + m_body.size());
    put_bytes(t, "DMAR", 4);
    put32(t, static_cast<uint32_t>(kDmarHeaderSize + m_body.size()));
    t.push_back(1); // revision
    t.push_back(0); // checksum, below
    put_bytes(t, "XKVMTS", 6);
    put_bytes(t, "RDMTEST ", 8);
    put32(t, 1);                       // OEM revision
    put_bytes(t, "XKVM", 4);           // creator
    put32(t, 1);                       // creator revision
    t.push_back(static_cast<uint8_t>(m_width - 1));
    t.push_back(0);                    // flags
    t.insert(t.end(), 10, 0);          // reserved
    t.insert(t.end(), m_body.begin(), m_body.end());
    fix_dmar_checksum(t);
    return t;
}

void fix_dmar_checksum(std::vector<uint8_t>& table)
{
    if (table.size() < kAcpiHeaderSize)
        return;
    const size_t declared = table[4] | (table[5] << 8) | (table[6] << 16) | (size_t(table[7]) << 24);
    const size_t n = std::min(declared, table.size());
    table[9] = 0;
    uint8_t sum = 0;
    for (size_t i = 0; i < n; ++i)
        sum = static_cast<uint8_t>(sum + table[i]);
    table[9] = static_cast<uint8_t>(0x100 - sum);
}

} // namespace xkvm::rdm
