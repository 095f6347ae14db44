// Issue 11, a real Daemon driven through DaemonTestPeer: a domain created by a client, and what its
// VMM, subverted, can and cannot do to the daemon and to a neighbour.
#include "toolstack/daemon/daemon_test_peer.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>

#include <filesystem>

#include "base/log_capture.h"
#include "config/json.h"
#include "ipc/ops.h"
#include "vmm/vm_spec.h"

namespace xkvm::toolstack {
namespace {

using ipc::Json;

struct PeerFixture : ::testing::Test {
    void SetUp() override
    {
        char tmpl[] = "/tmp/xkvmd-peer-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir = tmpl;
        DaemonOptions opts;
        opts.rundir = dir;
        auto p = DaemonTestPeer::create(std::move(opts));
        ASSERT_TRUE(p) << p.error().message;
        peer = p.release_value();
        auto c = peer->connect_client();
        ASSERT_TRUE(c);
        client_id = c->first;
        client = ipc::Channel::create(std::move(c->second)).release_value();
    }
    void TearDown() override
    {
        peer.reset();
        std::error_code ec;
        // The daemon leaves nothing behind in its rundir once it is gone.
        EXPECT_TRUE(std::filesystem::is_empty(dir, ec)) << dir;
        std::filesystem::remove_all(dir, ec);
    }

    Json ask(const Json& req)
    {
        EXPECT_TRUE(client->send(ipc::json_frame(req)));
        EXPECT_TRUE(peer->serve_client(client_id));
        return settle();
    }
    // Plays every VMM until nothing is left to do: each request is answered ok (status with a
    // field the client must not see), and the client's reply, if there is one, is returned.
    Json settle()
    {
        for (int round = 0; round < 8; ++round) {
            for (auto& v : peer->take_spawned())
                vmms.push_back(std::move(v));
            bool any = false;
            for (auto& v : vmms) {
                std::vector<ipc::Frame> frames;
                if (!v.chan || !v.chan->receive(frames))
                    continue;
                for (auto& f : frames) {
                    auto j = ipc::parse_json(f);
                    if (!j || !j->contains("op"))
                        continue;
                    any = true;
                    Json r = ipc::ok_reply((*j)["id"].get<uint64_t>(), Json { { "paused", false }, { "secret", 1 } });
                    EXPECT_TRUE(v.chan->send(ipc::json_frame(r)));
                }
                peer->serve_vmm(v.pid);
            }
            if (!any)
                break;
        }
        std::vector<ipc::Frame> frames;
        EXPECT_TRUE(client->receive(frames));
        if (frames.empty())
            return Json();
        EXPECT_EQ(frames.size(), 1u);
        return ipc::parse_json(frames.back()).value_or(Json());
    }
    Json create(const std::string& name)
    {
        config::DomainConfig cfg;
        cfg.name = name;
        cfg.type = config::DomainType::Pvh;
        cfg.kernel = "/nonexistent";
        cfg.memory_mib = cfg.maxmem_mib = 16;
        vmm::VmSpec spec;
        spec.name = name;
        spec.kernel = cfg.kernel;
        spec.memory_mib = spec.maxmem_mib = 16;
        return ask(Json { { "op", std::string(ipc::ops::kCreate) }, { "id", ++next_id }, { "config", config::to_json(cfg) },
                          { "spec", vmm::vm_spec_to_json(spec) } });
    }
    DaemonTestPeer::FakeVmm& vmm_of(uint32_t domid)
    {
        for (auto& v : vmms)
            if (v.domid == domid)
                return v;
        ADD_FAILURE() << "no VMM for domain " << domid;
        return vmms.front();
    }

    std::string dir;
    std::unique_ptr<DaemonTestPeer> peer;
    uint64_t client_id = 0;
    std::unique_ptr<ipc::Channel> client;
    std::vector<DaemonTestPeer::FakeVmm> vmms;
    uint64_t next_id = 0;
};

TEST_F(PeerFixture, ACreatedDomainRunsAndListsOnlyWhatXlShows)
{
    Json r = create("one");
    ASSERT_TRUE(r.value("ok", false)) << r.dump();
    uint32_t domid = r["domid"].get<uint32_t>();
    auto* rec = peer->table().find(domid);
    ASSERT_NE(rec, nullptr);
    EXPECT_EQ(rec->state, DomainState::Running);
    EXPECT_TRUE(peer->check_consistent());
    Json list = ask(Json { { "op", std::string(ipc::ops::kList) }, { "id", ++next_id } });
    ASSERT_TRUE(list.value("ok", false)) << list.dump();
    EXPECT_EQ(list["domains"][0]["status"], (Json { { "paused", false } }));
}

TEST_F(PeerFixture, ADeepReplyEndsOnlyItsOwnDomain)
{
    uint32_t a = create("a")["domid"].get<uint32_t>(), b = create("b")["domid"].get<uint32_t>();
    Json before = peer->record_json(b);
    // A status request in flight to a's VMM, answered with JSON nested 30,000 deep (within the size
    // a VMM's message may have: its depth alone is refused).
    ASSERT_TRUE(client->send(ipc::json_frame(Json { { "op", std::string(ipc::ops::kList) }, { "id", ++next_id } })));
    ASSERT_TRUE(peer->serve_client(client_id));
    auto& va = vmm_of(a);
    std::string deep = "{\"id\":1,\"ok\":true,\"x\":" + std::string(30'000, '[') + std::string(30'000, ']') + "}";
    ASSERT_TRUE(va.chan->send(ipc::Frame::make(ipc::FrameKind::Json, deep)));
    ASSERT_TRUE(peer->serve_vmm(va.pid));
    ASSERT_NE(peer->link(va.pid), nullptr);
    EXPECT_FALSE(peer->link(va.pid)->channel_open());
    // b's VMM answers its status; the list completes, and b is as it was.
    Json list = settle();
    EXPECT_TRUE(list.value("ok", false)) << list.dump();
    EXPECT_EQ(peer->record_json(b), before);
    EXPECT_TRUE(peer->check_consistent());
    // a's VMM dies of it: a is handled as a crash (on_crash=destroy); b keeps running.
    peer->vmm_ended(va.pid, SIGKILL);
    EXPECT_EQ(peer->table().find(a), nullptr);
    ASSERT_NE(peer->table().find(b), nullptr);
    EXPECT_EQ(peer->table().find(b)->state, DomainState::Running);
    EXPECT_TRUE(peer->check_consistent());
}

TEST_F(PeerFixture, AVmmMessageOverAVmmsSizeLimitEndsOnlyItsOwnDomain)
{
    uint32_t a = create("a")["domid"].get<uint32_t>(), b = create("b")["domid"].get<uint32_t>();
    Json before = peer->record_json(b);
    const size_t limit = VmmLink::kJsonLimits.max_bytes;
    // Events of no kind the daemon knows: just under the limit, one is read and ignored.
    auto& va = vmm_of(a);
    ASSERT_TRUE(va.chan->send(ipc::json_frame(Json { { "event", "x" }, { "pad", std::string(limit - 64, 'x') } })));
    ASSERT_TRUE(peer->serve_vmm(va.pid));
    EXPECT_TRUE(peer->link(va.pid)->channel_open());
    // Just over it, the VMM breaks the protocol: cut off before anything is parsed.
    ASSERT_TRUE(va.chan->send(ipc::json_frame(Json { { "event", "x" }, { "pad", std::string(limit, 'x') } })));
    ASSERT_TRUE(peer->serve_vmm(va.pid));
    EXPECT_FALSE(peer->link(va.pid)->channel_open());
    EXPECT_EQ(peer->record_json(b), before);
    EXPECT_TRUE(peer->check_consistent());
}

TEST_F(PeerFixture, AFailingXenstoreReadIsAnsweredWithItsErrorAndLeaksNothing)
{
    // Under LeakSanitizer this test also fails if the failed read leaks what its reply had built.
    for (int i = 0; i < 3; ++i) {
        Json r = ask(Json { { "op", std::string(ipc::ops::kXenstoreRead) }, { "id", ++next_id }, { "path", "/nowhere" } });
        EXPECT_FALSE(r.value("ok", true)) << r.dump();
        EXPECT_EQ(r.value("code", 0), ENOENT) << r.dump();
    }
}

TEST_F(PeerFixture, MalformedShutdownEventsAreLoggedWithinTheRateLimit)
{
    uint32_t a = create("a")["domid"].get<uint32_t>();
    log::LogCapture lines("xkvmd");
    auto& va = vmm_of(a);
    for (int i = 0; i < 200; ++i)
        ASSERT_TRUE(va.chan->send(ipc::json_frame(Json { { "event", "shutdown" }, { "reason", "x" } })));
    ASSERT_TRUE(peer->serve_vmm(va.pid));
    EXPECT_LE(lines.lines(), 2u * RateLimiter::kDefaultBurst);
    EXPECT_EQ(peer->table().find(a)->state, DomainState::Running);
}

// Issue 11: a daemon killed with SIGKILL and started again takes back the domains whose VMMs
// outlived it, on their word; a VMM that claims another domain is not trusted with this one.
TEST_F(PeerFixture, ARestartedDaemonTakesBackLiveVmmsOnTheirWordAndCrashesTheRest)
{
    uint32_t a = create("a")["domid"].get<uint32_t>(), b = create("b")["domid"].get<uint32_t>(),
             c = create("c")["domid"].get<uint32_t>();
    peer->poll(Daemon::Clock::now()); // the loop's pass records the domains
    pid_t pa = vmm_of(a).pid, pb = vmm_of(b).pid;
    vmms.clear();
    ASSERT_TRUE(peer->crash_and_restart({ pa, pb }));
    auto back = peer->take_spawned();
    ASSERT_EQ(back.size(), 2u);
    for (auto& v : back) {
        EXPECT_TRUE(v.adopted);
        std::vector<ipc::Frame> frames;
        ASSERT_TRUE(v.chan->receive(frames));
        ASSERT_EQ(frames.size(), 1u);
        Json req = ipc::parse_json(frames[0]).value_or(Json());
        ASSERT_EQ(req.value("op", ""), ipc::ops::kAdopt) << req.dump();
        // b's VMM says it is some other domain.
        uint32_t says = v.pid == pa ? a : 999;
        ASSERT_TRUE(v.chan->send(ipc::json_frame(ipc::ok_reply(req["id"].get<uint64_t>(), Json { { "domid", says } }))));
        peer->serve_vmm(v.pid);
    }
    ASSERT_NE(peer->table().find(a), nullptr);
    EXPECT_EQ(peer->table().find(a)->vmm_pid, pa);
    EXPECT_EQ(peer->table().find(a)->state, DomainState::Running);
    EXPECT_EQ(peer->table().find(c), nullptr); // its VMM died with the daemon: on_crash=destroy
    EXPECT_TRUE(peer->check_consistent());
    // b's VMM was killed (it ends, as its pidfd would say): b is handled as a crash, a runs on.
    peer->vmm_ended(pb, -1);
    EXPECT_EQ(peer->table().find(b), nullptr);
    ASSERT_NE(peer->table().find(a), nullptr);
    EXPECT_EQ(peer->table().find(a)->state, DomainState::Running);
    for (auto& v : back)
        vmms.push_back(std::move(v));
    // A client of the new daemon sees a alone.
    auto c2 = peer->connect_client();
    ASSERT_TRUE(c2);
    client_id = c2->first;
    client = ipc::Channel::create(std::move(c2->second)).release_value();
    Json list = ask(Json { { "op", std::string(ipc::ops::kList) }, { "id", ++next_id } });
    ASSERT_EQ(list.value("ok", false), true) << list.dump();
    ASSERT_EQ(list["domains"].size(), 1u);
    EXPECT_EQ(list["domains"][0].value("name", ""), "a");
    peer->vmm_ended(pa, -1); // before the daemon goes: it would wait for an adopted VMM's end
    EXPECT_EQ(peer->vmm_count(), 0u);
}

} // namespace
} // namespace xkvm::toolstack
