// Writes daemon_msg_fuzz's seed corpus: daemon_msg_seeds <dir>. Each seed is one scenario in the
// target's input format (daemon_msg_input.h), its bytes laid out as daemon_msg_frames.cpp reads them.
#include <cstdio>
#include <string>
#include <vector>

#include "daemon_msg_input.h"

using namespace xkvm::fuzz::daemon_msg;

namespace {

// A selector byte that names domain `index` of the table (case 0 of daemon_msg_frames.cpp's
// domid_value and dom_value: selector % 6 == 0, the index in the bits above the third).
uint8_t dom_sel(uint8_t index)
{
    unsigned base = unsigned(index) << 3;
    return static_cast<uint8_t>(base + (6 - base % 6) % 6);
}

class Seed {
public:
    // `policies`: one byte per domain made before the first step.
    explicit Seed(std::vector<uint8_t> policies)
    {
        u8(static_cast<uint8_t>(policies.size()));
        for (uint8_t p : policies)
            u8(p);
    }
    Seed& u8(uint8_t v) { m_bytes.push_back(v); return *this; }
    Seed& u16(uint16_t v) { return u8(v & 0xff).u8(v >> 8); }
    Seed& u32(uint32_t v) { return u16(v & 0xffff).u16(v >> 16); }
    Seed& text(const std::string& s)
    {
        m_bytes.insert(m_bytes.end(), s.begin(), s.end());
        return *this;
    }
    Seed& step(Step s, uint8_t who) { return u8(s).u8(who); }

    // The daemon's `which`-th request in flight to VMM `vmm`, answered ok (a status gets fields).
    Seed& ok(uint8_t vmm, uint8_t which = 0, bool status = false, uint8_t fds = 0)
    {
        step(kVmmReply, vmm).u8(which).u8(static_cast<uint8_t>(kOk | (fds << 3)));
        return status ? u8(0x31).u32(12345) : *this;
    }
    Seed& reply(uint8_t vmm, uint8_t which, uint8_t form) { return step(kVmmReply, vmm).u8(which).u8(form); }
    // kClientRequest of kClientOps[op] naming domain `dom` by name (its index in the table).
    Seed& ask(uint8_t op, uint16_t id, uint8_t dom, uint8_t extra = 0)
    {
        return step(kClientRequest, 0).u8(op).u16(id).u8(dom_sel(dom)).u8(extra);
    }
    Seed& list(uint16_t id) { return step(kClientRequest, 0).u8(2).u16(id).u8(0); }
    Seed& ping(uint16_t id) { return step(kClientRequest, 0).u8(0).u16(id); }
    Seed& time(uint8_t index) { return u8(kTime).u8(index); }
    Seed& poll() { return u8(kPoll); }
    // A VMM's evtchn-bind to domain `dom` (table index), one notification socket attached.
    Seed& bind(uint8_t vmm, uint8_t dom) { return step(kVmmRequest, vmm).u8(20).u8(0).u8(dom_sel(dom)).u32(5).u32(6); }
    Seed& shutdown(uint8_t vmm, uint8_t reason) { return step(kVmmEvent, vmm).u8(0).u8(reason).u8(4).text("oops"); }

    bool write(const std::string& dir, const char* name) const
    {
        std::string path = dir + "/" + name;
        FILE* f = std::fopen(path.c_str(), "wb");
        if (!f)
            return false;
        bool ok = std::fwrite(m_bytes.data(), 1, m_bytes.size(), f) == m_bytes.size();
        return std::fclose(f) == 0 && ok;
    }

private:
    std::vector<uint8_t> m_bytes;
};

constexpr uint8_t kDomainOp = 3, kPause = 4, kDestroy = 6, kShutdown = 7, kWait = 8, kVcpuPin = 9,
                  kVcpuSet = 10, kMemSet = 11, kMemMax = 12, kProbe = 13, kDebugKeys = 14, kXsWrite = 16, kSchedCredit = 19;
// Policy bytes: on_poweroff, on_reboot, on_crash (destroy 0, restart 1, rename-restart 2, preserve 3).
constexpr uint8_t kDestroyAll = 0x00, kRestartAll = 0x15, kRenameAll = 0x2a, kPreserveAll = 0x3f;

using Seeds = std::vector<std::pair<const char*, Seed>>;

// What a subverted VMM sends: replies, requests, events, xenstore, broken frames, its end.
void vmm_seeds(Seeds& out)
{
    auto add = [&](const char* name, Seed s) { out.emplace_back(name, std::move(s)); };
    add("no_domains", Seed({}).ping(1).list(2).step(kClientRequest, 0).u8(20).u16(3).ask(kDomainOp, 4, 0));
    add("list_two", Seed({ 0, 0 }).list(7).ok(0, 0, true).ok(1, 0, true));
    Seed deep({ 0, 0 });
    deep.list(7).reply(0, 0, kDeep).u16(34464).u8(1).ok(1, 0, true).ping(8);
    add("deep_reply", std::move(deep));
    Seed deep_ok({ 0 });
    deep_ok.list(7).reply(0, 0, kDeep).u16(30).u8(0).list(8).reply(0, 0, kDeep).u16(33).u8(0);
    add("deep_at_the_limit", std::move(deep_ok));
    Seed huge({ 0 });
    huge.list(7).reply(0, 0, kHuge).u8(200).list(8).reply(0, 0, kHuge).u8(0xfe).list(9).reply(0, 0, kHuge).u8(0xff);
    add("huge_reply", std::move(huge));
    Seed odd({ 0 });
    for (uint8_t i = 0; i < 7; ++i)
        odd.ask(kPause, i, 0).reply(0, 0, kOddId).u8(i);
    for (uint8_t i = 0; i < 4; ++i)
        odd.ask(kPause, 10 + i, 0).reply(0, 0, kOddOk).u8(i);
    odd.reply(0, 0, kNotAReply).u8(0).reply(0, 0, kNotAReply).u8(1);
    add("odd_replies", std::move(odd));
    Seed unsolicited({ 0 });
    unsolicited.reply(0, 0xf1, kOk).reply(0, 0xf2, kError).u8(5).u8(3).text("bad").reply(0, 0xf3, kOk | (3 << 3));
    add("unsolicited_replies", std::move(unsolicited));
    Seed bind({ 0, 0 });
    bind.bind(0, 1).ok(1, 0, false, 1).bind(1, 0).reply(0, 0, kError).u8(22).u8(2).text("no").bind(0, 1).ok(1, 0);
    add("evtchn_bind", std::move(bind));
    Seed flood({ 0, 0 });
    for (int i = 0; i < 40; ++i)
        flood.bind(0, 1);
    flood.time(5).step(kVmmEvent, 0).u8(2).u32(3).u8(dom_sel(1)).u32(4);
    add("evtchn_flood", std::move(flood));
    Seed exists({ 0 });
    exists.step(kVmmRequest, 0).u8(1).u8(0).u8(0).u32(0).u32(0).step(kVmmRequest, 0).u8(1).u8(1).u32(99).u32(0).u8(3).u16(7).u32(0).u32(0)
        .step(kVmmRequest, 0).u8(2).u8(2).u8(3).text("zap").u8(4).u32(0).u32(0);
    add("vmm_requests", std::move(exists));
    Seed actions({ kRestartAll, kRenameAll, kPreserveAll });
    actions.shutdown(0, 1).shutdown(1, 1).shutdown(2, 0).ok(3).ok(4).ok(3, 0).ok(4, 0).list(9);
    add("shutdown_actions", std::move(actions));
    Seed watchdog({ 0, 0 });
    // The first domain's on_watchdog is coredump-destroy; the created one's (how 0x10) coredump-restart.
    watchdog.shutdown(0, 5).step(kClientRequest, 0).u8(1).u16(1).u8(0x10).u8(0).u8(6).ok(2).ok(2).shutdown(2, 5).ok(3).ok(3);
    add("watchdog_coredump", std::move(watchdog));
    Seed malformed({ 0 });
    for (int i = 0; i < 60; ++i)
        malformed.step(kVmmEvent, 0).u8(static_cast<uint8_t>(5 | (i & 8)));
    add("malformed_shutdown_flood", std::move(malformed));
    Seed store({ 0, 0 });
    for (uint8_t i = 0; i < 48; ++i)
        store.step(kVmmXenstore, i & 1).u8(11).u8(0).u8(5).u8(9).text("data/k" + std::to_string(100 + i)).u8(0xf0).u16(i);
    store.step(kVmmXenstore, 0).u8(4).u8(0).u8(3).u8(1).text("t").u16(1).step(kVmmXenstore, 0).u8(6).u8(0).u8(0).u8(0).u16(2);
    add("xenstore_to_the_cap", std::move(store));
    Seed raw({ 0, 0 });
    raw.step(kVmmRaw, 0).u8(12).text(std::string("\xff\xff\xff\xff\x01\0\0\0abcd", 12)).list(3).ok(1, 0, true);
    raw.step(kVmmJunk, 1).u16(9).text("{\"id\":1}x");
    add("broken_frames", std::move(raw));
    Seed crash({ kRestartAll, 0 });
    crash.step(kVmmExit, 0).u8(0x89).ok(1).ok(1).step(kVmmExit, 0).u8(1).step(kVmmHangup, 2).poll();
    add("vmm_exits", std::move(crash));
    // The daemon dies after its loop recorded three domains; two VMMs outlive it. The restarted
    // daemon asks each to accept adoption: the first does, the second claims another domain.
    Seed restart({ 0, kRestartAll, 0 });
    restart.poll().u8(kDaemonRestart).u8(0x03).ok(0).u8(0).ok(1).u8(1).u32(7).list(5).ok(0, 0, true).poll();
    add("daemon_restart", std::move(restart));
}

// What clients ask, with VMMs answering; time passing.
void client_seeds(Seeds& out)
{
    auto add = [&](const char* name, Seed s) { out.emplace_back(name, std::move(s)); };
    Seed ops({ 0, kPreserveAll });
    ops.ask(kDomainOp, 1, 0).ask(kPause, 2, 0).ok(0).ask(kProbe, 3, 1).ok(1).ask(kShutdown, 4, 0, 4).ok(0)
        .ask(kVcpuSet, 5, 0, 1).ask(kMemSet, 6, 0, 3).ok(0).ask(kMemMax, 7, 1, 5).ok(1)
        .step(kClientRequest, 0).u8(kDebugKeys).u16(8).u8(1).ok(0).ok(1)
        .step(kClientRequest, 0).u8(kXsWrite).u16(9).u8(0).u8(1).u8(1).text("v").ask(kWait, 10, 1)
        .ask(kSchedCredit, 12, 1, 0x13).ask(kSchedCredit, 13, 0, 0x80)
        .ask(kDestroy, 11, 0).ok(0).step(kVmmExit, 0).u8(0).time(7);
    add("client_ops", std::move(ops));
    Seed pin({ 0 });
    pin.ask(kVcpuPin, 1, 0, 1).u8(0).u8(1).u8(3).u8(1).u8(2).u8(0).ok(0).ask(kVcpuPin, 2, 0, 4).ask(kVcpuPin, 3, 0, 9).u8(0).u8(0).u8(0).u8(0).u8(0);
    add("vcpu_pin", std::move(pin));
    Seed create({});
    create.step(kClientRequest, 1).u8(1).u16(1).u8(0x45).u8(0x15).u8(6).ok(0).ok(0).step(kClientRequest, 1).u8(1).u16(2).u8(0).u8(0).u8(6)
        .step(kClientRequest, 2).u8(1).u16(3).u8(8).u8(0x80).u8(0x81).u8(2).u8(1).u8(2).u8(0).u8(1).u8(9).u8(0).time(7);
    add("creates", std::move(create));
    Seed timing({ 0, 0 });
    timing.list(1).ask(kPause, 2, 1).time(3).time(5).ok(0, 0, true).ok(1).time(7).poll();
    add("expiry_and_late_replies", std::move(timing));
    // A failing xenstore-read leaked its half-built reply (GCC, TRY inside a braced initializer).
    add("xenstore_read_missing", std::move(Seed({}).step(kClientRequest, 0).u8(15).u16(1).u8(3).u8(4).text("/nop").u8(0)));
    Seed junk({ 0 });
    junk.step(kClientJunk, 0).u8(0).u8(5).text("[1,2]").step(kClientJunk, 1).u8(2).u8(8).text("\0\0\0\x09{}}}").step(kClientJunk, 2).u8(0).u8(10)
        .text("{\"id\":\"x\"}").step(kClientGone, 2).ping(4);
    add("client_junk", std::move(junk));
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
        return 2;
    }
    Seeds seeds;
    vmm_seeds(seeds);
    client_seeds(seeds);
    for (auto& [name, seed] : seeds)
        if (!seed.write(argv[1], name)) {
            std::perror(name);
            return 1;
        }
    return 0;
}
