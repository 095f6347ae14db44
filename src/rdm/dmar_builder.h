// Synthesises DMAR tables: fixtures for tests, seeds for the fuzzer. Lengths and the checksum come
// out right unless a test breaks them on purpose (patch the bytes of build()).
#pragma once

#include <cstdint>
#include <vector>

#include "rdm/dmar.h"

namespace xkvm::rdm {

// A single-hop scope naming bus:dev.func.
DeviceScope endpoint_scope(uint8_t bus, uint8_t dev, uint8_t func);

class DmarBuilder {
public:
    DmarBuilder& host_address_width(uint8_t bits);
    // A DMA remapping hardware unit; carried for realism, the parser steps over it.
    DmarBuilder& add_drhd(uint16_t segment, uint64_t register_base, bool include_pci_all);
    DmarBuilder& add_rmrr(uint16_t segment, uint64_t base, uint64_t limit, const std::vector<DeviceScope>& scopes);
    // Any remapping structure, bytes as given (its own type and length fields included).
    DmarBuilder& add_raw(std::vector<uint8_t> structure);

    std::vector<uint8_t> build() const;

private:
    uint8_t m_width = 39;
    std::vector<uint8_t> m_body;
};

// Recompute the checksum (over the bytes the length field claims) after patching a built table.
void fix_dmar_checksum(std::vector<uint8_t>& table);

} // namespace xkvm::rdm
