// Issue 10 (label vmevent): vm_event events from conformance guests to a monitor attached to the
// VMM, through the ring and through per-vCPU slots; nothing lost when the ring is tiny and full; the
// guest running on when the monitor goes mid-storm.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "guest_test.h"
#include "vmevent_support.h"
#include "xkvm/guest_paths.h"

using namespace xkvm;
using namespace xkvm::test;
using namespace xkvm::vmevent;
using namespace std::chrono_literals;

namespace {

using VmEvent = GuestTest;

constexpr uint64_t kMagic = 0x5e00000000000000ull;
constexpr uint64_t kMarkMagic = 0x5f00000000000000ull;

// The guest's marks (guests/vmevent/vmevent.c).
enum Mark : unsigned {
    kMarkWatch = 1,
    kMarkDeny = 2,
    kMarkLift = 3,
    kMarkSetRegs = 4,
    kMarkStepStart = 5,
    kMarkStepStop = 6,
    kMarkBreakpoints = 7,
    kMarkCr3 = 8,
};
constexpr uint64_t kSetRegsRax = 0x600d;

GuestOptions vmevent_guest(const std::string& mode, const std::string& name, unsigned vcpus, unsigned count)
{
    GuestOptions o;
    o.kernel = XKVM_GUEST_ELF("vmevent64");
    o.name = name;
    o.vcpus = vcpus;
    o.cmdline = "mode=" + mode + " vcpus=" + std::to_string(vcpus) + " count=" + std::to_string(count);
    o.timeout = 120s;
    return o;
}

GuestOptions request_guest(const std::string& name, unsigned vcpus, unsigned count)
{
    return vmevent_guest("request", name, vcpus, count);
}

std::optional<Mark> mark_of(const Event& e)
{
    if (e.reason != kReasonGuestRequest || (e.regs.x86.rdx & 0xff00000000000000ull) != kMarkMagic)
        return std::nullopt;
    return static_cast<Mark>(e.regs.x86.rdx & 0xff);
}

// A response that loads the request's registers with `rip` and `rax` changed.
Event with_registers(const Event& request, uint64_t rip, uint64_t rax)
{
    Event rsp = Client::resume(request);
    rsp.flags |= kFlagSetRegisters;
    rsp.regs.x86 = request.regs.x86;
    rsp.regs.x86.rip = rip;
    rsp.regs.x86.rax = rax;
    return rsp;
}

void expect_clean_end(GuestRun run)
{
    EXPECT_EQ(run.result.value_or("(none)"), "PASS") << run.describe();
    EXPECT_EQ(run.process.exit_code, 0) << run.describe();
}

// Every vCPU's guest requests arrived exactly once and in order, with their payload.
void expect_all_requests(const std::vector<Pending>& events, unsigned vcpus, unsigned count)
{
    std::map<uint32_t, uint64_t> next;
    for (const auto& p : events) {
        const Event& e = p.request;
        ASSERT_EQ(e.version, kInterfaceVersion);
        ASSERT_EQ(e.reason, uint32_t { kReasonGuestRequest });
        uint64_t payload = e.regs.x86.rdx;
        ASSERT_EQ(payload & 0xff00000000000000ull, kMagic) << std::hex << payload;
        uint32_t cpu = static_cast<uint32_t>(payload >> 32) & 0xff;
        EXPECT_EQ(e.vcpu_id, cpu) << "the request names the vCPU that made it";
        EXPECT_EQ(e.regs.x86.r10, ~payload) << "the second payload register";
        ASSERT_EQ(payload & 0xffffffffu, next[cpu]) << "vcpu " << cpu << ": lost, repeated or reordered";
        ++next[cpu];
    }
    EXPECT_EQ(next.size(), vcpus);
    for (auto [cpu, n] : next)
        EXPECT_EQ(n, count) << "vcpu " << cpu;
    EXPECT_EQ(events.size(), size_t { vcpus } * count);
}

} // namespace

TEST_F(VmEvent, GuestRequestCarriesItsPayloadThroughTheRing)
{
    MonitoredGuest g(request_guest("ve-request", 1, 20));
    auto mon = g.attach({ .ring_pages = 1, .slots = false });
    ASSERT_TRUE(mon) << mon.error().message;
    EXPECT_FALSE((*mon)->has_slots());
    EXPECT_EQ((*mon)->ring_entries(), 8u);
    ASSERT_TRUE((*mon)->set_events({ .guest_request = true }));
    Served s = serve(**mon, 90s);
    EXPECT_TRUE(s.vmm_gone) << s.error;
    expect_all_requests(s.events, 1, 20);
    for (const auto& p : s.events) {
        EXPECT_EQ(p.slot, -1);
        EXPECT_TRUE(p.request.flags & kFlagVcpuPaused) << "guest requests are synchronous by default";
    }
    expect_clean_end(g.finish());
}

TEST_F(VmEvent, EachVcpuReportsThroughItsOwnSlot)
{
    MonitoredGuest g(request_guest("ve-slots", 4, 50));
    auto mon = g.attach({ .ring_pages = 1, .slots = true });
    ASSERT_TRUE(mon) << mon.error().message;
    ASSERT_TRUE((*mon)->has_slots());
    EXPECT_EQ((*mon)->vcpus(), 4u);
    ASSERT_TRUE((*mon)->set_events({ .guest_request = true }));
    Served s = serve(**mon, 90s);
    EXPECT_TRUE(s.vmm_gone) << s.error;
    expect_all_requests(s.events, 4, 50);
    for (const auto& p : s.events)
        EXPECT_EQ(p.slot, static_cast<int>(p.request.vcpu_id));
    expect_clean_end(g.finish());
}

// A one-page ring (8 entries) and asynchronous requests from 4 vCPUs: the monitor answers only
// once it holds a full ring, so every vCPU finds it full again and again and must wait.
TEST_F(VmEvent, TinyRingStormFromAllVcpusLosesNothing)
{
    constexpr unsigned kVcpus = 4, kCount = 200;
    MonitoredGuest g(request_guest("ve-storm", kVcpus, kCount));
    auto mon = g.attach({ .ring_pages = 1, .slots = false });
    ASSERT_TRUE(mon) << mon.error().message;
    ASSERT_TRUE((*mon)->set_events({ .guest_request = true, .guest_request_sync = false }));
    std::vector<Pending> seen, held;
    size_t full_rings = 0;
    bool gone = false;
    while (!gone) {
        std::vector<Pending> batch;
        auto r = (*mon)->wait(batch, held.empty() ? 30000ms : 300ms);
        if (!r) {
            gone = r.error().code == ECONNRESET;
            ASSERT_TRUE(gone) << r.error().message;
        }
        for (auto& p : batch) {
            EXPECT_FALSE(p.request.flags & kFlagVcpuPaused);
            seen.push_back(p);
            held.push_back(p);
        }
        // Answer a full ring, or what is left when nothing more comes (the end of the storm).
        if (held.size() == (*mon)->ring_entries() || (batch.empty() && !held.empty())) {
            full_rings += held.size() == (*mon)->ring_entries();
            for (auto& p : held)
                ASSERT_TRUE((*mon)->respond(p, Client::resume(p.request)));
            held.clear();
        }
        ASSERT_LE(seen.size(), size_t { kVcpus } * kCount);
        if (batch.empty() && held.empty() && seen.size() == size_t { kVcpus } * kCount)
            break;
    }
    expect_all_requests(seen, kVcpus, kCount);
    EXPECT_GT(full_rings, size_t { kCount / 8 }) << "the ring was full again and again";
    expect_clean_end(g.finish());
}

TEST_F(VmEvent, SecondMonitorIsRefusedWithEbusy)
{
    MonitoredGuest g(request_guest("ve-busy", 1, 5));
    auto first = g.attach({});
    ASSERT_TRUE(first) << first.error().message;
    auto second = Client::connect(g.socket(), {});
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code, EBUSY) << second.error().message;
    ASSERT_TRUE((*first)->set_events({ .guest_request = true }));
    Served s = serve(**first, 90s);
    EXPECT_EQ(s.events.size(), 5u);
    expect_clean_end(g.finish());
}

TEST_F(VmEvent, WithoutSlotsTheClientFallsBackToTheRing)
{
    MonitoredGuest g(request_guest("ve-noslots", 2, 30), { "--no-monitor-slots" });
    auto mon = g.attach({ .ring_pages = 2, .slots = true });
    ASSERT_TRUE(mon) << mon.error().message;
    EXPECT_FALSE((*mon)->has_slots()) << "the domain answered 'not supported'";
    EXPECT_EQ((*mon)->ring_entries(), 16u);
    ASSERT_TRUE((*mon)->set_events({ .guest_request = true }));
    Served s = serve(**mon, 90s);
    expect_all_requests(s.events, 2, 30);
    expect_clean_end(g.finish());
}

// The monitor vanishes (its socket, ring, slots and notifications all closed, as when its process
// is killed) with requests outstanding on every vCPU: they resume, and the rest of the storm runs
// with no monitor at all.
TEST_F(VmEvent, KillingTheMonitorMidStormLetsTheGuestRunOn)
{
    MonitoredGuest g(request_guest("ve-kill", 4, 300));
    auto mon = g.attach({ .slots = true });
    ASSERT_TRUE(mon) << mon.error().message;
    ASSERT_TRUE((*mon)->set_events({ .guest_request = true }));
    Served s = serve(**mon, 60s, {}, 100);
    ASSERT_EQ(s.events.size(), 100u) << s.error;
    mon->reset();
    expect_clean_end(g.finish());
}

TEST_F(VmEvent, GuestRequestsWithoutAMonitorAreDropped)
{
    expect_clean_end(run_guest(vmm_path(), request_guest("ve-none", 2, 100)));
}

// Writes to a watched page: each reported with its address, vCPU and kind, and each kind of answer
// leaves the guest correct: EMULATE (the write happens, the limit stays), DENY (it does not happen),
// lifting the limit (it and the rest happen, unreported); SET_REGISTERS reaches the guest's rax.
TEST_F(VmEvent, WritesToAWatchedPageAndEachKindOfAnswer)
{
    constexpr unsigned kVcpus = 2, kCount = 20;
    MonitoredGuest g(vmevent_guest("write", "ve-write", kVcpus, kCount));
    auto mon = g.attach({});
    ASSERT_TRUE(mon) << mon.error().message;
    Client& c = **mon;
    ASSERT_TRUE(c.set_events({ .guest_request = true }));
    enum class Phase { Emulate, Deny, Lift, Lifted } phase = Phase::Emulate;
    uint64_t gfn = 0;
    std::map<uint32_t, uint64_t> next_word;
    unsigned emulated = 0, denied = 0, lifted = 0, after_lift = 0;
    Served s = serve(c, 90s, [&](const Pending& p) {
        const Event& e = p.request;
        Event rsp = Client::resume(e);
        if (auto m = mark_of(e)) {
            if (*m == kMarkWatch) {
                gfn = e.regs.x86.r10 >> 12;
                EXPECT_TRUE(c.set_access(gfn, 1, kXenmemRx));
                EXPECT_EQ(c.get_access(gfn).value_or(kXenmemDefault), kXenmemRx);
            }
            phase = *m == kMarkDeny ? Phase::Deny : *m == kMarkLift ? Phase::Lift : phase;
            if (*m == kMarkSetRegs)
                rsp = with_registers(e, e.regs.x86.rip, kSetRegsRax);
            return rsp;
        }
        EXPECT_EQ(e.reason, uint32_t { kReasonMemAccess });
        const MemAccess& m = e.u.mem_access;
        EXPECT_EQ(m.gfn, gfn);
        EXPECT_EQ(m.flags & (kMemR | kMemW | kMemX), uint32_t { kMemW }) << "a write, refused";
        EXPECT_TRUE(m.flags & kMemGlaValid);
        EXPECT_EQ(m.gla, gfn << 12 | m.offset) << "identity-mapped guest";
        EXPECT_EQ(p.slot, static_cast<int>(e.vcpu_id));
        uint64_t word = m.offset / 8;
        switch (phase) {
        case Phase::Emulate:
            EXPECT_EQ(e.vcpu_id, word / kCount) << "each vCPU writes its own words";
            EXPECT_EQ(word % kCount, next_word[e.vcpu_id]++) << "vcpu " << e.vcpu_id;
            rsp.flags |= kFlagEmulate;
            ++emulated;
            break;
        case Phase::Deny:
            EXPECT_EQ(word, 511u);
            rsp.flags |= kFlagDeny;
            ++denied;
            phase = Phase::Lifted; // no event until the next mark
            break;
        case Phase::Lift:
            EXPECT_EQ(word, 510u);
            EXPECT_TRUE(c.set_access(gfn, 1, kXenmemRwx));
            ++lifted;
            phase = Phase::Lifted;
            break;
        case Phase::Lifted:
            ++after_lift;
        }
        return rsp;
    });
    EXPECT_TRUE(s.vmm_gone) << s.error;
    EXPECT_EQ(emulated, kVcpus * kCount);
    EXPECT_EQ(denied, 1u);
    EXPECT_EQ(lifted, 1u);
    EXPECT_EQ(after_lift, 0u);
    expect_clean_end(g.finish());
}

// The monitor goes while page limits and waiting writes are in place: the writes resume, the limit is
// lifted (the rest of the storm is never stopped again), and every word lands.
TEST_F(VmEvent, KillingTheMonitorLiftsPageLimits)
{
    MonitoredGuest g(vmevent_guest("write", "ve-kill-write", 2, 100));
    auto mon = g.attach({});
    ASSERT_TRUE(mon) << mon.error().message;
    Client& c = **mon;
    ASSERT_TRUE(c.set_events({ .guest_request = true }));
    Served s = serve(c, 60s, [&](const Pending& p) {
        Event rsp = Client::resume(p.request);
        if (mark_of(p.request) == kMarkWatch)
            EXPECT_TRUE(c.set_access(p.request.regs.x86.r10 >> 12, 1, kXenmemRx));
        else
            rsp.flags |= kFlagEmulate;
        return rsp;
    }, 20);
    ASSERT_EQ(s.events.size(), 20u) << s.error;
    mon->reset();
    GuestRun run = g.finish();
    EXPECT_EQ(run.process.exit_code, 0) << run.describe();
    // Every word landed (the guest names any that did not), and with no monitor to deny it the
    // write the guest expects to be denied happens too: the page is writable again.
    EXPECT_EQ(run.process.out.find("word "), std::string::npos) << run.describe();
    EXPECT_NE(run.process.out.find("a denied write happened"), std::string::npos) << run.describe();
}

TEST_F(VmEvent, SingleStepReportsConsecutiveInstructionPointers)
{
    MonitoredGuest g(vmevent_guest("singlestep", "ve-step", 1, 1));
    auto mon = g.attach({});
    ASSERT_TRUE(mon) << mon.error().message;
    ASSERT_TRUE((*mon)->set_events({ .guest_request = true }));
    uint64_t block = 0, end = 0;
    bool stepping = false;
    std::vector<uint64_t> rips;
    Served s = serve(**mon, 90s, [&](const Pending& p) {
        const Event& e = p.request;
        Event rsp = Client::resume(e);
        if (auto m = mark_of(e); m == kMarkStepStart || m == kMarkStepStop) {
            if (*m == kMarkStepStart)
                block = e.regs.x86.r10, end = e.regs.x86.r8;
            stepping = *m == kMarkStepStart;
            rsp.flags |= kFlagToggleSinglestep;
        } else {
            EXPECT_EQ(e.reason, uint32_t { kReasonSinglestep });
            EXPECT_TRUE(stepping) << "a single-step event after it was turned off";
            EXPECT_EQ(e.u.singlestep.gfn, e.regs.x86.rip >> 12);
            rips.push_back(e.regs.x86.rip);
        }
        return rsp;
    });
    EXPECT_TRUE(s.vmm_gone) << s.error;
    ASSERT_NE(block, 0u);
    auto at = std::find(rips.begin(), rips.end(), block);
    ASSERT_NE(at, rips.end()) << "the block was never stepped into";
    // Instructions of 1, 2, 3, 4 and 1 bytes.
    std::vector<uint64_t> expected { block, block + 1, block + 3, block + 6, block + 10, end };
    ASSERT_EQ(end, block + 11);
    ASSERT_GE(static_cast<size_t>(rips.end() - at), expected.size());
    EXPECT_EQ(std::vector<uint64_t>(at, at + static_cast<long>(expected.size())), expected);
    expect_clean_end(g.finish());
}

// INT3s report their addresses; one is stepped over with SET_REGISTERS, the other handed to the
// guest's own #BP handler with EMULATE (the guest checks it arrived once, after the INT3).
TEST_F(VmEvent, BreakpointsReportTheirAddresses)
{
    MonitoredGuest g(vmevent_guest("breakpoint", "ve-bp", 1, 1));
    auto mon = g.attach({});
    ASSERT_TRUE(mon) << mon.error().message;
    ASSERT_TRUE((*mon)->set_events({ .guest_request = true, .breakpoint = true }));
    uint64_t bp1 = 0, bp2 = 0;
    std::vector<uint64_t> hits;
    Served s = serve(**mon, 90s, [&](const Pending& p) {
        const Event& e = p.request;
        if (mark_of(e) == kMarkBreakpoints) {
            bp1 = e.regs.x86.r10, bp2 = e.regs.x86.r8;
            return Client::resume(e);
        }
        EXPECT_EQ(e.reason, uint32_t { kReasonSoftwareBreakpoint });
        EXPECT_EQ(e.u.software_breakpoint.gfn, e.regs.x86.rip >> 12);
        EXPECT_EQ(e.u.software_breakpoint.insn_length, 1u);
        hits.push_back(e.regs.x86.rip);
        if (e.regs.x86.rip == bp1)
            return with_registers(e, bp1 + 1, e.regs.x86.rax);
        Event rsp = Client::resume(e);
        rsp.flags |= kFlagEmulate;
        return rsp;
    });
    EXPECT_TRUE(s.vmm_gone) << s.error;
    ASSERT_NE(bp1, 0u);
    EXPECT_EQ(hits, (std::vector<uint64_t> { bp1, bp2 }));
    expect_clean_end(g.finish());
}

// On emu every MOV to CR3 is reported; KVM has no such exit (src/hv/README.md), so there the
// monitor is told so up front.
TEST_F(VmEvent, Cr3WritesAreReportedOnEmu)
{
    constexpr unsigned kVcpus = 2, kCount = 10;
    MonitoredGuest g(vmevent_guest("cr3", "ve-cr3", kVcpus, kCount));
    auto mon = g.attach({});
    ASSERT_TRUE(mon) << mon.error().message;
    auto cr3 = (*mon)->set_events({ .guest_request = true, .cr_writes = 1u << 3 });
    if (kvm_backend_requested()) {
        ASSERT_FALSE(cr3);
        EXPECT_EQ(cr3.error().code, EOPNOTSUPP) << cr3.error().message;
        ASSERT_TRUE((*mon)->set_events({ .guest_request = true }));
        EXPECT_TRUE(serve(**mon, 90s).vmm_gone);
        expect_clean_end(g.finish());
        return;
    }
    ASSERT_TRUE(cr3) << cr3.error().message;
    uint64_t site = 0;
    std::map<uint32_t, unsigned> at_site;
    Served s = serve(**mon, 90s, [&](const Pending& p) {
        const Event& e = p.request;
        if (mark_of(e) == kMarkCr3) {
            site = e.regs.x86.r10;
        } else {
            EXPECT_EQ(e.reason, uint32_t { kReasonWriteCtrlreg });
            EXPECT_EQ(e.u.write_ctrlreg.index, uint32_t { kCtrlCr3 });
            if (site && e.regs.x86.rip == site) {
                ++at_site[e.vcpu_id];
                EXPECT_EQ(e.u.write_ctrlreg.new_value, e.u.write_ctrlreg.old_value) << "CR3 reloaded";
                EXPECT_EQ(e.u.write_ctrlreg.old_value, e.regs.x86.cr3);
            }
        }
        return Client::resume(e);
    });
    EXPECT_TRUE(s.vmm_gone) << s.error;
    ASSERT_NE(site, 0u);
    EXPECT_EQ(at_site, (std::map<uint32_t, unsigned> { { 0, kCount }, { 1, kCount } }));
    expect_clean_end(g.finish());
}
