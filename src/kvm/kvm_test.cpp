// Boots raw machine code on real KVM to check the VM, vCPU and runner plumbing.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>

#include "kvm/kvm_system.h"
#include "kvm/vcpu.h"
#include "kvm/vcpu_runner.h"
#include "kvm/vm.h"

using namespace xkvm;
using namespace xkvm::kvm;
using namespace std::chrono_literals;

namespace {

constexpr uint16_t kPrintPort = 0xe9;
constexpr uint16_t kDonePort = 0xf4;

// Collects port writes; the "done" port shuts the vCPU down.
struct PortHandler : ExitHandler {
    std::mutex lock;
    std::condition_variable cv;
    std::string out;
    bool done = false;
    std::atomic<int> exits { 0 };

    ExitOutcome handle_exit(ExitContext& ctx) override
    {
        ++exits;
        if (ctx.reason != KVM_EXIT_IO) {
            ctx.detail = "unexpected exit";
            std::lock_guard g(lock);
            out += fmt::format("[exit {}]", ctx.reason);
            done = true;
            cv.notify_all();
            return ExitOutcome::Shutdown;
        }
        auto& io = ctx.run.io;
        uint8_t byte = *(reinterpret_cast<uint8_t*>(&ctx.run) + io.data_offset);
        std::lock_guard g(lock);
        if (io.port == kPrintPort) {
            out.push_back(static_cast<char>(byte));
            cv.notify_all();
            return ExitOutcome::Resume;
        }
        if (io.port != kDonePort)
            out += fmt::format("[port {:#x}]", io.port);
        done = true;
        cv.notify_all();
        return ExitOutcome::Shutdown;
    }

    bool wait_for(const std::function<bool()>& pred)
    {
        std::unique_lock l(lock);
        return cv.wait_for(l, 10s, pred);
    }
};

struct KvmFixture : ::testing::Test {
    std::unique_ptr<KvmSystem> sys;
    std::unique_ptr<memory::Physmap> mem;
    std::unique_ptr<Vm> vm;
    std::unique_ptr<Vcpu> vcpu;

    void SetUp() override
    {
        if (auto probe = KvmSystem::probe(); !probe)
            GTEST_SKIP() << "SKIP: /dev/kvm unusable: " << probe.error().message;
        auto opened = KvmSystem::open();
        ASSERT_TRUE(opened) << opened.error().message;
        sys = opened.release_value();
        mem = memory::Physmap::create(2 * memory::MiB, "kvmtest").release_value();
        auto created = Vm::create(*sys);
        ASSERT_TRUE(created) << created.error().message;
        vm = created.release_value();
        vm->attach_physmap(*mem);
        ASSERT_TRUE(mem->map(0, 2 * memory::MiB, 0));
        auto v = vm->create_vcpu(0);
        ASSERT_TRUE(v) << v.error().message;
        vcpu = v.release_value();
        CpuidTable cpuid(sys->supported_cpuid());
        ASSERT_TRUE(vcpu->set_cpuid(cpuid));
    }

    void load(std::initializer_list<uint8_t> code, uint32_t at = 0x1000)
    {
        std::vector<uint8_t> bytes(code);
        ASSERT_TRUE(mem->write(at, bytes));
        ASSERT_TRUE(vcpu->set_cpu_state(x86::flat_protected_mode_32(at, 0)));
    }
};

} // namespace

TEST_F(KvmFixture, RunsFlat32CodeAndSeesPortWrites)
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

TEST_F(KvmFixture, PausedVcpuDoesNotRunUntilResumedAndRunsPostedWork)
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
        rip = (*v.regs())->rip;
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
    bool inspected = runner.with_vcpu_parked([&](Vcpu& v) { EXPECT_GE((*v.regs())->rcx, 1u); }, 5s);
    EXPECT_TRUE(inspected);
    EXPECT_EQ([&] { std::lock_guard g(h.lock); return h.out.size(); }(), seen);
    runner.stop();
}

TEST_F(KvmFixture, ReadOnlyMemslotWritesExitAsMmio)
{
    ASSERT_TRUE(mem->protect(0x10000, memory::kPageSize, memory::Protection::ReadOnly));
    // mov dword [0x10000], 0x12345678; out 0xf4, al
    load({ 0xc7, 0x05, 0x00, 0x00, 0x01, 0x00, 0x78, 0x56, 0x34, 0x12, 0xe6, 0xf4, 0xeb, 0xfe });
    struct MmioHandler : PortHandler {
        uint64_t mmio_addr = 0;
        uint32_t mmio_data = 0;
        ExitOutcome handle_exit(ExitContext& ctx) override
        {
            if (ctx.reason == KVM_EXIT_MMIO) {
                std::lock_guard g(lock);
                mmio_addr = ctx.run.mmio.phys_addr;
                std::memcpy(&mmio_data, ctx.run.mmio.data, 4);
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

TEST_F(KvmFixture, UnknownMsrWriteExitsToUserSpace)
{
    // mov ecx,0x40000000; mov eax,0x2000; xor edx,edx; wrmsr; out 0xf4,al
    load({ 0xb9, 0x00, 0x00, 0x00, 0x40, 0xb8, 0x00, 0x20, 0x00, 0x00, 0x31, 0xd2, 0x0f, 0x30, 0xe6, 0xf4, 0xeb, 0xfe });
    struct MsrHandler : PortHandler {
        uint32_t index = 0;
        uint64_t value = 0;
        ExitOutcome handle_exit(ExitContext& ctx) override
        {
            if (ctx.reason == KVM_EXIT_X86_WRMSR) {
                std::lock_guard g(lock);
                index = ctx.run.msr.index;
                value = ctx.run.msr.data;
                ctx.run.msr.error = 0;
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
