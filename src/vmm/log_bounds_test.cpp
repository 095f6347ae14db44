// Issue 11: what a guest can make the VMM write. A broken xenstore ring notified in a loop logs a
// few lines, not one per notify; a console flood leaves at most twice the cap on disk.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "base/log_capture.h"
#include "vmm/console_log.h"
#include "vmm/xenstore_link.h"
#include "xenstore/wire.h"

using namespace xkvm;
using namespace xkvm::vmm;

namespace {

namespace fs = std::filesystem;

TEST(LogBounds, ABrokenXenstoreRingNotifiedInALoopLogsAFewLines)
{
    alignas(4096) static uint8_t page[4096] = {};
    auto link = XenstoreLink::create(page, [] { });
    ASSERT_TRUE(link);
    // Indices no ring can have: the guest claims 10,000 request bytes in a 1 KiB ring.
    auto* intf = reinterpret_cast<xenstore::RingInterface*>(page);
    intf->req_prod = 10'000;
    log::LogCapture capture("xenstore");
    auto start = RateLimiter::Clock::now();
    for (int i = 0; i < 100'000; ++i)
        (*link)->guest_notified();
    EXPECT_GE(capture.lines(), 1u); // it is reported
    EXPECT_LE(capture.lines(), RateLimiter::default_bound_since(start)) << "one warning per notify";
}

TEST(LogBounds, AConsoleFloodStaysUnderTheFileCap)
{
    char tmpl[] = "/tmp/xkvm-console-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    fs::path dir = tmpl;
    {
        auto console = ConsoleLog::create(dir / "console.log", 4096, 64 * 1024);
        ASSERT_TRUE(console) << console.error().message;
        std::string chunk(1000, 'g');
        for (int i = 0; i < 20'000; ++i) // 20 MB from the guest
            (*console)->console_output(chunk);
        EXPECT_EQ((*console)->bytes_written(), 20'000'000u);
        EXPECT_LE((*console)->history().size(), 4096u);
    }
    EXPECT_LE(fs::file_size(dir / "console.log"), 64u * 1024);
    EXPECT_LE(fs::file_size(dir / "console.log.1"), 64u * 1024);
    EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 2);
    fs::remove_all(dir);
}

// What `xkvm console` replays on attach is the last history_limit bytes, exactly, however the guest
// wrote them: one byte at a time, and a chunk larger than the limit.
TEST(LogBounds, TheConsoleHistoryIsTheLastLimitBytes)
{
    auto console = ConsoleLog::create("", 4096);
    ASSERT_TRUE(console) << console.error().message;
    std::string all;
    for (int i = 0; i < 20'000; ++i) {
        char c = static_cast<char>('a' + i % 26);
        all.push_back(c);
        (*console)->console_output(std::string_view(&c, 1));
    }
    EXPECT_EQ((*console)->history(), all.substr(all.size() - 4096));
    std::string big(10'000, 'z');
    big[5'904] = '!';
    (*console)->console_output(big);
    std::string seen = (*console)->subscribe(1, [](std::string_view) {});
    EXPECT_EQ(seen, big.substr(big.size() - 4096));
    EXPECT_EQ(seen.front(), '!');
}

} // namespace
