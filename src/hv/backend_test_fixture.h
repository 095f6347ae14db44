// The fixture of the backend tests: a VM with 2 MiB of RAM and one vCPU on the backend in the test's
// parameter (the kvm instances skip where /dev/kvm is missing), and a handler collecting port writes.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>

#include "hv/select.h"
#include "hv/vcpu_runner.h"

namespace xkvm::hv::test {

using namespace std::chrono_literals;

inline constexpr uint16_t kPrintPort = 0xe9;
inline constexpr uint16_t kDonePort = 0xf4;

// This host's nested KVM cannot run some instructions at CPL0 (INT3, and IRET in protected mode):
// the exit is KVM internal error 1, emulation (../shared/kvm-here.md). A kvm test whose exit text
// says so skips, naming the reason; its emu variant checks the same.
inline bool host_kvm_cannot_emulate(const std::string& exit_text)
{
    return exit_text.find("KVM internal error 1 (") != std::string::npos;
}
inline constexpr const char* kHostKvmCannotEmulate =
    "SKIP: this host's KVM cannot emulate the test's CPL0 code (nested KVM; the emu variant runs)";

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
        if (ctx.exit.kind != Exit::Kind::PortIo) {
            std::lock_guard g(lock);
            out += fmt::format("[exit {} {} {:#x}]", static_cast<int>(ctx.exit.kind), ctx.exit.detail, ctx.exit.mmio.gpa);
            done = true;
            cv.notify_all();
            return ExitOutcome::Shutdown;
        }
        auto& io = ctx.exit.io;
        uint8_t byte = io.data[0];
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

struct BackendFixture : ::testing::TestWithParam<Accel> {
    std::unique_ptr<Hypervisor> sys;
    std::unique_ptr<memory::Physmap> mem;
    std::unique_ptr<Vm> vm;
    std::unique_ptr<Vcpu> vcpu;

    void SetUp() override
    {
        std::string why;
        if (GetParam() == Accel::Kvm && resolve_auto(&why) != Accel::Kvm) {
            const char* required = std::getenv("XKVM_REQUIRE_KVM"); // CI on KVM hosts: no skip
            if (required && std::string(required) == "1")
                FAIL() << "the kvm backend is unavailable: " << why << " (XKVM_REQUIRE_KVM=1)";
            GTEST_SKIP() << "SKIP: the kvm backend is unavailable: " << why;
        }
        auto opened = open_hypervisor(GetParam());
        ASSERT_TRUE(opened) << opened.error().message;
        sys = opened.release_value();
        mem = memory::Physmap::create(2 * memory::MiB, "backendtest").release_value();
        auto created = sys->create_vm({});
        ASSERT_TRUE(created) << created.error().message;
        vm = created.release_value();
        vm->attach_physmap(*mem);
        ASSERT_TRUE(mem->map(0, 2 * memory::MiB, 0));
        auto v = vm->create_vcpu(0);
        ASSERT_TRUE(v) << v.error().message;
        vcpu = v.release_value();
        ASSERT_TRUE(vcpu->set_cpuid(sys->supported_cpuid()));
    }

    void load(std::initializer_list<uint8_t> code, uint32_t at = 0x1000)
    {
        std::vector<uint8_t> bytes(code);
        ASSERT_TRUE(mem->write(at, bytes));
        ASSERT_TRUE(vcpu->set_cpu_state(x86::flat_protected_mode_32(at, 0)));
    }
};

} // namespace xkvm::hv::test
