// Feeds arbitrary bytes to the DMAR parser, then lays a guest out around whatever regions it accepted,
// checking the invariants callers rely on.
#include "fuzz_input.h"
#include <cstdlib>

#include "rdm/dmar.h"
#include "rdm/layout.h"

using namespace xkvm;
using namespace xkvm::rdm;

using xkvm::fuzz::check;

namespace {


void lay_out(const HostRdm& host, uint64_t ram_bytes, config::RdmPolicy global)
{
    LayoutInputs in;
    in.ram_bytes = ram_bytes;
    in.rdm = { config::RdmStrategy::Host, global };
    in.host_regions = host.regions;
    bool strict = false;
    for (const auto& r : host.regions) {
        for (const auto& d : r.devices) {
            bool listed = false;
            for (const auto& p : in.pci)
                listed |= p.bdf == d;
            if (listed)
                continue;
            config::PciSpec spec;
            spec.bdf = d;
            spec.rdm_policy = (strict = !strict) ? config::RdmPolicy::Strict : config::RdmPolicy::Relaxed;
            in.pci.push_back(spec);
        }
    }
    auto lay = compute_layout(in);
    if (!lay)
        return;
    uint64_t ram = 0;
    for (size_t i = 0; i < lay->map.size(); ++i) {
        const auto& e = lay->map[i];
        check(e.size > 0 && e.base + e.size > e.base);
        check(i == 0 || lay->map[i - 1].end() <= e.base);
        if (e.type == memory::RegionType::Ram)
            ram += e.size;
    }
    check(ram == ram_bytes);
    check(lay->low_ram_end <= in.mmio_hole_start);
    for (const auto& r : lay->regions) {
        if (!r.in_guest_map)
            continue;
        check(r.end() <= lay->low_ram_end || r.base >= lay->low_ram_end);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    auto table = parse_dmar({ data, size });
    if (!table)
        return 0;
    for (const auto& r : table->rmrrs)
        check(r.base <= r.limit);
    // No sysfs here: scopes deeper than one hop fail to resolve and must only warn.
    const HostRdm host = resolve_host_regions(*table, "/nonexistent");
    for (const auto& r : host.regions)
        check(r.size > 0 && r.base % 4096 == 0 && r.size % 4096 == 0);
    lay_out(host, 3 * memory::GiB, config::RdmPolicy::Relaxed);
    lay_out(host, 6 * memory::GiB, config::RdmPolicy::Strict);
    return 0;
}
