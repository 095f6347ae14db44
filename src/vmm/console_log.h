// A domain's console: everything the guest prints through any console path, kept in memory (the
// recent part), appended to a log file, and passed to live subscribers (xkvm console).
#pragma once

#include <cstdint>
#include <memory>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/rotating_file.h"
#include "devices/io_bus.h"

namespace xkvm::vmm {

class ConsoleLog final : public devices::ConsoleSink {
public:
    using Subscriber = std::function<void(std::string_view)>;

    // `path` may be empty (no file). `history_limit` bounds what is kept in memory, `file_limit` the
    // log file (rotated to `<path>.1` when full: a guest cannot fill the disk).
    static Result<std::unique_ptr<ConsoleLog>> create(const std::string& path, size_t history_limit = 1 << 20,
                                                      uint64_t file_limit = RotatingFile::kDefaultMaxBytes);
    ~ConsoleLog() override;

    void console_output(std::string_view bytes) override;

    // Adds a subscriber and returns everything seen so far, atomically with respect to output, so
    // the subscriber misses nothing and sees nothing twice.
    std::string subscribe(uint64_t id, Subscriber fn);
    void unsubscribe(uint64_t id);
    std::string history() const;
    uint64_t bytes_written() const;

private:
    ConsoleLog(std::unique_ptr<RotatingFile> file, size_t limit) : m_file(std::move(file)), m_limit(limit) { }
    // The last m_limit bytes of m_history (which holds up to twice that). With m_lock held.
    std::string recent() const;

    mutable std::mutex m_lock;
    std::unique_ptr<RotatingFile> m_file;
    size_t m_limit;
    std::string m_history; // up to 2 * m_limit: see console_output
    uint64_t m_total = 0;
    std::vector<std::pair<uint64_t, Subscriber>> m_subscribers;
};

} // namespace xkvm::vmm
