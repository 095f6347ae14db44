// plan_to_json(): the dry-run view of `xkvm create -n`.
#include "toolstack/plan/plan_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "rdm/test_support.h"
#include "toolstack/plan/plan_test_support.h"

using namespace xkvm;
using namespace xkvm::plan;
using namespace xkvm::plan::test;
using nlohmann::json;
using ::testing::HasSubstr;

TEST(plan_json, ShowsWhatXlCreateDryRunCannotKnow)
{
    Scratch s;
    rdm::test::TempTree sys;
    sys.add_bridge(rdm::test::bdf(0, 0x1c, 0), 2);
    PlanContext ctx = context(s, 9);
    ctx.host.sysfs_root = sys.root();
    ctx.host.dmar_table = std::string(XKVM_RDM_TESTDATA) + "/laptop.dmar";
    ctx.topology = fixture_topology(2, 4, 4096);
    auto cfg = config_from(pvh_config(s, "vcpus = 2\nrdm = \"strategy=host\"\ncpuid = [ '0x40000002:edx=0x7' ]\n"),
                           { "memory=3072" });
    auto p = plan_domain(cfg, ctx);
    ASSERT_TRUE(p) << p.error().message;
    const json j = plan_to_json(*p);

    EXPECT_EQ(j.at("domid"), 9);
    EXPECT_EQ(j.at("name"), "guest");
    EXPECT_EQ(j.at("type"), "pvh");
    EXPECT_EQ(j.at("uuid_generated"), true);
    EXPECT_EQ(j.at("uuid").get<std::string>().size(), 36u);
    EXPECT_EQ(j.at("uuid").get<std::string>()[14], '4') << "version 4";
    EXPECT_EQ(j.at("max_evtchn_port"), 1023);
    EXPECT_EQ(j.at("console_log"), s.path("log") + "/console/9.log");

    const json& map = j.at("memory_map");
    ASSERT_EQ(map.size(), p->spec.memory_map.size());
    EXPECT_EQ(map[0], (json { { "start", "0x0" }, { "end", "0x9fbff" }, { "size_kib", 639 }, { "type", "ram" },
                              { "why", "low RAM" } }));
    EXPECT_EQ(map[1].at("type"), "reserved");
    EXPECT_EQ(map[3].at("start"), "0xcb000000");
    EXPECT_EQ(map[3].at("end"), "0xcb0fffff");

    const json& rdm = j.at("reserved_device_memory");
    ASSERT_EQ(rdm.size(), 3u);
    EXPECT_EQ(rdm[0].at("devices"), (json { "0000:00:14.0", "0000:00:1a.0" }));
    EXPECT_EQ(rdm[0].at("assigned"), json::array());
    EXPECT_EQ(rdm[0].at("policy"), "relaxed");
    EXPECT_EQ(rdm[0].at("in_guest_map"), false);
    EXPECT_EQ(rdm[2].at("in_guest_map"), true);

    const json& numa = j.at("numa");
    EXPECT_EQ(numa.at("host_nodes"), "0-1");
    EXPECT_EQ(numa.at("node_affinity"), "0");
    EXPECT_EQ(numa.at("source"), "automatic");
    EXPECT_THAT(numa.at("reason").get<std::string>(), HasSubstr("automatic placement chose node 0"));
    EXPECT_EQ(numa.at("memory_nodes"), json { 0 });
    ASSERT_EQ(numa.at("vcpus").size(), 2u);
    EXPECT_EQ(numa.at("vcpus")[1],
              (json { { "vcpu", 1 }, { "hard", "all" }, { "soft", "0-3" }, { "pinned", "0-3" } }));

    ASSERT_EQ(j.at("cpuid").size(), 1u);
    EXPECT_EQ(j.at("cpuid")[0], (json { { "leaf", "0x40000002" }, { "subleaf", nullptr }, { "reg", "edx" },
                                        { "set", "0x00000007" }, { "clear", "0xfffffff8" } }));

    EXPECT_EQ(j.at("warnings").size(), 2u) << j.at("warnings").dump();
    EXPECT_EQ(j.at("summary"), p->summary);
}

TEST(plan_json, ConfigUuidIsNotMarkedGenerated)
{
    Scratch s;
    auto cfg = config_from(pvh_config(s, "uuid = \"7b7a3c52-1c1e-4a0e-9a4f-3d2b5d0e8f11\"\n"));
    auto p = plan_domain(cfg, context(s));
    ASSERT_TRUE(p) << p.error().message;
    const json j = plan_to_json(*p);
    EXPECT_EQ(j.at("uuid"), "7b7a3c52-1c1e-4a0e-9a4f-3d2b5d0e8f11");
    EXPECT_EQ(j.at("uuid_generated"), false);
    EXPECT_EQ(j.at("numa").at("memory_nodes"), json::array());
    EXPECT_EQ(j.at("numa").at("vcpus")[0].at("pinned"), "all");
    EXPECT_EQ(j.at("warnings"), json::array());
}
