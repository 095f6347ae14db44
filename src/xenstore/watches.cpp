#include "xenstore/watches.h"

#include <algorithm>
#include <cerrno>

#include "xenstore/path.h"

namespace xkvm::xenstore {

std::string Watch::client_path(DomId owner) const
{
    return relative ? relative_to_home(path, owner) : path;
}

namespace {

size_t watch_bytes(const Watch& w) { return w.path.size() + w.token.size() + kEntryOverhead; }

} // namespace

Status WatchSet::add(Watch watch)
{
    for (const auto& w : m_watches)
        if (w.path == watch.path && w.token == watch.token)
            return fail(EEXIST, "already watching {}", watch.path);
    m_bytes += watch_bytes(watch);
    m_watches.push_back(std::move(watch));
    return {};
}

Status WatchSet::remove(std::string_view path, std::string_view token)
{
    auto it = std::find_if(m_watches.begin(), m_watches.end(),
                           [&](const Watch& w) { return w.path == path && w.token == token; });
    if (it == m_watches.end())
        return fail(ENOENT, "no watch on {}", path);
    m_bytes -= watch_bytes(*it);
    m_watches.erase(it);
    return {};
}

std::optional<std::string> event_path(const Watch& watch, const Change& change, DomId owner)
{
    std::string_view reported;
    if (is_child(change.path, watch.path))
        reported = change.path;
    else if (change.removed && is_child(watch.path, change.path))
        reported = watch.path;
    else
        return std::nullopt;
    return watch.relative ? relative_to_home(reported, owner) : std::string(reported);
}

} // namespace xkvm::xenstore
