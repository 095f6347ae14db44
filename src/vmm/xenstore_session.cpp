#include "vmm/xenstore_session.h"

#include <cstdlib>

namespace xkvm::vmm {

using xenstore::Message;
using xenstore::MsgType;

namespace {

// Replayed messages take ids from here down, skipping ids the guest has in flight: a guest picks
// its own ids, and a reply to one of ours must not reach it.
constexpr uint32_t kFirstReplayId = 0xfffffff0u;

} // namespace

std::string XenstoreSession::absolute(std::string_view path) const
{
    if (!path.empty() && path.front() == '/')
        return std::string(path);
    return m_home + "/" + std::string(path);
}

bool XenstoreSession::fits(size_t bytes)
{
    if (m_bytes + bytes > kMaxRecordedBytes) {
        m_overflowed = true;
        return false;
    }
    m_bytes += bytes;
    return true;
}

bool XenstoreSession::sent(const Message& request)
{
    if (request.tx_id != 0 && m_lost_tx.count(request.tx_id)) {
        if (request.msg_type() == MsgType::TransactionEnd)
            m_lost_tx.erase(request.tx_id);
        return false;
    }
    if (m_in_flight.size() >= kMaxInFlight) {
        m_overflowed = true;
        return true;
    }
    m_in_flight.push_back(request);
    return true;
}

Message XenstoreSession::lost_transaction(const Message& request)
{
    return xenstore::error_reply(request, EAGAIN);
}

bool XenstoreSession::answered(const Message& reply)
{
    if (reply.msg_type() == MsgType::WatchEvent)
        return true;
    bool ours = m_replay_ids.erase(reply.req_id) > 0;
    for (auto it = m_in_flight.begin(); it != m_in_flight.end(); ++it) {
        if (it->req_id != reply.req_id || it->tx_id != reply.tx_id)
            continue;
        if (reply.msg_type() != MsgType::Error)
            record(*it, reply);
        m_in_flight.erase(it);
        break;
    }
    return !ours;
}

void XenstoreSession::erase_subtree(const std::string& path)
{
    auto it = m_nodes.lower_bound(path);
    while (it != m_nodes.end() && (it->first == path || it->first.starts_with(path + "/"))) {
        m_bytes -= std::min(m_bytes, it->first.size() + (it->second ? it->second->size() : 0));
        it = m_nodes.erase(it);
    }
}

void XenstoreSession::record(const Message& request, const Message& reply)
{
    if (request.msg_type() == MsgType::TransactionStart) {
        uint32_t tx = static_cast<uint32_t>(std::strtoul(reply.payload.c_str(), nullptr, 10));
        m_lost_tx.erase(tx); // the new store hands out ids the old one had: this one is live
        if (tx && m_open_tx.size() < kMaxInFlight)
            m_open_tx.insert(tx);
        return;
    }
    if (request.msg_type() == MsgType::TransactionEnd)
        m_open_tx.erase(request.tx_id);
    if (request.tx_id != 0)
        return; // inside a transaction: not recorded (transactions die with the daemon)
    auto args = xenstore::split_first(request.payload);
    if (!args)
        return;
    std::string path = absolute(args->first);
    switch (request.msg_type()) {
    case MsgType::Write: {
        // The node alone: a write leaves its children as they are.
        auto it = m_nodes.find(path);
        size_t old = it == m_nodes.end() ? 0 : path.size() + (it->second ? it->second->size() : 0);
        if (fits(path.size() + args->rest.size())) {
            m_bytes -= std::min(m_bytes, old);
            m_nodes[path] = std::string(args->rest);
        }
        break;
    }
    case MsgType::Mkdir:
        if (!m_nodes.count(path) && fits(path.size()))
            m_nodes[path] = std::nullopt;
        break;
    case MsgType::Rm:
        erase_subtree(path);
        break;
    case MsgType::Watch:
    case MsgType::Unwatch: {
        auto parts = xenstore::split_strings(request.payload);
        if (!parts || parts->size() != 2)
            return;
        std::pair<std::string, std::string> w { std::string((*parts)[0]), std::string((*parts)[1]) };
        if (request.msg_type() == MsgType::Unwatch) {
            if (m_watches.erase(w))
                m_bytes -= std::min(m_bytes, w.first.size() + w.second.size());
        } else if (!m_watches.count(w) && fits(w.first.size() + w.second.size())) {
            m_watches.insert(std::move(w));
        }
        break;
    }
    default:
        break;
    }
}

void XenstoreSession::reset()
{
    m_in_flight.clear();
    m_nodes.clear();
    m_watches.clear();
    m_replay_ids.clear();
    m_open_tx.clear();
    m_lost_tx.clear();
    m_bytes = 0;
    m_overflowed = false;
}

XenstoreSession::Replay XenstoreSession::replay()
{
    m_lost_tx.insert(m_open_tx.begin(), m_open_tx.end());
    m_open_tx.clear();
    std::set<uint32_t> taken;
    for (auto& m : m_in_flight)
        taken.insert(m.req_id);
    uint32_t next = kFirstReplayId;
    auto fresh_id = [&] {
        while (taken.count(next))
            --next;
        m_replay_ids.insert(next);
        return next--;
    };
    Replay r;
    auto& out = r.to_daemon;
    m_replay_ids.clear();
    for (auto& [path, value] : m_nodes) {
        if (value)
            out.push_back(Message::make(MsgType::Write, fresh_id(), 0, path + '\0' + *value));
        else
            out.push_back(Message::make(MsgType::Mkdir, fresh_id(), 0, path + '\0'));
    }
    for (auto& [path, token] : m_watches)
        out.push_back(Message::make(MsgType::Watch, fresh_id(), 0, path + '\0' + token + '\0'));
    for (auto& m : m_in_flight) {
        if (m.tx_id == 0 || !m_lost_tx.count(m.tx_id))
            out.push_back(std::move(m));
        else
            r.to_guest.push_back(lost_transaction(m));
    }
    m_in_flight.clear();
    return r;
}

} // namespace xkvm::vmm
