#include "toolstack/cli/host_info.h"

#include <gtest/gtest.h>

namespace xkvm::cli {
namespace {

HostFacts sample()
{
    HostFacts f;
    f.host = "box";
    f.release = "6.1.0";
    f.version = "#1 SMP";
    f.machine = "x86_64";
    f.nr_cpus = 2;
    f.max_cpu_id = 1;
    f.cpu_khz = 2399998;
    f.hw_caps = { 0x178bfbff, 1, 2, 3, 4, 5, 6, 7 };
    f.hap = true;
    f.accel = "kvm";
    f.total_mib = 24000;
    f.free_mib = 20000;
    return f;
}

TEST(ToolstackInfo, FormatsXlKeyValueLines)
{
    std::string out = format_info(info_fields(sample()));
    EXPECT_NE(out.find("host                   : box\n"), std::string::npos);
    EXPECT_NE(out.find("nr_cpus                : 2\n"), std::string::npos);
    EXPECT_NE(out.find("cpu_mhz                : 2399.998\n"), std::string::npos);
    EXPECT_NE(out.find("hw_caps                : 178bfbff:00000001:00000002:00000003:00000004:00000005:00000006:00000007\n"),
              std::string::npos);
    EXPECT_NE(out.find("virt_caps              : hvm hap\n"), std::string::npos);
    EXPECT_NE(out.find("xkvm_accel             : kvm\n"), std::string::npos);
    EXPECT_NE(out.find("total_memory           : 24000\n"), std::string::npos);
    EXPECT_NE(out.find("xend_config_format     : 4\n"), std::string::npos);
}

TEST(ToolstackInfo, EmulatedCpuOffersNoHap)
{
    HostFacts f = sample();
    f.accel = "emu";
    std::string out = format_info(info_fields(f));
    EXPECT_NE(out.find("virt_caps              : hvm\n"), std::string::npos);
    EXPECT_NE(out.find("xkvm_accel             : emu\n"), std::string::npos);
}

TEST(ToolstackInfo, XenCapsNameTheHvmGuestKinds)
{
    std::string caps;
    for (auto& [k, v] : info_fields(sample()))
        if (k == "xen_caps")
            caps = v;
    for (const char* kind : { "hvm-3.0-x86_64", "hvm-3.0-x86_32", "hvm-3.0-x86_32p" })
        EXPECT_NE(caps.find(kind), std::string::npos) << kind;
}

TEST(ToolstackInfo, KeepsXlsOrder)
{
    auto fields = info_fields(sample());
    ASSERT_GE(fields.size(), 30u);
    EXPECT_EQ(fields.front().first, "host");
    EXPECT_EQ(fields[4].first, "nr_cpus");
    EXPECT_EQ(fields.back().first, "xend_config_format");
}

TEST(ToolstackInfo, OneKeyPrintsJustItsValue)
{
    EXPECT_EQ(format_info(info_fields(sample()), "nr_cpus"), "2\n");
    EXPECT_EQ(format_info(info_fields(sample()), "no_such_key"), "");
}

TEST(ToolstackInfo, ReadsThisHost)
{
    HostFacts f = read_host_facts();
    EXPECT_FALSE(f.machine.empty());
    EXPECT_GE(f.nr_cpus, 1u);
    EXPECT_GT(f.total_mib, 0u);
}

} // namespace
} // namespace xkvm::cli
