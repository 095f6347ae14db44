// Test helpers for Server tests: a sink that records deliveries and a client per connection.
#pragma once

#include <deque>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "xenstore/server.h"

namespace xkvm::xenstore::testing {

// "a\0b\0" from {"a", "b"}.
inline std::string args(std::initializer_list<std::string_view> parts)
{
    std::string out;
    for (auto p : parts) {
        out.append(p);
        out.push_back('\0');
    }
    return out;
}

struct Event {
    std::string path;
    std::string token;
    bool operator==(const Event&) const = default;
};

inline std::ostream& operator<<(std::ostream& os, const Event& e)
{
    return os << "{" << e.path << ", " << e.token << "}";
}

class RecordingSink final : public MessageSink {
public:
    void deliver(ConnId conn, const Message& msg) override { delivered.emplace_back(conn, msg); }
    std::deque<std::pair<ConnId, Message>> delivered;
};

class Harness {
public:
    explicit Harness(Quota quota = {})
        : server(sink, quota)
    {
    }
    Harness(Quota quota, const Store& tree)
        : server(sink, quota, tree)
    {
    }

    // Sends one request; returns the reply payload ("OK\0" shortened to "OK"), or "E:<name>" for
    // an ERROR reply. Fails the test unless exactly one reply to it was delivered, first.
    std::string call(ConnId conn, MsgType type, std::string payload, uint32_t tx = 0)
    {
        uint32_t req_id = ++m_req_id;
        size_t before = sink.delivered.size();
        Message req = Message::make(type, req_id, tx, std::move(payload));
        EXPECT_TRUE(server.handle(conn, req).has_value());
        return take_reply(conn, before, req);
    }

    std::string take_reply(ConnId conn, size_t before, const Message& req)
    {
        std::string out = "<no reply>";
        int replies = 0;
        while (sink.delivered.size() > before) {
            auto [to, msg] = std::move(sink.delivered[before]);
            sink.delivered.erase(sink.delivered.begin() + static_cast<long>(before));
            if (msg.msg_type() != MsgType::WatchEvent) {
                EXPECT_EQ(to, conn);
                EXPECT_EQ(msg.req_id, req.req_id);
                EXPECT_EQ(msg.tx_id, req.tx_id);
                EXPECT_EQ(replies, 0) << "more than one reply";
                EXPECT_LE(msg.payload.size(), kPayloadMax);
                replies++;
                if (msg.msg_type() == MsgType::Error) {
                    EXPECT_TRUE(!msg.payload.empty() && msg.payload.back() == '\0');
                    out = "E:" + std::string(msg.payload.c_str());
                } else {
                    EXPECT_EQ(msg.type, req.type);
                    out = msg.payload == std::string("OK\0", 3) ? "OK" : msg.payload;
                }
            } else {
                EXPECT_EQ(replies, 1) << "watch event before the reply";
                m_events.emplace_back(to, msg);
            }
        }
        EXPECT_EQ(replies, 1);
        return out;
    }

    // Watch events delivered to `conn` since the last call, oldest first.
    std::vector<Event> events(ConnId conn)
    {
        for (auto& [to, msg] : sink.delivered)
            m_events.emplace_back(to, msg);
        sink.delivered.clear();
        std::vector<Event> out;
        std::deque<std::pair<ConnId, Message>> rest;
        for (auto& [to, msg] : m_events) {
            if (to != conn) {
                rest.emplace_back(to, std::move(msg));
                continue;
            }
            auto parts = split_strings(msg.payload);
            EXPECT_TRUE(parts && parts->size() == 2) << "malformed watch event";
            EXPECT_EQ(msg.req_id, 0u);
            if (parts && parts->size() == 2)
                out.push_back(Event { std::string((*parts)[0]), std::string((*parts)[1]) });
        }
        m_events = std::move(rest);
        return out;
    }

    // Shorthands.
    std::string read(ConnId c, std::string_view path, uint32_t tx = 0)
    {
        return call(c, MsgType::Read, args({ path }), tx);
    }
    std::string write(ConnId c, std::string_view path, std::string_view value, uint32_t tx = 0)
    {
        std::string p(path);
        p.push_back('\0');
        p.append(value);
        return call(c, MsgType::Write, std::move(p), tx);
    }
    std::string mkdir(ConnId c, std::string_view path, uint32_t tx = 0)
    {
        return call(c, MsgType::Mkdir, args({ path }), tx);
    }
    std::string rm(ConnId c, std::string_view path, uint32_t tx = 0)
    {
        return call(c, MsgType::Rm, args({ path }), tx);
    }
    std::string dir(ConnId c, std::string_view path, uint32_t tx = 0)
    {
        return call(c, MsgType::Directory, args({ path }), tx);
    }
    std::string get_perms(ConnId c, std::string_view path, uint32_t tx = 0)
    {
        return call(c, MsgType::GetPerms, args({ path }), tx);
    }
    std::string set_perms(ConnId c, std::string_view path, std::initializer_list<std::string_view> perms,
                          uint32_t tx = 0)
    {
        std::string p(path);
        p.push_back('\0');
        for (auto perm : perms) {
            p.append(perm);
            p.push_back('\0');
        }
        return call(c, MsgType::SetPerms, std::move(p), tx);
    }
    std::string watch(ConnId c, std::string_view path, std::string_view token)
    {
        return call(c, MsgType::Watch, args({ path, token }));
    }
    std::string unwatch(ConnId c, std::string_view path, std::string_view token)
    {
        return call(c, MsgType::Unwatch, args({ path, token }));
    }
    // Returns the transaction id, 0 on error.
    uint32_t start(ConnId c)
    {
        std::string r = call(c, MsgType::TransactionStart, std::string("\0", 1));
        auto id = parse_decimal(std::string_view(r.c_str()), UINT32_MAX);
        return id ? static_cast<uint32_t>(*id) : 0;
    }
    std::string end(ConnId c, uint32_t tx, bool commit)
    {
        return call(c, MsgType::TransactionEnd, args({ commit ? "T" : "F" }), tx);
    }

    RecordingSink sink;
    Server server;

private:
    uint32_t m_req_id = 0;
    std::deque<std::pair<ConnId, Message>> m_events;
};

// Connection ids used across the tests.
inline constexpr ConnId kDom0 = 100;
inline constexpr ConnId kGuest1 = 101;
inline constexpr ConnId kGuest2 = 102;

} // namespace xkvm::xenstore::testing
