// Issue 11's bounds, shown from guests (guests/conformance/alarm_bounds, log_bounds, shinfo_moves):
//  - the VMM's timer thread stays idle while the guest polls with timeouts already past in a loop,
//    or beside deadlines 2^63 ns or more away (a single-shot timer, polls with timeout ~0): its CPU
//    time over each 500 ms loop is under 8% of the loop's wall time and, while the vCPU runs all
//    along, under half the vCPU thread's (5-7% here, where the vCPU got a tenth of a core); the
//    guest's 5 ms ticks keep coming. Measured
//    on a loaded 2-core host: at most 2.6% of the wall time; with issue 11's spin put back (an alarm
//    2^63 ns away fires and re-arms at once) the timer thread took 31% there (a whole core on an
//    idle host), starved the ticks, and the guest never finished its loop;
//  - 5000 polls ended by events leave at most 16 alarms pending at once (a leak would reach the cap
//    of 4096, `xkvm-vmm --stats` reports the peak);
//  - 22,000 provoked warnings leave a few lines per second of run on the VMM's stderr;
//  - shared_info moved 1000 times leaves the guest's RAM, events and clock working.
// CPU time comes from /proc/<vmm>/task/<tid>/schedstat (ns; stat's utime+stime in clock ticks where
// it is missing), read when the guest prints "LOOP: begin/end <case>".
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "guest_runner.h"
#include "guest_test.h"
#include "guest_verdict.h"
#include "xkvm/guest_paths.h"

using namespace xkvm::test;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using Hardening = GuestTest;

std::string read_all(const fs::path& p)
{
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// The thread of `pid` that pthread_setname_np named `comm` ("timers", "vcpu0"), if there is one.
std::optional<pid_t> thread_named(pid_t pid, const std::string& comm)
{
    std::error_code ec;
    for (const auto& t : fs::directory_iterator(fs::path("/proc") / std::to_string(pid) / "task", ec))
        if (read_all(t.path() / "comm") == comm + "\n")
            return static_cast<pid_t>(std::stol(t.path().filename().string()));
    return std::nullopt;
}

// CPU time the thread has used, in ns.
uint64_t thread_cpu_ns(pid_t pid, pid_t tid)
{
    fs::path task = fs::path("/proc") / std::to_string(pid) / "task" / std::to_string(tid);
    uint64_t ns = 0;
    if (std::istringstream(read_all(task / "schedstat")) >> ns)
        return ns;
    // stat: fields 14 and 15 (utime, stime) come after the parenthesised command name.
    std::string stat = read_all(task / "stat");
    std::istringstream rest(stat.substr(stat.rfind(')') + 2));
    std::string field;
    uint64_t utime = 0, stime = 0;
    for (int i = 3; i < 14 && rest >> field; ++i)
        ;
    rest >> utime >> stime;
    return (utime + stime) * (1'000'000'000ull / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK)));
}

struct Sample {
    Clock::time_point at;
    uint64_t timer_ns = 0, vcpu_ns = 0;
};

struct Loop {
    std::optional<Sample> begin, end;
};

// Samples the timer and vCPU threads at each "LOOP: begin|end <case>" line of the guest.
class LoopSampler {
public:
    LineObserver observer()
    {
        return [this](pid_t pid, const std::string& raw) {
            static const std::regex loop_line(R"(^LOOP: (begin|end) (\w+)\r?$)");
            std::smatch m;
            if (!std::regex_match(raw, m, loop_line))
                return;
            auto timer = thread_named(pid, "timers"), vcpu = thread_named(pid, "vcpu0");
            if (!timer || !vcpu)
                return;
            Sample s { Clock::now(), thread_cpu_ns(pid, *timer), thread_cpu_ns(pid, *vcpu) };
            (m[1] == "begin" ? m_loops[m[2]].begin : m_loops[m[2]].end) = s;
        };
    }
    const std::map<std::string, Loop>& loops() const { return m_loops; }

private:
    std::map<std::string, Loop> m_loops;
};

GuestRun boot(const std::string& family, GuestOptions opts = {})
{
    opts.kernel = std::string(XKVM_GUEST_DIR) + "/conf_" + family + "64.elf";
    opts.name = "hard-" + family;
    EXPECT_TRUE(fs::exists(opts.kernel)) << opts.kernel << " is missing: build the guests";
    return run_guest(vmm_path(), opts);
}

void expect_verdict(const GuestRun& run, const std::string& family, size_t cases)
{
    EXPECT_THAT(verdict_problems(run, "hard-" + family, { .passes = cases }), ::testing::IsEmpty())
        << "what the guest and the VMM said:\n" << run.describe();
}

// The timer thread over one loop of the guest: a small fraction of the wall time and, where the
// vCPU runs all along (`vcpu_busy`: no poll of that loop waits), of the vCPU's CPU time.
void expect_idle_timer_thread(const LoopSampler& sampler, const std::string& loop, bool vcpu_busy)
{
    auto it = sampler.loops().find(loop);
    ASSERT_NE(it, sampler.loops().end()) << "no LOOP lines for " << loop;
    ASSERT_TRUE(it->second.begin && it->second.end) << loop;
    const Sample &b = *it->second.begin, &e = *it->second.end;
    double wall_ns = static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(e.at - b.at).count());
    double timer_ns = static_cast<double>(e.timer_ns - b.timer_ns), vcpu_ns = static_cast<double>(e.vcpu_ns - b.vcpu_ns);
    ::testing::Test::RecordProperty(loop + "_timer_cpu_of_wall", std::to_string(timer_ns / wall_ns));
    ::testing::Test::RecordProperty(loop + "_timer_cpu_of_vcpu", std::to_string(timer_ns / vcpu_ns));
    std::printf("%s: wall %.0f ms, timer thread %.2f ms (%.2f%% of wall, %.2f%% of the vCPU's %.0f ms)\n",
                loop.c_str(), wall_ns / 1e6, timer_ns / 1e6, 100 * timer_ns / wall_ns, 100 * timer_ns / vcpu_ns,
                vcpu_ns / 1e6);
    EXPECT_GT(wall_ns, 200e6) << loop << ": the guest's 500 ms loop was not seen whole";
    EXPECT_LT(timer_ns, 0.08 * wall_ns) << loop;
    if (vcpu_busy) {
        EXPECT_LT(timer_ns, 0.5 * vcpu_ns) << loop;
    }
}

} // namespace

TEST_F(Hardening, AlarmBoundsTimerThreadStaysIdleAndAlarmsStayFew)
{
    LoopSampler sampler;
    GuestOptions opts;
    opts.vmm_args = { "--stats" };
    opts.timeout = std::chrono::seconds(30); // a run takes 2 s; the spin makes it hang
    opts.on_console_line = sampler.observer();
    GuestRun run = boot("alarm_bounds", opts);
    expect_verdict(run, "alarm_bounds", 4);
    expect_idle_timer_thread(sampler, "poll_past", true);
    expect_idle_timer_thread(sampler, "far_deadlines", false);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(run.process.err, m, std::regex(R"(timers peak (\d+))"))) << run.describe();
    size_t peak = std::stoul(m[1]);
    ::testing::Test::RecordProperty("timers_peak", static_cast<int>(peak));
    EXPECT_LE(peak, 16u) << "alarms pending at once, after 5000 poll rounds";
}

TEST_F(Hardening, LogBoundsProvokedWarningsStayAFewLinesPerSecond)
{
    GuestRun run = boot("log_bounds");
    expect_verdict(run, "log_bounds", 2);
    // Three rate-limited warnings (oversized watch event, broken ring in the link and in the ring),
    // each at most 10 lines a second, against 22,000 provocations; ours and the exit line besides.
    const std::string& err = run.process.err;
    auto seconds = static_cast<size_t>(run.process.elapsed.count() / 1000 + 1);
    size_t lines = static_cast<size_t>(std::count(err.begin(), err.end(), '\n'));
    ::testing::Test::RecordProperty("stderr_lines", static_cast<int>(lines));
    ::testing::Test::RecordProperty("stderr_bytes", static_cast<int>(err.size()));
    std::printf("stderr: %zu lines, %zu bytes in %zu s\n", lines, err.size(), seconds);
    EXPECT_LE(lines, 3 * 10 * seconds + 10) << err;
    EXPECT_LE(err.size(), 200 * (3 * 10 * seconds + 10)) << err;
    EXPECT_NE(err.find("watch event"), std::string::npos) << "the warnings were not provoked:\n" << err;
    EXPECT_NE(err.find("broke its xenstore ring"), std::string::npos) << err;
}

TEST_F(Hardening, SharedInfoMovedAThousandTimesLeavesTheGuestWhole)
{
    GuestRun run = boot("shinfo_moves");
    expect_verdict(run, "shinfo_moves", 4);
}
