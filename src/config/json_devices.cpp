#include "config/json_devices.h"

#include "config/json_util.h"

namespace xkvm::config {

using nlohmann::json;
using namespace json_util;

namespace {

void put_if(json& o, std::string_view key, const std::string& value)
{
    if (!value.empty())
        o[std::string(key)] = value;
}

// A string member left out is "".
ConfigResult<std::string> opt_string(const json& o, std::string_view path, std::string_view key)
{
    const json* v = TRY(member(o, path, key, false));
    return v ? TRY(as_string(*v, child(path, key))) : std::string();
}

ConfigResult<uint64_t> opt_uint(const json& o, std::string_view path, std::string_view key, uint64_t max)
{
    const json* v = TRY(member(o, path, key, false));
    return v ? TRY(as_uint(*v, child(path, key), max)) : 0;
}

ConfigResult<std::vector<uint32_t>> uint_list(const json& j, std::string_view path, uint64_t max)
{
    if (!j.is_array())
        return json_fail(path, "expected an array");
    std::vector<uint32_t> out;
    for (size_t i = 0; i < j.size(); i++)
        out.push_back(static_cast<uint32_t>(TRY(as_uint(j[i], child(path, i), max))));
    return out;
}

} // namespace

json disk_json(const DiskSpec& d)
{
    json o = json::object();
    put_if(o, "backend_domname", d.backend_domname);
    put_if(o, "pdev_path", d.target);
    o["vdev"] = d.vdev;
    if (d.backend != DiskBackend::Unknown)
        o["backend"] = libxl_name(d.backend);
    o["format"] = libxl_name(d.format);
    put_if(o, "script", d.script);
    o["removable"] = d.is_cdrom ? 1 : 0;
    o["readwrite"] = d.readwrite ? 1 : 0;
    o["is_cdrom"] = d.is_cdrom ? 1 : 0;
    o["direct_io_safe"] = d.direct_io_safe;
    if (d.discard)
        o["discard_enable"] = *d.discard ? "True" : "False"; // libxl's defbool spelling
    return o;
}

json nic_json(const VifSpec& v)
{
    json o = json::object();
    put_if(o, "backend_domname", v.backend_domname);
    o["devid"] = v.devid.value_or(0);
    if (v.mtu)
        o["mtu"] = v.mtu;
    put_if(o, "model", v.model);
    if (v.mac)
        o["mac"] = mac_str(*v.mac);
    put_if(o, "ip", v.ip);
    put_if(o, "bridge", v.bridge);
    put_if(o, "ifname", v.vifname);
    put_if(o, "script", v.script);
    if (v.type != NicType::Unknown)
        o["nictype"] = libxl_name(v.type);
    if (v.rate_interval_usecs) {
        o["rate_bytes_per_interval"] = v.rate_bytes_per_interval;
        o["rate_interval_usecs"] = v.rate_interval_usecs;
    }
    put_if(o, "gatewaydev", v.gatewaydev);
    return o;
}

json vnuma_json(const std::vector<VnumaNode>& nodes)
{
    json out = json::array();
    for (const auto& n : nodes)
        out.push_back(json { { "memkb", n.memory_mib * 1024 }, { "distances", n.distances }, { "pnode", n.pnode },
                             { "vcpus", n.vcpus } });
    return out;
}

ConfigResult<DiskSpec> disk_from_json(const json& j, std::string_view p)
{
    if (!j.is_object())
        return json_fail(p, "expected an object");
    DiskSpec d;
    d.backend_domname = TRY(opt_string(j, p, "backend_domname"));
    d.target = TRY(opt_string(j, p, "pdev_path"));
    d.vdev = TRY(opt_string(j, p, "vdev"));
    d.script = TRY(opt_string(j, p, "script"));
    if (auto b = TRY(opt_string(j, p, "backend")); !b.empty()) {
        auto v = disk_backend_from_libxl(b);
        if (!v)
            return json_fail(child(p, "backend"), "unknown disk backend \"{}\"", b);
        d.backend = *v;
    }
    auto f = TRY(opt_string(j, p, "format"));
    auto format = disk_format_from_libxl(f.empty() ? "raw" : f);
    if (!format)
        return json_fail(child(p, "format"), "unknown disk format \"{}\"", f);
    d.format = *format;
    d.readwrite = TRY(opt_uint(j, p, "readwrite", 1)) != 0;
    d.is_cdrom = TRY(opt_uint(j, p, "is_cdrom", 1)) != 0;
    if (const json* v = TRY(member(j, p, "direct_io_safe", false)))
        d.direct_io_safe = TRY(as_bool(*v, child(p, "direct_io_safe")));
    if (auto discard = TRY(opt_string(j, p, "discard_enable")); !discard.empty()) {
        if (discard != "True" && discard != "False")
            return json_fail(child(p, "discard_enable"), "expected \"True\" or \"False\"");
        d.discard = discard == "True";
    }
    return d;
}

ConfigResult<VifSpec> nic_from_json(const json& j, std::string_view p)
{
    if (!j.is_object())
        return json_fail(p, "expected an object");
    VifSpec v;
    v.backend_domname = TRY(opt_string(j, p, "backend_domname"));
    v.devid = static_cast<uint32_t>(TRY(opt_uint(j, p, "devid", 0xffff)));
    v.mtu = static_cast<uint32_t>(TRY(opt_uint(j, p, "mtu", 65535)));
    v.model = TRY(opt_string(j, p, "model"));
    if (auto mac = TRY(opt_string(j, p, "mac")); !mac.empty()) {
        v.mac = parse_mac(mac);
        if (!v.mac)
            return json_fail(child(p, "mac"), "\"{}\" is not a MAC address", mac);
    }
    v.ip = TRY(opt_string(j, p, "ip"));
    v.bridge = TRY(opt_string(j, p, "bridge"));
    v.vifname = TRY(opt_string(j, p, "ifname"));
    v.script = TRY(opt_string(j, p, "script"));
    if (auto t = TRY(opt_string(j, p, "nictype")); !t.empty()) {
        auto type = nic_type_from_libxl(t);
        if (!type)
            return json_fail(child(p, "nictype"), "unknown nictype \"{}\"", t);
        v.type = *type;
    }
    v.rate_bytes_per_interval = TRY(opt_uint(j, p, "rate_bytes_per_interval", UINT64_MAX));
    v.rate_interval_usecs = static_cast<uint32_t>(TRY(opt_uint(j, p, "rate_interval_usecs", UINT32_MAX)));
    v.gatewaydev = TRY(opt_string(j, p, "gatewaydev"));
    return v;
}

ConfigResult<std::vector<VnumaNode>> vnuma_from_json(const json& j, std::string_view p)
{
    if (!j.is_array())
        return json_fail(p, "expected an array");
    std::vector<VnumaNode> out;
    for (size_t i = 0; i < j.size(); i++) {
        const std::string np = child(p, i);
        if (!j[i].is_object())
            return json_fail(np, "expected an object");
        VnumaNode n;
        const uint64_t kb = TRY(as_uint(*TRY(member(j[i], np, "memkb", true)), child(np, "memkb"), UINT64_MAX / 2));
        if (kb % 1024)
            return json_fail(child(np, "memkb"), "{} KiB is not a whole number of MiB", kb);
        n.memory_mib = kb / 1024;
        n.pnode = static_cast<uint32_t>(TRY(opt_uint(j[i], np, "pnode", 1023)));
        if (const json* d = TRY(member(j[i], np, "distances", false)))
            n.distances = TRY(uint_list(*d, child(np, "distances"), 255));
        if (const json* c = TRY(member(j[i], np, "vcpus", false)))
            n.vcpus = TRY(uint_list(*c, child(np, "vcpus"), 127));
        out.push_back(std::move(n));
    }
    return out;
}

} // namespace xkvm::config
