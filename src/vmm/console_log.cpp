#include "vmm/console_log.h"

namespace xkvm::vmm {

Result<std::unique_ptr<ConsoleLog>> ConsoleLog::create(const std::string& path, size_t history_limit)
{
    FILE* f = nullptr;
    if (!path.empty()) {
        f = std::fopen(path.c_str(), "ae");
        if (!f)
            return make_unexpected(Error::from_errno(fmt::format("console log {}", path)));
        std::setvbuf(f, nullptr, _IONBF, 0); // a crash must not lose the last words
    }
    return std::unique_ptr<ConsoleLog>(new ConsoleLog(f, history_limit));
}

ConsoleLog::~ConsoleLog()
{
    if (m_file)
        std::fclose(m_file);
}

void ConsoleLog::console_output(std::string_view bytes)
{
    std::lock_guard guard(m_lock);
    m_total += bytes.size();
    m_history.append(bytes);
    if (m_history.size() > m_limit)
        m_history.erase(0, m_history.size() - m_limit);
    if (m_file)
        std::fwrite(bytes.data(), 1, bytes.size(), m_file);
    for (auto& [id, fn] : m_subscribers)
        fn(bytes);
}

std::string ConsoleLog::subscribe(uint64_t id, Subscriber fn)
{
    std::lock_guard guard(m_lock);
    m_subscribers.emplace_back(id, std::move(fn));
    return m_history;
}

void ConsoleLog::unsubscribe(uint64_t id)
{
    std::lock_guard guard(m_lock);
    std::erase_if(m_subscribers, [id](const auto& s) { return s.first == id; });
}

std::string ConsoleLog::history() const
{
    std::lock_guard guard(m_lock);
    return m_history;
}

uint64_t ConsoleLog::bytes_written() const
{
    std::lock_guard guard(m_lock);
    return m_total;
}

} // namespace xkvm::vmm
