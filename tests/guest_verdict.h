// A guest run judged against what its test expects: every case passed (no case silently left out),
// no FAIL line, no undocumented DIFF line, and the domain ended as it should.
#pragma once

#include <string>
#include <vector>

#include "guest_runner.h"

namespace xkvm::test {

struct Expected {
    size_t passes = 0;   // PASS lines: one per case the guest has
    size_t skips = 0;    // SKIP lines
    int exit_code = 0;   // xkvm-vmm's exit status
    std::string reason = "poweroff"; // how the domain ended
};

// What is wrong with `run` (of the domain called `name`), one line per problem; empty when nothing is.
std::vector<std::string> verdict_problems(const GuestRun& run, const std::string& name, const Expected& want);

} // namespace xkvm::test
