// What the benchmark harnesses share: running a program and reading what it prints, and the
// "BENCH <name> <n> <value>" lines the benchmark guests print.
#pragma once

#include <array>
#include <cstdio>
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

} // namespace xkvm::bench
