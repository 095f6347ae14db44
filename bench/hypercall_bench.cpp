// Hypercall round trip (guest -> VMM -> guest) beside the other exits a guest can take, measured in one
// run of the hypercall_bench guest. Prints a table and RESULT lines.
#include <array>
#include <cstdio>
#include <map>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "xkvm/guest_paths.h"

namespace {

std::string run_guest(const std::string& vmm, const std::string& elf)
{
    std::string cmd = vmm + " --kernel " + elf + " --memory 64 --console 2>/dev/null";
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p)
        return out;
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0)
        out.append(buf.data(), n);
    pclose(p);
    return out;
}

} // namespace

int main()
{
    if (access("/dev/kvm", R_OK | W_OK) != 0) {
        std::printf("SKIP: /dev/kvm is not usable here\n");
        return 0;
    }
    std::string out = run_guest(XKVM_VMM_PATH, XKVM_GUEST_ELF("hypercall_bench"));
    std::map<std::string, double> cycles;
    size_t pos = 0;
    while ((pos = out.find("BENCH ", pos)) != std::string::npos) {
        char name[64];
        unsigned iterations;
        unsigned long long value;
        if (std::sscanf(out.c_str() + pos, "BENCH %63s %u %llu", name, &iterations, &value) == 3)
            cycles[name] = static_cast<double>(value);
        pos += 6;
    }
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
