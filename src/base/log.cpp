#include "base/log.h"

#include <cstdlib>
#include <mutex>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace xkvm::log {

namespace {
std::mutex g_lock;
spdlog::level::level_enum g_level = spdlog::level::warn;
}

void init_from_env()
{
    std::lock_guard guard(g_lock);
    if (const char* env = std::getenv("XKVM_LOG"))
        g_level = spdlog::level::from_str(env);
    spdlog::set_level(g_level);
    spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->set_level(g_level); });
}

std::shared_ptr<spdlog::logger> get(std::string_view subsystem)
{
    std::lock_guard guard(g_lock);
    std::string name(subsystem);
    if (auto existing = spdlog::get(name))
        return existing;
    auto logger = spdlog::stderr_color_mt(name);
    logger->set_level(g_level);
    logger->set_pattern("[%H:%M:%S.%e] [%n] [%l] %v");
    return logger;
}

} // namespace xkvm::log
