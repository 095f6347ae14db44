// Fuzzes hypercall dispatch as a hostile guest drives it. Each input is a small program (format in
// hypercall_input.h) run against one fresh xen::Domain on a fake platform, no KVM: hypercalls with
// any number, mode, CPL, vCPU, paging mode and argument registers, pointers aimed at guest pages the
// input also fills, clock jumps, and backend events. State (event channels, timers, the shared_info
// mapping, vcpu_info registrations) carries across the steps of one input, so sequences reach what
// single calls cannot. What the VMM runs around the domain is real where it matters:
//   - alarms go through vmm::GuestAlarms onto a vmm::TimerService thread (xen_fuzz_platform.h);
//   - a peer domain is reached through two vmm::EvtchnRelay brokers (evtchn_broker.h), and the
//     ports calls return are remembered and fed to later calls;
//   - two vCPU threads may issue hypercalls at once (second_vcpu.h), as vCPUs of one domain do;
//   - a blocked or polling vCPU is woken and its wait ended as VcpuExits does.
//
// After every step, what must always hold:
//   - a hypercall returns >= 0 or a negative Xen errno that xen_errno.h knows; CPL > 0 gets -EPERM
//     and numbers outside the table -ENOSYS; a failed call asks nothing of the vCPU;
//   - nothing outside the guest's writable RAM changed: the read-only page and the canary page
//     behind shared_info keep their bytes, and the physmap maps only RAM, that read-only page and
//     shared_info (once, where the domain says it is);
//   - the domain never has more alarms pending than its vCPUs' timers and polls, and none is left
//     once its vCPUs stop and it is destroyed;
//   - no crash, leak or undefined behaviour (ASan+UBSan).
#include <cstdint>
#include <array>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>

#include "evtchn_broker.h"
#include "hypercall_checks.h"
#include "hypercall_input.h"
#include "second_vcpu.h"
#include "xen/abi/event_channel.h"
#include "xen/abi/sched.h"
#include "xen/domain.h"
#include "xen/hypercall.h"
#include "xen/xen_errno.h"
#include "xen_fuzz_platform.h"

using namespace xkvm;
using namespace xkvm::fuzz;

namespace {

class CountingEndpoint final : public xen::Endpoint {
public:
    void notify() override { ++notified; }
    void disconnect() override { ++disconnected; }
    uint64_t notified = 0, disconnected = 0;
};

std::unique_ptr<xen::Domain> make_domain(FuzzPlatform& p, uint8_t setup, uint16_t domid, uint8_t* shared_info)
{
    xen::DomainSetup s;
    s.domid = domid;
    s.name = "fuzz";
    s.type = (setup & kSetupHvm) ? xen::GuestType::Hvm : xen::GuestType::Pvh;
    s.max_vcpus = (setup & 3) + 1u;
    s.memory_map = { { 0, kLowRamEnd, memory::RegionType::Ram, "" },
                     { kReadOnlyPage, kHighRamStart - kReadOnlyPage, memory::RegionType::Reserved, "" },
                     { kHighRamStart, kRamBytes - kHighRamStart, memory::RegionType::Ram, "" } };
    s.ram_pages = (kRamBytes - (kHighRamStart - kLowRamEnd)) / kPage;
    s.max_pages = kRamBytes / kPage;
    s.max_evtchn_port = kMaxPorts[(setup >> 4) & 3];
    s.emul_pin_virqs = setup & kSetupPinVirqs;
    s.clock = xen::clock_params_for(2'000'000, true);
    s.shared_info_page = shared_info;
    s.shared_info_offset = kSharedInfoOffset;
    return std::make_unique<xen::Domain>(p, s);
}

x86::PagingMode paging_mode(uint8_t bits, bool mode64, uint8_t cpl)
{
    x86::PagingMode m;
    m.cpl = cpl;
    m.cs_long = mode64;
    m.cr3 = kWindow + ((bits >> 6) & 3) * kPage;
    switch (static_cast<Paging>(bits & 7)) {
    case Paging::Bits32:
        m.cr0 = x86::kCr0Pe | x86::kCr0Pg;
        break;
    case Paging::Pae:
        m.cr0 = x86::kCr0Pe | x86::kCr0Pg;
        m.cr4 = x86::kCr4Pae;
        break;
    case Paging::Level4:
    case Paging::Level5:
        m.cr0 = x86::kCr0Pe | x86::kCr0Pg;
        m.cr4 = x86::kCr4Pae | ((bits & 7) == static_cast<uint8_t>(Paging::Level5) ? x86::kCr4La57 : 0);
        m.efer = x86::kEferLme | x86::kEferLma;
        break;
    default:
        m.cr0 = x86::kCr0Pe;
        m.cr3 = 0;
        return m;
    }
    if (bits & kPagingWp)
        m.cr0 |= x86::kCr0Wp;
    if (bits & kPagingPse)
        m.cr4 |= x86::kCr4Pse;
    if (bits & kPagingNx)
        m.efer |= x86::kEferNx;
    return m;
}

uint64_t read_arg(Reader& in, xen::Domain& d)
{
    switch (static_cast<Arg>(in.u8() % 8)) {
    case Arg::Imm8: return in.u8();
    case Arg::Imm16: return in.le(2);
    case Arg::Imm32: return in.le(4);
    case Arg::Imm64: return in.le(8);
    case Arg::Window: {
        uint64_t page = in.u8();
        return window_address(page, in.le(2));
    }
    case Arg::RamEnd: return kRamBytes - in.le(2);
    case Arg::SharedInfo: {
        uint64_t offset = in.le(2) % kPage;
        auto gfn = d.shared_info_gfn();
        return gfn ? (*gfn << 12) + offset : kWindow + offset;
    }
    case Arg::Negative: return static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(in.u8())));
    }
    return 0;
}

// The two domains' relays, kept for the whole run like the broker and the timer thread: each input
// attaches them to its domains and detaches them as it ends (a relay's thread start and join cost
// more than the input).
struct Relays {
    std::unique_ptr<vmm::EvtchnRelay> self, peer;
};

// The domain of one input, its optional peer behind the brokers, and the threads' shared state.
struct Run {
    FuzzPlatform& platform;
    std::unique_ptr<xen::Domain> domain;
    std::unique_ptr<xen::Domain> peer;
    vmm::EvtchnRelay* relay = nullptr;
    vmm::EvtchnRelay* peer_relay = nullptr;
    RememberedPorts ports;
    bool racing = false;
};

// The port an event-channel call returned, where the guest's struct says.
std::optional<evtchn_port_t> returned_port(const xen::HypercallContext& ctx)
{
    uint64_t at = ctx.arg(1);
    std::optional<uint64_t> offset;
    switch (ctx.cmd(0)) {
    case EVTCHNOP_alloc_unbound: offset = offsetof(evtchn_alloc_unbound, port); break;
    case EVTCHNOP_bind_interdomain: offset = offsetof(evtchn_bind_interdomain, local_port); break;
    case EVTCHNOP_bind_virq: offset = offsetof(evtchn_bind_virq, port); break;
    case EVTCHNOP_bind_ipi: offset = offsetof(evtchn_bind_ipi, port); break;
    default: return std::nullopt;
    }
    auto port = ctx.guest.read_obj<uint32_t>(at + *offset);
    return port ? std::optional<evtchn_port_t>(*port) : std::nullopt;
}

// VcpuExits' part after a hypercall and before each entry: a vCPU that may stop waiting does.
void vcpu_exits_part(xen::Domain& d, uint32_t vcpu)
{
    if (d.vcpu(vcpu).blocked && d.wake_condition(vcpu))
        d.end_wait(vcpu);
    (void)d.direct_upcall_due(vcpu);
}

void hypercall(Reader& in, Run& run, unsigned thread)
{
    xen::Domain& d = *run.domain;
    uint8_t op = in.u8();
    uint8_t flags = in.u8();
    uint8_t paging = in.u8();
    bool mode64 = flags & kFlag64;
    uint8_t cpl = (flags >> 1) & 3;
    uint32_t vcpu = ((flags >> 3) & 3) % d.max_vcpus();
    if (run.racing) { // each thread is its own vCPUs: even ones here, odd ones on the second thread
        vcpu = (vcpu & ~1u) | thread;
        if (vcpu >= d.max_vcpus())
            vcpu = thread;
    }
    std::array<uint64_t, 6> args {};
    for (auto& a : args)
        a = read_arg(in, d);
    if (!mode64)
        for (auto& a : args)
            a &= 0xffffffffu; // a 32-bit caller's registers are 32 bits wide
    x86::PagingMode mode = paging_mode(paging, mode64, cpl);
    xen::HypercallContext ctx { d, vcpu, mode64, cpl, op, args, x86::GuestVirtual(*run.platform.mem, mode) };
    int64_t rc = xen::dispatch_hypercall(ctx);
    check_result(ctx, rc);
    if (op == XEN_HYPERCALL_event_channel_op && rc == 0)
        if (auto port = returned_port(ctx))
            run.ports.add(false, *port);
    if (ctx.effect == xen::HypercallEffect::Block)
        vcpu_exits_part(d, vcpu);
}

void guest_write(Reader& in, FuzzPlatform& p)
{
    uint64_t page = in.u8();
    uint64_t offset = in.le(2);
    size_t len = in.u8();
    auto bytes = in.bytes(len);
    // Byte by byte through the window's wrap; a guest store to a hole or read-only page just fails.
    for (size_t i = 0; i < bytes.size(); ++i)
        (void)p.mem->write(window_address(page, offset + i), bytes.subspan(i, 1));
}

void port_write(Reader& in, Run& run)
{
    uint64_t page = in.u8();
    uint64_t offset = in.le(2);
    uint32_t port = run.ports.pick(in.u8());
    for (unsigned i = 0; i < 4; ++i) {
        uint8_t b = static_cast<uint8_t>(port >> (8 * i));
        (void)run.platform.mem->write(window_address(page, offset + i), std::span(&b, 1));
    }
}

// The peer domain's guest and its VMM, acting on their side of the channels.
void peer_step(Reader& in, Run& run)
{
    auto op = static_cast<PeerOp>(in.u8() % kPeerOps);
    uint8_t index = in.u8();
    if (!run.peer)
        return;
    auto& ec = run.peer->evtchn();
    switch (op) {
    case PeerOp::AllocUnbound:
        if (auto port = ec.alloc_unbound(kSelfDomid))
            run.ports.add(true, *port);
        break;
    case PeerOp::BindInterdomain:
        if (auto port = ec.bind_interdomain(kSelfDomid, run.ports.pick(static_cast<uint8_t>(index & ~1))))
            run.ports.add(true, *port);
        break;
    case PeerOp::Send: (void)ec.send(run.ports.pick(index | 1)); break;
    case PeerOp::Close: (void)ec.close(run.ports.pick(index | 1)); break;
    case PeerOp::Gone: {
        std::vector<UniqueFd> none, reply;
        (void)run.relay->handle(ipc::ops::kEvtchnDomainGone, ipc::Json { { "domid", kPeerDomid } }, none, reply);
        break;
    }
    }
}

void host_step(Step step, Reader& in, Run& run, std::vector<std::shared_ptr<CountingEndpoint>>& backends)
{
    xen::Domain& d = *run.domain;
    if (step == Step::HostRaise) {
        uint8_t how = in.u8();
        uint64_t value = in.le(2);
        if (how & 1)
            d.evtchn().raise_virq(static_cast<uint32_t>(value % 64), (how >> 1) % d.max_vcpus());
        else
            d.evtchn().raise(static_cast<evtchn_port_t>(value));
    } else if (step == Step::HostBackend) {
        auto ep = std::make_shared<CountingEndpoint>();
        if (d.evtchn().bind_backend(ep, 0, static_cast<evtchn_port_t>(in.le(2))))
            backends.push_back(ep);
    } else if (step == Step::Advance) {
        unsigned shift = in.u8() % 41;
        run.platform.advance(in.le(2) << shift);
    }
}

// One thread's steps until its bytes run out.
void run_steps(Reader in, Run& run, unsigned thread)
{
    std::vector<std::shared_ptr<CountingEndpoint>> backends;
    xen::Domain& d = *run.domain;
    // Per vCPU: a single-shot timer, a periodic one and a poll's deadline.
    const size_t max_alarms = std::min<size_t>(FuzzPlatform::kMaxAlarms, 3 * d.max_vcpus());
    while (!in.empty()) {
        auto step = static_cast<Step>(in.u8() % kStepKinds);
        switch (step) {
        case Step::Hypercall: hypercall(in, run, thread); break;
        case Step::GuestWrite: guest_write(in, run.platform); break;
        case Step::Peer: peer_step(in, run); break;
        case Step::PortWrite: port_write(in, run); break;
        default: host_step(step, in, run, backends); break;
        }
        if (run.racing)
            check_fixed_pages(run.platform);
        else
            check_memory(run.platform, d);
        check(run.platform.pending_alarms() <= max_alarms);
        for (uint32_t v = thread; v < d.max_vcpus(); v += run.racing ? 2 : 1)
            vcpu_exits_part(d, v);
    }
}

uint8_t g_peer_shared_info alignas(4096)[kPage];

void start_peer(Run& run, uint8_t setup, FuzzBroker& broker, Relays& relays)
{
    std::memset(g_peer_shared_info, 0, sizeof(g_peer_shared_info));
    run.peer = make_domain(run.platform, setup & 3, kPeerDomid, g_peer_shared_info);
    if (!relays.self) {
        auto relay = vmm::EvtchnRelay::create(run.domain->evtchn());
        auto peer_relay = vmm::EvtchnRelay::create(run.peer->evtchn());
        check(relay.has_value() && peer_relay.has_value());
        relays.self = relay.release_value();
        relays.peer = peer_relay.release_value();
    } else {
        relays.self->attach(run.domain->evtchn());
        relays.peer->attach(run.peer->evtchn());
    }
    run.relay = relays.self.get();
    run.peer_relay = relays.peer.get();
    run.domain->evtchn().set_broker(run.relay);
    run.peer->evtchn().set_broker(run.peer_relay);
    broker.attach({ run.relay, kSelfDomid }, { run.peer_relay, kPeerDomid });
}

// As the VMM ends: the vCPUs stop waiting, the relays stop delivering, then the domains go.
void finish(Run& run, FuzzBroker& broker)
{
    check_memory(run.platform, *run.domain);
    for (uint32_t v = 0; v < run.domain->max_vcpus(); ++v)
        run.domain->end_wait(v);
    broker.detach();
    if (run.relay) { // as stop() in the VMM: from here on nothing is delivered to either domain
        run.relay->detach();
        run.peer_relay->detach();
    }
    // As in the VMM, whose timer thread stops before the domain goes: no alarm runs from here on.
    run.platform.end_input();
    run.peer.reset();
    run.domain.reset();
    check(run.platform.pending_alarms() == 0); // every timer and poll deadline went with its domain
    run.platform.reset();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    static FuzzPlatform platform;
    static FuzzBroker broker;
    static SecondVcpu second;
    static Relays relays;
    Reader in(std::span(data, size));
    uint8_t setup = in.u8();
    Run run { platform, make_domain(platform, setup, kSelfDomid, platform.mem->host_base() + kSharedInfoOffset), {},
              nullptr, nullptr, {}, false };
    if (setup & kSetupPeer)
        start_peer(run, setup, broker, relays);
    auto rest = in.bytes(SIZE_MAX);
    if ((setup & kSetupRace) && run.domain->max_vcpus() > 1 && rest.size() >= 2) {
        size_t split = std::min<size_t>(rest[0] | (rest[1] << 8), rest.size() - 2);
        auto mine = rest.subspan(2, split), theirs = rest.subspan(2 + split);
        run.racing = true;
        second.start([&run, theirs] { run_steps(Reader(theirs), run, 1); });
        run_steps(Reader(mine), run, 0);
        second.wait();
    } else {
        run_steps(Reader(rest), run, 0);
    }
    finish(run, broker);
    return 0;
}
