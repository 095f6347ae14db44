// xkvm: the xl-compatible command line (also answers as `xl`). Domains live in xkvmd and their VMMs,
// not in this process: every command is a request to the daemon, which is started on demand.
#include <cstdio>
#include <filesystem>

#include <CLI/CLI.hpp>

#include "base/log.h"
#include "ipc/ops.h"
#include "ipc/rundir.h"
#include "toolstack/cli/commands.h"

using namespace xkvm;

int main(int argc, char** argv)
{
    log::init_from_env();
    cli::Context ctx;
    ctx.prog = std::filesystem::path(argc > 0 ? argv[0] : "xkvm").filename().string();
    if (ctx.prog != "xl")
        ctx.prog = "xkvm";
    ctx.rundir = ipc::runtime_dir();

    CLI::App app { "Xen-compatible toolstack for xkvm (xl commands on KVM)", ctx.prog };
    app.require_subcommand(1);
    app.fallthrough(false);
    int rc = 0;

    cli::CreateOptions create;
    auto* c = app.add_subcommand("create", "Create a domain from a config file");
    c->add_flag("-p", create.paused, "Leave the domain paused after it is created");
    c->add_flag("-F", create.foreground, "Stay in the foreground until the domain is gone");
    c->add_flag("-c", create.console, "Attach to the domain's console after creating it");
    c->add_flag("-n,--dryrun", create.dry_run, "Print the configuration as JSON and create nothing");
    c->add_flag("--plan", create.plan_json, "With -n: print the host-specific plan instead");
    c->add_flag("-q,--quiet", create.quiet, "Quiet");
    c->add_option("config", create.config_file, "xl.cfg file")->required();
    c->add_option("overrides", create.overrides, "KEY=VALUE settings applied after the file");
    c->callback([&] { rc = cli::cmd_create(ctx, create); });

    cli::ListOptions list;
    auto* l = app.add_subcommand("list", "List domains");
    l->alias("li");
    l->add_flag("-l,--long", list.long_format, "Print each domain's configuration as JSON");
    l->add_flag("-v,--verbose", list.verbose, "Add UUID, reason code and security label");
    l->add_flag("-n,--numa", list.numa, "Add each domain's NUMA node affinity");
    l->add_option("domains", list.doms, "Domains to list");
    l->callback([&] { rc = cli::cmd_list(ctx, list); });

    std::string dom;
    auto* con = app.add_subcommand("console", "Attach to a domain's console (Ctrl-] detaches)");
    con->add_option("domain", dom, "Domain name or id")->required();
    con->callback([&] { rc = cli::cmd_console(ctx, dom); });

    for (const char* op : { "pause", "unpause", "destroy" }) {
        auto* s = app.add_subcommand(op, std::string("The domain: ") + op);
        s->add_option("domain", dom, "Domain name or id")->required();
        s->callback([&, op] { rc = cli::cmd_simple(ctx, op, dom); });
    }

    bool wait = false, force = false;
    for (const char* kind : { "shutdown", "reboot" }) {
        auto* s = app.add_subcommand(kind, std::string("Ask a domain's guest to ") +
                                               (std::string(kind) == "shutdown" ? "power off" : "reboot"));
        s->add_flag("-w,--wait", wait, "Wait until the domain has gone");
        s->add_flag("-F", force, "Without PV control in the guest, end the domain as though it had asked to");
        s->add_option("domain", dom, "Domain name or id")->required();
        s->callback([&, kind] {
            rc = cli::cmd_shutdown(ctx, std::string(kind) == "shutdown" ? "poweroff" : "reboot", dom, wait, force);
        });
    }

    std::string access_mode;
    auto* acc = app.add_subcommand("access", "Print a domain's vm_event events, one line each, until interrupted");
    acc->add_option("domain", dom, "Domain name or id")->required();
    acc->add_option("mode", access_mode, "write, exec, breakpoint, singlestep, msr, cr or guest-request")->required();
    acc->callback([&] { rc = cli::cmd_access(ctx, dom, access_mode); });

    std::string info_key;
    auto* info = app.add_subcommand("info", "Host and hypervisor information");
    info->add_option("key", info_key, "Print only this field's value");
    info->callback([&] { rc = cli::cmd_info(ctx, info_key); });

    std::string arg;
    auto* domid = app.add_subcommand("domid", "The id of a named domain");
    domid->add_option("name", arg)->required();
    domid->callback([&] { rc = cli::cmd_domid(ctx, arg); });
    auto* domname = app.add_subcommand("domname", "The name of a domain id");
    domname->add_option("id", arg)->required();
    domname->callback([&] { rc = cli::cmd_domname(ctx, arg); });

    bool short_mode = false;
    std::vector<std::string> doms;
    auto* up = app.add_subcommand("uptime", "How long domains have run");
    up->add_flag("-s", short_mode, "Short format");
    up->add_option("domains", doms);
    up->callback([&] { rc = cli::cmd_uptime(ctx, short_mode, doms); });

    auto* vl = app.add_subcommand("vcpu-list", "vCPUs: where they run and may run");
    vl->add_option("domains", doms);
    vl->callback([&] { rc = cli::cmd_vcpu_list(ctx, doms); });

    std::string vcpu, hard, soft;
    auto* vp = app.add_subcommand("vcpu-pin", "Set vCPU affinity: vcpu-pin DOMAIN VCPU|all HARD [SOFT]");
    vp->add_option("domain", dom)->required();
    vp->add_option("vcpu", vcpu)->required();
    vp->add_option("hard", hard, "CPU list (\"0-3,^2\", \"node:1\", \"all\") or - to keep")->required();
    auto* soft_opt = vp->add_option("soft", soft, "Soft affinity, same syntax");
    vp->callback([&] {
        std::optional<std::string> s;
        if (soft_opt->count())
            s = soft;
        rc = cli::cmd_vcpu_pin(ctx, dom, vcpu, hard, s);
    });

    std::string count;
    auto* vs = app.add_subcommand("vcpu-set", "Set how many vCPUs a domain may have online");
    vs->add_option("domain", dom)->required();
    vs->add_option("count", count)->required();
    vs->callback([&] { rc = cli::cmd_vcpu_set(ctx, dom, count); });

    cli::SchedCreditOptions sc;
    std::string sc_weight, sc_cap;
    auto* sched = app.add_subcommand("sched-credit", "Show or set domains' CPU weight and cap (credit scheduler)");
    sched->add_option("-d,--domain", sc.dom, "Domain name or id");
    auto* w_opt = sched->add_option("-w,--weight", sc_weight, "Weight, 1..65535 (256 is the default share)");
    auto* c_opt = sched->add_option("-c,--cap", sc_cap, "Cap, in percent of one CPU (0: none; 100 per vCPU at most)");
    sched->callback([&] {
        if (w_opt->count())
            sc.weight = sc_weight;
        if (c_opt->count())
            sc.cap = sc_cap;
        rc = cli::cmd_sched_credit(ctx, sc);
    });

    std::string size;
    for (auto op : { ipc::ops::kMemSet, ipc::ops::kMemMax }) {
        bool is_set = op == ipc::ops::kMemSet;
        auto* mem = app.add_subcommand(std::string(op), is_set ? "Set a domain's memory target (its balloon follows)"
                                                               : "Set the most memory a domain may have");
        mem->add_option("domain", dom)->required();
        mem->add_option("size", size, "MiB, or with a suffix t, g, m, k or b")->required();
        mem->callback([&, op] { rc = cli::cmd_memory(ctx, op, dom, size); });
    }

    std::string keys;
    auto* dk = app.add_subcommand("debug-keys", "Send debug keys ('q' raises VIRQ_DEBUG in every domain)");
    dk->add_option("keys", keys)->required();
    dk->callback([&] { rc = cli::cmd_debug_keys(ctx, keys); });

    std::string path, value;
    for (const char* op : { "xenstore-read", "xenstore-write", "xenstore-ls", "xenstore-rm" }) {
        auto* s = app.add_subcommand(op, "Debug: the daemon's xenstore, as dom0");
        auto* p = s->add_option("path", path);
        if (std::string(op) != "xenstore-ls")
            p->required();
        if (std::string(op) == "xenstore-write")
            s->add_option("value", value)->required();
        s->callback([&, op] { rc = cli::cmd_xenstore(ctx, op, path, value); });
    }

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    return rc;
}
