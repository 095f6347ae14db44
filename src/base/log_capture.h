// Test-only: counts what one subsystem's logger emits while it lives (lines and bytes), so tests
// can bound log volume under a flood.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include <spdlog/sinks/base_sink.h>

#include "base/log.h"

namespace xkvm::log {

class LogCapture {
public:
    explicit LogCapture(std::string_view subsystem) : m_logger(get(subsystem)), m_sink(std::make_shared<Sink>())
    {
        m_logger->sinks().push_back(m_sink);
    }
    ~LogCapture() { std::erase(m_logger->sinks(), std::shared_ptr<spdlog::sinks::sink>(m_sink)); }
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;

    uint64_t lines() const { return m_sink->lines.load(); }
    uint64_t bytes() const { return m_sink->bytes.load(); }

private:
    struct Sink : spdlog::sinks::base_sink<std::mutex> {
        std::atomic<uint64_t> lines { 0 }, bytes { 0 };
        void sink_it_(const spdlog::details::log_msg& msg) override
        {
            ++lines;
            bytes += msg.payload.size();
        }
        void flush_() override { }
    };
    std::shared_ptr<spdlog::logger> m_logger;
    std::shared_ptr<Sink> m_sink;
};

} // namespace xkvm::log
