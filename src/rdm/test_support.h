// Test-only helpers: a throwaway directory standing in for /sys, and DMAR tables written to disk.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "rdm/host_devices.h"

namespace xkvm::rdm::test {

namespace fs = std::filesystem;

class TempTree {
public:
    TempTree()
    {
        std::string tmpl = (fs::temp_directory_path() / "xkvm-rdm-XXXXXX").string();
        const char* made = ::mkdtemp(tmpl.data());
        EXPECT_NE(made, nullptr);
        m_root = made ? made : "/nonexistent";
    }
    ~TempTree()
    {
        std::error_code ec;
        fs::remove_all(m_root, ec);
    }
    TempTree(const TempTree&) = delete;
    TempTree& operator=(const TempTree&) = delete;

    const std::string& root() const { return m_root; }
    std::string path(const std::string& rel) const { return m_root + "/" + rel; }

    void write(const std::string& rel, const std::vector<uint8_t>& bytes) const
    {
        const fs::path p = path(rel);
        fs::create_directories(p.parent_path());
        std::ofstream f(p, std::ios::binary);
        f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        ASSERT_TRUE(f.good()) << p;
    }

    // A PCI device under bus/pci/devices/, bound to `driver` unless it is empty.
    void add_device(const config::PciBdf& bdf, const std::string& driver) const
    {
        const fs::path dir = pci_device_dir(bdf, m_root);
        fs::create_directories(dir);
        if (!driver.empty())
            fs::create_directory_symlink("../../../bus/pci/drivers/" + driver, dir / "driver");
    }

    // A PCI-PCI bridge whose config space names `secondary` as the bus behind it.
    void add_bridge(const config::PciBdf& bdf, uint8_t secondary) const
    {
        add_device(bdf, "pcieport");
        std::vector<uint8_t> cfg(256, 0);
        cfg[0x0e] = 0x01; // header type 1: PCI-PCI bridge
        cfg[0x19] = secondary;
        write(rel_of(pci_device_dir(bdf, m_root)) + "/config", cfg);
    }

private:
    std::string rel_of(const std::string& abs) const { return abs.substr(m_root.size() + 1); }
    std::string m_root;
};

inline config::PciBdf bdf(uint8_t bus, uint8_t dev, uint8_t func, uint16_t domain = 0)
{
    return config::PciBdf { domain, bus, dev, func };
}

} // namespace xkvm::rdm::test
