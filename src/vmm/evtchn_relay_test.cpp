// A relay that outlives its domain (detach/attach, kept by hypercall_fuzz for the whole run): once
// detached it serves nothing and has forgotten its bindings; attached to another domain's channels
// it binds and delivers there.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>

#include "ipc/notify_socket.h"
#include "ipc/ops.h"
#include "vmm/evtchn_relay.h"
#include "xen/abi/event_channel.h"
#include "xen/shared_info.h"

using namespace xkvm;

namespace {

constexpr domid_t kFarDom = 0; // always exists, so no broker is asked

// One domain's event channels, recording which ports went pending.
struct Channels {
    alignas(4096) std::array<uint8_t, 4096> page {};
    xen::SharedInfo shared { page.data(), 1 };
    std::mutex lock;
    std::condition_variable cv;
    std::set<evtchn_port_t> raised;
    xen::EventChannels ec { shared, 7, 1, 63, { [](uint32_t) { }, [this](evtchn_port_t p) { note(p); } } };

    void note(evtchn_port_t port)
    {
        std::lock_guard guard(lock);
        raised.insert(port);
        cv.notify_all();
    }
    bool wait_raised(evtchn_port_t port)
    {
        std::unique_lock guard(lock);
        return cv.wait_for(guard, std::chrono::seconds(5), [&] { return raised.count(port) != 0; });
    }
};

// The daemon's evtchn-connect for `port`: the far side's send end goes in, ours comes back.
Result<ipc::Json> connect(vmm::EvtchnRelay& relay, evtchn_port_t port, std::vector<UniqueFd>& reply_fds)
{
    auto far = ipc::make_notify_pair();
    EXPECT_TRUE(far.has_value());
    std::vector<UniqueFd> fds;
    fds.push_back(std::move(far->send_end));
    return relay.handle(ipc::ops::kEvtchnConnect,
                        ipc::Json { { "port", port }, { "remote_dom", kFarDom }, { "remote_port", 3u } }, fds, reply_fds);
}

TEST(vmm_evtchn_relay, DetachedServesNothingAndForgetsItsBindings)
{
    Channels a, b;
    auto relay = vmm::EvtchnRelay::create(a.ec);
    ASSERT_TRUE(relay.has_value());
    auto port_a = a.ec.alloc_unbound(kFarDom);
    ASSERT_TRUE(port_a.has_value());
    std::vector<UniqueFd> to_a;
    auto bound = connect(**relay, *port_a, to_a);
    ASSERT_TRUE(bound.has_value()) << bound.error().message;
    ASSERT_EQ(to_a.size(), 1u);

    (*relay)->detach();
    // Its receive end is closed: the far side's sends find nobody (instead of raising the old port).
    EXPECT_FALSE(ipc::send_notify(to_a[0].get()));
    std::vector<UniqueFd> none;
    auto refused = connect(**relay, *port_a, none);
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, ESRCH);

    // Attached to another domain's channels: the same port number binds again (the old binding is
    // forgotten) and a send from the far side raises it there.
    (*relay)->attach(b.ec);
    auto port_b = b.ec.alloc_unbound(kFarDom);
    ASSERT_TRUE(port_b.has_value());
    ASSERT_EQ(*port_b, *port_a);
    std::vector<UniqueFd> to_b;
    ASSERT_TRUE(connect(**relay, *port_b, to_b).has_value());
    ASSERT_EQ(to_b.size(), 1u);
    auto st = b.ec.status(*port_b);
    ASSERT_TRUE(st.has_value());
    EXPECT_EQ(st->status, EVTCHNSTAT_interdomain);
    ASSERT_TRUE(ipc::send_notify(to_b[0].get()));
    EXPECT_TRUE(b.wait_raised(*port_b));
    std::lock_guard guard(a.lock);
    EXPECT_TRUE(a.raised.empty());
}

} // namespace
