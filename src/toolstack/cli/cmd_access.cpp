// xkvm access DOMAIN MODE: watch one kind of vm_event event in a domain, one line per event, as
// Xen's xen-access does, until SIGINT or SIGTERM; closing the monitor channel then lifts whatever
// was set (the VMM undoes it all when its monitor goes). The domain's VMM serves the channel at
// <rundir>/<domid>/monitor.sock; the daemon only tells us the domain's id.
#include <signal.h>

#include <cstdio>
#include <map>

#include "ipc/ops.h"
#include "ipc/rundir.h"
#include "toolstack/cli/commands.h"
#include "toolstack/cli/daemon_client.h"
#include "vmevent/client.h"

namespace xkvm::cli {

namespace {

using namespace vmevent;

volatile sig_atomic_t g_interrupted = 0;

// The MSRs the msr mode watches: the system-call entry points and EFER.
constexpr uint32_t kWatchedMsrs[] = { 0x174, 0x175, 0x176, 0xc0000080, 0xc0000081, 0xc0000082, 0xc0000083 };
constexpr uint64_t kMaxWatchedMib = 3072; // RAM below the MMIO hole

const std::map<std::string, EventConfig>& mode_events()
{
    static const std::map<std::string, EventConfig> modes {
        { "write", {} },
        { "exec", {} },
        { "breakpoint", { .breakpoint = true } },
        { "singlestep", { .singlestep = true } },
        { "msr", { .msrs = { std::begin(kWatchedMsrs), std::end(kWatchedMsrs) } } },
        { "cr", { .cr_writes = (1u << 0) | (1u << 3) | (1u << 4) } },
        { "guest-request", { .guest_request = true } },
    };
    return modes;
}

const char* cr_name(uint32_t index)
{
    switch (index) {
    case kCtrlCr0: return "cr0";
    case kCtrlCr3: return "cr3";
    case kCtrlCr4: return "cr4";
    default: return "xcr0";
    }
}

void print_event(const Event& e)
{
    const RegsX86& r = e.regs.x86;
    switch (e.reason) {
    case kReasonMemAccess: {
        const MemAccess& m = e.u.mem_access;
        std::printf("vcpu %u mem_access %c%c%c gfn %#llx offset %#llx gla %#llx%s%s rip %#llx\n", e.vcpu_id,
                    m.flags & kMemR ? 'r' : '-', m.flags & kMemW ? 'w' : '-', m.flags & kMemX ? 'x' : '-',
                    (unsigned long long)m.gfn, (unsigned long long)m.offset, (unsigned long long)m.gla,
                    m.flags & kMemGlaValid ? "" : " (invalid)", m.flags & kMemFaultInGpt ? " (in page tables)" : "",
                    (unsigned long long)r.rip);
        break;
    }
    case kReasonSoftwareBreakpoint:
        std::printf("vcpu %u breakpoint rip %#llx gfn %#llx\n", e.vcpu_id, (unsigned long long)r.rip,
                    (unsigned long long)e.u.software_breakpoint.gfn);
        break;
    case kReasonSinglestep:
        std::printf("vcpu %u singlestep rip %#llx\n", e.vcpu_id, (unsigned long long)r.rip);
        break;
    case kReasonMovToMsr:
        std::printf("vcpu %u msr %#llx new %#llx old %#llx\n", e.vcpu_id, (unsigned long long)e.u.mov_to_msr.msr,
                    (unsigned long long)e.u.mov_to_msr.new_value, (unsigned long long)e.u.mov_to_msr.old_value);
        break;
    case kReasonWriteCtrlreg:
        std::printf("vcpu %u %s new %#llx old %#llx rip %#llx\n", e.vcpu_id, cr_name(e.u.write_ctrlreg.index),
                    (unsigned long long)e.u.write_ctrlreg.new_value, (unsigned long long)e.u.write_ctrlreg.old_value,
                    (unsigned long long)r.rip);
        break;
    case kReasonGuestRequest:
        std::printf("vcpu %u guest_request rip %#llx rax %#llx rdi %#llx rsi %#llx rdx %#llx\n", e.vcpu_id,
                    (unsigned long long)r.rip, (unsigned long long)r.rax, (unsigned long long)r.rdi,
                    (unsigned long long)r.rsi, (unsigned long long)r.rdx);
        break;
    default:
        std::printf("vcpu %u reason %u rip %#llx\n", e.vcpu_id, e.reason, (unsigned long long)r.rip);
    }
    std::fflush(stdout);
}

// The response: a watched page is let go after its first event (each page reports once, as in
// xen-access); a breakpoint goes on to the guest's own #BP handler.
Status answer(Client& mon, const Pending& p)
{
    Event rsp = Client::resume(p.request);
    if (p.request.reason == kReasonMemAccess)
        TRY(mon.set_access(p.request.u.mem_access.gfn, 1, kXenmemRwx));
    if (p.request.reason == kReasonSoftwareBreakpoint)
        rsp.flags |= kFlagEmulate;
    return mon.respond(p, rsp);
}

Status watch(const Context& ctx, Client& mon, const std::string& mode, uint64_t memory_mib)
{
    TRY(mon.set_events(mode_events().at(mode)));
    if (mode == "write" || mode == "exec") {
        uint64_t pages = std::min(memory_mib, kMaxWatchedMib) << 8;
        TRY(mon.set_access(0, pages, mode == "write" ? kXenmemRx : kXenmemRw));
    }
    std::fprintf(stderr, "%s access: watching %s on %u vcpus (%s); interrupt to stop\n", ctx.prog.c_str(),
                 mode.c_str(), mon.vcpus(), mon.has_slots() ? "slots" : "ring only");
    while (!g_interrupted) {
        std::vector<Pending> events;
        TRY(mon.wait(events, std::chrono::milliseconds(250)));
        for (auto& p : events) {
            print_event(p.request);
            TRY(answer(mon, p));
        }
    }
    return {};
}

} // namespace

int cmd_access(const Context& ctx, const std::string& dom, const std::string& mode)
{
    if (!mode_events().count(mode))
        return report(ctx, "access: the mode is one of write, exec, breakpoint, singlestep, msr, cr, guest-request");
    auto client = DaemonClient::connect(ctx.rundir, false);
    if (!client)
        return report(ctx, client.error());
    auto rec = (*client)->call(ipc::ops::kDomain, ipc::Json { { "dom", dom } });
    if (!rec)
        return report(ctx, rec.error());
    uint32_t domid = (*rec)["domid"].get<uint32_t>();
    auto mon = Client::connect(ipc::monitor_socket_path(ctx.rundir, domid), { .ring_pages = 1, .slots = true });
    if (!mon)
        return report(ctx, mon.error());
    struct sigaction sa {};
    sa.sa_handler = [](int sig) { g_interrupted = sig; };
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    auto st = watch(ctx, **mon, mode, (*rec)["memory_mib"].get<uint64_t>());
    mon->reset(); // the VMM lifts every limit and intercept, and resumes anything waiting
    if (!st && st.error().code != ECONNRESET)
        return report(ctx, st.error());
    return 0;
}

} // namespace xkvm::cli
