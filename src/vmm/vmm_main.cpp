// xkvm-vmm: runs one domain. xkvmd starts one per domain with --control-fd (see control.h); by hand
// it is the quickest way to boot a guest in the foreground: xkvm-vmm --kernel guest.elf --memory 64 --console
#include <sys/prctl.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "config/cpuid_spec.h"
#include "hv/select.h"
#include "sandbox/privileges.h"
#include "sandbox/sandbox.h"
#include "vmm/control.h"
#include "vmm/machine.h"
#include "xen/shutdown_reason.h"

using namespace xkvm;

namespace {

// --cpuid takes xl's xend form ("0x40000002:edx=0x7"); '1' and '0' bits become overrides.
Result<std::vector<vmm::CpuidOverride>> cpuid_overrides(const std::vector<std::string>& entries)
{
    config::CpuidPolicy policy;
    for (const auto& e : entries)
        if (auto r = config::apply_cpuid_xend(e, policy); !r)
            return fail(EINVAL, "--cpuid {}: {}", e, r.error().message);
    std::vector<vmm::CpuidOverride> out;
    for (const auto& p : policy)
        if (p.set_mask || p.clear_mask)
            out.push_back({ p.leaf, p.subleaf, static_cast<uint8_t>(p.reg), p.set_mask, p.clear_mask });
    return out;
}

// Before anything else: keep only the descriptors we were meant to get, and from now on every thread
// loads its role's seccomp filter as it starts (src/sandbox/README.md).
Status start_sandbox(bool no_sandbox, int control_fd, bool private_root)
{
    auto mode = TRY(sandbox::mode_from(no_sandbox, std::getenv("XKVM_SANDBOX")));
    if (mode != sandbox::Mode::Off) {
        int keep[] = { control_fd };
        TRY(sandbox::close_descriptors_except(keep));
    }
    sandbox::activate(mode, private_root);
    return {};
}

} // namespace

int main(int argc, char** argv)
{
    // A VMM parses guest input: whatever subverts it gains no privileges through execve (setuid
    // binaries, file capabilities). The first step of its sandbox (issue 11); it never execs.
    ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    log::init_from_env();
    CLI::App app { "xkvm-vmm: run one Xen HVM/PVH domain on KVM or the emulated CPU" };
    std::string spec_file, kernel, type = "pvh", name = "guest", cmdline;
    uint64_t memory = 64;
    uint32_t vcpus = 1, max_vcpus = 0;
    std::vector<std::string> cpuid;
    bool console = false;
    int control_fd = -1;
    std::string accel_name;
    std::string monitor_socket;
    unsigned monitor_wait_s = 0;
    bool no_monitor_slots = false;
    app.add_option("--spec", spec_file, "VM spec (JSON) written by the toolstack");
    app.add_option("--kernel", kernel, "guest kernel (PVH) or firmware (HVM) ELF");
    app.add_option("--type", type, "pvh or hvm")->check(CLI::IsMember({ "pvh", "hvm" }));
    app.add_option("--name", name, "domain name");
    app.add_option("--memory", memory, "RAM in MiB");
    app.add_option("--vcpus", vcpus, "vCPUs online at boot");
    app.add_option("--maxvcpus", max_vcpus, "vCPUs the domain may bring up (default: --vcpus)");
    app.add_option("--cpuid", cpuid, "CPUID override in xl's form, e.g. 0x40000002:edx=0x7 (repeatable)");
    app.add_option("--cmdline", cmdline, "kernel command line");
    unsigned memop_max_order = 9;
    app.add_option("--memop-max-order", memop_max_order, "largest balloon extent order (Xen's memop-max-order)")
        ->check(CLI::Range(0u, vmm::kMaxMemopOrder));
    app.add_flag("--console", console, "copy the guest console to stdout");
    bool stats = false;
    app.add_flag("--stats", stats, "at exit, print each vCPU's retired instructions (emu only) and the most "
                                   "timers pending at once to stderr");
    app.add_option("--accel", accel_name, "kvm, emu or auto (default: $XKVM_ACCEL, else auto)")
        ->check(CLI::IsMember({ "auto", "kvm", "emu" }));
    app.add_option("--monitor-socket", monitor_socket, "serve the vm_event monitor endpoint at this path");
    app.add_option("--monitor-wait", monitor_wait_s, "keep the guest paused until a monitor has chosen its events (at most N s)");
    app.add_flag("--no-monitor-slots", no_monitor_slots, "offer monitors the ring alone (no per-vCPU slots)");
    app.add_option("--control-fd", control_fd, "run under xkvmd: the control socket's descriptor")
        ->check(CLI::NonNegativeNumber);
    bool no_sandbox = false;
    app.add_flag("--no-sandbox", no_sandbox, "run without seccomp filters or the drop to an unprivileged uid "
                                             "(also XKVM_SANDBOX=0)");
    bool private_root = false;
    app.add_flag("--private-root", private_root, "under xkvmd, started in PID and mount namespaces of our own: once "
                                                 "built, see an empty read-only root");
    CLI11_PARSE(app, argc, argv);

    if (auto r = start_sandbox(no_sandbox, control_fd, private_root); !r) {
        std::fprintf(stderr, "xkvm-vmm: %s\n", r.error().message.c_str());
        return 1;
    }
    if (control_fd >= 0)
        return vmm::run_control_channel(control_fd);

    vmm::VmSpec spec;
    if (!spec_file.empty()) {
        std::ifstream in(spec_file);
        if (!in) {
            std::fprintf(stderr, "xkvm-vmm: cannot read %s\n", spec_file.c_str());
            return 1;
        }
        auto j = nlohmann::json::parse(in, nullptr, false);
        if (j.is_discarded()) {
            std::fprintf(stderr, "xkvm-vmm: %s is not valid JSON\n", spec_file.c_str());
            return 1;
        }
        auto parsed = vmm::vm_spec_from_json(j);
        if (!parsed) {
            std::fprintf(stderr, "xkvm-vmm: %s\n", parsed.error().message.c_str());
            return 1;
        }
        spec = parsed.release_value();
    } else if (!kernel.empty()) {
        spec.name = name;
        spec.kernel = kernel;
        spec.type = type == "pvh" ? vmm::BootType::Pvh : vmm::BootType::Hvm;
        spec.cmdline = cmdline;
        spec.memory_mib = spec.maxmem_mib = memory;
        spec.vcpus = vcpus;
        spec.max_vcpus = std::max(vcpus, max_vcpus);
        spec.memory_map = vmm::default_memory_map(memory);
        spec.memop_max_order = memop_max_order;
        auto overrides = cpuid_overrides(cpuid);
        if (!overrides) {
            std::fprintf(stderr, "xkvm-vmm: %s\n", overrides.error().message.c_str());
            return 1;
        }
        spec.cpuid = overrides.release_value();
    } else {
        std::fprintf(stderr, "xkvm-vmm: give --spec or --kernel\n");
        return 1;
    }

    auto accel = accel_name.empty() ? hv::accel_from_environment() : hv::parse_accel(accel_name);
    if (!accel) {
        std::fprintf(stderr, "xkvm-vmm: %s\n", accel.error().message.c_str());
        return 1;
    }
    auto machine = vmm::Machine::create(spec, *accel);
    if (!machine) {
        std::fprintf(stderr, "xkvm-vmm: %s\n", machine.error().message.c_str());
        return 1;
    }
    auto& m = **machine;
    if (auto r = m.use_local_xenstore(); !r) {
        std::fprintf(stderr, "xkvm-vmm: %s\n", r.error().message.c_str());
        return 1;
    }
    if (console)
        (void)m.console().subscribe(1, [](std::string_view bytes) {
            std::fwrite(bytes.data(), 1, bytes.size(), stdout);
            std::fflush(stdout);
        });
    if (!monitor_socket.empty()) {
        if (auto r = m.monitor().listen(monitor_socket, { .slots = !no_monitor_slots }); !r) {
            std::fprintf(stderr, "xkvm-vmm: %s\n", r.error().message.c_str());
            return 1;
        }
        if (monitor_wait_s && !m.monitor().wait_for_monitor(std::chrono::seconds(monitor_wait_s))) {
            std::fprintf(stderr, "xkvm-vmm: no monitor attached within %u s\n", monitor_wait_s);
            return 1;
        }
    }
    if (auto r = sandbox::lock_down({ .domid = spec.domid, .domain_dir = {} }); !r) {
        std::fprintf(stderr, "xkvm-vmm: %s\n", r.error().message.c_str());
        return 1;
    }
    m.unpause();
    std::optional<vmm::ShutdownInfo> info;
    while (!(info = m.wait_for_shutdown(std::chrono::hours(1))))
        ;
    m.destroy();
    // After destroy() the vCPU threads are joined, so the counters are final and safe to read.
    for (uint32_t id = 0; stats && id < m.vcpu_count(); ++id)
        if (auto n = m.runner(id).vcpu().instructions_retired())
            std::fprintf(stderr, "xkvm-vmm: vcpu %u instructions_retired %llu\n", id,
                         static_cast<unsigned long long>(*n));
    if (stats)
        std::fprintf(stderr, "xkvm-vmm: timers peak %zu\n", m.timers().peak());
    std::fprintf(stderr, "xkvm-vmm: domain %s: %s (%s)\n", spec.name.c_str(), xen::shutdown_reason_name(info->reason),
                 info->detail.c_str());
    return info->reason == SHUTDOWN_poweroff ? 0 : 100 + static_cast<int>(info->reason);
}
