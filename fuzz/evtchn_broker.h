// Two domains' VMM brokers (vmm::EvtchnRelay, what xkvm-vmm runs) joined by a stand-in for xkvmd's
// side of the protocol (daemon_evtchn.cpp): binds go through the relays and their notification
// sockets exactly as between two VMM processes, so a fuzzed guest's EVTCHNOP_bind_interdomain,
// send and close reach the far domain's event channels from the relay and pump threads.
//
// The pump thread lives for the whole run; attach() hands it the relays of one input.
// RememberedPorts keeps the ports either side got, so later steps use real ones.
#pragma once

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "ipc/json_message.h"
#include "ipc/ops.h"
#include "vmm/evtchn_relay.h"

namespace xkvm::fuzz {

class FuzzBroker {
public:
    struct Side {
        vmm::EvtchnRelay* relay = nullptr;
        uint16_t domid = 0;
        bool operator==(const Side&) const = default;
    };

    FuzzBroker() : m_wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK))
    {
        if (!m_wake)
            std::abort();
        m_thread = std::thread([this] { run(); });
    }
    ~FuzzBroker()
    {
        {
            std::lock_guard guard(m_lock);
            m_stop = true;
        }
        wake();
        m_thread.join();
    }

    void attach(Side a, Side b)
    {
        {
            std::lock_guard guard(m_lock);
            if (m_sides[0] == a && m_sides[1] == b)
                return; // most inputs have no peer: no need to wake the pump twice for each
            m_sides[0] = a;
            m_sides[1] = b;
        }
        wake();
    }
    // After this returns the pump touches neither relay.
    void detach() { attach({}, {}); }

private:
    void wake()
    {
        uint64_t one = 1;
        (void)!::write(m_wake.get(), &one, sizeof(one));
    }

    void run()
    {
        for (;;) {
            pollfd fds[3] = { { m_wake.get(), POLLIN, 0 }, { -1, POLLIN, 0 }, { -1, POLLIN, 0 } };
            {
                std::lock_guard guard(m_lock);
                if (m_stop)
                    return;
                for (int i = 0; i < 2; ++i)
                    fds[i + 1].fd = m_sides[i].relay ? m_sides[i].relay->wake_fd() : -1;
            }
            (void)::poll(fds, 3, -1);
            uint64_t n;
            (void)!::read(m_wake.get(), &n, sizeof(n));
            std::lock_guard guard(m_lock);
            for (int i = 0; i < 2; ++i)
                if (m_sides[i].relay && m_sides[1 - i].relay)
                    for (auto& f : m_sides[i].relay->take_outgoing())
                        route(m_sides[i], m_sides[1 - i], f);
        }
    }

    // What xkvmd does with a frame from `from`'s VMM, the far VMM's part included.
    static void route(const Side& from, const Side& to, ipc::Frame& f)
    {
        auto j = ipc::parse_json(f, ipc::kUntrustedJsonLimits);
        if (!j)
            std::abort(); // the relay's own frames always parse
        auto op = ipc::opt_string(*j, "op", "", 64);
        auto id = ipc::opt_uint(*j, "id", 0);
        if (!op || !id)
            std::abort();
        std::vector<UniqueFd> reply_fds;
        if (*op == ipc::ops::kEvtchnBind) {
            auto remote_dom = ipc::get_uint(*j, "remote_dom", UINT16_MAX);
            Result<ipc::Json> r = fail(ESRCH, "no such domain");
            if (remote_dom && *remote_dom == to.domid && f.fds.size() == 1)
                r = to.relay->handle(ipc::ops::kEvtchnConnect,
                                     ipc::Json { { "port", j->value("remote_port", 0u) }, { "remote_dom", from.domid },
                                                 { "remote_port", j->value("local_port", 0u) } },
                                     f.fds, reply_fds);
            complete(from, *id, std::move(r), reply_fds);
        } else if (*op == ipc::ops::kDomainExists) {
            auto dom = ipc::get_uint(*j, "domid", UINT16_MAX);
            bool exists = dom && (*dom == 0 || *dom == from.domid || *dom == to.domid);
            complete(from, *id, ipc::Json { { "exists", exists } }, reply_fds);
        } else if (j->value("event", "") == "evtchn-closed" && j->value("remote_dom", 0u) == to.domid) {
            std::vector<UniqueFd> none;
            (void)to.relay->handle(ipc::ops::kEvtchnPeerClosed,
                                   ipc::Json { { "port", j->value("remote_port", 0u) }, { "remote_dom", from.domid },
                                               { "remote_port", j->value("port", 0u) } },
                                   none, reply_fds);
        }
    }

    static void complete(const Side& side, uint64_t id, Result<ipc::Json> r, std::vector<UniqueFd>& fds)
    {
        auto reply = r ? ipc::ok_reply(id, r.release_value()) : ipc::error_reply(id, r.error());
        // A waiter that timed out has gone: its reply is simply not taken.
        (void)side.relay->complete(reply, fds);
    }

    UniqueFd m_wake;
    std::mutex m_lock;
    Side m_sides[2];
    bool m_stop = false;
    std::thread m_thread;
};

// Ports our calls returned (even indexes) and ports the peer got (odd), for later calls to use.
class RememberedPorts {
public:
    static constexpr size_t kMax = 32;
    void add(bool peer, evtchn_port_t port)
    {
        std::lock_guard guard(m_lock);
        auto& list = peer ? m_peer : m_ours;
        if (list.size() < kMax)
            list.push_back(port);
    }
    evtchn_port_t pick(uint8_t index) const
    {
        std::lock_guard guard(m_lock);
        const auto& list = (index & 1) ? m_peer : m_ours;
        size_t i = index >> 1;
        return i < list.size() ? list[i] : index % 8; // a small raw port when none was returned
    }

private:
    mutable std::mutex m_lock;
    std::vector<evtchn_port_t> m_ours, m_peer;
};

} // namespace xkvm::fuzz
