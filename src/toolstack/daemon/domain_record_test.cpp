// The record a restarted xkvmd re-adopts a domain from (domain_record.h): it round-trips, and a
// record that is wrong in any way is refused with an error naming what is wrong (the run directory
// is an input). DomainTable::adopt keeps ids and names unique and new ids past the adopted ones.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "ipc/rundir.h"
#include "toolstack/daemon/domain_record.h"

namespace xkvm::toolstack {
namespace {

DomainRecord sample()
{
    DomainRecord rec;
    rec.domid = 5;
    rec.name = "web";
    rec.uuid = { 1, 2, 3, 4, 5, 6, 0x47, 8, 0x89, 10, 11, 12, 13, 14, 15, 16 };
    rec.state = DomainState::Running;
    rec.vmm_pid = 4242;
    rec.start_time = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
    rec.config.name = "web";
    rec.config.type = config::DomainType::Pvh;
    rec.config.kernel = "/boot/guest.elf";
    rec.config.memory_mib = rec.config.maxmem_mib = 64;
    rec.spec = { { "domid", 5 }, { "name", "web" } };
    rec.hard = { { 0, 1 }, { 2 } };
    rec.soft = {};
    rec.nodes = { 0 };
    rec.restarts = 2;
    return rec;
}

std::string error_of(const ipc::Json& j, uint32_t domid = 5)
{
    auto r = parse_record(j.dump(), domid);
    return r ? "<accepted>" : r.error().message;
}

TEST(DomainRecord, RoundTrips)
{
    DomainRecord rec = sample();
    rec.state = DomainState::Shutdown;
    rec.shutdown_reason = 3;
    rec.shutdown_detail = "crashed";
    auto back = parse_record(record_to_json(rec).dump(), 5);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->domid, 5u);
    EXPECT_EQ(back->name, "web");
    EXPECT_EQ(back->uuid, rec.uuid);
    EXPECT_EQ(back->state, DomainState::Shutdown);
    EXPECT_EQ(back->shutdown_reason, 3u);
    EXPECT_EQ(back->shutdown_detail, "crashed");
    EXPECT_EQ(back->vmm_pid, 4242);
    EXPECT_EQ(back->start_time, rec.start_time);
    EXPECT_EQ(back->config.kernel, "/boot/guest.elf");
    EXPECT_EQ(back->config.memory_mib, 64u);
    EXPECT_EQ(back->spec, rec.spec);
    EXPECT_EQ(back->hard, rec.hard);
    EXPECT_EQ(back->nodes, rec.nodes);
    EXPECT_EQ(back->restarts, 2u);
}

TEST(DomainRecord, MalformedRecordsAreRefusedSayingWhy)
{
    ipc::Json good = record_to_json(sample());
    EXPECT_EQ(error_of(good), "<accepted>");

    EXPECT_NE(error_of(good, 6).find("domain 6's file"), std::string::npos);
    auto with = [&](const char* key, ipc::Json v) {
        ipc::Json j = good;
        j[key] = std::move(v);
        return error_of(j);
    };
    auto without = [&](const char* key) {
        ipc::Json j = good;
        j.erase(key);
        return error_of(j);
    };
    EXPECT_NE(with("version", 2).find("version 2"), std::string::npos);
    EXPECT_NE(with("domid", 0).find("domid"), std::string::npos);
    EXPECT_NE(with("domid", 0x7ff0).find("domid"), std::string::npos);
    EXPECT_NE(with("name", "").find("name"), std::string::npos);
    EXPECT_NE(with("name", 7).find("name"), std::string::npos);
    EXPECT_NE(with("uuid", ipc::Json::array({ 1, 2 })).find("uuid"), std::string::npos);
    EXPECT_NE(with("uuid", "not bytes").find("uuid"), std::string::npos);
    EXPECT_NE(with("state", "creating").find("state"), std::string::npos);
    EXPECT_NE(with("vmm_pid", 1).find("vmm_pid"), std::string::npos);
    EXPECT_NE(with("vmm_pid", -5).find("vmm_pid"), std::string::npos);
    EXPECT_NE(with("vmm_pid", 1ull << 31).find("vmm_pid"), std::string::npos); // no pid_t
    EXPECT_NE(with("hard", ipc::Json::array({ "x" })).find("cpus"), std::string::npos);
    EXPECT_NE(with("config", "text").find("config"), std::string::npos);
    EXPECT_NE(with("spec", ipc::Json::array()).find("spec"), std::string::npos);
    EXPECT_NE(with("spec", { { "domid", 9 } }).find("spec"), std::string::npos);
    EXPECT_NE(without("start_time").find("start_time"), std::string::npos);
    EXPECT_NE(without("restarts").find("restarts"), std::string::npos);

    auto r = parse_record("{\"domid\": ", 5);
    EXPECT_FALSE(r);
    std::string deep(100'000, '[');
    r = parse_record(deep, 5);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("deep"), std::string::npos) << r.error().message;
    r = parse_record(std::string(kMaxRecordBytes + 1, ' '), 5);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, E2BIG);
    EXPECT_FALSE(parse_record("[1, 2]", 5));
}

TEST(DomainRecord, SavedRecordsLoadBackAndBadOnesSayWhichFile)
{
    char tmpl[] = "/tmp/xkvm-records-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    std::string rundir = tmpl;
    DomainRecord rec = sample();
    ASSERT_TRUE(save_record(rundir, 5, record_to_json(rec).dump()));
    std::ofstream(ipc::domain_record_path(rundir, 6)) << "{ not json";
    std::ofstream(ipc::domain_records_dir(rundir) + "/7.json.tmp") << "half";
    std::ofstream(ipc::domain_records_dir(rundir) + "/README") << "ignored";
    // A symlinked record is not followed.
    ASSERT_EQ(::symlink("/etc/passwd", ipc::domain_record_path(rundir, 8).c_str()), 0);

    auto loaded = load_records(rundir);
    ASSERT_EQ(loaded.size(), 3u);
    std::sort(loaded.begin(), loaded.end(), [](auto& a, auto& b) { return a.domid < b.domid; });
    ASSERT_TRUE(loaded[0].record) << loaded[0].record.error().message;
    EXPECT_EQ(loaded[0].record->name, "web");
    EXPECT_FALSE(loaded[1].record);
    EXPECT_EQ(loaded[1].domid, 6u);
    EXPECT_FALSE(loaded[2].record);
    EXPECT_EQ(loaded[2].record.error().code, ELOOP);
    EXPECT_FALSE(std::filesystem::exists(ipc::domain_records_dir(rundir) + "/7.json.tmp"));

    remove_record(rundir, 5);
    EXPECT_FALSE(std::filesystem::exists(ipc::domain_record_path(rundir, 5)));
    std::filesystem::remove_all(rundir);
}

TEST(DomainTableAdopt, KeepsIdsAndNamesUniqueAndAllocatesPastThem)
{
    DomainTable t;
    DomainRecord a = sample();
    a.domid = 40;
    ASSERT_TRUE(t.adopt(a));
    EXPECT_EQ(t.find_name("web")->domid, 40u);
    DomainRecord same_id = sample();
    same_id.domid = 40;
    same_id.name = "other";
    EXPECT_EQ(t.adopt(same_id).error().code, EEXIST);
    DomainRecord same_name = sample();
    same_name.domid = 41;
    EXPECT_EQ(t.adopt(same_name).error().code, EEXIST);
    DomainRecord host = sample();
    host.domid = 0;
    host.name = "host";
    EXPECT_EQ(t.adopt(host).error().code, EINVAL);

    t.skip_past(50);
    auto fresh = t.add("new");
    ASSERT_TRUE(fresh);
    EXPECT_EQ((*fresh)->domid, 51u);
    DomainRecord low = sample();
    low.domid = 3;
    low.name = "low";
    ASSERT_TRUE(t.adopt(low));
    EXPECT_EQ((*t.add("next"))->domid, 52u); // never back over ids handed out
}

} // namespace
} // namespace xkvm::toolstack
