#include "toolstack/plan/dry_run.h"

#include <fmt/format.h>

#include "config/domain_config.h"
#include "config/json.h"
#include "toolstack/plan/refusals.h"

namespace xkvm::plan {

namespace {

// A refusal that knows where ("file:line:col: message") keeps its position; the rest get `prog`.
std::string warning_line(const std::string& message, const std::string& file, const std::string& prog)
{
    constexpr std::string_view kWhat = "xkvm cannot create this domain: ";
    for (const std::string& source : { file, std::string(config::kCommandLineSource) }) {
        if (!message.starts_with(source + ":"))
            continue;
        size_t i = source.size() + 1;
        auto digits = [&] {
            size_t start = i;
            while (i < message.size() && message[i] >= '0' && message[i] <= '9')
                i++;
            return i > start;
        };
        if (digits() && i < message.size() && message[i] == ':' && (++i, digits()) && message.compare(i, 2, ": ") == 0)
            return fmt::format("{}: warning: {}{}", message.substr(0, i), kWhat, message.substr(i + 2));
    }
    return fmt::format("{}: warning: {}{}", prog, kWhat, message);
}

} // namespace

DryRunOutput dry_run_file(const std::string& path, const std::vector<std::string>& overrides, const std::string& prog)
{
    DryRunOutput o;
    auto parsed = config::parse_file(path, overrides);
    if (!parsed) {
        o.err.push_back(parsed.error().str());
        o.exit_code = 1;
        return o;
    }
    std::vector<config::ConfigWarning> warnings = parsed->warnings;
    auto built = config::build_domain_config(*parsed, warnings);
    for (const auto& w : warnings)
        o.err.push_back(w.str());
    if (!built) {
        o.err.push_back(built.error().str());
        o.exit_code = 1;
        return o;
    }
    PlanContext ctx;
    ctx.source = &*parsed;
    std::vector<std::string> plan_warnings;
    std::vector<Error> refusals = config_refusals(*built, ctx, plan_warnings);
    for (const auto& w : plan_warnings)
        o.err.push_back(fmt::format("{}: warning: {}", prog, w));
    for (const auto& e : refusals)
        o.err.push_back(warning_line(e.message, parsed->source, prog));
    o.out = config::to_json(*built).dump(4, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    return o;
}

} // namespace xkvm::plan
