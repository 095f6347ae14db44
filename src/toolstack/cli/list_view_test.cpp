#include "toolstack/cli/list_view.h"

#include <gtest/gtest.h>

namespace xkvm::cli {
namespace {

using nlohmann::json;

numa::Topology two_cpus()
{
    // The real host would do for most checks; a fixed one keeps "all" vs "0-1" stable.
    auto t = numa::Topology::detect();
    EXPECT_TRUE(t);
    return *t;
}

json running_record()
{
    return json::parse(R"({
        "domid": 3, "name": "web", "uuid": "00112233-4455-6677-8899-aabbccddeeff", "state": "running",
        "memory_mib": 64, "maxmem_mib": 64, "vcpus": 2, "max_vcpus": 2, "start_time": 0,
        "hard": [[0], []], "soft": [], "nodes": [0],
        "status": { "paused": false, "cpu_time_ns": 2500000000,
                    "vcpus": [ { "id": 0, "tid": 10, "cpu": 0, "time_ns": 2000000000, "online": true,
                                 "running": true, "blocked": false, "paused": false },
                               { "id": 1, "tid": 11, "cpu": 0, "time_ns": 500000000, "online": false,
                                 "running": false, "blocked": false, "paused": true } ] } })");
}

TEST(ToolstackListView, RunningDomainRow)
{
    auto topo = two_cpus();
    auto e = domain_entry(topo, running_record());
    EXPECT_EQ(e.name, "web");
    EXPECT_EQ(e.domid, 3u);
    EXPECT_EQ(e.memory_mib, 64u);
    EXPECT_EQ(e.vcpus_online, 2u);
    EXPECT_TRUE(e.running);
    EXPECT_FALSE(e.blocked);
    EXPECT_FALSE(e.paused);
    EXPECT_FALSE(e.shutdown_reason);
    EXPECT_DOUBLE_EQ(e.time_s, 2.5);
    std::string row = plan::format_domain_list_row(topo, e, false);
    EXPECT_EQ(row.substr(0, 40), fmt::format("{:<40}", "web"));
    EXPECT_NE(row.find("     r-----"), std::string::npos) << row;
    EXPECT_NE(row.find("     2.5\n"), std::string::npos) << row;
}

TEST(ToolstackListView, PausedBlockedAndShutDown)
{
    auto topo = two_cpus();
    auto rec = running_record();
    rec["status"]["paused"] = true;
    rec["status"]["vcpus"][0]["running"] = false;
    rec["status"]["vcpus"][0]["blocked"] = true;
    auto e = domain_entry(topo, rec);
    EXPECT_TRUE(e.paused);
    EXPECT_TRUE(e.blocked);
    EXPECT_NE(plan::format_domain_list_row(topo, e, false).find("-bp---"), std::string::npos);

    rec["state"] = "shutdown";
    rec["shutdown_reason"] = 3; // crash
    auto c = domain_entry(topo, rec);
    ASSERT_TRUE(c.shutdown_reason);
    EXPECT_NE(plan::format_domain_list_row(topo, c, false).find("-bpsc-"), std::string::npos);
    EXPECT_NE(verbose_suffix(rec).find("00112233-4455-6677-8899-aabbccddeeff        3"), std::string::npos);
}

TEST(ToolstackListView, CreatingDomainShowsPausedWithoutStatus)
{
    auto topo = two_cpus();
    json rec = { { "domid", 1 }, { "name", "x" }, { "state", "creating" } };
    auto e = domain_entry(topo, rec);
    EXPECT_TRUE(e.paused);
    EXPECT_FALSE(e.running);
    EXPECT_EQ(e.time_s, 0);
}

TEST(ToolstackListView, SurvivesMalformedRecords)
{
    auto topo = two_cpus();
    for (const char* text : { "null", "[]", R"({"status": 5})", R"({"status": {"vcpus": 7}, "hard": "x"})" }) {
        auto j = json::parse(text);
        auto e = domain_entry(topo, j);
        // Nothing usable in the record: an unnamed, not-running domain with no vCPUs and no time.
        EXPECT_FALSE(e.running) << text;
        EXPECT_EQ(e.time_s, 0) << text;
        EXPECT_TRUE(vcpu_entries(topo, j).empty()) << text;
        // No vCPU count and no usable affinity: one vCPU allowed on every online CPU, hard and soft.
        auto affinity = current_affinity(topo, j);
        ASSERT_EQ(affinity.size(), 1u) << text;
        EXPECT_EQ(affinity[0].hard, topo.online_cpus()) << text;
        EXPECT_EQ(affinity[0].soft, topo.online_cpus()) << text;
    }
}

TEST(ToolstackListView, HostIsDomain0)
{
    auto topo = two_cpus();
    auto e = host_entry(topo, 2048, 12.34);
    std::string row = plan::format_domain_list_row(topo, e, false);
    EXPECT_EQ(row.substr(0, 8), "Domain-0");
    EXPECT_NE(row.find("     0  2048"), std::string::npos) << row;
    EXPECT_NE(row.find("r-----"), std::string::npos);
}

TEST(ToolstackListView, VcpuEntriesCarryAffinity)
{
    auto topo = two_cpus();
    auto entries = vcpu_entries(topo, running_record());
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0].hard, numa::CpuSet({ 0 }));
    EXPECT_EQ(entries[1].hard, topo.online_cpus()); // none set: every online CPU
    EXPECT_TRUE(entries[0].running);
    EXPECT_FALSE(entries[1].online);
    EXPECT_DOUBLE_EQ(entries[0].time_s, 2.0);
}

TEST(ToolstackListView, Uptime)
{
    EXPECT_EQ(uptime_string(59, false), " 0:00:59");
    EXPECT_EQ(uptime_string(3600 + 61, false), " 1:01:01");
    EXPECT_EQ(uptime_string(86400 + 7200, false), "1 day,  2:00:00");
    EXPECT_EQ(uptime_string(3 * 86400, true), "3 days,  0:00");
}

// Issue 11: xl sched-credit's columns; a malformed row shows zeros rather than stopping the CLI.
TEST(ListView, SchedCreditTableHasXlsColumns)
{
    json rows = json::parse(R"([ { "domid": 0, "name": "Domain-0", "weight": 1024, "cap": 0 },
                                 { "domid": 3, "name": "web", "weight": 512, "cap": 20 },
                                 { "domid": "x", "weight": -1 } ])");
    EXPECT_EQ(sched_credit_table(rows),
              "Name                                ID Weight  Cap\n"
              "Domain-0                             0   1024    0\n"
              "web                                  3    512   20\n"
              "?                                    0      0    0\n");
}

} // namespace
} // namespace xkvm::cli
