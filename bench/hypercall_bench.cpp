// Hypercall round trip (guest -> VMM -> guest) beside the other exits a guest can take, measured in one
// run of the hypercall_bench guest on the backend XKVM_ACCEL (default auto) selects. Prints a table and
// RESULT lines whose names end in the backend (_kvm, _emu).
#include <cstdio>
#include <string>

#include "bench_util.h"
#include "xkvm/guest_paths.h"

int main()
{
    auto backend = xkvm::bench::select_backend();
    if (!xkvm::bench::announce_backend("hypercall_bench", backend))
        return 2;
    const char* be = backend.name.c_str();
    std::string out = xkvm::bench::run_capture(std::string(XKVM_VMM_PATH) + " --kernel " + XKVM_GUEST_ELF("hypercall_bench")
                                               + " --memory 64 --console 2>/dev/null");
    auto cycles = xkvm::bench::bench_lines(out);
    if (!cycles.count("tsc_khz") || !cycles.count("hypercall_xen_version") || out.find("BENCH-DONE") == std::string::npos) {
        std::fprintf(stderr, "hypercall_bench: the guest did not report (output follows)\n%s\n", out.c_str());
        return 1;
    }
    double ns_per_cycle = 1e6 / cycles["tsc_khz"];
    std::printf("%-24s %12s %12s %10s\n", "operation", "cycles", "ns", "vs hcall");
    double hcall = cycles["hypercall_xen_version"];
    for (const char* name : { "hypercall_xen_version", "evtchn_send_self", "port_exit", "cpuid_exit" }) {
        if (!cycles.count(name))
            continue;
        std::printf("%-24s %12.0f %12.0f %10.2f\n", name, cycles[name], cycles[name] * ns_per_cycle, cycles[name] / hcall);
    }
    std::printf("RESULT hypercall_round_trip_%s %.0f ns\n", be, hcall * ns_per_cycle);
    if (cycles.count("port_exit"))
        std::printf("RESULT hypercall_vs_bare_user_exit_%s %.2f ratio\n", be, hcall / cycles["port_exit"]);
    if (cycles.count("evtchn_send_self"))
        std::printf("RESULT evtchn_send_round_trip_%s %.0f ns\n", be, cycles["evtchn_send_self"] * ns_per_cycle);
    return 0;
}
