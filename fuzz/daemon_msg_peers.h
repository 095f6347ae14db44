// daemon_msg_fuzz's side of the sockets: the VMMs and clients it plays, what it has seen the
// daemon send them, and reading that as it arrives.
#pragma once

#include <array>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "daemon_msg_frames.h"
#include "toolstack/daemon/daemon_test_peer.h"

namespace xkvm::fuzz::daemon_msg {

using Clock = toolstack::Daemon::Clock;

struct Vmm {
    pid_t pid = 0;
    uint32_t domid = 0;
    std::unique_ptr<ipc::Channel> chan; // null once it hung up
    bool ended = false;
    struct Asked {
        uint64_t id;
        std::string op;
    };
    std::deque<Asked> asked; // the daemon's requests we have not answered
    uint64_t last_id = 0;
    uint64_t next_own_id = 1, own_requests = 0, answers = 0;
    bool unaccounted = false; // raw bytes went in: what they framed is unknown
    bool adopted = false;     // taken back by a restarted daemon (its end is reported as a pidfd's)
};

struct Client {
    uint64_t id = 0;
    std::unique_ptr<ipc::Channel> chan;
    std::map<uint64_t, unsigned> open;  // by reply id: requests not yet answered
    std::map<uint64_t, unsigned> waits; // by reply id: waits asked (which may stay unanswered)
};

struct Run {
    std::unique_ptr<toolstack::DaemonTestPeer> peer;
    std::vector<Vmm> vmms;
    std::array<std::optional<Client>, 3> clients;
    Clock::time_point now = Clock::now();
    unsigned clients_connected = 0;
    unsigned readopted = 0; // records a restarted daemon found
};

Domains domains(Run& run);
// Would the daemon take this frame of ours as a request (an "op" and a numeric id)?
bool is_request(const ipc::Frame& f);
// What the daemon wrote to its peers since the last pump; VMMs it has started since. Traps on a
// request id that does not grow, a reply that does not parse, or one to a request never made.
void pump(Run& run);
// A live VMM (`hung_up_too`: or one that closed its socket but has not ended); null when none.
Vmm* pick_vmm(Run& run, uint8_t sel, bool hung_up_too);
// A client, connected on first use.
Client& client(Run& run, uint8_t sel);

} // namespace xkvm::fuzz::daemon_msg
