#include "vmevent_support.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "backend.h"
#include "hv/backend_test_fixture.h"
#include "xkvm/guest_paths.h"

namespace xkvm::test {

namespace {

std::string socket_path(const std::string& name)
{
    static std::atomic<unsigned> n { 0 };
    return "/tmp/xkvm-vmevent-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + "-" + name + ".sock";
}

} // namespace

GuestOptions vmevent_guest(const std::string& mode, const std::string& name, unsigned vcpus, unsigned count)
{
    GuestOptions o;
    o.kernel = XKVM_GUEST_ELF("vmevent64");
    o.name = name;
    o.vcpus = vcpus;
    o.cmdline = "mode=" + mode + " vcpus=" + std::to_string(vcpus) + " count=" + std::to_string(count);
    o.timeout = std::chrono::seconds(120);
    return o;
}

std::optional<Mark> mark_of(const vmevent::Event& e)
{
    if (e.reason != vmevent::kReasonGuestRequest || (e.regs.x86.rdx & 0xff00000000000000ull) != kMarkMagic)
        return std::nullopt;
    return static_cast<Mark>(e.regs.x86.rdx & 0xff);
}

vmevent::Event with_registers(const vmevent::Event& request, uint64_t rip, uint64_t rax)
{
    vmevent::Event rsp = vmevent::Client::resume(request);
    rsp.flags |= vmevent::kFlagSetRegisters;
    rsp.regs.x86 = request.regs.x86;
    rsp.regs.x86.rip = rip;
    rsp.regs.x86.rax = rax;
    return rsp;
}

void expect_clean_end(const GuestRun& run)
{
    EXPECT_EQ(run.result.value_or("(none)"), "PASS") << run.describe();
    EXPECT_EQ(run.process.exit_code, 0) << run.describe();
}

bool host_kvm_failed_int3(const GuestRun& run, uint64_t rip)
{
    char where[40];
    std::snprintf(where, sizeof where, " at rip %#llx", static_cast<unsigned long long>(rip));
    const std::string& err = run.process.err;
    return kvm_backend_requested() && hv::test::host_kvm_cannot_emulate(err) && err.find(where) != std::string::npos;
}

MonitoredGuest::MonitoredGuest(GuestOptions opts, std::vector<std::string> vmm_flags) : m_socket(socket_path(opts.name))
{
    opts.vmm_args = { "--monitor-socket", m_socket, "--monitor-wait", "60" };
    opts.vmm_args.insert(opts.vmm_args.end(), vmm_flags.begin(), vmm_flags.end());
    m_run = std::async(std::launch::async, [opts] { return run_guest(vmm_path(), opts); });
}

MonitoredGuest::~MonitoredGuest()
{
    if (m_run.valid())
        m_run.wait();
    ::unlink(m_socket.c_str());
}

Result<std::unique_ptr<vmevent::Client>> MonitoredGuest::attach(vmevent::OpenOptions open,
                                                                std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto c = vmevent::Client::connect(m_socket, open);
        if (c || c.error().code != ENOENT || std::chrono::steady_clock::now() > deadline)
            return c;
        // The VMM is still building the domain; it has not created the socket yet.
        if (m_run.wait_for(std::chrono::milliseconds(20)) == std::future_status::ready)
            return fail(ECHILD, "the VMM ended before serving its monitor socket");
    }
}

GuestRun MonitoredGuest::finish()
{
    return m_run.get();
}

Served serve(vmevent::Client& client, std::chrono::milliseconds deadline, Answer answer, size_t stop_after)
{
    Served s;
    auto end = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < end) {
        std::vector<vmevent::Pending> batch;
        auto r = client.wait(batch, std::chrono::milliseconds(200));
        if (!r) {
            s.vmm_gone = r.error().code == ECONNRESET;
            if (!s.vmm_gone)
                s.error = r.error().message;
            return s;
        }
        for (auto& p : batch) {
            s.events.push_back(p);
            if (stop_after && s.events.size() >= stop_after)
                return s;
            auto rsp = answer ? answer(p) : vmevent::Client::resume(p.request);
            if (auto st = client.respond(p, rsp); !st) {
                s.error = st.error().message;
                return s;
            }
        }
    }
    s.error = "the deadline passed";
    return s;
}

} // namespace xkvm::test
