// Fuzzes hypercall dispatch as a hostile guest drives it. Each input is a small program (format in
// hypercall_input.h) run against one fresh xen::Domain on a fake platform, no KVM: hypercalls with
// any number, mode, CPL, vCPU, paging mode and argument registers, pointers aimed at guest pages the
// input also fills, clock steps that fire PV timers and poll deadlines, and backend events. State
// (event channels, timers, the shared_info mapping, vcpu_info registrations) carries across the
// steps of one input, so sequences reach what single calls cannot.
//
// After every step, what must always hold:
//   - a hypercall returns >= 0 or a negative Xen errno that xen_errno.h knows; CPL > 0 gets -EPERM
//     and numbers outside the table -ENOSYS; a failed call asks nothing of the vCPU;
//   - nothing outside the guest's writable RAM changed: the read-only page and the canary page
//     behind shared_info keep their bytes, and the physmap maps only RAM, that read-only page and
//     shared_info (once, where the domain says it is);
//   - no crash, leak or undefined behaviour (ASan+UBSan).
#include <cstdint>
#include <array>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "hypercall_input.h"
#include "xen/abi/sched.h"
#include "xen/domain.h"
#include "xen/hypercall.h"
#include "xen/xen_errno.h"
#include "xen_fuzz_platform.h"

using namespace xkvm;
using namespace xkvm::fuzz;

namespace {

void check(bool ok)
{
    if (!ok)
        std::abort();
}

class CountingEndpoint final : public xen::Endpoint {
public:
    void notify() override { ++notified; }
    void disconnect() override { ++disconnected; }
    uint64_t notified = 0, disconnected = 0;
};

std::unique_ptr<xen::Domain> make_domain(FuzzPlatform& p, uint8_t setup)
{
    xen::DomainSetup s;
    s.domid = 5;
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
    s.shared_info_page = p.mem->host_base() + kSharedInfoOffset;
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

void check_result(const xen::HypercallContext& ctx, int64_t rc)
{
    bool known_op = ctx.op < xen::hypercall_table().size() && xen::hypercall_table()[ctx.op];
    if (ctx.cpl != 0)
        check(rc == -XEN_EPERM);
    else if (!known_op)
        check(rc == -XEN_ENOSYS);
    if (rc < 0) {
        check(rc >= -4095 && xen::to_xen_errno(static_cast<int>(-rc)) == -rc);
        check(ctx.effect == xen::HypercallEffect::None);
    }
    if (ctx.effect == xen::HypercallEffect::Shutdown)
        check(ctx.shutdown_reason <= 0xff); // Xen passes any 8-bit reason on
}

// A page of one byte value, compared with memcmp: a byte loop here would be instrumented for
// coverage and dominate the run.
struct FilledPage {
    explicit FilledPage(uint8_t v) { bytes.fill(v); }
    bool matches(const uint8_t* p) const { return std::memcmp(p, bytes.data(), bytes.size()) == 0; }
    std::array<uint8_t, kPage> bytes;
};

void check_memory(FuzzPlatform& p, xen::Domain& d)
{
    static const FilledPage canary(kCanaryByte), read_only(kReadOnlyByte);
    check(canary.matches(p.mem->host_base() + kCanaryOffset));
    check(read_only.matches(p.mem->host_base() + kReadOnlyPage));
    auto gfn = d.shared_info_gfn();
    unsigned shared_mappings = 0;
    uint64_t prev_end = 0;
    for (const auto& m : p.mem->mappings()) {
        check(m.gpa >= prev_end && m.size > 0);
        prev_end = m.end();
        if (m.offset == kSharedInfoOffset) {
            check(m.size == kPage && gfn && m.gpa == (*gfn << 12) && m.prot == memory::Protection::ReadWrite);
            ++shared_mappings;
        } else if (m.prot == memory::Protection::ReadOnly) {
            check(m.offset == kReadOnlyPage && m.size == kPage && m.gpa == kReadOnlyPage);
        } else {
            // RAM, still at its own address (the shared_info page may only punch holes in it).
            check(m.offset + m.size <= kRamBytes && m.gpa == m.offset && m.offset + m.size > m.offset);
        }
    }
    check(shared_mappings == (gfn ? 1u : 0u));
}

void hypercall(Reader& in, FuzzPlatform& p, xen::Domain& d)
{
    uint8_t op = in.u8();
    uint8_t flags = in.u8();
    uint8_t paging = in.u8();
    bool mode64 = flags & kFlag64;
    uint8_t cpl = (flags >> 1) & 3;
    uint32_t vcpu = ((flags >> 3) & 3) % d.max_vcpus();
    std::array<uint64_t, 6> args {};
    for (auto& a : args)
        a = read_arg(in, d);
    if (!mode64)
        for (auto& a : args)
            a &= 0xffffffffu; // a 32-bit caller's registers are 32 bits wide
    x86::PagingMode mode = paging_mode(paging, mode64, cpl);
    xen::HypercallContext ctx { d, vcpu, mode64, cpl, op, args, x86::GuestVirtual(*p.mem, mode) };
    int64_t rc = xen::dispatch_hypercall(ctx);
    check_result(ctx, rc);
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

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    Reader in(std::span(data, size));
    FuzzPlatform platform;
    auto domain = make_domain(platform, in.u8());
    std::vector<std::shared_ptr<CountingEndpoint>> backends;
    while (!in.empty()) {
        switch (static_cast<Step>(in.u8() % kStepKinds)) {
        case Step::Hypercall:
            hypercall(in, platform, *domain);
            break;
        case Step::GuestWrite:
            guest_write(in, platform);
            break;
        case Step::Advance: {
            unsigned shift = in.u8() % 41;
            platform.advance(in.le(2) << shift);
            break;
        }
        case Step::HostRaise: {
            uint8_t how = in.u8();
            uint64_t value = in.le(2);
            if (how & 1)
                domain->evtchn().raise_virq(static_cast<uint32_t>(value % 64), (how >> 1) % domain->max_vcpus());
            else
                domain->evtchn().raise(static_cast<evtchn_port_t>(value));
            break;
        }
        case Step::HostBackend: {
            auto ep = std::make_shared<CountingEndpoint>();
            if (domain->evtchn().bind_backend(ep, 0, static_cast<evtchn_port_t>(in.le(2))))
                backends.push_back(ep);
            break;
        }
        }
        check_memory(platform, *domain);
        // What the VMM asks on every vCPU entry and wake-up must hold up whatever the guest did.
        for (uint32_t v = 0; v < domain->max_vcpus(); ++v) {
            (void)domain->direct_upcall_due(v);
            (void)domain->wake_condition(v);
        }
    }
    return 0;
}
