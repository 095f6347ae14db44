// build_domain_config(): reads each xl.cfg key into a DomainConfigInput, applies the defaults,
// then checks the cross-field rules, pointing errors at the value that breaks them.
#include <algorithm>

#include "config/cpuset_spec.h"
#include "config/domain_config.h"
#include "config/keys.h"
#include "config/values.h"

namespace xkvm::config {

namespace {

constexpr std::string_view kActionList = "destroy, restart, rename-restart, preserve, coredump-destroy, "
                                         "coredump-restart or soft-reset";

Position start_of(const ParsedConfig& parsed) { return Position { parsed.source, 1, 1 }; }

// Runs a spec-string parser over a string value and maps its errors into the file.
template<typename F>
auto on_string(const Value& v, std::string_view key, F&& parse) -> ConfigResult<typename decltype(parse(""))::ValueType>
{
    auto text = TRY(value_string(v, key));
    auto r = parse(std::string_view(text));
    if (!r)
        return make_unexpected(spec_error_at(v, key, r.error()));
    return std::move(r).release_value();
}

ConfigResult<std::optional<DomainType>> read_builder(const ParsedConfig& parsed)
{
    const Setting* s = parsed.find("builder");
    if (!s)
        return std::optional<DomainType>();
    auto b = TRY(get_string(*s));
    if (b == "hvm")
        return std::optional<DomainType>(DomainType::Hvm);
    if (b == "generic")
        return std::optional<DomainType>(DomainType::Pv);
    return config_fail(s->value.pos, "unknown builder \"{}\" (expected \"hvm\" or \"generic\"; better, type = \"hvm\", "
                                     "\"pvh\" or \"pv\")", b);
}

// type= wins over the deprecated builder=, but the two must not disagree (xl refuses that too).
// Neither: xl's default, PV.
ConfigResult<DomainType> read_type(const ParsedConfig& parsed)
{
    auto builder = TRY(read_builder(parsed));
    const Setting* s = parsed.find("type");
    if (!s)
        return builder.value_or(DomainType::Pv);
    auto t = TRY(get_string(*s));
    DomainType type;
    if (t == "hvm")
        type = DomainType::Hvm;
    else if (t == "pvh")
        type = DomainType::Pvh;
    else if (t == "pv")
        type = DomainType::Pv;
    else
        return config_fail(s->value.pos, "unknown type \"{}\" (expected \"hvm\", \"pvh\" or \"pv\")", t);
    if (builder && *builder != type)
        return config_fail(s->value.pos, "type \"{}\" contradicts builder \"{}\" (line {}); remove builder=, which "
                                         "type= replaces", t, builder == DomainType::Hvm ? "hvm" : "generic",
                           parsed.find("builder")->value.pos.line);
    return type;
}

ConfigResult<ShutdownAction> read_action(const Setting& s)
{
    auto text = TRY(get_string(s));
    if (auto a = shutdown_action_from_xl(text))
        return *a;
    return config_fail(s.value.pos, "unknown action \"{}\" for '{}' (expected {})", text, s.key, kActionList);
}

ConfigResult<AffinitySpec> read_affinity(const Setting& s)
{
    AffinitySpec spec;
    if (s.value.kind != Value::Kind::List) {
        spec.form = AffinitySpec::Form::AllVcpus;
        spec.sets.push_back(TRY(on_string(s.value, s.key, parse_cpuset)));
        return spec;
    }
    if (s.value.items.empty())
        return config_fail(s.value.pos, "'{}' is an empty list (give a CPU list per vCPU, or one string for all)", s.key);
    spec.form = AffinitySpec::Form::PerVcpu;
    for (const auto& item : s.value.items) {
        if (item.kind == Value::Kind::List)
            return config_fail(item.pos, "'{}' expects a CPU list string per vCPU, found a nested list", s.key);
        spec.sets.push_back(TRY(on_string(item, s.key, parse_cpuset)));
    }
    return spec;
}

ConfigResult<CpuidPolicy> read_cpuid(const Setting& s)
{
    CpuidPolicy policy;
    if (s.value.kind == Value::Kind::String) {
        auto apply = [&](std::string_view t) -> SpecResult<bool> {
            TRY(apply_cpuid_libxl(t, policy));
            return true;
        };
        TRY(on_string(s.value, s.key, apply));
        return policy;
    }
    if (s.value.kind != Value::Kind::List)
        return config_fail(s.value.pos, "'cpuid' expects \"host,...\" (libxl form) or a list of \"leaf:reg=bits\" "
                                        "strings (xend form), found {}",
                           s.value.kind_name());
    auto apply = [&](std::string_view t) -> SpecResult<bool> {
        TRY(apply_cpuid_xend(t, policy));
        return true;
    };
    for (const auto& item : s.value.items) {
        if (item.kind != Value::Kind::String)
            return config_fail(item.pos, "'cpuid' list entries are strings like \"0x1:ecx=0x...\", found {}",
                               item.kind_name());
        TRY(on_string(item, s.key, apply));
    }
    return policy;
}

ConfigResult<std::vector<uint32_t>> read_nodes(const Setting& s)
{
    std::vector<uint32_t> nodes;
    for (const Value* v : TRY(get_scalar_list(s, true)))
        nodes.push_back(static_cast<uint32_t>(TRY(value_uint(*v, s.key, 0, kMaxNodeId))));
    return nodes;
}

ConfigResult<DomainConfigInput> read_input(const ParsedConfig& parsed)
{
    DomainConfigInput in;
    for (const auto& s : parsed.settings)
        if (key_support(s.key) == KeySupport::Unsupported)
            return config_fail(s.key_pos, "'{}' is not supported by xkvm", s.key);

    in.type = TRY(read_type(parsed));
    const Setting* name = parsed.find("name");
    if (!name)
        return config_fail(start_of(parsed), "missing required key 'name'");
    in.name = TRY(get_string(*name));
    if (auto why = name_problem(*in.name))
        return config_fail(name->value.pos, "invalid name \"{}\": {}", *in.name, *why);

    for (const auto& s : parsed.settings) {
        const auto& k = s.key;
        if (k == "uuid") {
            auto text = TRY(get_string(s));
            in.uuid = Uuid::parse(text);
            if (!in.uuid)
                return config_fail(s.value.pos, "invalid uuid \"{}\" (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", text);
            if (in.uuid->is_nil())
                return config_fail(s.value.pos, "the nil UUID cannot identify a domain");
        } else if (k == "memory") {
            in.memory_mib = TRY(get_uint(s, 1, kMaxMemoryMiB));
        } else if (k == "maxmem") {
            in.maxmem_mib = TRY(get_uint(s, 1, kMaxMemoryMiB));
        } else if (k == "vcpus") {
            in.vcpus = static_cast<uint32_t>(TRY(get_uint(s, 1, kMaxVcpus)));
        } else if (k == "maxvcpus") {
            in.maxvcpus = static_cast<uint32_t>(TRY(get_uint(s, 1, kMaxVcpus)));
        } else if (k == "cpu_weight") {
            in.cpu_weight = static_cast<uint32_t>(TRY(get_uint(s, 1, kMaxCpuWeight)));
        } else if (k == "cap") {
            in.cpu_cap = static_cast<uint32_t>(TRY(get_uint(s, 0, kMaxCapPerVcpu * kMaxVcpus)));
        } else if (k == "kernel") {
            in.kernel = TRY(get_nonempty_string(s));
        } else if (k == "ramdisk") {
            in.ramdisk = TRY(get_nonempty_string(s));
        } else if (k == "firmware_override") {
            in.firmware_override = TRY(get_nonempty_string(s));
        } else if (k == "cmdline") {
            in.cmdline = TRY(get_string(s));
        } else if (k == "extra") {
            in.extra = TRY(get_string(s));
        } else if (k == "root") {
            in.root = TRY(get_string(s));
        } else if (k == "on_poweroff") {
            in.on_poweroff = TRY(read_action(s));
        } else if (k == "on_reboot") {
            in.on_reboot = TRY(read_action(s));
        } else if (k == "on_crash") {
            in.on_crash = TRY(read_action(s));
        } else if (k == "on_watchdog") {
            in.on_watchdog = TRY(read_action(s));
        } else if (k == "on_soft_reset") {
            in.on_soft_reset = TRY(read_action(s));
        } else if (k == "serial") {
            for (const Value* v : TRY(get_scalar_list(s, true))) {
                auto dev = TRY(value_string(*v, k));
                if (dev.empty())
                    return config_fail(v->pos, "'serial' devices must not be empty (e.g. \"pty\")");
                in.serial.push_back(std::move(dev));
            }
        } else if (k == "cpuid") {
            in.cpuid = TRY(read_cpuid(s));
        } else if (k == "pci") {
            for (const Value* v : TRY(get_scalar_list(s, true)))
                in.pci.push_back(TRY(on_string(*v, k, parse_pci_spec)));
        } else if (k == "pci_permissive") {
            in.pci_permissive = TRY(get_bool(s));
        } else if (k == "pci_msitranslate") {
            in.pci_msitranslate = TRY(get_bool(s));
        } else if (k == "pci_seize") {
            in.pci_seize = TRY(get_bool(s));
        } else if (k == "pci_power_mgmt") {
            in.pci_power_mgmt = TRY(get_bool(s));
        } else if (k == "rdm") {
            in.rdm = TRY(on_string(s.value, k, parse_rdm_spec));
        } else if (k == "rdm_mem_boundary") {
            in.rdm_mem_boundary_mib = TRY(get_uint(s, 0, kMaxRdmMemBoundaryMiB));
        } else if (k == "cpus") {
            in.cpus = TRY(read_affinity(s));
        } else if (k == "cpus_soft") {
            in.cpus_soft = TRY(read_affinity(s));
        } else if (k == "nodes") {
            in.nodes = TRY(read_nodes(s));
        } else if (k == "disk") {
            for (const Value* v : TRY(get_scalar_list(s, false)))
                in.disks.push_back(TRY(on_string(*v, k, parse_disk_spec)));
        } else if (k == "vif") {
            for (const Value* v : TRY(get_scalar_list(s, false)))
                in.vifs.push_back(TRY(on_string(*v, k, parse_vif_spec)));
        } else if (k == "vnuma") {
            in.vnuma = TRY(read_vnuma(s));
        }
    }
    return in;
}

// Where to point for a broken invariant: the key's value (or its list item), else a related key.
Position position_for(const ParsedConfig& parsed, const Invalid& bad)
{
    std::vector<std::string_view> keys { bad.key };
    if (bad.key == "maxmem")
        keys.push_back("memory");
    else if (bad.key == "memory")
        keys.push_back("maxmem");
    else if (bad.key == "maxvcpus")
        keys.push_back("vcpus");
    else if (bad.key == "vcpus")
        keys.push_back("maxvcpus");
    else if (bad.key == "type")
        keys.push_back("builder");
    else if (bad.key == "cap")
        keys.push_back("maxvcpus");
    for (auto key : keys) {
        const Setting* s = parsed.find(key);
        if (!s)
            continue;
        if (bad.item && s->value.kind == Value::Kind::List && *bad.item < s->value.items.size())
            return s->value.items[*bad.item].pos;
        return s->value.pos;
    }
    return start_of(parsed);
}

// xl gives vCPU i entry i of a per-vCPU list and silently skips entries past maxvcpus (a config
// whose vcpus were lowered keeps working); we skip them too, but say so.
void drop_entries_past_maxvcpus(const ParsedConfig& parsed, std::string_view key, AffinitySpec& spec,
                                uint32_t maxvcpus, std::vector<ConfigWarning>& warnings)
{
    if (spec.form != AffinitySpec::Form::PerVcpu || spec.sets.size() <= maxvcpus)
        return;
    const Setting* s = parsed.find(key);
    Position at = s ? s->value.pos : start_of(parsed);
    if (s && s->value.kind == Value::Kind::List && maxvcpus < s->value.items.size())
        at = s->value.items[maxvcpus].pos;
    const size_t extra = spec.sets.size() - maxvcpus;
    const std::string dropped = extra == 1 ? "the last entry is" : fmt::format("the last {} entries are", extra);
    warnings.push_back(ConfigWarning::at(at, fmt::format("'{}' lists {} vCPUs but the guest has maxvcpus = {}; {} ignored",
                                                         key, spec.sets.size(), maxvcpus, dropped)));
    spec.sets.resize(maxvcpus);
}

} // namespace

ConfigResult<DomainConfig> build_domain_config(const ParsedConfig& parsed, std::vector<ConfigWarning>& warnings)
{
    DomainConfig cfg = apply_defaults(TRY(read_input(parsed)));
    drop_entries_past_maxvcpus(parsed, "cpus", cfg.cpus, cfg.maxvcpus, warnings);
    drop_entries_past_maxvcpus(parsed, "cpus_soft", cfg.cpus_soft, cfg.maxvcpus, warnings);
    if (auto bad = check_domain_config(cfg))
        return make_unexpected(ConfigError::at(position_for(parsed, *bad), bad->message));
    return cfg;
}

ConfigResult<DomainConfig> build_domain_config(const ParsedConfig& parsed)
{
    std::vector<ConfigWarning> ignored;
    return build_domain_config(parsed, ignored);
}

} // namespace xkvm::config
