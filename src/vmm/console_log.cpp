#include "vmm/console_log.h"

#include <filesystem>

namespace xkvm::vmm {

Result<std::unique_ptr<ConsoleLog>> ConsoleLog::create(const std::string& path, size_t history_limit,
                                                       uint64_t file_limit)
{
    std::unique_ptr<RotatingFile> f;
    if (!path.empty()) {
        // The default place (<logdir>/console/) may not exist yet on a fresh host.
        std::error_code ec;
        std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
        // Unbuffered (a crash must not lose the last words), capped, never through a symlink.
        auto file = RotatingFile::create(path, file_limit);
        if (!file)
            return fail(file.error().code, "console log: {}", file.error().message);
        f = file.release_value();
    }
    return std::unique_ptr<ConsoleLog>(new ConsoleLog(std::move(f), history_limit));
}

ConsoleLog::~ConsoleLog() = default;

void ConsoleLog::console_output(std::string_view bytes)
{
    std::lock_guard guard(m_lock);
    m_total += bytes.size();
    m_history.append(bytes);
    // Cut back to the limit only once twice as much is held: each byte is moved once at most. At
    // the limit on every write, a guest printing a byte at a time had each byte move the whole
    // megabyte (94 % of vmm_exit_fuzz's time).
    if (m_history.size() > 2 * m_limit)
        m_history.erase(0, m_history.size() - m_limit);
    if (m_file)
        m_file->write(bytes);
    for (auto& [id, fn] : m_subscribers)
        fn(bytes);
}

std::string ConsoleLog::subscribe(uint64_t id, Subscriber fn)
{
    std::lock_guard guard(m_lock);
    m_subscribers.emplace_back(id, std::move(fn));
    return recent();
}

void ConsoleLog::unsubscribe(uint64_t id)
{
    std::lock_guard guard(m_lock);
    std::erase_if(m_subscribers, [id](const auto& s) { return s.first == id; });
}

std::string ConsoleLog::history() const
{
    std::lock_guard guard(m_lock);
    return recent();
}

std::string ConsoleLog::recent() const
{
    return m_history.size() > m_limit ? m_history.substr(m_history.size() - m_limit) : m_history;
}

uint64_t ConsoleLog::bytes_written() const
{
    std::lock_guard guard(m_lock);
    return m_total;
}

} // namespace xkvm::vmm
