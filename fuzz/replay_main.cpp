// The driver of a fuzz target built without libFuzzer (-DXKVM_FUZZ_REPLAY=ON, any compiler): runs
// every input named on the command line, or found in a directory named there, once. The sanitizer
// build replays the corpora this way, so CI needs no clang build; `scripts/fuzz.sh` fuzzes for real.
//
// `-mutate_ms=N` then spends about N ms on mutants of those inputs (bit flips, byte changes,
// inserts, erases, copies and splices; a fixed seed, or `-seed=S`): a short bounded fuzz run under
// the sanitizers of the CI build, without coverage feedback. An input that crashes is written to
// `crash-replay-<target>` in the working directory first (SIGABRT/SIGSEGV/SIGILL, or a sanitizer
// report), so it can be replayed and added to the corpus.
#include <signal.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
// Present in sanitizer builds only.
extern "C" void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

// Named, not anonymous: unity builds put this file beside the target's own anonymous namespace.
namespace fuzz_replay {

using Input = std::vector<uint8_t>;

// The mutant being run, for the crash handlers (only async-signal-safe calls there).
const Input* g_current = nullptr;
char g_crash_path[256] = "crash-replay";

void save_current()
{
    if (!g_current)
        return;
    int fd = ::open(g_crash_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    (void)!::write(fd, g_current->data(), g_current->size());
    ::close(fd);
    g_current = nullptr;
}

void on_crash_signal(int sig)
{
    save_current();
    ::signal(sig, SIG_DFL);
    ::raise(sig);
}

bool read_file(const std::filesystem::path& path, Input& out)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
        return false;
    }
    out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return true;
}

bool collect(const std::filesystem::path& arg, std::vector<Input>& inputs)
{
    if (!std::filesystem::is_directory(arg)) {
        inputs.emplace_back();
        return read_file(arg, inputs.back());
    }
    for (const auto& entry : std::filesystem::recursive_directory_iterator(arg)) {
        if (!entry.is_regular_file())
            continue;
        inputs.emplace_back();
        if (!read_file(entry.path(), inputs.back()))
            return false;
    }
    return true;
}

// One to four small edits of `in`, the kinds libFuzzer starts with; `other` is for splices.
void mutate(Input& in, const Input& other, std::mt19937_64& rng)
{
    auto pick = [&rng](size_t n) { return n ? static_cast<size_t>(rng() % n) : 0; };
    unsigned edits = 1 + pick(4);
    for (unsigned e = 0; e < edits; ++e) {
        size_t at = pick(in.size() + 1);
        switch (pick(6)) {
        case 0: if (at < in.size()) in[at] ^= static_cast<uint8_t>(1u << pick(8)); break;
        case 1: if (at < in.size()) in[at] = static_cast<uint8_t>(rng()); break;
        case 2: in.insert(in.begin() + static_cast<ptrdiff_t>(at), 1 + pick(4), static_cast<uint8_t>(rng())); break;
        case 3: if (at < in.size()) in.erase(in.begin() + static_cast<ptrdiff_t>(at), in.begin() + static_cast<ptrdiff_t>(std::min(in.size(), at + 1 + pick(8)))); break;
        case 4: { // an interesting value: 0, ~0, a sign bit
            static constexpr uint8_t kValues[] = { 0, 0xff, 0x7f, 0x80, 1 };
            if (at < in.size()) in[at] = kValues[pick(5)];
            break;
        }
        case 5: { // a piece of another input
            size_t from = pick(other.size()), n = std::min<size_t>(other.size() - std::min(from, other.size()), 1 + pick(32));
            in.insert(in.begin() + static_cast<ptrdiff_t>(at), other.begin() + static_cast<ptrdiff_t>(from),
                      other.begin() + static_cast<ptrdiff_t>(from + n));
            break;
        }
        }
    }
    if (in.size() > 8192)
        in.resize(8192);
}

size_t mutate_for(const std::vector<Input>& seeds, std::chrono::milliseconds budget, uint64_t seed)
{
    std::mt19937_64 rng(seed);
    auto end = std::chrono::steady_clock::now() + budget;
    size_t runs = 0;
    Input mutant;
    while (std::chrono::steady_clock::now() < end) {
        mutant = seeds[rng() % seeds.size()];
        mutate(mutant, seeds[rng() % seeds.size()], rng);
        g_current = &mutant;
        LLVMFuzzerTestOneInput(mutant.data(), mutant.size());
        g_current = nullptr;
        ++runs;
    }
    return runs;
}

} // namespace fuzz_replay

int main(int argc, char** argv)
{
    namespace r = fuzz_replay;
    std::vector<r::Input> inputs;
    long mutate_ms = 0;
    uint64_t seed = 1;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg.rfind("-mutate_ms=", 0) == 0)
            mutate_ms = std::stol(arg.substr(11));
        else if (arg.rfind("-seed=", 0) == 0)
            seed = std::stoull(arg.substr(6));
        else if (!r::collect(arg, inputs))
            return 1;
    }
    for (const auto& in : inputs)
        LLVMFuzzerTestOneInput(in.data(), in.size());
    std::printf("replay: %zu inputs\n", inputs.size());
    // An empty corpus would pass while testing nothing.
    if (inputs.empty())
        return 1;
    if (mutate_ms > 0) {
        std::snprintf(r::g_crash_path, sizeof(r::g_crash_path), "crash-replay-%s",
                      std::filesystem::path(argv[0]).filename().c_str());
        // Under a sanitizer its own handlers report faults (and call save_current); ours would
        // hide the report. abort() (a target's check) and traps are not its to catch.
        if (__sanitizer_set_death_callback)
            __sanitizer_set_death_callback(r::save_current);
        for (int sig : { SIGABRT, SIGILL, SIGSEGV, SIGFPE, SIGBUS })
            if (!__sanitizer_set_death_callback || sig == SIGABRT || sig == SIGILL)
                ::signal(sig, r::on_crash_signal);
        size_t runs = r::mutate_for(inputs, std::chrono::milliseconds(mutate_ms), seed);
        std::printf("replay: %zu mutants in %ld ms (seed %llu)\n", runs, mutate_ms,
                    static_cast<unsigned long long>(seed));
    }
    return 0;
}
