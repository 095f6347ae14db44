// Fuzzes src/config: the input is an xl.cfg file, optionally followed by a line "--" and then
// command-line overrides, one per line. Every stage must either succeed or return a positioned
// error; a model that builds must survive the JSON round trip unchanged. The raw input is also fed
// to each spec-string parser on its own.
#include "fuzz_input.h"
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "config/cpuid_spec.h"
#include "config/cpuset_spec.h"
#include "config/disk_spec.h"
#include "config/json.h"
#include "config/pci_spec.h"
#include "config/vif_spec.h"

using namespace xkvm::config;

using xkvm::fuzz::check;

namespace {


void fuzz_specs(std::string_view s)
{
    if (auto r = parse_cpuset(s)) {
        auto again = parse_cpuset(format_cpuset(*r));
        check(again.has_value() && *again == *r);
    } else {
        check(r.error().offset <= s.size());
    }
    if (auto r = parse_pci_spec(s); !r)
        check(r.error().offset <= s.size());
    if (auto r = parse_rdm_spec(s); !r)
        check(r.error().offset <= s.size());
    if (auto r = parse_disk_spec(s)) {
        // The grammar's promises: a vdev always, a target unless an empty cdrom, and the format to match.
        check(!r->vdev.empty() && (r->target.empty() == (r->format == DiskFormat::Empty)));
        check(!r->target.empty() || r->is_cdrom);
    } else {
        check(r.error().offset <= s.size());
    }
    if (auto r = parse_vif_spec(s)) {
        check((r->rate_bytes_per_interval == 0) == (r->rate_interval_usecs == 0));
        if (r->mac)
            check(parse_mac(mac_str(*r->mac)) == r->mac);
    } else {
        check(r.error().offset <= s.size());
    }
    CpuidPolicy policy;
    if (auto r = apply_cpuid_xend(s, policy); !r)
        check(r.error().offset <= s.size());
    if (auto r = apply_cpuid_libxl(s, policy); !r)
        check(r.error().offset <= s.size());
    for (const auto& p : policy) {
        check(!(p.set_mask & p.clear_mask) && !(p.set_mask & p.host_mask) && !(p.clear_mask & p.host_mask));
        CpuidRegPolicy copy = p;
        check(set_cpuid_bits(copy, cpuid_bits_string(p)).has_value() && copy == p);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    std::string_view input(reinterpret_cast<const char*>(data), size);
    fuzz_specs(input);

    std::string_view text = input;
    std::vector<std::string> overrides;
    if (auto sep = input.find("\n--\n"); sep != std::string_view::npos) {
        text = input.substr(0, sep + 1);
        std::string_view rest = input.substr(sep + 4);
        while (!rest.empty()) {
            auto nl = rest.find('\n');
            overrides.emplace_back(rest.substr(0, nl));
            rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        }
    }

    auto parsed = parse_string(text, "fuzz.cfg", overrides);
    if (!parsed) {
        check(parsed.error().line >= 1 && parsed.error().column >= 1 && !parsed.error().str().empty());
        return 0;
    }
    for (const auto& w : parsed->warnings)
        check(w.line >= 1 && !w.str().empty());

    std::vector<ConfigWarning> warnings;
    auto cfg = build_domain_config(*parsed, warnings);
    for (const auto& w : warnings)
        check(w.line >= 1 && w.column >= 1 && !w.str().empty());
    if (!cfg) {
        check(cfg.error().line >= 1 && cfg.error().column >= 1 && !cfg.error().str().empty());
        return 0;
    }
    check(!check_domain_config(*cfg).has_value());

    auto back = from_json(to_json(*cfg));
    check(back.has_value() && *back == *cfg);
    auto back_text = from_json_text(to_json_text(*cfg));
    check(back_text.has_value() && *back_text == *cfg);
    return 0;
}
