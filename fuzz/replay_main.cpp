// The driver of a fuzz target built without libFuzzer (-DXKVM_FUZZ_REPLAY=ON, any compiler): runs
// every input named on the command line, or found in a directory named there, once. The sanitizer
// build replays the corpora this way, so CI needs no clang build; `scripts/fuzz.sh` fuzzes for real.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

bool replay_file(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
        return false;
    }
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    return true;
}

} // namespace

int main(int argc, char** argv)
{
    size_t runs = 0;
    for (int i = 1; i < argc; ++i) {
        std::filesystem::path arg(argv[i]);
        if (!std::filesystem::is_directory(arg)) {
            if (!replay_file(arg))
                return 1;
            ++runs;
            continue;
        }
        for (const auto& entry : std::filesystem::recursive_directory_iterator(arg)) {
            if (!entry.is_regular_file())
                continue;
            if (!replay_file(entry.path()))
                return 1;
            ++runs;
        }
    }
    std::printf("replay: %zu inputs\n", runs);
    // An empty corpus would pass while testing nothing.
    return runs > 0 ? 0 : 1;
}
