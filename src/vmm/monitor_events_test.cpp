// Issue 10: exit state to vm_event requests, responses to finishes, access values, and the monitor
// channel against a client's view of the same descriptors.
#include <gtest/gtest.h>

#include "ipc/notify_socket.h"
#include "vmevent/ring.h"
#include "vmevent/slots.h"
#include "vmm/monitor_channel.h"
#include "vmm/monitor_events.h"

using namespace xkvm;
using namespace xkvm::vmm;
using namespace xkvm::vmevent;

namespace {

x86::CpuState state_at(uint64_t rip)
{
    x86::CpuState s;
    s.rip = rip;
    s.cr3 = 0x9000;
    return s;
}

} // namespace

TEST(MonitorEvents, MemAccessRequest)
{
    hv::IntrospectExit x;
    x.what = hv::IntrospectExit::What::MemAccess;
    x.gpa = 0x12345678;
    x.gla = 0xffff800012345678;
    x.gla_valid = true;
    x.access = hv::kAccessWrite;
    Event e = introspect_request(2, state_at(0x1000), x, kInvalidGfn);
    EXPECT_EQ(e.reason, kReasonMemAccess);
    EXPECT_EQ(e.vcpu_id, 2u);
    EXPECT_EQ(e.u.mem_access.gfn, 0x12345u);
    EXPECT_EQ(e.u.mem_access.offset, 0x678u);
    EXPECT_EQ(e.u.mem_access.gla, x.gla);
    EXPECT_EQ(e.u.mem_access.flags, kMemW | kMemGlaValid | kMemFaultWithGla);
    EXPECT_EQ(e.regs.x86.rip, 0x1000u);
}

TEST(MonitorEvents, PageWalkAccessIsFlaggedInGpt)
{
    hv::IntrospectExit x;
    x.what = hv::IntrospectExit::What::MemAccess;
    x.gpa = 0x3008; // the page-table entry the walk touched
    x.gla = 0x401000;
    x.gla_valid = true;
    x.in_walk = true;
    x.access = hv::kAccessRead;
    Event e = introspect_request(0, state_at(0x1000), x, kInvalidGfn);
    EXPECT_EQ(e.u.mem_access.gfn, 3u);
    EXPECT_EQ(e.u.mem_access.offset, 8u);
    EXPECT_EQ(e.u.mem_access.gla, 0x401000u);
    EXPECT_EQ(e.u.mem_access.flags, kMemR | kMemGlaValid | kMemFaultInGpt);
}

TEST(MonitorEvents, InstructionRequests)
{
    hv::IntrospectExit x;
    x.what = hv::IntrospectExit::What::Breakpoint;
    x.insn_len = 1;
    Event bp = introspect_request(0, state_at(0xffffffff80203004), x, 0x7203);
    EXPECT_EQ(bp.reason, kReasonSoftwareBreakpoint);
    EXPECT_EQ(bp.u.software_breakpoint.gfn, 0x7203u) << "the translated frame, not RIP's";
    EXPECT_EQ(bp.u.software_breakpoint.insn_length, 1u);

    x.what = hv::IntrospectExit::What::CrWrite;
    x.index = 3;
    x.old_value = 0x1000;
    x.new_value = 0x2000;
    Event cr = introspect_request(1, state_at(0), x, kInvalidGfn);
    EXPECT_EQ(cr.reason, kReasonWriteCtrlreg);
    EXPECT_EQ(cr.u.write_ctrlreg.index, kCtrlCr3);
    EXPECT_EQ(cr.u.write_ctrlreg.new_value, 0x2000u);
    EXPECT_EQ(cr.u.write_ctrlreg.old_value, 0x1000u);

    x.what = hv::IntrospectExit::What::MsrWrite;
    x.index = 0xc0000080;
    Event msr = introspect_request(1, state_at(0), x, kInvalidGfn);
    EXPECT_EQ(msr.reason, kReasonMovToMsr);
    EXPECT_EQ(msr.u.mov_to_msr.msr, 0xc0000080u);

    x.what = hv::IntrospectExit::What::Descriptor;
    x.table = hv::IntrospectExit::Table::Gdtr;
    x.table_write = true;
    Event d = introspect_request(1, state_at(0), x, kInvalidGfn);
    EXPECT_EQ(d.reason, kReasonDescriptorAccess);
    EXPECT_EQ(d.u.desc_access.descriptor, kDescGdtr);
    EXPECT_EQ(d.u.desc_access.is_write, 1);

    EXPECT_EQ(singlestep_request(3, state_at(0x5123), 0x99).u.singlestep.gfn, 0x99u);
    EXPECT_EQ(singlestep_request(3, state_at(0x5123), kInvalidGfn).u.singlestep.gfn, ~0ull);
}

TEST(MonitorEvents, GuestRequestShowsTheHypercallNumberInRax)
{
    x86::CpuState s = state_at(0x1000);
    s.gpr[x86::Rax] = 0; // the hypercall's return value, written before the event is made
    s.gpr[x86::Rdx] = 0x1234;
    Event e = guest_request(3, s, 34);
    EXPECT_EQ(e.reason, kReasonGuestRequest);
    EXPECT_EQ(e.regs.x86.rax, 34u) << "__HYPERVISOR_hvm_op, as the guest set it";
    EXPECT_EQ(e.regs.x86.rdx, 0x1234u);
}

TEST(MonitorEvents, RipLinearAddsTheCodeSegmentBaseOutside64BitCode)
{
    x86::CpuState s = state_at(0xffffffff80001000);
    s.efer = x86::kEferLma | x86::kEferLme;
    s.cs.l = true;
    s.cs.base = 0x5000; // ignored in 64-bit code
    EXPECT_EQ(rip_linear(s), 0xffffffff80001000u);
    s.cs.l = false; // compatibility mode
    s.rip = 0x1000;
    EXPECT_EQ(rip_linear(s), 0x6000u);
    s.efer = 0;
    s.cs.base = 0xfffff000;
    s.rip = 0x2000;
    EXPECT_EQ(rip_linear(s), 0x1000u) << "wraps at 4 GiB";
}

TEST(MonitorEvents, VerdictsAndAccessValues)
{
    using What = hv::IntrospectExit::What;
    EXPECT_EQ(finish_for(Verdict::Retry, What::MemAccess), hv::InterceptFinish::Retry);
    EXPECT_EQ(finish_for(Verdict::Retry, What::Breakpoint), hv::InterceptFinish::Retry);
    EXPECT_EQ(finish_for(Verdict::Retry, What::CrWrite), hv::InterceptFinish::Execute) << "the write completes";
    EXPECT_EQ(finish_for(Verdict::Retry, What::MsrWrite), hv::InterceptFinish::Execute);
    EXPECT_EQ(finish_for(Verdict::Emulate, What::MemAccess), hv::InterceptFinish::Execute);
    EXPECT_EQ(finish_for(Verdict::Deny, What::CrWrite), hv::InterceptFinish::Skip);
    EXPECT_EQ(*page_access_of(kXenmemRx), hv::kAccessRead | hv::kAccessExec);
    EXPECT_EQ(*page_access_of(kXenmemN), hv::kAccessNone);
    EXPECT_EQ(*page_access_of(kXenmemDefault), hv::kAccessAll);
    EXPECT_EQ(page_access_of(kXenmemRx2rw).error().code, EOPNOTSUPP);
    EXPECT_EQ(page_access_of(11).error().code, EINVAL);
    for (uint32_t a = 0; a <= kXenmemRwx; ++a)
        EXPECT_EQ(xenmem_access_of(*page_access_of(a)), a);
}

TEST(MonitorChannelTest, RingAndSlotsThroughHandedOverDescriptors)
{
    auto chan = MonitorChannel::create(3, 1, true);
    ASSERT_TRUE(chan) << chan.error().message;
    auto fds = (*chan)->open_fds();
    ASSERT_TRUE(fds);
    ASSERT_EQ(fds->size(), 3u);
    EXPECT_FALSE((*chan)->open_fds()) << "handed over once";
    auto ring = SharedArea::map(std::move((*fds)[0]), kPageSize);
    auto slots = SharedArea::map(std::move((*fds)[2]), slot_area_bytes(3));
    ASSERT_TRUE(ring && slots);
    RingBack ring_back(ring->bytes());
    SlotsBack slots_back(slots->bytes(), 3);
    int ring_far = (*fds)[1].get();

    Event req = guest_request(1, state_at(0x42), 34);
    ASSERT_TRUE((*chan)->put_ring(req));
    EXPECT_EQ(ipc::drain_notify(ring_far), 1u);
    Event got {};
    ASSERT_TRUE(*ring_back.take_request(got));
    EXPECT_EQ(got.regs.x86.rip, 0x42u);
    ASSERT_TRUE(ring_back.put_response(got));
    ASSERT_TRUE(ipc::send_notify(ring_far));
    EXPECT_EQ(ipc::drain_notify((*chan)->ring_notify_fd()), 1u);
    ASSERT_TRUE(*(*chan)->take_ring_response(got));

    auto notify = (*chan)->slot_notify_fds(0, 3);
    ASSERT_TRUE(notify);
    EXPECT_FALSE((*chan)->slot_notify_fds(2, 1)) << "handed over once";
    EXPECT_FALSE((*chan)->slot_notify_fds(2, 2)) << "past the last vCPU";
    ASSERT_TRUE((*chan)->submit_slot(2, req));
    EXPECT_EQ(ipc::drain_notify((*notify)[2].get()), 1u);
    EXPECT_EQ(ipc::drain_notify((*notify)[0].get()), 0u);
    ASSERT_TRUE(slots_back.take_request(2, got));
    slots_back.finish(2, got);
    EXPECT_TRUE((*chan)->take_slot_response(2, got));
}

TEST(MonitorChannelTest, RingOnlyHasNoSlotDescriptors)
{
    auto chan = MonitorChannel::create(2, 2, false);
    ASSERT_TRUE(chan);
    EXPECT_EQ((*chan)->ring_entries(), 16u);
    auto fds = (*chan)->open_fds();
    ASSERT_TRUE(fds);
    EXPECT_EQ(fds->size(), 2u);
    EXPECT_EQ((*chan)->slot_notify_fds(0, 1).error().code, EOPNOTSUPP);
}
