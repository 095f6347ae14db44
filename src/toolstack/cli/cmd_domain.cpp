// The commands that act on existing domains or the host: list, pause/unpause/destroy,
// shutdown/reboot, domid/domname, uptime, vcpu-list, vcpu-pin, sched-credit, info, xenstore-*.
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "ipc/ops.h"
#include "toolstack/cli/mem_size.h"
#include "ipc/rundir.h"
#include "toolstack/cli/commands.h"
#include "toolstack/cli/daemon_client.h"
#include "toolstack/cli/host_info.h"
#include "toolstack/cli/list_view.h"
#include "toolstack/plan/affinity_view.h"

namespace xkvm::cli {

namespace {

using ipc::Json;

Result<std::unique_ptr<DaemonClient>> connect(const Context& ctx) { return DaemonClient::connect(ctx.rundir); }

Result<Json> domains(DaemonClient& c, const std::vector<std::string>& doms)
{
    Json args = Json::object();
    if (!doms.empty())
        args["doms"] = doms;
    auto r = TRY(c.call(ipc::ops::kList, args));
    if (!r.contains("domains") || !r["domains"].is_array())
        return fail(EPROTO, "xkvmd sent a malformed list");
    return r["domains"];
}

} // namespace

int report(const Context& ctx, const std::string& message)
{
    std::fprintf(stderr, "%s: %s\n", ctx.prog.c_str(), message.c_str());
    return 1;
}

int report(const Context& ctx, const Error& e) { return report(ctx, e.message); }

int cmd_list(const Context& ctx, const ListOptions& o)
{
    auto topo = numa::Topology::detect();
    if (!topo)
        return report(ctx, topo.error());
    auto client = connect(ctx);
    if (!client)
        return report(ctx, client.error());
    auto doms = domains(**client, o.doms);
    if (!doms)
        return report(ctx, doms.error());
    if (o.long_format) {
        // As `xl list -l`: one object per domain with its config in libxl's JSON shape.
        Json out = Json::array();
        for (const auto& rec : *doms) {
            Json entry { { "domid", rec["domid"] }, { "config", rec["config"] } };
            // xkvm's own: which CPU control the domain's VMM is under (cgroup, autogroup).
            if (rec.contains("cpu"))
                entry["cpu"] = rec["cpu"];
            out.push_back(std::move(entry));
        }
        std::printf("%s\n", out.dump(4).c_str());
        return 0;
    }
    // xl's column order: the common ones, -v's, then -n's.
    const std::string base = plan::domain_list_header(false);
    const std::string with_nodes = plan::domain_list_header(true);
    std::string text = base.substr(0, base.size() - 1);
    if (o.verbose)
        text += "   UUID                            Reason-Code\tSecurity Label";
    if (o.numa)
        text += with_nodes.substr(base.size() - 1, with_nodes.size() - base.size());
    text += "\n";
    auto add_row = [&](const plan::DomainListEntry& e, const Json* rec) {
        std::string row = plan::format_domain_list_row(*topo, e, false);
        row.pop_back(); // newline
        if (o.verbose)
            row += rec ? verbose_suffix(*rec) : fmt::format(" {} {:>8} {:>16}", "00000000-0000-0000-0000-000000000000", "-", "-");
        if (o.numa) {
            std::string numa_row = plan::format_domain_list_row(*topo, e, true);
            std::string plain = plan::format_domain_list_row(*topo, e, false);
            row += numa_row.substr(plain.size() - 1, numa_row.size() - plain.size());
        }
        text += row + "\n";
    };
    if (o.doms.empty())
        add_row(host_entry(*topo, host_memory_mib(), host_cpu_seconds()), nullptr);
    for (const auto& rec : *doms)
        add_row(domain_entry(*topo, rec), &rec);
    std::fputs(text.c_str(), stdout);
    return 0;
}

namespace {

// One request whose reply carries nothing to print: 0, or the error reported.
int call_daemon(const Context& ctx, std::string_view op, const Json& args)
{
    auto client = connect(ctx);
    if (!client)
        return report(ctx, client.error());
    auto r = (*client)->call(op, args);
    return r ? 0 : report(ctx, r.error());
}

} // namespace

int cmd_simple(const Context& ctx, const std::string& op, const std::string& dom)
{
    return call_daemon(ctx, op, Json { { "dom", dom } });
}

int cmd_vcpu_set(const Context& ctx, const std::string& dom, const std::string& count)
{
    char* end = nullptr;
    unsigned long n = std::strtoul(count.c_str(), &end, 10);
    if (count.empty() || *end || n > UINT32_MAX)
        return report(ctx, fmt::format("vcpu-set: '{}' is not a number of vCPUs", count));
    return call_daemon(ctx, ipc::ops::kVcpuSet, Json { { "dom", dom }, { "count", n } });
}

int cmd_memory(const Context& ctx, std::string_view op, const std::string& dom, const std::string& size)
{
    auto kib = parse_mem_size_kib(size);
    if (!kib)
        return report(ctx, fmt::format("{}: '{}' is not a memory size (a number of MiB, or with a suffix t, g, m, k or b)",
                                       op, size));
    return call_daemon(ctx, op, Json { { "dom", dom }, { "kib", *kib } });
}

int cmd_debug_keys(const Context& ctx, const std::string& keys)
{
    return call_daemon(ctx, ipc::ops::kDebugKeys, Json { { "keys", keys } });
}

int cmd_shutdown(const Context& ctx, const std::string& kind, const std::string& dom, bool wait, bool force)
{
    auto client = connect(ctx);
    if (!client)
        return report(ctx, client.error());
    auto r = (*client)->call(ipc::ops::kShutdown, Json { { "dom", dom }, { "kind", kind }, { "force", force } });
    if (!r)
        return report(ctx, r.error());
    uint32_t domid = (*r)["domid"].get<uint32_t>();
    std::fprintf(stderr, "%s domain %u\n", kind == "reboot" ? "Rebooting" : "Shutting down", domid);
    if (!wait)
        return 0;
    std::fprintf(stderr, "Waiting for 1 domains\n");
    auto w = (*client)->call(ipc::ops::kWait, Json { { "dom", std::to_string(domid) } }, std::chrono::hours(24 * 365));
    if (!w)
        return report(ctx, w.error());
    std::fprintf(stderr, "Domain %u has been shut down\n", domid);
    return 0;
}

int cmd_domid(const Context& ctx, const std::string& name)
{
    auto client = connect(ctx);
    if (!client)
        return report(ctx, client.error());
    auto r = (*client)->call(ipc::ops::kDomain, Json { { "dom", name } });
    if (!r || (*r)["name"] != name)
        return report(ctx, fmt::format("cannot get the domid of '{}': no domain of that name", name));
    std::printf("%u\n", (*r)["domid"].get<uint32_t>());
    return 0;
}

int cmd_domname(const Context& ctx, const std::string& id)
{
    if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos)
        return report(ctx, fmt::format("'{}' is not a domain id", id));
    if (id.find_first_not_of('0') == std::string::npos) {
        std::printf("Domain-0\n");
        return 0;
    }
    auto client = connect(ctx);
    if (!client)
        return report(ctx, client.error());
    auto r = (*client)->call(ipc::ops::kDomain, Json { { "dom", id } });
    if (!r)
        return report(ctx, r.error());
    std::printf("%s\n", (*r)["name"].get<std::string>().c_str());
    return 0;
}

int cmd_uptime(const Context& ctx, bool short_mode, const std::vector<std::string>& doms)
{
    auto client = connect(ctx);
    if (!client)
        return report(ctx, client.error());
    auto list = domains(**client, doms);
    if (!list)
        return report(ctx, list.error());
    std::time_t now = std::time(nullptr);
    char clock[16] = "";
    std::strftime(clock, sizeof(clock), "%H:%M:%S", std::localtime(&now));
    auto line = [&](const std::string& name, uint32_t id, uint64_t up) {
        if (short_mode)
            std::printf(" %s up %s, %s (%u)\n", clock, uptime_string(up, true).c_str(), name.c_str(), id);
        else
            std::printf("%-33s %4u %s\n", name.c_str(), id, uptime_string(up, false).c_str());
    };
    if (!short_mode)
        std::printf("%-33s %4s %s\n", "Name", "ID", "Uptime");
    if (doms.empty())
        line("Domain-0", 0, host_uptime_seconds());
    for (const auto& rec : *list) {
        int64_t start = rec.value("start_time", int64_t(now));
        line(rec.value("name", "?"), rec.value("domid", 0u), static_cast<uint64_t>(std::max<int64_t>(0, now - start)));
    }
    return 0;
}

int cmd_vcpu_list(const Context& ctx, const std::vector<std::string>& doms)
{
    auto topo = numa::Topology::detect();
    if (!topo)
        return report(ctx, topo.error());
    auto client = connect(ctx);
    if (!client)
        return report(ctx, client.error());
    auto list = domains(**client, doms);
    if (!list)
        return report(ctx, list.error());
    std::vector<plan::VcpuListEntry> entries;
    for (const auto& rec : *list)
        for (auto& e : vcpu_entries(*topo, rec))
            entries.push_back(std::move(e));
    std::fputs(plan::format_vcpu_list(*topo, entries).c_str(), stdout);
    return 0;
}

int cmd_vcpu_pin(const Context& ctx, const std::string& dom, const std::string& vcpu, const std::string& hard,
                 const std::optional<std::string>& soft)
{
    auto topo = numa::Topology::detect();
    if (!topo)
        return report(ctx, topo.error());
    auto client = connect(ctx);
    if (!client)
        return report(ctx, client.error());
    auto list = domains(**client, { dom });
    if (!list)
        return report(ctx, list.error());
    const Json& rec = (*list)[0];
    std::optional<std::string_view> soft_arg;
    if (soft)
        soft_arg = *soft;
    auto pin = plan::vcpu_pin(*topo, current_affinity(*topo, rec), vcpu, hard, soft_arg);
    if (!pin)
        return report(ctx, pin.error());
    for (const auto& w : pin->warnings)
        std::fprintf(stderr, "%s: warning: %s\n", ctx.prog.c_str(), w.c_str());
    Json changes = Json::array();
    for (uint32_t v : pin->changed)
        changes.push_back(Json { { "vcpu", v },
                                 { "cpus", pin->threads[v].ids() },
                                 { "hard", pin->affinity[v].hard.ids() },
                                 { "soft", pin->affinity[v].soft.ids() } });
    // The node affinity Xen would re-derive; the daemon keeps an explicit nodes= instead.
    auto r = (*client)->call(ipc::ops::kVcpuPin,
                             Json { { "dom", rec["name"] }, { "vcpus", changes }, { "nodes", pin->derived_nodes.ids() } });
    return r ? 0 : report(ctx, r.error());
}

int cmd_info(const Context&, const std::string& only)
{
    std::fputs(format_info(info_fields(read_host_facts()), only).c_str(), stdout);
    return 0;
}

namespace {

Status xs_tree(DaemonClient& c, const std::string& path, int depth)
{
    auto kids = TRY(c.call(ipc::ops::kXenstoreLs, Json { { "path", path } }));
    for (const auto& k : kids["children"]) {
        std::string name = k.get<std::string>();
        std::string child = path == "/" ? "/" + name : path + "/" + name;
        auto value = c.call(ipc::ops::kXenstoreRead, Json { { "path", child } });
        std::printf("%*s%s = \"%s\"\n", depth, "", name.c_str(), value ? (*value)["value"].get<std::string>().c_str() : "");
        TRY(xs_tree(c, child, depth + 1));
    }
    return {};
}

} // namespace

int cmd_xenstore(const Context& ctx, const std::string& op, const std::string& path, const std::string& value)
{
    auto client = connect(ctx);
    if (!client)
        return report(ctx, client.error());
    if (op == ipc::ops::kXenstoreLs) {
        auto r = xs_tree(**client, path.empty() ? "/" : path, 0);
        return r ? 0 : report(ctx, r.error());
    }
    auto r = (*client)->call(op, Json { { "path", path }, { "value", value } });
    if (!r)
        return report(ctx, fmt::format("{}: {}", path, r.error().message));
    if (op == ipc::ops::kXenstoreRead)
        std::printf("%s\n", (*r)["value"].get<std::string>().c_str());
    return 0;
}

int cmd_sched_credit(const Context& ctx, const SchedCreditOptions& o)
{
    Json args = Json::object();
    if (!o.dom.empty())
        args["dom"] = o.dom;
    for (auto [key, text] : { std::pair { "weight", &o.weight }, { "cap", &o.cap } }) {
        if (!*text)
            continue;
        char* end = nullptr;
        errno = 0;
        unsigned long n = std::strtoul((*text)->c_str(), &end, 10);
        if ((*text)->empty() || !std::isdigit(static_cast<unsigned char>((**text)[0])) || *end || errno || n > UINT32_MAX)
            return report(ctx, fmt::format("sched-credit: '{}' is not a {} (a whole number)", **text, key));
        args[key] = n;
    }
    if (o.dom.empty() && (o.weight || o.cap))
        return report(ctx, "sched-credit: -w and -c need a domain (-d)");
    auto client = connect(ctx);
    if (!client)
        return report(ctx, client.error());
    auto r = (*client)->call(ipc::ops::kSchedCredit, args);
    if (!r)
        return report(ctx, r.error());
    // As xl: setting prints nothing; showing prints the table.
    if (!o.weight && !o.cap)
        std::fputs(sched_credit_table(r->value("domains", Json::array())).c_str(), stdout);
    return 0;
}

} // namespace xkvm::cli
