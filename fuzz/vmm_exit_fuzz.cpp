// Fuzzes the VMM's exit handlers (vmm::VcpuExits) with decoded exits a hostile guest could cause:
// port I/O (string I/O included) to every device on the bus and the hypercall port, MMIO anywhere,
// MSR reads and writes (the hypercall MSR too), VMCALL hypercalls with any registers, halts,
// debug and introspection exits, and the exits that end the domain. They run against a real
// vmm::Machine on the emulated CPU backend (no KVM), built once and kept paused: its vCPUs never
// run, and a stand-in vCPU (no backend) answers the handlers' questions from the input. Building a
// machine per input would cost far more than the input, so state (devices, Xen state, a shutdown
// once latched) carries from one input to the next: a crash may need the inputs before it.
//
// What must hold, besides no crash and no sanitizer report: a handler resumes, pauses or shuts the
// domain down; an unknown MSR faults; the domain's DMA space keeps mapping what its physmap maps.
#include "fuzz_input.h"
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <span>
#include <vector>

#include "base/log.h"
#include "loader/test_elf_builder.h"
#include "vmm/machine.h"
#include "vmm/vcpu_exits.h"
#include "xen/abi/cpuid.h"
#include "xen/abi/xen.h"
#include "xen/hypercall_page.h"
#include "xen/hypercall_msr.h"

using namespace xkvm;
using fuzz::check;
using fuzz::Input;

namespace {

constexpr unsigned kMaxSteps = 128;

// The vCPU as the handlers see it: registers and paging mode from the input, no backend behind.
class StandInVcpu final : public hv::Vcpu {
public:
    explicit StandInVcpu(uint32_t id) : m_id(id) { }
    uint32_t id() const override { return m_id; }
    hv::Exit& run() override { return exit; }
    Result<x86::Regs> regs() override { return regs_value; }
    Status set_regs(const x86::Regs& r) override
    {
        regs_value = r;
        return {};
    }
    Result<x86::CpuState> cpu_state() override { return x86::CpuState {}; }
    Status set_cpu_state(const x86::CpuState&) override { return {}; }
    Result<x86::PagingMode> paging_mode() override { return mode; }
    Result<hv::MpState> mp_state() override { return mp; }
    Status set_mp_state(hv::MpState s) override
    {
        mp = s;
        return {};
    }
    Result<bool> try_inject_interrupt(uint8_t) override { return accept_interrupt; }
    Result<uint64_t> get_msr(uint32_t) override { return uint64_t(0); }
    Status set_msrs(std::span<const std::pair<uint32_t, uint64_t>>) override { return {}; }
    Status set_cpuid(const hv::CpuidTable&) override { return {}; }
    Status set_single_step(bool) override { return {}; }
    Result<uint32_t> tsc_khz() override { return 2'000'000u; }
    Result<bool> set_tsc_offset(uint64_t) override { return true; }
    void request_immediate_exit() override { }
    void clear_immediate_exit() override { }

    hv::Exit exit;
    x86::Regs regs_value;
    x86::PagingMode mode;
    hv::MpState mp = hv::MpState::Runnable;
    bool accept_interrupt = true;

private:
    uint32_t m_id;
};

// A PVH kernel that is never run: the machine only needs something to load.
std::string write_kernel()
{
    auto elf = loader::test::ElfBuilder(loader::ElfClass::Elf64)
                   .segment(0x100000, { 0xf4, 0xeb, 0xfd }) // hlt; jmp back
                   .phys32_entry(0x100000)
                   .build();
    std::string path = "/tmp/xkvm-vmm-exit-fuzz-kernel-" + std::to_string(::getpid());
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(elf.data()), static_cast<std::streamsize>(elf.size()));
    return path;
}

vmm::Machine& machine()
{
    static std::unique_ptr<vmm::Machine> m = [] {
        // Nearly every input ends the domain in a way the VMM warns of (a triple fault, a failed
        // vCPU): a line on stderr per input, more than a million in a long run.
        log::get("vmm")->sinks().clear();
        vmm::VmSpec spec;
        spec.domid = 9;
        spec.name = "exit-fuzz";
        spec.kernel = write_kernel();
        spec.memory_mib = spec.maxmem_mib = 16;
        spec.vcpus = spec.max_vcpus = 2;
        spec.memory_map = vmm::default_memory_map(spec.memory_mib);
        auto created = vmm::Machine::create(spec, hv::Accel::Emu);
        ::unlink(spec.kernel.c_str());
        check(created.has_value());
        return created.release_value();
    }();
    return *m;
}

// Ports and addresses where the machine has something, and anywhere else.
uint16_t pick_port(Input& in)
{
    static constexpr uint16_t kPorts[] = { xen::kHypercallPort, 0x3f8, 0x3fd, 0x40, 0x43, 0x61, 0x20, 0x21,
                                           0xa0, 0x70, 0x71, 0xe9, 0x80, 0x92, 0x4d0, 0xcf8, 0xcfc };
    uint8_t sel = in.u8();
    return sel < 200 ? kPorts[sel % std::size(kPorts)] : static_cast<uint16_t>(in.le(2));
}

uint64_t pick_gpa(Input& in)
{
    static constexpr uint64_t kBases[] = { 0xfee00000, 0xfec00000, 0xfed00000, 0xa0000, 0x100000, 0xfc000000,
                                           0xfeff0000 };
    uint8_t sel = in.u8();
    return sel < 200 ? kBases[sel % std::size(kBases)] + (in.le(2) & 0xfff) : in.le(8);
}

void decode_exit(Input& in, StandInVcpu& v, std::array<uint8_t, 64>& buf)
{
    hv::Exit& e = v.exit;
    e = hv::Exit {};
    uint8_t kind = in.u8();
    e.kind = static_cast<hv::Exit::Kind>(kind % 13);
    uint8_t flags = in.u8();
    static constexpr uint8_t kSizes[] = { 1, 2, 4, 8 };
    switch (e.kind) {
    case hv::Exit::Kind::PortIo:
        e.io = { pick_port(in), kSizes[flags & 3] == 8 ? uint8_t(4) : kSizes[flags & 3], bool(flags & 4),
                 1u + ((flags >> 3) & 7), buf.data() };
        break;
    case hv::Exit::Kind::Mmio:
        e.mmio = { pick_gpa(in), kSizes[flags & 3], bool(flags & 4), buf.data() };
        break;
    case hv::Exit::Kind::MsrRead:
    case hv::Exit::Kind::MsrWrite:
        e.msr.index = (flags & 1) ? XEN_HYPERCALL_MSR : static_cast<uint32_t>(in.le(4));
        e.msr.value = in.le(8);
        break;
    case hv::Exit::Kind::Failed: e.detail = "fuzzed failure"; break;
    default: break;
    }
    auto bytes = in.le(8);
    for (size_t i = 0; i < buf.size(); ++i)
        buf[i] = static_cast<uint8_t>(bytes >> (8 * (i % 8)));
}

// A hypercall's registers and the mode it is made in.
void hypercall_state(Input& in, StandInVcpu& v)
{
    uint8_t flags = in.u8();
    v.regs_value = x86::Regs {};
    v.regs_value.gpr[x86::Rax] = in.u8() % 64;
    for (int r : { x86::Rdi, x86::Rsi, x86::Rdx, x86::R10, x86::R8, x86::Rbx, x86::Rcx })
        v.regs_value.gpr[r] = (flags & 0x80) ? in.le(8) : in.le(3);
    v.regs_value.rflags |= (flags & 1) ? x86::kRflagsIf : 0;
    v.mode = x86::PagingMode {};
    v.mode.cr0 = x86::kCr0Pe;
    v.mode.cpl = (flags >> 1) & 3;
    if (flags & 8) { // 64-bit code
        v.mode.efer = x86::kEferLme | x86::kEferLma;
        v.mode.cs_long = true;
    }
    v.accept_interrupt = flags & 16;
}

// The whole comparison of the DMA space with the physmap (a walk of every leaf) whenever either may
// have changed since it last held: its answer depends only on the physmap's mappings and the I/O
// page tables, and the tables change only through map and unmap operations, which the context
// counts. Most inputs change neither, and the walk cost ten times the rest of the input. A mirror
// that failed to follow a change says so (sticky) and is asked after every input.
void check_dma_space(vmm::Machine& m)
{
    static std::vector<memory::Mapping> verified_mappings;
    static uint64_t verified_operations = UINT64_MAX;
    check(m.after_memory_op().has_value());
    auto mappings = m.physmap().mappings();
    uint64_t operations = m.dma().stats().operations;
    if (mappings == verified_mappings && operations == verified_operations)
        return;
    check(m.check_dma_space().has_value());
    verified_mappings = std::move(mappings);
    verified_operations = operations;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    vmm::Machine& m = machine();
    static vmm::VcpuExits exits[2] = { vmm::VcpuExits(m, 0), vmm::VcpuExits(m, 1) };
    static StandInVcpu vcpus[2] = { StandInVcpu(0), StandInVcpu(1) };
    Input in(data, size);
    std::array<uint8_t, 64> buf {};
    for (unsigned steps = 0; !in.empty() && steps < kMaxSteps; ++steps) {
        unsigned id = in.u8() & 1;
        StandInVcpu& v = vcpus[id];
        hypercall_state(in, v);
        decode_exit(in, v, buf);
        if (in.u8() & 1) {
            (void)exits[id].before_entry(v);
            continue;
        }
        bool unknown_msr = (v.exit.kind == hv::Exit::Kind::MsrRead || v.exit.kind == hv::Exit::Kind::MsrWrite)
            && v.exit.msr.index != XEN_HYPERCALL_MSR;
        hv::ExitContext ctx { v, v.exit };
        auto outcome = exits[id].handle_exit(ctx);
        check(outcome == hv::ExitOutcome::Resume || outcome == hv::ExitOutcome::Pause
              || outcome == hv::ExitOutcome::Shutdown);
        if (unknown_msr)
            check(v.exit.msr.fault);
    }
    check_dma_space(m);
    return 0;
}
