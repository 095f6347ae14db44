// Watches: which changes a watch sees and under what path it is told about them.
//
// A change at P fires every watch on P or on a parent of P, reporting P. Removing P also fires the
// watches below P, each reporting its own path. Watches set with a relative path hear relative paths.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "xenstore/store.h"

namespace xkvm::xenstore {

struct Watch {
    std::string path; // absolute node path, or a special "@..." path
    std::string token;
    bool relative = false; // set with a relative path: events are reported relative too

    // The path as the client wrote it (for the event sent when the watch is set).
    std::string client_path(DomId owner) const;
};

class WatchSet {
public:
    // EEXIST when the same path and token are already watched.
    Status add(Watch watch);
    // ENOENT when no such watch exists.
    Status remove(std::string_view path, std::string_view token);
    void clear()
    {
        m_watches.clear();
        m_bytes = 0;
    }
    size_t size() const { return m_watches.size(); }
    // Memory the watches hold, for the daemon-wide cap (kept as they change: every growing guest
    // request asks for it).
    size_t bytes() const { return m_bytes; }
    const std::vector<Watch>& all() const { return m_watches; }

private:
    std::vector<Watch> m_watches;
    size_t m_bytes = 0;
};

// The path a WATCH_EVENT for `change` reports to `watch`, held by domain `owner`; nullopt when the
// change does not concern the watch.
std::optional<std::string> event_path(const Watch& watch, const Change& change, DomId owner);

} // namespace xkvm::xenstore
