// Interdomain event channels between two domains, each in its own VMM process, created with the CLI:
// the daemon brokers the bind, events then go VMM to VMM.
// XKVM-OWN: the guests check the event channels and say what they received; the cases that rest
// on Xen behaviour cite it.
#include "cli_harness.h"
#include "xkvm/guest_paths.h"

namespace xkvm::testing {
namespace {

class CliEvtchn : public CliTest {
protected:
    struct Pair {
        uint32_t a = 0, b = 0;
        Background console_a, console_b;
    };

    // Creates "ida" and "idb" (the interdomain guest) paused, tells each the other's domid through
    // xenstore, attaches their consoles and lets them run: `lanes` vCPUs each, each vCPU doing
    // `count` round trips over its own channel.
    Pair start_pair(unsigned long count, unsigned lanes = 1)
    {
        Pair p;
        for (const char* role : { "a", "b" }) {
            std::string name = std::string("id") + role;
            std::string cfg = guest_config(
                name, XKVM_GUEST_ELF("interdomain"),
                fmt::format("vcpus = {}\ncmdline = \"role={} lanes={} count={}\"\n", lanes, role, lanes, count));
            auto r = run({ "create", "-p", cfg });
            EXPECT_EQ(r.rc, 0) << r.err;
        }
        p.a = domid_of("ida").value_or(0);
        p.b = domid_of("idb").value_or(0);
        EXPECT_NE(p.a, 0u);
        EXPECT_NE(p.b, 0u);
        for (auto [self, peer] : { std::pair(p.a, p.b), std::pair(p.b, p.a) }) {
            auto w = run({ "xenstore-write", fmt::format("/local/domain/{}/data/peer", self), std::to_string(peer) });
            EXPECT_EQ(w.rc, 0) << w.err;
        }
        p.console_a = attach("ida", "a.out");
        p.console_b = attach("idb", "b.out");
        for (const char* name : { "ida", "idb" })
            EXPECT_EQ(run({ "unpause", name }).rc, 0);
        return p;
    }

    // Waits for both consoles to end (the guests power off) and returns what each printed.
    std::pair<std::string, std::string> finish(Pair& p, std::chrono::milliseconds timeout)
    {
        EXPECT_TRUE(wait_exit(p.console_a, timeout)) << "domain a did not finish";
        EXPECT_TRUE(wait_exit(p.console_b, timeout)) << "domain b did not finish";
        return { read_file(p.console_a.out_path), read_file(p.console_b.out_path) };
    }
};

TEST_F(CliEvtchn, PingPongBetweenTwoDomains)
{
    constexpr unsigned long kRoundTrips = 2000;
    Pair p = start_pair(kRoundTrips);
    auto [a, b] = finish(p, 60s);
    for (const auto* out : { &a, &b }) {
        EXPECT_NE(out->find("RESULT: PASS"), std::string::npos) << *out;
        EXPECT_NE(out->find(fmt::format("events received {}\n", kRoundTrips)), std::string::npos) << *out;
        EXPECT_EQ(out->find("FAIL:"), std::string::npos) << *out;
    }
    // Both powered off: the daemon destroyed them.
    EXPECT_TRUE(eventually([&] { return !list_row("ida") && !list_row("idb"); }, 10s));
}

// Xen 4.19: xen/common/keyhandler.c, dump_domains (debug key 'q' sends VIRQ_DEBUG to every vCPU of
// every domain).
TEST_F(CliEvtchn, DebugKeysQRaisesVirqDebug)
{
    std::string cfg = guest_config("d", XKVM_GUEST_ELF("tsguest"), "cmdline = \"virqdebug\"\n");
    ASSERT_EQ(run({ "create", cfg }).rc, 0);
    Background console = start({ "console", "d" }, "out");
    ASSERT_TRUE(eventually([&] { return read_file(console.out_path).find("VIRQ_DEBUG bound") != std::string::npos; }))
        << read_file(console.out_path);
    ASSERT_EQ(run({ "debug-keys", "q" }).rc, 0);
    ASSERT_TRUE(wait_exit(console, 20s)) << read_file(console.out_path);
    EXPECT_NE(read_file(console.out_path).find("tsguest: VIRQ_DEBUG received"), std::string::npos);
}

TEST_F(CliEvtchn, AMillionEventsBetweenTwoDomainsOnFourVcpusEach)
{
    // 2 domains x 4 lanes x 125000 round trips: each domain receives 500000 events, 1000000 in all.
    constexpr unsigned kLanes = 4;
    constexpr unsigned long kPerLane = 125000;
    Pair p = start_pair(kPerLane, kLanes);
    auto [a, b] = finish(p, 600s);
    for (const auto* out : { &a, &b }) {
        EXPECT_NE(out->find("RESULT: PASS"), std::string::npos) << *out;
        for (unsigned l = 0; l < kLanes; ++l)
            EXPECT_NE(out->find(fmt::format("lane {} events received {}\n", l, kPerLane)), std::string::npos) << *out;
        EXPECT_NE(out->find(fmt::format("events received {}\n", kLanes * kPerLane)), std::string::npos) << *out;
    }
}

} // namespace
} // namespace xkvm::testing
