// What the benchmark harnesses share: running a program and reading what it prints, the
// "BENCH <name> <n> <value>" lines the benchmark guests print, and which backend they measure.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>
#include <string>

namespace xkvm::bench {

// Runs a shell command line to completion and returns its stdout (the exit status through `status`).
inline std::string run_capture(const std::string& cmd, int* status = nullptr)
{
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p)
        return out;
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0)
        out.append(buf.data(), n);
    int st = pclose(p);
    if (status)
        *status = st;
    return out;
}

// name -> value of every "BENCH <name> <n> <value>" line.
inline std::map<std::string, double> bench_lines(const std::string& out)
{
    std::map<std::string, double> v;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
        char name[64];
        unsigned long n;
        unsigned long long value;
        if (std::sscanf(line.c_str(), "BENCH %63s %lu %llu", name, &n, &value) == 3)
            v[name] = static_cast<double>(value);
    }
    return v;
}

// The backend the VMMs a benchmark starts run on, named in its output and RESULT lines.
struct Backend {
    std::string name; // "kvm" or "emu"; empty when XKVM_ACCEL is invalid
    std::string why;  // why not KVM, when `auto` took the emulated CPU; or what is wrong
};

// XKVM_ACCEL (kvm, emu) when set, else what `auto` takes: KVM when /dev/kvm opens, else the
// emulated CPU. The answer is then pinned in XKVM_ACCEL for every child (xkvm-vmm, xkvmd and the
// VMMs it starts), so the backend named is the one measured: a /dev/kvm that opens but lacks what
// xkvm needs makes the VMM fail loudly instead of quietly falling back to emu under a kvm label.
// The harnesses link no VMM code (README.md), hence this check rather than hv::resolve_auto().
inline Backend select_backend()
{
    Backend b;
    const char* env = std::getenv("XKVM_ACCEL");
    std::string accel = env ? env : "";
    if (accel == "kvm" || accel == "emu") {
        b.name = accel;
    } else if (accel.empty() || accel == "auto") {
        int fd = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
        if (fd >= 0) {
            ::close(fd);
            b.name = "kvm";
        } else {
            b.name = "emu";
            b.why = std::string("/dev/kvm: ") + std::strerror(errno);
        }
    } else {
        b.why = "XKVM_ACCEL must be auto, kvm or emu, not '" + accel + "'";
        return b;
    }
    ::setenv("XKVM_ACCEL", b.name.c_str(), 1);
    return b;
}

// Prints the "backend: ..." line a harness starts with; false (after printing why) when there is none.
inline bool announce_backend(const char* program, const Backend& b)
{
    if (b.name.empty()) {
        std::fprintf(stderr, "%s: %s\n", program, b.why.c_str());
        return false;
    }
    std::string line = "backend: " + b.name;
    if (!b.why.empty())
        line += " (kvm unavailable: " + b.why + ")";
    std::printf("%s\n", line.c_str());
    std::fflush(stdout); // seen even if a hung guest gets the harness killed
    return true;
}

} // namespace xkvm::bench
