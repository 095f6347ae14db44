// A domain's console: everything the guest prints through any console path, kept in memory (the
// recent part), appended to a log file, and passed to live subscribers (xkvm console).
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "base/result.h"
#include "devices/io_bus.h"

namespace xkvm::vmm {

class ConsoleLog final : public devices::ConsoleSink {
public:
    using Subscriber = std::function<void(std::string_view)>;

    // `path` may be empty (no file). `history_limit` bounds what is kept in memory.
    static Result<std::unique_ptr<ConsoleLog>> create(const std::string& path, size_t history_limit = 1 << 20);
    ~ConsoleLog() override;

    void console_output(std::string_view bytes) override;

    // Adds a subscriber and returns everything seen so far, atomically with respect to output, so
    // the subscriber misses nothing and sees nothing twice.
    std::string subscribe(uint64_t id, Subscriber fn);
    void unsubscribe(uint64_t id);
    std::string history() const;
    uint64_t bytes_written() const;

private:
    ConsoleLog(FILE* file, size_t limit) : m_file(file), m_limit(limit) { }

    mutable std::mutex m_lock;
    FILE* m_file;
    size_t m_limit;
    std::string m_history;
    uint64_t m_total = 0;
    std::vector<std::pair<uint64_t, Subscriber>> m_subscribers;
};

} // namespace xkvm::vmm
