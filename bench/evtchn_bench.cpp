// Event-channel latency and rate, beside the LAPIC IPI path, measured in one run:
//
//   IPI      guests/bench/evtchn_bench on 2 vCPUs under xkvm-vmm: EVTCHNOP_send on vCPU 0 to the
//            upcall handler on vCPU 1 (per-vCPU upcall vector, and the domain-wide callback
//            vector), and a fixed LAPIC IPI between the same vCPUs; one event in flight at a time.
//   interdomain  two interdomain guests under the toolstack (xkvm create, private XKVM_RUNDIR):
//            ping-pong over one channel; one-way latency is half the round trip.
//
// Both run on the backend XKVM_ACCEL (default auto) selects: KVM where /dev/kvm opens, else the
// emulated CPU. Usage: evtchn_bench [round trips]   (default 5000 for the interdomain pair). Prints a
// table and RESULT lines whose names end in the backend (_kvm, _emu).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "bench_util.h"
#include "xkvm/guest_paths.h"

extern char** environ;

namespace {

// Runs argv to completion and returns its stdout (stderr discarded). A guest that hangs (a lost
// wakeup, a backend that cannot run it) ends the run after a deadline instead of hanging the harness.
std::string run(const std::vector<std::string>& argv)
{
    std::string cmd = "timeout 120 ";
    for (const auto& a : argv)
        cmd += "'" + a + "' ";
    return xkvm::bench::run_capture(cmd + "2>/dev/null");
}

// Starts argv with stdout to `out_path`; the caller waits for it.
pid_t start(const std::vector<std::string>& argv, const std::string& out_path)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    if (posix_spawn(&pid, argv[0].c_str(), &fa, nullptr, args.data(), environ) != 0)
        pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

std::string read_file(const std::string& path)
{
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// The interdomain pair: one-way latency in ns (0 if it failed).
double interdomain_latency_ns(unsigned long round_trips)
{
    char tmpl[] = "/tmp/xkvm-evtchn-bench-XXXXXX";
    if (!mkdtemp(tmpl))
        return 0;
    std::string dir = tmpl;
    setenv("XKVM_RUNDIR", dir.c_str(), 1);
    const std::string xkvm = XKVM_CLI_PATH;
    for (const char* role : { "a", "b" }) {
        std::ofstream(dir + "/" + role + ".cfg")
            << "name = \"bench" << role << "\"\ntype = \"pvh\"\nkernel = \"" << XKVM_GUEST_ELF("interdomain")
            << "\"\nmemory = 32\ncmdline = \"role=" << role << " count=" << round_trips << "\"\n";
        run({ xkvm, "create", "-p", dir + "/" + role + ".cfg" });
    }
    std::string a = run({ xkvm, "domid", "bencha" }), b = run({ xkvm, "domid", "benchb" });
    while (!a.empty() && a.back() == '\n')
        a.pop_back();
    while (!b.empty() && b.back() == '\n')
        b.pop_back();
    double ns = 0;
    if (!a.empty() && !b.empty()) {
        run({ xkvm, "xenstore-write", "/local/domain/" + a + "/data/peer", b });
        run({ xkvm, "xenstore-write", "/local/domain/" + b + "/data/peer", a });
        pid_t ca = start({ xkvm, "console", "bencha" }, dir + "/a.out");
        pid_t cb = start({ xkvm, "console", "benchb" }, dir + "/b.out");
        run({ xkvm, "unpause", "bencha" });
        run({ xkvm, "unpause", "benchb" });
        for (pid_t p : { ca, cb })
            if (p > 0)
                waitpid(p, nullptr, 0); // the consoles end with their domains
        auto v = xkvm::bench::bench_lines(read_file(dir + "/b.out"));
        if (v.count("interdomain_round_trip"))
            ns = v["interdomain_round_trip"] / 2;
        else
            std::fprintf(stderr, "evtchn_bench: the interdomain pair did not report:\n%s\n",
                         read_file(dir + "/b.out").c_str());
    }
    // Stop this rundir's daemon, then forget the rundir.
    std::string pid = read_file(dir + "/xkvmd.pid");
    if (int daemon = std::atoi(pid.c_str()); daemon > 0) {
        int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, daemon, 0)); // not our child
        if (pidfd >= 0 && ::kill(daemon, SIGTERM) == 0) {
            pollfd p { pidfd, POLLIN, 0 };
            ::poll(&p, 1, 5000);
        }
        if (pidfd >= 0)
            ::close(pidfd);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return ns;
}

// The table and RESULT lines; the IPI rows only when the IPI guest reported (`v` non-empty).
void print_results(std::map<std::string, double>& v, const char* be, double idl)
{
    std::printf("%-28s %14s %14s %10s\n", "path (vCPU 0 -> vCPU 1)", "latency ns", "events/s", "vs LAPIC");
    double ns_per_cycle = v.count("tsc_khz") ? 1e6 / v["tsc_khz"] : 0;
    double lapic = v.count("lapic_ipi") ? v["lapic_ipi"] * ns_per_cycle : 0;
    for (const char* name : { "lapic_ipi", "evtchn_ipi_percpu", "evtchn_ipi_callback" }) {
        if (lapic <= 0)
            break;
        double ns = v[name] * ns_per_cycle;
        std::printf("%-28s %14.0f %14.0f %10.2f\n", name, ns, v[std::string(name) + "_rate"], ns / lapic);
    }
    if (idl > 0)
        std::printf("%-28s %14.0f %14.0f %10.2f\n", "interdomain (one way)", idl, 1e9 / idl,
                    lapic > 0 ? idl / lapic : 0);
    if (lapic > 0) {
        std::printf("RESULT lapic_ipi_latency_%s %.0f ns\n", be, lapic);
        std::printf("RESULT evtchn_ipi_latency_%s %.0f ns\n", be, v["evtchn_ipi_percpu"] * ns_per_cycle);
        std::printf("RESULT evtchn_ipi_callback_latency_%s %.0f ns\n", be, v["evtchn_ipi_callback"] * ns_per_cycle);
        std::printf("RESULT evtchn_ipi_events_per_sec_%s %.0f events/s\n", be, v["evtchn_ipi_percpu_rate"]);
        std::printf("RESULT lapic_ipi_events_per_sec_%s %.0f events/s\n", be, v["lapic_ipi_rate"]);
        std::printf("RESULT evtchn_ipi_vs_lapic_ipi_%s %.2f ratio\n", be,
                    v["evtchn_ipi_percpu"] * ns_per_cycle / lapic);
    }
    if (idl > 0) {
        std::printf("RESULT interdomain_latency_%s %.0f ns\n", be, idl);
        std::printf("RESULT interdomain_events_per_sec_%s %.0f events/s\n", be, 1e9 / idl);
        if (lapic > 0)
            std::printf("RESULT interdomain_vs_lapic_ipi_%s %.2f ratio\n", be, idl / lapic);
    }
}

} // namespace

int main(int argc, char** argv)
{
    auto backend = xkvm::bench::select_backend();
    if (!xkvm::bench::announce_backend("evtchn_bench", backend))
        return 2;
    unsigned long round_trips = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 5000;

    std::string out = run({ XKVM_VMM_PATH, "--kernel", XKVM_GUEST_ELF("evtchn_bench"), "--vcpus", "2", "--memory", "64",
                            "--console" });
    auto v = xkvm::bench::bench_lines(out);
    bool ipi_ok = v.count("tsc_khz") && v.count("lapic_ipi") && out.find("BENCH-DONE") != std::string::npos;
    if (!ipi_ok) {
        // The interdomain pair is a different guest: still worth measuring.
        std::fprintf(stderr, "evtchn_bench: the IPI guest did not report (output follows)\n%s\n", out.c_str());
        v.clear();
    }
    double idl = interdomain_latency_ns(round_trips);
    print_results(v, backend.name.c_str(), idl);
    return ipi_ok && idl > 0 ? 0 : 1;
}
