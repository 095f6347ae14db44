// Issue 10 (label vmevent): page limits and intercepted instructions of the vmevent64 guest reported
// to a monitor, and the guest running on correctly after each kind of answer: writes to a watched
// page, single-step, breakpoints, and on emu CR3 writes, WRMSR and descriptor-table stores.
// XKVM-OWN: the monitor endpoint and what each answer does are xkvm's own (see vmevent_test.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "guest_test.h"
#include "vmevent_support.h"

using namespace xkvm;
using namespace xkvm::test;
using namespace xkvm::vmevent;
using namespace std::chrono_literals;

namespace {

using VmEvent = GuestTest;

} // namespace

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
        if (kvm_backend_requested()) {
            EXPECT_FALSE(m.flags & kMemGlaValid) << "KVM's exit names the guest-physical address only";
        } else {
            EXPECT_TRUE(m.flags & kMemGlaValid);
            EXPECT_EQ(m.gla, gfn << 12 | m.offset) << "identity-mapped guest";
        }
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
// guest's own #BP handler with EMULATE (the guest checks it arrived once, after the INT3). The
// frame each names is RIP's translation through the guest's tables: a third INT3, run through an
// alias mapping 512 GiB up, names its code's frame, not RIP >> 12.
TEST_F(VmEvent, BreakpointsReportTheirAddresses)
{
    MonitoredGuest g(vmevent_guest("breakpoint", "ve-bp", 1, 1));
    auto mon = g.attach({});
    ASSERT_TRUE(mon) << mon.error().message;
    ASSERT_TRUE((*mon)->set_events({ .guest_request = true, .breakpoint = true }));
    uint64_t bp1 = 0, bp2 = 0, aliased = 0, aliased_frame = 0;
    std::vector<uint64_t> hits;
    Served s = serve(**mon, 90s, [&](const Pending& p) {
        const Event& e = p.request;
        uint64_t rip = e.regs.x86.rip;
        if (mark_of(e) == kMarkBreakpoints)
            bp1 = e.regs.x86.r10, bp2 = e.regs.x86.r8;
        if (mark_of(e) == kMarkBreakpointAlias)
            aliased = e.regs.x86.r10, aliased_frame = e.regs.x86.r8 >> 12;
        if (mark_of(e))
            return Client::resume(e);
        EXPECT_EQ(e.reason, uint32_t { kReasonSoftwareBreakpoint });
        EXPECT_EQ(e.u.software_breakpoint.gfn, rip == aliased ? aliased_frame : rip >> 12);
        EXPECT_EQ(e.u.software_breakpoint.insn_length, 1u);
        hits.push_back(rip);
        if (rip == bp1 || rip == aliased)
            return with_registers(e, rip + 1, e.regs.x86.rax);
        Event rsp = Client::resume(e);
        rsp.flags |= kFlagEmulate;
        return rsp;
    });
    EXPECT_TRUE(s.vmm_gone) << s.error;
    GuestRun run = g.finish();
    ASSERT_NE(bp1, 0u);
    if (hits.empty() && host_kvm_failed_int3(run, bp1))
        GTEST_SKIP() << "SKIP: this host's KVM cannot run INT3 at CPL0 (nested KVM; the emu variant runs)";
    ASSERT_NE(aliased, 0u);
    EXPECT_NE(aliased >> 12, aliased_frame) << "the alias is not identity mapped";
    EXPECT_EQ(hits, (std::vector<uint64_t> { bp1, bp2, aliased }));
    expect_clean_end(run);
}

// The monitor goes while a vCPU waits at a breakpoint: the intercept is lifted, so that INT3 and the
// next both reach the guest's own #BP handler (the guest reports two arrivals where it expected one).
TEST_F(VmEvent, KillingTheMonitorLiftsIntercepts)
{
    MonitoredGuest g(vmevent_guest("breakpoint", "ve-kill-bp", 1, 1));
    auto mon = g.attach({});
    ASSERT_TRUE(mon) << mon.error().message;
    ASSERT_TRUE((*mon)->set_events({ .guest_request = true, .breakpoint = true }));
    Served s = serve(**mon, 60s, {}, 2); // the mark, then the first INT3, left unanswered
    if (s.events.size() == 1 && s.vmm_gone) {
        GuestRun run = g.finish();
        uint64_t bp1 = s.events[0].request.regs.x86.r10; // the mark names both breakpoints
        if (host_kvm_failed_int3(run, bp1))
            GTEST_SKIP() << "SKIP: this host's KVM cannot run INT3 at CPL0 (nested KVM; the emu variant runs)";
    }
    ASSERT_EQ(s.events.size(), 2u) << s.error;
    EXPECT_EQ(s.events[1].request.reason, uint32_t { kReasonSoftwareBreakpoint });
    mon->reset();
    GuestRun run = g.finish();
    EXPECT_EQ(run.process.exit_code, 0) << run.describe();
    EXPECT_NE(run.process.out.find("#BP reached the guest 2 times"), std::string::npos) << run.describe();
}

// On emu the page walk's own accesses are held to the limits, as an EPT walk is on Xen: with the
// top-level page table made unreadable, the next walk stops, reported as a read in the guest's
// page tables (MEM_ACCESS_FAULT_IN_GPT) naming that table, until the monitor lifts the limit. KVM
// cannot take reads away (its caps say so), and refuses the limit.
TEST_F(VmEvent, PageWalkReadsOfALimitedPageTableAreReported)
{
    MonitoredGuest g(vmevent_guest("request", "ve-walk", 1, 5));
    auto mon = g.attach({});
    ASSERT_TRUE(mon) << mon.error().message;
    Client& c = **mon;
    ASSERT_TRUE(c.set_events({ .guest_request = true }));
    uint64_t table = 0;
    std::vector<Event> walks;
    Served s = serve(c, 90s, [&](const Pending& p) {
        const Event& e = p.request;
        if (e.reason == kReasonGuestRequest && table == 0) {
            table = e.regs.x86.cr3 >> 12;
            auto limited = c.set_access(table, 1, kXenmemWx);
            EXPECT_EQ(limited.has_value(), !kvm_backend_requested());
        } else if (e.reason == kReasonMemAccess) {
            walks.push_back(e);
            EXPECT_TRUE(c.set_access(table, 1, kXenmemDefault));
        }
        return Client::resume(e);
    });
    EXPECT_TRUE(s.vmm_gone) << s.error;
    if (kvm_backend_requested()) {
        EXPECT_TRUE(walks.empty());
    } else {
        ASSERT_EQ(walks.size(), 1u) << "one walk stopped, then the limit was lifted";
        const MemAccess& m = walks[0].u.mem_access;
        EXPECT_EQ(m.gfn, table);
        EXPECT_EQ(m.flags, uint32_t { kMemR | kMemGlaValid | kMemFaultInGpt });
        EXPECT_EQ(m.offset % 8, 0u) << "an entry of the table";
        EXPECT_EQ(m.offset / 8, (m.gla >> 39) & 511) << "the entry for the address being translated";
    }
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
    auto caps = (*mon)->caps();
    ASSERT_TRUE(caps) << caps.error().message;
    EXPECT_EQ((*caps)["guest_request"], true);
    EXPECT_EQ((*caps)["cr_writes"], kvm_backend_requested() ? 0 : 0x19) << "CR0, CR3 and CR4 on emu";
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

// WRMSR to a watched MSR: each write reported with its new and old values, completing by default
// and not at all when denied (the guest reads each back).
TEST_F(VmEvent, MsrWritesAndADeniedOne)
{
    constexpr unsigned kCount = 5;
    constexpr uint32_t kSysenterCs = 0x174;
    MonitoredGuest g(vmevent_guest("msr", "ve-msr", 1, kCount));
    auto mon = g.attach({});
    ASSERT_TRUE(mon) << mon.error().message;
    auto set = (*mon)->set_events({ .guest_request = true, .msrs = { kSysenterCs } });
    if (kvm_backend_requested() && !set)
        GTEST_SKIP() << "SKIP: kvm: WRMSR events are planned (src/kvm/README.md): " << set.error().message;
    ASSERT_TRUE(set) << set.error().message;
    bool deny_next = false;
    std::vector<std::pair<uint64_t, uint64_t>> writes; // new, old
    Served s = serve(**mon, 90s, [&](const Pending& p) {
        const Event& e = p.request;
        Event rsp = Client::resume(e);
        if (mark_of(e) == kMarkDeny) {
            deny_next = true;
        } else if (!mark_of(e)) {
            EXPECT_EQ(e.reason, uint32_t { kReasonMovToMsr });
            EXPECT_EQ(e.u.mov_to_msr.msr, kSysenterCs);
            writes.emplace_back(e.u.mov_to_msr.new_value, e.u.mov_to_msr.old_value);
            if (std::exchange(deny_next, false))
                rsp.flags |= kFlagDeny;
        }
        return rsp;
    });
    EXPECT_TRUE(s.vmm_gone) << s.error;
    ASSERT_EQ(writes.size(), kCount + 2);
    for (unsigned i = 0; i < kCount; ++i) {
        EXPECT_EQ(writes[i].first, 0x1000u + i);
        if (i > 0) {
            EXPECT_EQ(writes[i].second, 0x1000u + i - 1) << "the value before the write";
        }
    }
    EXPECT_EQ(writes[kCount].first, 0xbadu);
    EXPECT_EQ(writes[kCount + 1].second, 0x1000u + kCount - 1) << "the denied write left the old value";
    EXPECT_EQ(writes[kCount + 1].first, writes[0].second) << "the original value restored";
    expect_clean_end(g.finish());
}

// On emu, SIDT and SGDT are reported as descriptor-table reads (KVM has no such exit).
TEST_F(VmEvent, DescriptorTableStoresOnEmu)
{
    MonitoredGuest g(vmevent_guest("desc", "ve-desc", 1, 1));
    auto mon = g.attach({});
    ASSERT_TRUE(mon) << mon.error().message;
    auto set = (*mon)->set_events({ .guest_request = true, .descriptor = true });
    if (kvm_backend_requested()) {
        ASSERT_FALSE(set);
        EXPECT_EQ(set.error().code, EOPNOTSUPP);
        ASSERT_TRUE((*mon)->set_events({ .guest_request = true }));
        EXPECT_TRUE(serve(**mon, 90s).vmm_gone);
        expect_clean_end(g.finish());
        return;
    }
    ASSERT_TRUE(set) << set.error().message;
    bool marked = false;
    std::vector<std::pair<uint8_t, uint8_t>> after_mark; // table, is_write
    Served s = serve(**mon, 90s, [&](const Pending& p) {
        const Event& e = p.request;
        if (mark_of(e) == kMarkDesc)
            marked = true;
        else if (marked && e.reason == kReasonDescriptorAccess)
            after_mark.emplace_back(e.u.desc_access.descriptor, e.u.desc_access.is_write);
        return Client::resume(e);
    });
    EXPECT_TRUE(s.vmm_gone) << s.error;
    EXPECT_EQ(after_mark, (std::vector<std::pair<uint8_t, uint8_t>> { { kDescIdtr, 0 }, { kDescGdtr, 0 } }));
    expect_clean_end(g.finish());
}
