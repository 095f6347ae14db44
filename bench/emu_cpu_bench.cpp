// The interpreter's speed on integer C code: a sieve and an FNV hash over 100 KB, compiled by gcc
// -O2 -mgeneral-regs-only (the function below, as bytes), run in 64-bit mode under 4-level paging.
// No /dev/kvm needed. Ends with RESULT lines (conventions.md).
//
//   unsigned long work(unsigned char* buf, unsigned long n)
//   {
//       unsigned long count = 0;
//       for (unsigned long i = 2; i < n; i++) buf[i] = 1;
//       for (unsigned long i = 2; i * i < n; i++)
//           if (buf[i]) for (unsigned long j = i * i; j < n; j += i) buf[j] = 0;
//       for (unsigned long i = 2; i < n; i++) count += buf[i];
//       unsigned long h = 1469598103934665603UL;
//       for (unsigned long r = 0; r < 20; r++)
//           for (unsigned long i = 0; i < n; i++) { h ^= buf[i] + i; h *= 1099511628211UL; }
//       return count ^ h;
//   }
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "emu/cpu/cpu.h"

namespace {

using namespace xkvm::emu;

constexpr uint64_t kRam = 4 << 20;
constexpr uint64_t kPml4 = 0x1000, kPdpt = 0x2000, kPd = 0x3000, kStub = 0x10000, kWork = 0x11000;
constexpr uint64_t kExpected = 0xbbc77da95fd186fbull; // work(buf at 0x100000, n = 100000), natively

const uint8_t kWorkCode[] = {
    0x49, 0x89, 0xf8, 0x48, 0x89, 0xf7, 0x48, 0x83, 0xfe, 0x02, 0x0f, 0x86, 0xca, 0x00,
    0x00, 0x00, 0x49, 0x8d, 0x48, 0x02, 0x49, 0x8d, 0x34, 0x30, 0x48, 0x89, 0xc8, 0x0f,
    0x1f, 0x44, 0x00, 0x00, 0xc6, 0x00, 0x01, 0x48, 0x83, 0xc0, 0x01, 0x48, 0x39, 0xc6,
    0x75, 0xf4, 0xba, 0x02, 0x00, 0x00, 0x00, 0xb8, 0x04, 0x00, 0x00, 0x00, 0x48, 0x83,
    0xff, 0x04, 0x77, 0x14, 0xeb, 0x3f, 0x66, 0x90, 0x48, 0x83, 0xc2, 0x01, 0x48, 0x89,
    0xd0, 0x48, 0x0f, 0xaf, 0xc2, 0x48, 0x39, 0xf8, 0x73, 0x2d, 0x41, 0x80, 0x3c, 0x10,
    0x00, 0x74, 0xe9, 0x48, 0x39, 0xf8, 0x73, 0xe4, 0x0f, 0x1f, 0x40, 0x00, 0x41, 0xc6,
    0x04, 0x00, 0x00, 0x48, 0x01, 0xd0, 0x48, 0x39, 0xf8, 0x72, 0xf3, 0x48, 0x83, 0xc2,
    0x01, 0x48, 0x89, 0xd0, 0x48, 0x0f, 0xaf, 0xc2, 0x48, 0x39, 0xf8, 0x72, 0xd3, 0x31,
    0xc0, 0x90, 0x0f, 0xb6, 0x11, 0x48, 0x83, 0xc1, 0x01, 0x48, 0x01, 0xd0, 0x48, 0x39,
    0xce, 0x75, 0xf1, 0x48, 0xb9, 0x83, 0x03, 0x9d, 0x73, 0xb0, 0x0f, 0x65, 0x14, 0x48,
    0x85, 0xff, 0x74, 0x38, 0x49, 0xb9, 0xb3, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
    0x41, 0xba, 0x14, 0x00, 0x00, 0x00, 0x66, 0x90, 0x31, 0xd2, 0x66, 0x0f, 0x1f, 0x44,
    0x00, 0x00, 0x41, 0x0f, 0xb6, 0x34, 0x10, 0x48, 0x01, 0xd6, 0x48, 0x83, 0xc2, 0x01,
    0x48, 0x31, 0xf1, 0x49, 0x0f, 0xaf, 0xc9, 0x48, 0x39, 0xd7, 0x75, 0xe8, 0x49, 0x83,
    0xea, 0x01, 0x75, 0xda, 0x48, 0x31, 0xc8, 0xc3, 0x31, 0xc0, 0xeb, 0xb1,
};
// mov edi,0x100000; mov esi,100000; call 0x11000; hlt
const uint8_t kStubCode[] = { 0xbf, 0x00, 0x00, 0x10, 0x00, 0xbe, 0xa0, 0x86, 0x01, 0x00, 0xe8, 0xf1, 0x0f, 0x00, 0x00, 0xf4 };

class BenchBus : public CpuBus {
public:
    uint8_t* ram = static_cast<uint8_t*>(std::calloc(kRam, 1));
    ~BenchBus() override { std::free(ram); }
    uint8_t* ram_page(uint64_t gpa, bool) override { return gpa < kRam ? ram + gpa : nullptr; }
    bool local_mmio(uint64_t, void*, unsigned, bool) override { return false; }
    bool local_pio(uint16_t, void*, unsigned, bool) override { return false; }
    MsrResult local_msr(uint32_t, uint64_t&, bool) override { return MsrResult::NotMine; }
    CpuidRegs cpuid(uint32_t, uint32_t) override { return {}; }
    uint64_t tsc() override { return 0; }
    std::optional<uint8_t> acknowledge_interrupt() override { return std::nullopt; }
    void put64(uint64_t a, uint64_t v) { std::memcpy(ram + a, &v, 8); }
};

void long_mode(BenchBus& bus, Cpu& cpu)
{
    bus.put64(kPml4, kPdpt | 3);
    bus.put64(kPdpt, kPd | 3);
    bus.put64(kPd, 0x83);
    bus.put64(kPd + 8, 0x200000 | 0x83);
    apply_cpu_state(cpu.state(), xkvm::x86::flat_long_mode_64());
    EmuState& st = cpu.state();
    st.cr3 = kPml4;
    st.rip = kStub;
    st.gpr[xkvm::x86::Rsp] = 0x80000;
    cpu.state_changed();
}

// CPU time of this thread: on a shared machine, wall time also counts other processes' slices.
double thread_seconds()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

} // namespace

int main()
{
    BenchBus bus;
    std::memcpy(bus.ram + kWork, kWorkCode, sizeof(kWorkCode));
    std::memcpy(bus.ram + kStub, kStubCode, sizeof(kStubCode));
    double best = 0, best_cpu = 0;
    for (int round = 0; round < 3; ++round) {
        Cpu cpu(bus);
        long_mode(bus, cpu);
        auto t0 = std::chrono::steady_clock::now();
        double c0 = thread_seconds();
        CpuExit e;
        do
            e = cpu.run(1u << 24);
        while (e.kind == CpuExit::Kind::Budget);
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        double cpu_secs = thread_seconds() - c0;
        uint64_t n = cpu.instructions_retired();
        bool ok = e.kind == CpuExit::Kind::Halt && cpu.state().gpr[xkvm::x86::Rax] == kExpected;
        double mips = double(n) / secs / 1e6;
        double cpu_mips = double(n) / cpu_secs / 1e6;
        std::printf("round %d: %llu instructions in %.3f s (%.3f s CPU) = %.1f MIPS (%.1f per CPU second) %s\n", round,
                    (unsigned long long)n, secs, cpu_secs, mips, cpu_mips, ok ? "ok" : "WRONG RESULT");
        if (!ok)
            return 1;
        best = std::max(best, mips);
        best_cpu = std::max(best_cpu, cpu_mips);
    }
    std::printf("RESULT emu_cpu_integer_mips %.1f MIPS\n", best);
    std::printf("RESULT emu_cpu_integer_mips_cpu_time %.1f MIPS\n", best_cpu);
    return 0;
}
