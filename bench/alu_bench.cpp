// The cost of the ALU helpers the interpreter calls for almost every instruction: binop (the
// group-1 ops), shift (group 2) and condition (Jcc/SETcc/CMOVcc), in ns per call. The operation,
// operands and flags come from arrays, as they do from decoded instructions, so the compiler
// cannot fold the dispatch away.
//
// Usage: alu_bench [Google Benchmark flags]. Ends with RESULT alu_binop_ns / alu_shift_ns /
// alu_condition_ns lines: CPU time (the machine is usually shared), the mean over the operand
// sizes. The op varies from call to call, so branch mispredictions of the dispatch are included;
// an interpreter handler that fixes the op pays less.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "emu/cpu/alu.h"

namespace {

using namespace xkvm::emu::alu;

constexpr unsigned kBatch = 1024; // calls per benchmark iteration

struct Inputs {
    std::vector<uint64_t> a, b, flags;
    std::vector<uint8_t> op, count, cc;
};

const Inputs& inputs()
{
    static const Inputs in = [] {
        Inputs v;
        uint64_t x = 0x9e3779b97f4a7c15ull;
        for (unsigned i = 0; i < kBatch; ++i) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            v.a.push_back(x);
            v.b.push_back(x * 0x2545f4914f6cdd1dull);
            v.flags.push_back((x >> 3) & kArithFlags);
            v.op.push_back(uint8_t(x >> 40) & 7);
            v.count.push_back(uint8_t(x >> 48));
            v.cc.push_back(uint8_t(x >> 56) & 15);
        }
        return v;
    }();
    return in;
}

template<typename T> void bm_binop(benchmark::State& state)
{
    const Inputs& in = inputs();
    for (auto _ : state) {
        uint64_t flags = 2;
        T acc = 0;
        for (unsigned i = 0; i < kBatch; ++i)
            acc ^= binop(BinOp(in.op[i]), T(in.a[i]), T(in.b[i] ^ acc), flags);
        benchmark::DoNotOptimize(acc);
        benchmark::DoNotOptimize(flags);
    }
}

template<typename T> void bm_shift(benchmark::State& state)
{
    const Inputs& in = inputs();
    for (auto _ : state) {
        uint64_t flags = 2;
        T acc = 0;
        for (unsigned i = 0; i < kBatch; ++i)
            acc ^= shift(ShiftOp(in.op[i]), T(in.a[i] ^ acc), in.count[i], flags);
        benchmark::DoNotOptimize(acc);
        benchmark::DoNotOptimize(flags);
    }
}

void bm_condition(benchmark::State& state)
{
    const Inputs& in = inputs();
    for (auto _ : state) {
        unsigned taken = 0;
        for (unsigned i = 0; i < kBatch; ++i)
            taken += condition(in.cc[i], in.flags[i] ^ taken);
        benchmark::DoNotOptimize(taken);
    }
}

BENCHMARK(bm_binop<uint8_t>)->Name("binop/8")->Unit(benchmark::kNanosecond);
BENCHMARK(bm_binop<uint16_t>)->Name("binop/16")->Unit(benchmark::kNanosecond);
BENCHMARK(bm_binop<uint32_t>)->Name("binop/32")->Unit(benchmark::kNanosecond);
BENCHMARK(bm_binop<uint64_t>)->Name("binop/64")->Unit(benchmark::kNanosecond);
BENCHMARK(bm_shift<uint8_t>)->Name("shift/8")->Unit(benchmark::kNanosecond);
BENCHMARK(bm_shift<uint16_t>)->Name("shift/16")->Unit(benchmark::kNanosecond);
BENCHMARK(bm_shift<uint32_t>)->Name("shift/32")->Unit(benchmark::kNanosecond);
BENCHMARK(bm_shift<uint64_t>)->Name("shift/64")->Unit(benchmark::kNanosecond);
BENCHMARK(bm_condition)->Name("condition")->Unit(benchmark::kNanosecond);

// Prints the usual table and keeps ns per call by family ("binop/8" -> "binop").
class ResultReporter : public benchmark::ConsoleReporter {
public:
    // No colour: the RESULT lines that follow the table must start clean.
    ResultReporter() : ConsoleReporter(OO_None) {}
    void ReportRuns(const std::vector<Run>& runs) override
    {
        ConsoleReporter::ReportRuns(runs);
        for (const Run& run : runs) {
            if (run.error_occurred || run.run_type != Run::RT_Iteration)
                continue;
            const std::string name = run.benchmark_name();
            auto& [sum, n] = m_per_family[name.substr(0, name.find('/'))];
            sum += run.GetAdjustedCPUTime() / kBatch;
            ++n;
        }
    }
    void print_results() const
    {
        for (const auto& [family, v] : m_per_family)
            std::printf("RESULT alu_%s_ns %.2f ns\n", family.c_str(), v.first / v.second);
    }

private:
    std::map<std::string, std::pair<double, unsigned>> m_per_family;
};

} // namespace

int main(int argc, char** argv)
{
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    ResultReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    benchmark::Shutdown();
    reporter.print_results();
    return 0;
}
