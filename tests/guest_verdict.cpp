#include "guest_verdict.h"

#include "xen_differences.h"

namespace xkvm::test {

namespace {

void check_count(std::vector<std::string>& problems, const char* what, size_t got, size_t want)
{
    if (got != want)
        problems.push_back(std::string(what) + ": " + std::to_string(got) + ", expected " + std::to_string(want));
}

} // namespace

std::vector<std::string> verdict_problems(const GuestRun& run, const std::string& name, const Expected& want)
{
    std::vector<std::string> problems;
    if (!run.process.started)
        return { "xkvm-vmm did not start: " + run.process.spawn_error };
    if (run.process.timed_out)
        problems.push_back("the guest did not finish in time");
    for (const auto& f : run.fails)
        problems.push_back("FAIL line: " + f);
    if (run.result.value_or("") != "PASS")
        problems.push_back("RESULT line: " + run.result.value_or("(none)") + ", expected PASS");
    for (const auto& d : undocumented_diffs(run.diffs))
        problems.push_back("DIFF line not in docs/xen-differences.md: " + d);
    check_count(problems, "PASS lines", run.passes.size(), want.passes);
    check_count(problems, "SKIP lines", run.skips.size(), want.skips);
    if (run.process.term_signal != 0)
        problems.push_back("xkvm-vmm killed by signal " + std::to_string(run.process.term_signal));
    if (run.process.exit_code != want.exit_code)
        problems.push_back("xkvm-vmm exit status " + std::to_string(run.process.exit_code) + ", expected "
                           + std::to_string(want.exit_code));
    if (run.process.err.find(shutdown_message(name, want.reason)) == std::string::npos)
        problems.push_back("no \"" + shutdown_message(name, want.reason) + "\" message");
    return problems;
}

} // namespace xkvm::test
