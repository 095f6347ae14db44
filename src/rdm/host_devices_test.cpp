#include "rdm/host_devices.h"

#include <cstdlib>

#include <gtest/gtest.h>

#include "rdm/test_support.h"

using namespace xkvm;
using namespace xkvm::rdm;
using xkvm::rdm::test::bdf;
using xkvm::rdm::test::TempTree;

namespace {

config::PciSpec spec(const config::PciBdf& b)
{
    config::PciSpec s;
    s.bdf = b;
    return s;
}

} // namespace

TEST(rdm_host_devices, BdfSpelling)
{
    EXPECT_EQ(bdf_str(bdf(0x03, 0x00, 0)), "0000:03:00.0");
    EXPECT_EQ(bdf_str(bdf(0xab, 0x1f, 7, 0x10)), "0010:ab:1f.7");
    EXPECT_EQ(bdf_list_str({}), "no device");
    EXPECT_EQ(bdf_list_str({ bdf(0, 0x14, 0), bdf(0, 0x1a, 0) }), "0000:00:14.0, 0000:00:1a.0");
    EXPECT_EQ(pci_device_dir(bdf(3, 0, 1), "/x"), "/x/bus/pci/devices/0000:03:00.1");
}

TEST(rdm_host_devices, HostPathsFollowTheSysfsRootOverride)
{
    const char* saved = std::getenv("XKVM_SYSFS_ROOT");
    const std::string keep = saved ? saved : "";
    ASSERT_EQ(unsetenv("XKVM_SYSFS_ROOT"), 0);
    EXPECT_EQ(detect_host_paths().sysfs_root, "/sys");
    EXPECT_EQ(detect_host_paths().dmar_table, "/sys/firmware/acpi/tables/DMAR");
    ASSERT_EQ(setenv("XKVM_SYSFS_ROOT", "/tmp/fixture-host", 1), 0);
    EXPECT_EQ(detect_host_paths().sysfs_root, "/tmp/fixture-host/sys");
    EXPECT_EQ(detect_host_paths().dmar_table, "/tmp/fixture-host/sys/firmware/acpi/tables/DMAR");
    if (saved)
        setenv("XKVM_SYSFS_ROOT", keep.c_str(), 1);
    else
        unsetenv("XKVM_SYSFS_ROOT");
}

TEST(rdm_host_devices, PassthroughDrivers)
{
    EXPECT_TRUE(is_passthrough_driver("vfio-pci"));
    EXPECT_TRUE(is_passthrough_driver("pciback"));
    EXPECT_TRUE(is_passthrough_driver("xen-pciback"));
    EXPECT_FALSE(is_passthrough_driver("e1000e"));
    EXPECT_FALSE(is_passthrough_driver("vfio"));
    EXPECT_FALSE(is_passthrough_driver(""));
}

TEST(rdm_host_devices, BoundToPassthroughDriverIsAssignable)
{
    TempTree sys;
    sys.add_device(bdf(3, 0, 0), "vfio-pci");
    sys.add_device(bdf(4, 0, 0), "pciback");
    sys.add_device(bdf(5, 0, 0), "xen-pciback");
    for (uint8_t bus : { 3, 4, 5 }) {
        auto st = check_assignable(bdf(bus, 0, 0), sys.root());
        EXPECT_TRUE(st) << st.error().message;
    }
    auto all = check_assignable({ spec(bdf(3, 0, 0)), spec(bdf(4, 0, 0)), spec(bdf(5, 0, 0)) }, sys.root());
    EXPECT_TRUE(all) << all.error().message;
}

TEST(rdm_host_devices, MissingDeviceFailsNamingIt)
{
    TempTree sys;
    auto st = check_assignable(bdf(0x42, 0, 0), sys.root());
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, ENODEV);
    EXPECT_NE(st.error().message.find("0000:42:00.0"), std::string::npos) << st.error().message;
    EXPECT_NE(st.error().message.find("not present"), std::string::npos) << st.error().message;
}

TEST(rdm_host_devices, UnboundDeviceFails)
{
    TempTree sys;
    sys.add_device(bdf(3, 0, 0), "");
    auto st = check_assignable(bdf(3, 0, 0), sys.root());
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, EBUSY);
    EXPECT_NE(st.error().message.find("0000:03:00.0 is not bound to any driver"), std::string::npos)
        << st.error().message;
}

TEST(rdm_host_devices, DeviceOwnedByHostDriverFailsNamingDriver)
{
    TempTree sys;
    sys.add_device(bdf(3, 0, 0), "e1000e");
    auto st = check_assignable(bdf(3, 0, 0), sys.root());
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, EBUSY);
    EXPECT_NE(st.error().message.find("0000:03:00.0"), std::string::npos) << st.error().message;
    EXPECT_NE(st.error().message.find("'e1000e'"), std::string::npos) << st.error().message;
}

TEST(rdm_host_devices, DriverThatIsNotASymlinkFails)
{
    TempTree sys;
    sys.add_device(bdf(3, 0, 0), "");
    sys.write("bus/pci/devices/0000:03:00.0/driver", { 'x' });
    auto st = check_assignable(bdf(3, 0, 0), sys.root());
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, EBUSY);
}

TEST(rdm_host_devices, ListFailsOnFirstBadDeviceAndOnDuplicates)
{
    TempTree sys;
    sys.add_device(bdf(3, 0, 0), "vfio-pci");
    auto missing = check_assignable({ spec(bdf(3, 0, 0)), spec(bdf(9, 0, 0)) }, sys.root());
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("0000:09:00.0"), std::string::npos);

    auto dup = check_assignable({ spec(bdf(3, 0, 0)), spec(bdf(3, 0, 0)) }, sys.root());
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error().code, EINVAL);
    EXPECT_NE(dup.error().message.find("listed twice"), std::string::npos) << dup.error().message;
}

TEST(rdm_host_devices, ImpossibleBdfRejected)
{
    TempTree sys;
    EXPECT_EQ(check_assignable(bdf(0, 32, 0), sys.root()).error().code, EINVAL);
    EXPECT_EQ(check_assignable(bdf(0, 0, 8), sys.root()).error().code, EINVAL);
}

TEST(rdm_host_devices, BridgeSecondaryBusFromConfigSpace)
{
    TempTree sys;
    sys.add_bridge(bdf(0, 0x1c, 0), 0x05);
    auto bus = bridge_secondary_bus(bdf(0, 0x1c, 0), sys.root());
    ASSERT_TRUE(bus) << bus.error().message;
    EXPECT_EQ(*bus, 0x05);

    sys.write("bus/pci/devices/0000:00:1d.0/config", std::vector<uint8_t>(0x19, 0)); // too short
    auto short_cfg = bridge_secondary_bus(bdf(0, 0x1d, 0), sys.root());
    ASSERT_FALSE(short_cfg);
    EXPECT_EQ(short_cfg.error().code, EIO);

    auto missing = bridge_secondary_bus(bdf(0, 0x1e, 0), sys.root());
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ENOENT);
    EXPECT_NE(missing.error().message.find("0000:00:1e.0"), std::string::npos);
}
