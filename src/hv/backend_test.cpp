// Boots raw machine code on each backend (emu always, KVM where /dev/kvm works) to check the VM,
// vCPU and runner plumbing behind the hv:: interface: the same test, the backend in its name.
#include <gtest/gtest.h>

#include <cstdlib>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>

#include <cstring>

#include "hv/backend_test_fixture.h"

using namespace xkvm;
using namespace xkvm::hv;
using namespace xkvm::hv::test;
using namespace std::chrono_literals;

TEST_P(BackendFixture, RunsFlat32CodeAndSeesPortWrites)
{
    // mov al,'h'; out 0xe9,al; mov al,'i'; out 0xe9,al; out 0xf4,al; jmp $
    load({ 0xb0, 'h', 0xe6, 0xe9, 0xb0, 'i', 0xe6, 0xe9, 0xe6, 0xf4, 0xeb, 0xfe });
    PortHandler h;
    VcpuRunner runner(*vcpu, h, 0);
    runner.start();
    ASSERT_TRUE(h.wait_for([&] { return h.done; }));
    EXPECT_EQ(h.out, "hi");
    ASSERT_TRUE(runner.wait_parked(5s));
    EXPECT_TRUE(runner.pause_reasons() & kPauseShutdown);
    runner.stop();
    EXPECT_TRUE(runner.exited());
}

TEST_P(BackendFixture, PausedVcpuDoesNotRunUntilResumedAndRunsPostedWork)
{
    // An endless loop printing 'x': inc ecx; mov al,'x'; out 0xe9,al; jmp back
    load({ 0x41, 0xb0, 'x', 0xe6, 0xe9, 0xeb, 0xf9 });
    PortHandler h;
    VcpuRunner runner(*vcpu, h, kPauseController);
    runner.start();
    ASSERT_TRUE(runner.wait_parked(5s));
    EXPECT_EQ(h.exits.load(), 0);

    // Work posted to a parked vCPU runs on its thread without entering the guest.
    std::mutex m;
    std::condition_variable cv;
    uint64_t rip = 0;
    bool ran = false;
    runner.post([&](Vcpu& v) {
        std::lock_guard g(m);
        rip = v.regs()->rip;
        ran = true;
        cv.notify_all();
    });
    {
        std::unique_lock l(m);
        ASSERT_TRUE(cv.wait_for(l, 5s, [&] { return ran; }));
    }
    EXPECT_EQ(rip, 0x1000u);
    EXPECT_EQ(h.exits.load(), 0);

    runner.remove_pause(kPauseController);
    ASSERT_TRUE(h.wait_for([&] { return h.out.size() >= 3; }));
    runner.add_pause(kPauseController);
    ASSERT_TRUE(runner.wait_parked(5s));
    size_t seen = [&] { std::lock_guard g(h.lock); return h.out.size(); }();
    // Parked: a sync inspection sees the guest mid-loop and nothing more is printed meanwhile.
    bool inspected = runner.with_vcpu_parked([&](Vcpu& v) { EXPECT_GE(v.regs()->gpr[x86::Rcx], 1u); }, 5s);
    EXPECT_TRUE(inspected);
    EXPECT_EQ([&] { std::lock_guard g(h.lock); return h.out.size(); }(), seen);
    runner.stop();
}

TEST_P(BackendFixture, ReadOnlyMemoryWritesExitAsMmio)
{
    ASSERT_TRUE(mem->protect(0x10000, memory::kPageSize, memory::Protection::ReadOnly));
    // mov dword [0x10000], 0x12345678; out 0xf4, al
    load({ 0xc7, 0x05, 0x00, 0x00, 0x01, 0x00, 0x78, 0x56, 0x34, 0x12, 0xe6, 0xf4, 0xeb, 0xfe });
    struct MmioHandler : PortHandler {
        uint64_t mmio_addr = 0;
        uint32_t mmio_data = 0;
        ExitOutcome handle_exit(ExitContext& ctx) override
        {
            if (ctx.exit.kind == Exit::Kind::Mmio) {
                std::lock_guard g(lock);
                mmio_addr = ctx.exit.mmio.gpa;
                std::memcpy(&mmio_data, ctx.exit.mmio.data, 4);
                return ExitOutcome::Resume;
            }
            return PortHandler::handle_exit(ctx);
        }
    } h;
    VcpuRunner runner(*vcpu, h, 0);
    runner.start();
    ASSERT_TRUE(h.wait_for([&] { return h.done; }));
    EXPECT_EQ(h.mmio_addr, 0x10000u);
    EXPECT_EQ(h.mmio_data, 0x12345678u);
    EXPECT_EQ(mem->read_obj<uint32_t>(0x10000).value(), 0u); // memory untouched
    runner.stop();
}

TEST_P(BackendFixture, UnknownMsrWriteExitsToUserSpace)
{
    // mov ecx,0x40000000; mov eax,0x2000; xor edx,edx; wrmsr; out 0xf4,al
    load({ 0xb9, 0x00, 0x00, 0x00, 0x40, 0xb8, 0x00, 0x20, 0x00, 0x00, 0x31, 0xd2, 0x0f, 0x30, 0xe6, 0xf4, 0xeb, 0xfe });
    struct MsrHandler : PortHandler {
        uint32_t index = 0;
        uint64_t value = 0;
        ExitOutcome handle_exit(ExitContext& ctx) override
        {
            if (ctx.exit.kind == Exit::Kind::MsrWrite) {
                std::lock_guard g(lock);
                index = ctx.exit.msr.index;
                value = ctx.exit.msr.value;
                ctx.exit.msr.fault = false;
                return ExitOutcome::Resume;
            }
            return PortHandler::handle_exit(ctx);
        }
    } h;
    VcpuRunner runner(*vcpu, h, 0);
    runner.start();
    ASSERT_TRUE(h.wait_for([&] { return h.done; }));
    EXPECT_EQ(h.index, 0x40000000u);
    EXPECT_EQ(h.value, 0x2000u);
    EXPECT_TRUE(h.out.empty()) << h.out;
    runner.stop();
}

TEST_P(BackendFixture, FixedInterruptWakesAHaltedVcpuThroughItsLapic)
{
    // GDT (flat code at 0x10, data at 0x18, as flat_protected_mode_32 has them) and an IDT whose
    // vector 0x40 is a 32-bit interrupt gate to 0x2000.
    constexpr uint64_t kGdt = 0x4000, kIdt = 0x3000, kDescs = 0x5000;
    ASSERT_TRUE(mem->write_obj<uint64_t>(kGdt + 0x10, 0x00cf9b000000ffffull));
    ASSERT_TRUE(mem->write_obj<uint64_t>(kGdt + 0x18, 0x00cf93000000ffffull));
    ASSERT_TRUE(mem->write_obj<uint64_t>(kIdt + 0x40 * 8, 0x00008e0000102000ull));
    ASSERT_TRUE(mem->write_obj<uint16_t>(kDescs, 0x1f));
    ASSERT_TRUE(mem->write_obj<uint32_t>(kDescs + 2, kGdt));
    ASSERT_TRUE(mem->write_obj<uint16_t>(kDescs + 8, 0x41 * 8 - 1));
    ASSERT_TRUE(mem->write_obj<uint32_t>(kDescs + 10, kIdt));
    // Handler: mov al,'i'; out 0xe9,al; mov dword [0xfee000b0],0 (EOI); iret
    std::vector<uint8_t> handler { 0xb0, 'i', 0xe6, 0xe9, 0xc7, 0x05, 0xb0, 0x00, 0xe0, 0xfe, 0, 0, 0, 0, 0xcf };
    ASSERT_TRUE(mem->write(0x2000, handler));
    // mov esp,0x8000; lgdt [0x5000]; lidt [0x5008]; mov dword [0xfee000f0],0x1ff (LAPIC on);
    // mov al,'r'; out 0xe9,al; sti; hlt; mov al,'w'; out 0xe9,al; out 0xf4,al
    load({ 0xbc, 0x00, 0x80, 0x00, 0x00, 0x0f, 0x01, 0x15, 0x00, 0x50, 0x00, 0x00, 0x0f, 0x01, 0x1d, 0x08, 0x50, 0x00, 0x00,
           0xc7, 0x05, 0xf0, 0x00, 0xe0, 0xfe, 0xff, 0x01, 0x00, 0x00, 0xb0, 'r', 0xe6, 0xe9,
           0xfb, 0xf4, 0xb0, 'w', 0xe6, 0xe9, 0xe6, 0xf4, 0xeb, 0xfe });
    struct InterruptingHandler : PortHandler {
        Vm* vm = nullptr;
        ExitOutcome handle_exit(ExitContext& ctx) override
        {
            // Ready: the interrupt goes out while the vCPU heads for HLT (before or after it halts,
            // it must be taken once IF is set, and wake the halted CPU).
            if (ctx.exit.kind == Exit::Kind::PortIo && ctx.exit.io.data[0] == 'r') {
                EXPECT_TRUE(vm->send_fixed_interrupt(0, 0x40));
            }
            return PortHandler::handle_exit(ctx);
        }
    } h;
    h.vm = vm.get();
    VcpuRunner runner(*vcpu, h, 0);
    runner.start();
    ASSERT_TRUE(h.wait_for([&] { return h.done; }));
    runner.stop();
    if (GetParam() == Accel::Kvm && host_kvm_cannot_emulate(h.out))
        GTEST_SKIP() << kHostKvmCannotEmulate << ": " << h.out;
    EXPECT_EQ(h.out, "riw");
}

INSTANTIATE_TEST_SUITE_P(Backends, BackendFixture, ::testing::Values(Accel::Emu, Accel::Kvm),
                         [](const ::testing::TestParamInfo<Accel>& p) { return std::string(accel_name(p.param)); });
