// What a guest's xenstore connection holds that xkvmd would lose if it died: the requests it has
// not answered yet, the watches the guest set, and the nodes the guest wrote itself (outside
// transactions). The VMM keeps this, so that a restarted xkvmd (which rebuilds only what the
// toolstack wrote) gets it back: `replay()` gives the messages that restore it, on the guest's own
// connection, so its permissions and quota apply as before. Pure bookkeeping on the control loop's
// thread; bounded in entries and bytes (past the bounds it stops recording and says so).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "xenstore/message.h"

namespace xkvm::vmm {

class XenstoreSession {
public:
    static constexpr size_t kMaxInFlight = 1024;
    static constexpr size_t kMaxRecordedBytes = 1u << 20; // written nodes and watches together

    // `home`: the domain's /local/domain/<domid>, which relative paths are under.
    explicit XenstoreSession(std::string home) : m_home(std::move(home)) { }

    // A guest request on its way to the daemon. False if it belongs to a transaction the old daemon
    // took with it: it must not go out; the guest gets `lost_transaction(request)` instead.
    bool sent(const xenstore::Message& request);
    // EAGAIN, which makes a guest start its transaction again (as after a conflict).
    static xenstore::Message lost_transaction(const xenstore::Message& request);
    // A message from the daemon. False if it answers one of replay()'s messages: not for the guest.
    bool answered(const xenstore::Message& reply);
    // The guest reconnected its ring: nothing of the old connection holds any more.
    void reset();

    // For a new daemon, in order: the guest's nodes (WRITE), its watches (WATCH), then the
    // requests the old daemon never answered, with their own ids. Clears the in-flight list: they
    // are sent (and recorded) again. Transactions open until now are lost: unanswered requests in
    // them are answered here (`to_guest`), and so is any later use of them.
    struct Replay {
        std::vector<xenstore::Message> to_daemon;
        std::vector<xenstore::Message> to_guest;
    };
    Replay replay();

    size_t in_flight() const { return m_in_flight.size(); }
    size_t watches() const { return m_watches.size(); }
    size_t nodes() const { return m_nodes.size(); }
    bool overflowed() const { return m_overflowed; }
    // What the recorded nodes and watches take, as counted against kMaxRecordedBytes.
    size_t recorded_bytes() const { return m_bytes; }

private:
    std::string absolute(std::string_view path) const;
    void record(const xenstore::Message& request, const xenstore::Message& reply);
    void erase_subtree(const std::string& path);
    bool fits(size_t bytes);

    std::string m_home;
    std::deque<xenstore::Message> m_in_flight;
    std::map<std::string, std::optional<std::string>> m_nodes; // absolute path -> value (none: mkdir)
    std::set<std::pair<std::string, std::string>> m_watches; // (path as given, token)
    std::set<uint32_t> m_replay_ids;                          // replies to swallow
    std::set<uint32_t> m_open_tx, m_lost_tx;                  // transaction ids (bounded by the store's quota)
    size_t m_bytes = 0;
    bool m_overflowed = false;
};

} // namespace xkvm::vmm
