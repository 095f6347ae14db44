// Integer speed (MIPS) of the emulated CPU beside KVM and QEMU's TCG, measured in one run on the same
// guest (guests/bench/mips_bench.c: sorting, CRC-32, formatting, linked lists at CPL3):
//
//   emu        xkvm-vmm --accel emu
//   kvm        xkvm-vmm --accel kvm, where /dev/kvm opens (else skipped, saying why)
//   qemu_tcg   qemu-system-x86_64 -accel tcg booting the same ELF through its PVH note; no Xen
//              there, so the guest prints to port 0xe9 (-debugcon) and ends through isa-debug-exit
//              (skipped when QEMU is missing: bench/run_mips_bench.sh installs it)
//
// Instructions: the workload is deterministic, so its instruction count is the same everywhere and
// is taken where it can be counted exactly: the emulated CPU retires instructions one by one, and
// `xkvm-vmm --stats` prints the count at exit. A run of N rounds minus a run of 0 rounds (the same
// boot, output and power off) leaves the N rounds alone.
// Time: the guest reads the TSC around the N rounds, so boot and teardown do not count. The TSC
// ticks at the host's rate on every backend here (emu reads the host TSC, KVM runs the guest on it,
// TCG derives it from the host's); the rate is Xen's CPUID time leaf where the guest has one, else
// the host's, calibrated here. The whole run's wall time is printed beside it as a sanity check.
// On a shared host the guest's TSC also counts the time other processes had the CPU, so each backend
// is also run with 0 rounds and the host CPU time (user + system, all of the runner's threads) of the
// two runs is subtracted: MIPS per CPU second, the speed the backend would show on an idle core.
// The checksum each guest prints must match emu's: the same work was done.
//
// Usage: mips_bench [rounds]   (default 40). Prints a table and RESULT lines.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <x86intrin.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "xkvm/guest_paths.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr unsigned long kDefaultRounds = 100;
constexpr const char* kTimeout = "timeout 900 "; // a hung guest ends the run, not the harness
constexpr const char* kQemu = "qemu-system-x86_64";

// One backend's run of the guest.
struct Run {
    std::string output;          // guest console and the runner's stderr
    int status = -1;             // wait status of the runner
    double wall_s = 0;           // the whole process, boot and teardown included
    double cpu_s = 0;            // host CPU time of the whole process tree
    std::map<std::string, double> bench;
    std::optional<uint64_t> instructions; // emu only: xkvm-vmm --stats
    uint64_t checksum = 0;                // exact (bench_lines goes through double)
    std::optional<uint64_t> rounds;       // as the guest understood its command line
};

// Host TSC ticks per millisecond, against the monotonic clock over 200 ms.
double host_tsc_khz()
{
    auto t0 = Clock::now();
    uint64_t c0 = __rdtsc();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    uint64_t c1 = __rdtsc();
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    return double(c1 - c0) / ms;
}

std::optional<uint64_t> find_u64(const std::string& out, const std::string& key)
{
    size_t at = out.find(key);
    if (at == std::string::npos)
        return std::nullopt;
    return std::strtoull(out.c_str() + at + key.size(), nullptr, 10);
}

// User + system time of every descendant reaped so far (the shell, timeout and the runner each reap
// their child, so the runner's threads end up here).
double children_cpu_s()
{
    rusage ru {};
    ::getrusage(RUSAGE_CHILDREN, &ru);
    auto s = [](const timeval& tv) { return double(tv.tv_sec) + double(tv.tv_usec) / 1e6; };
    return s(ru.ru_utime) + s(ru.ru_stime);
}

Run run_guest(const std::string& cmd)
{
    Run r;
    auto t0 = Clock::now();
    double cpu0 = children_cpu_s();
    r.output = xkvm::bench::run_capture(kTimeout + cmd + " 2>&1", &r.status);
    r.cpu_s = children_cpu_s() - cpu0;
    r.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
    r.bench = xkvm::bench::bench_lines(r.output);
    r.instructions = find_u64(r.output, "vcpu 0 instructions_retired ");
    r.rounds = find_u64(r.output, "BENCH mips_cycles ");
    if (size_t at = r.output.find("BENCH mips_checksum "); at != std::string::npos)
        if (auto c = find_u64(r.output.substr(at + 20), " "))
            r.checksum = *c;
    return r;
}

Run run_xkvm(const std::string& accel, unsigned long rounds)
{
    return run_guest(std::string(XKVM_VMM_PATH) + " --accel " + accel + " --stats --memory 64 --console --kernel "
                     + XKVM_GUEST_ELF("mips_bench") + " --cmdline iterations=" + std::to_string(rounds));
}

Run run_qemu(unsigned long rounds)
{
    return run_guest(std::string(kQemu) + " -accel tcg -machine pc -m 64 -nodefaults -display none -no-reboot"
                     " -debugcon stdio -device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "
                     + XKVM_GUEST_ELF("mips_bench") + " -append iterations=" + std::to_string(rounds));
}

// A run that reported cycles and ended as the guest asked; `exit_code` is what a clean end gives.
bool completed(const char* who, const Run& r, int exit_code)
{
    bool ok = r.bench.count("mips_cycles") && r.output.find("BENCH-DONE") != std::string::npos
              && WIFEXITED(r.status) && WEXITSTATUS(r.status) == exit_code;
    if (!ok)
        std::fprintf(stderr, "mips_bench: %s did not complete (status %#x); its output:\n%s\n", who, r.status,
                     r.output.c_str());
    return ok;
}

struct Row {
    std::string name;   // emu, kvm, qemu_tcg
    double seconds = 0; // the rounds alone, from the guest's TSC
    double wall_s = 0;  // the whole N-round run
    double cpu_s = 0;   // host CPU time of the N-round run minus the 0-round run's
    double mips = 0;    // by the guest's TSC
    double mips_cpu = 0; // per host CPU second
};

bool command_exists(const char* name)
{
    return xkvm::bench::run_capture(std::string("command -v ") + name + " >/dev/null 2>&1 && echo yes") == "yes\n";
}

bool kvm_usable(std::string* why)
{
    int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        *why = std::string("/dev/kvm: ") + std::strerror(errno);
        return false;
    }
    ::close(fd);
    return true;
}

// What every backend is compared on: the instruction count and checksum of emu's N rounds.
struct Reference {
    unsigned long rounds = 0;
    uint64_t instructions = 0;
    uint64_t checksum = 0;
    double host_khz = 0;
};

// Adds the row for a backend's runs of 0 and N rounds, if both completed and did emu's work.
bool add_row(std::vector<Row>& rows, const char* name, const Run& base, const Run& full, int exit_code,
             const Reference& ref)
{
    if (!completed(name, base, exit_code) || !completed(name, full, exit_code))
        return false;
    if (base.rounds != 0u || full.rounds != ref.rounds) {
        std::fprintf(stderr, "mips_bench: %s ran %llu and %llu rounds, not 0 and %lu\n", name,
                     (unsigned long long)base.rounds.value_or(~0ull), (unsigned long long)full.rounds.value_or(~0ull),
                     ref.rounds);
        return false;
    }
    if (full.checksum != ref.checksum) {
        std::fprintf(stderr, "mips_bench: %s computed checksum %llu, emu %llu: not the same work\n", name,
                     (unsigned long long)full.checksum, (unsigned long long)ref.checksum);
        return false;
    }
    double khz = full.bench.count("tsc_khz") ? full.bench.at("tsc_khz") : ref.host_khz;
    double seconds = full.bench.at("mips_cycles") / (khz * 1000);
    double cpu_s = full.cpu_s - base.cpu_s;
    double n = double(ref.instructions) / 1e6;
    rows.push_back({ name, seconds, full.wall_s, cpu_s, n / seconds, cpu_s > 0 ? n / cpu_s : 0 });
    return true;
}

void print_results(const std::vector<Row>& rows, uint64_t instructions)
{
    std::printf("%-10s %14s %10s %10s %10s %10s %12s\n", "backend", "instructions", "rounds s", "run s",
                "rounds cpu", "MIPS", "MIPS/cpu s");
    for (const auto& r : rows)
        std::printf("%-10s %14llu %10.3f %10.3f %10.3f %10.1f %12.1f\n", r.name.c_str(),
                    (unsigned long long)instructions, r.seconds, r.wall_s, r.cpu_s, r.mips, r.mips_cpu);
    for (const auto& r : rows)
        std::printf("RESULT mips_%s %.1f MIPS\n", r.name.c_str(), r.mips);
    // Boot-time noise can swamp the CPU time of too few rounds (QEMU's firmware): then no result.
    for (const auto& r : rows)
        if (r.mips_cpu > 0)
            std::printf("RESULT mips_%s_per_cpu_s %.1f MIPS\n", r.name.c_str(), r.mips_cpu);
    for (size_t i = 0; i < rows.size(); ++i)
        for (size_t j = i + 1; j < rows.size(); ++j) {
            const Row &a = rows[i], &b = rows[j];
            std::printf("RESULT %s_vs_%s %.3f ratio\n", a.name.c_str(), b.name.c_str(), a.mips / b.mips);
            if (a.mips_cpu > 0 && b.mips_cpu > 0)
                std::printf("RESULT %s_vs_%s_per_cpu_s %.3f ratio\n", a.name.c_str(), b.name.c_str(),
                            a.mips_cpu / b.mips_cpu);
        }
}

int measure(unsigned long rounds)
{
    Reference ref;
    ref.rounds = rounds;
    ref.host_khz = host_tsc_khz();
    double load = 0;
    if (FILE* f = std::fopen("/proc/loadavg", "r")) {
        if (std::fscanf(f, "%lf", &load) != 1)
            load = 0;
        std::fclose(f);
    }
    std::printf("workload: %lu rounds; host TSC %.0f kHz; load average %.2f on %ld CPUs%s\n", rounds,
                ref.host_khz, load, sysconf(_SC_NPROCESSORS_ONLN),
                load > double(sysconf(_SC_NPROCESSORS_ONLN)) ? " (busy host: trust the per-CPU-second MIPS)" : "");

    Run base = run_xkvm("emu", 0), emu = run_xkvm("emu", rounds);
    if (!completed("emu (0 rounds)", base, 0) || !completed("emu", emu, 0))
        return 1;
    if (!base.instructions || !emu.instructions || *emu.instructions <= *base.instructions) {
        std::fprintf(stderr, "mips_bench: xkvm-vmm --stats printed no instruction count\n%s\n", emu.output.c_str());
        return 1;
    }
    ref.instructions = *emu.instructions - *base.instructions;
    ref.checksum = emu.checksum;
    std::printf("instructions in the rounds: %llu (emu: %llu in the run, %llu without the rounds)\n",
                (unsigned long long)ref.instructions, (unsigned long long)*emu.instructions,
                (unsigned long long)*base.instructions);

    std::vector<Row> rows;
    bool ok = add_row(rows, "emu", base, emu, 0, ref);
    std::string why;
    if (kvm_usable(&why))
        ok &= add_row(rows, "kvm", run_xkvm("kvm", 0), run_xkvm("kvm", rounds), 0, ref);
    else
        std::printf("kvm: skipped (%s)\n", why.c_str());
    // isa-debug-exit makes QEMU exit with (value << 1) | 1; the guest writes 0 when it powers off.
    if (command_exists(kQemu))
        ok &= add_row(rows, "qemu_tcg", run_qemu(0), run_qemu(rounds), 1, ref);
    else
        std::printf("qemu_tcg: skipped (%s not found; bench/run_mips_bench.sh installs it)\n", kQemu);
    print_results(rows, ref.instructions);
    return ok ? 0 : 1;
}

} // namespace

int main(int argc, char** argv)
{
    unsigned long rounds = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : kDefaultRounds;
    if (rounds < 1 || rounds > 100000) {
        std::fprintf(stderr, "usage: mips_bench [rounds 1..100000]\n");
        return 2;
    }
    return measure(rounds);
}
