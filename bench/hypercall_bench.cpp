// Hypercall round trip (guest -> VMM -> guest) beside the other exits a guest can take, measured in one
// run of the hypercall_bench guest. Prints a table and RESULT lines.
#include <cstdio>
#include <string>
#include <unistd.h>

#include "bench_util.h"
#include "xkvm/guest_paths.h"

int main()
{
    if (access("/dev/kvm", R_OK | W_OK) != 0) {
        std::printf("SKIP: /dev/kvm is not usable here\n");
        return 0;
    }
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
    std::printf("RESULT hypercall_round_trip %.0f ns\n", hcall * ns_per_cycle);
    if (cycles.count("port_exit"))
        std::printf("RESULT hypercall_vs_bare_user_exit %.2f ratio\n", hcall / cycles["port_exit"]);
    if (cycles.count("evtchn_send_self"))
        std::printf("RESULT evtchn_send_round_trip %.0f ns\n", cycles["evtchn_send_self"] * ns_per_cycle);
    return 0;
}
