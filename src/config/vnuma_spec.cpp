#include "config/vnuma_spec.h"

#include <algorithm>

#include "config/cpuset_spec.h"
#include "config/domain_config.h"
#include "config/spec_items.h"
#include "config/values.h"

namespace xkvm::config {

namespace {

constexpr std::string_view kVnumaKeys = "pnode, size, vcpus or vdistances";

ConfigResult<uint64_t> number_in(const Value& v, const SpecItem& item, uint64_t min, uint64_t max)
{
    auto n = parse_dec_or_hex(item.value);
    if (!n || *n < min || *n > max)
        return config_fail(v.at(item.value_offset), "vnuma: '{}' expects a number from {} to {}, found '{}'", item.key,
                           min, max, item.value);
    return *n;
}

ConfigResult<std::vector<uint32_t>> vcpus_in(const Value& v, const SpecItem& item)
{
    auto spec = parse_cpuset(item.value);
    if (!spec)
        return make_unexpected(spec_error_at(v, "vnuma", SpecError { item.value_offset + spec.error().offset,
                                                                      spec.error().message }));
    std::vector<uint32_t> out;
    for (const auto& t : spec->terms) {
        if (t.kind != CpuSetTerm::Kind::Cpus || t.exclude || t.last >= kMaxVcpus)
            return config_fail(v.at(item.value_offset), "vnuma: vcpus= lists vCPU numbers and ranges below {}", kMaxVcpus);
        for (uint32_t c = t.first; c <= t.last; c++)
            out.push_back(c);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

ConfigResult<std::vector<uint32_t>> distances_in(const Value& v, const SpecItem& item)
{
    std::vector<uint32_t> out;
    for (const auto& d : split_spec(item.value)) {
        SpecItem one = item;
        one.value = d.text;
        one.value_offset = item.value_offset + d.offset;
        out.push_back(static_cast<uint32_t>(TRY(number_in(v, one, 0, 255))));
    }
    return out;
}

ConfigResult<VnumaNode> read_node(const Value& node, size_t count, size_t index)
{
    if (node.kind != Value::Kind::List)
        return config_fail(node.pos, "vnuma: each virtual node is a list [ \"pnode=N\", \"size=MiB\", \"vcpus=...\" ], "
                                     "found {}", node.kind_name());
    VnumaNode out;
    bool pnode = false, size = false, vcpus = false, distances = false;
    for (const auto& v : node.items) {
        if (v.kind == Value::Kind::List)
            return config_fail(v.pos, "vnuma: expected a \"KEY=VALUE\" string, found a list");
        auto item = split_spec(v.text, '\0').front();
        if (!item.has_value)
            return config_fail(v.pos, "vnuma: '{}' is not KEY=VALUE (keys: {})", v.text, kVnumaKeys);
        bool* seen = item.key == "pnode" ? &pnode : item.key == "size" ? &size : item.key == "vcpus" ? &vcpus
                   : item.key == "vdistances" ? &distances : nullptr;
        if (!seen)
            return config_fail(v.at(item.key_offset), "vnuma: unknown key '{}' (expected {})", item.key, kVnumaKeys);
        if (*seen)
            return config_fail(v.at(item.key_offset), "vnuma: '{}' is given twice", item.key);
        *seen = true;
        if (item.key == "pnode")
            out.pnode = static_cast<uint32_t>(TRY(number_in(v, item, 0, kMaxNodeId)));
        else if (item.key == "size")
            out.memory_mib = TRY(number_in(v, item, 1, kMaxMemoryMiB));
        else if (item.key == "vcpus")
            out.vcpus = TRY(vcpus_in(v, item));
        else
            out.distances = TRY(distances_in(v, item));
    }
    if (!pnode || !size || !vcpus)
        return config_fail(node.pos, "vnuma: virtual node {} needs pnode=, size= and vcpus=", index);
    if (!distances)
        for (size_t i = 0; i < count; i++)
            out.distances.push_back(i == index ? kDefaultLocalDistance : kDefaultRemoteDistance);
    return out;
}

} // namespace

ConfigResult<std::vector<VnumaNode>> read_vnuma(const Setting& s)
{
    if (s.value.kind != Value::Kind::List || s.value.items.empty())
        return config_fail(s.value.pos, "'vnuma' expects a list with one list per virtual node");
    std::vector<VnumaNode> nodes;
    for (size_t i = 0; i < s.value.items.size(); i++)
        nodes.push_back(TRY(read_node(s.value.items[i], s.value.items.size(), i)));
    return nodes;
}

} // namespace xkvm::config
