// xkvm create [-p] [-F] [-c] [-n] CFG [KEY=VALUE...]
#include <cstdlib>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "ipc/ops.h"
#include "config/domain_config.h"
#include "config/json.h"
#include "config/parser.h"
#include "numa/placement.h"
#include "rdm/host_devices.h"
#include "toolstack/cli/commands.h"
#include "toolstack/cli/daemon_client.h"
#include "toolstack/plan/dry_run.h"
#include "toolstack/plan/plan.h"
#include "toolstack/plan/plan_json.h"

namespace xkvm::cli {

namespace {

using ipc::Json;

// Paths in a config are relative to where the command runs (as with xl); the VMM runs elsewhere.
void absolutize(std::string& path)
{
    if (path.empty() || path.front() == '/')
        return;
    std::error_code ec;
    auto abs = std::filesystem::absolute(path, ec);
    if (!ec)
        path = abs.lexically_normal().string();
}

std::vector<uint32_t> ids(const numa::CpuSet& s) { return s.ids(); }

// vCPUs of the running domains per node, so automatic placement avoids busy nodes.
numa::VcpuLoad running_load(const numa::Topology& topo, DaemonClient& client)
{
    auto list = client.call(ipc::ops::kList);
    if (!list || !(*list)["domains"].is_array())
        return {};
    std::vector<numa::DomainAffinity> doms;
    for (const auto& rec : (*list)["domains"]) {
        numa::DomainAffinity d;
        if (rec.contains("nodes") && rec["nodes"].is_array() && !rec["nodes"].empty()) {
            for (const auto& n : rec["nodes"])
                if (n.is_number_unsigned())
                    d.nodes.set(n.get<uint32_t>());
        } else {
            d.nodes = topo.all_nodes();
        }
        uint32_t vcpus = rec.value("vcpus", 1u);
        for (uint32_t i = 0; i < vcpus && i < 4096; ++i) {
            numa::CpuSet hard;
            if (rec.contains("hard") && rec["hard"].is_array() && i < rec["hard"].size())
                for (const auto& c : rec["hard"][i])
                    if (c.is_number_unsigned())
                        hard.set(c.get<uint32_t>());
            d.hard.push_back(hard.empty() ? topo.online_cpus() : hard);
        }
        doms.push_back(std::move(d));
    }
    return numa::count_vcpu_load(topo, doms);
}

// A plan error that starts with "file:line:col: " gets xl.cfg's "error: " after the position.
void print_plan_error(const Context& ctx, const Error& e, const std::string& file)
{
    const std::string& m = e.message;
    if (m.starts_with(file + ":")) {
        auto colon = m.find(": ");
        std::fprintf(stderr, "%s: error: %s\n", m.substr(0, colon).c_str(), m.substr(colon + 2).c_str());
    } else {
        report(ctx, m);
    }
}

} // namespace

int cmd_create(const Context& ctx, const CreateOptions& o)
{
    if (!o.quiet)
        std::fprintf(stderr, "Parsing config from %s\n", o.config_file.c_str());
    if (o.dry_run && !o.plan_json) {
        // As xl's: the config as JSON, never this host's checks (see plan/dry_run.h).
        auto dry = plan::dry_run_file(o.config_file, o.overrides, ctx.prog);
        for (const auto& line : dry.err)
            std::fprintf(stderr, "%s\n", line.c_str());
        std::fputs(dry.out.c_str(), stdout);
        return dry.exit_code;
    }
    auto parsed = config::parse_file(o.config_file, o.overrides);
    if (!parsed) {
        std::fprintf(stderr, "%s\n", parsed.error().str().c_str());
        return 1;
    }
    std::vector<config::ConfigWarning> warnings = parsed->warnings;
    auto built = config::build_domain_config(*parsed, warnings);
    for (const auto& w : warnings)
        std::fprintf(stderr, "%s\n", w.str().c_str());
    if (!built) {
        std::fprintf(stderr, "%s\n", built.error().str().c_str());
        return 1;
    }
    config::DomainConfig cfg = built.release_value();
    absolutize(cfg.kernel);
    absolutize(cfg.ramdisk);
    absolutize(cfg.firmware_override);

    plan::PlanContext pctx;
    pctx.source = &*parsed;
    pctx.console_log = std::string(); // the console lives in the VMM; `xkvm console` reads it
    pctx.host = rdm::detect_host_paths();
    auto topo = numa::Topology::detect();
    if (!topo)
        return report(ctx, topo.error());
    pctx.topology = *topo;

    std::unique_ptr<DaemonClient> client;
    if (!o.dry_run) {
        auto c = DaemonClient::connect(ctx.rundir);
        if (!c)
            return report(ctx, c.error());
        client = c.release_value();
        pctx.vcpu_load = running_load(*topo, *client);
    }
    auto plan = plan::plan_domain(cfg, pctx);
    if (!plan) {
        print_plan_error(ctx, plan.error(), o.config_file);
        return 1;
    }
    for (const auto& w : plan->warnings)
        std::fprintf(stderr, "%s: warning: %s\n", ctx.prog.c_str(), w.c_str());

    if (o.dry_run) { // --plan: this host's plan, so every check applies
        Json j = plan::plan_to_json(*plan);
        std::printf("%s\n", j.dump(4, ' ', false, Json::error_handler_t::replace).c_str());
        return 0;
    }

    Json hard = Json::array(), soft = Json::array();
    for (const auto& s : plan->placement.hard)
        hard.push_back(ids(s));
    for (const auto& s : plan->placement.soft)
        soft.push_back(ids(s));
    Json spec = vmm::vm_spec_to_json(plan->spec);
    // XKVM_ACCEL of this command decides the backend, whatever the daemon's own environment says.
    if (const char* accel = std::getenv("XKVM_ACCEL"); accel && *accel)
        spec["accel"] = accel;
    Json req {
        { "config", config::to_json(cfg) },
        { "spec", spec },
        // With -c the console connects before the guest runs, so it misses nothing even when the
        // guest is gone in a moment (the console socket closes with the domain).
        { "paused", o.paused || o.console },
        { "hard", hard },
        { "soft", soft },
        { "nodes", plan->placement.nodes.ids() },
    };
    auto created = client->call(ipc::ops::kCreate, req, std::chrono::seconds(90));
    if (!created)
        return report(ctx, fmt::format("cannot create domain '{}': {}", cfg.name, created.error().message));
    uint32_t domid = (*created)["domid"].get<uint32_t>();
    if (o.console) {
        auto sock = connect_console(ctx, domid);
        if (!sock)
            return report(ctx, sock.error());
        if (!o.paused)
            if (auto r = client->call(ipc::ops::kUnpause, Json { { "dom", std::to_string(domid) } }); !r)
                return report(ctx, fmt::format("cannot unpause domain {}: {}", domid, r.error().message));
        return stream_console(ctx, sock.release_value());
    }

    if (o.foreground) {
        auto r = client->call(ipc::ops::kWait, Json { { "dom", cfg.name }, { "by_name", true } }, std::chrono::hours(24 * 365));
        if (!r)
            return report(ctx, r.error());
    }
    return 0;
}

} // namespace xkvm::cli
