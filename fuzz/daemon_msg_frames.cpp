#include "daemon_msg_frames.h"

#include <fcntl.h>
#include <unistd.h>

#include "config/json.h"
#include "daemon_msg_input.h"
#include "vmm/vm_spec.h"
#include "xenstore/message.h"

namespace xkvm::fuzz::daemon_msg {

namespace {

using ipc::Json;

// A domain id as a VMM would name one: real ones, dom0, itself, reserved, out of range, not a number.
Json domid_value(Input& in, const Domains& doms, uint32_t self)
{
    uint8_t sel = in.u8();
    switch (sel % 6) {
    case 0: return doms.empty() ? Json(1) : Json(doms[(sel >> 3) % doms.size()].domid);
    case 1: return 0;
    case 2: return self;
    case 3: return in.u16();
    case 4: return 0x7ff0;
    default: return "1";
    }
}

// A domain as a client names one: by name, by id, dom0, unknown, too long, not a string.
Json dom_value(Input& in, const Domains& doms)
{
    uint8_t sel = in.u8();
    const Domain* d = doms.empty() ? nullptr : &doms[(sel >> 3) % doms.size()];
    switch (sel % 6) {
    case 0: return d ? Json(d->name) : Json("d0");
    case 1: return d ? Json(std::to_string(d->domid)) : Json("1");
    case 2: return "0";
    case 3: return in.text(in.u8() % 16);
    case 4: return std::string(300, 'x');
    default: return 1;
    }
}

Json uint_list(Input& in, uint32_t max)
{
    Json list = Json::array();
    for (unsigned n = in.u8() % 4; n > 0; --n)
        list.push_back(in.u8() % max);
    return list;
}

Json status_fields(Input& in)
{
    uint8_t b = in.u8();
    Json f { { "paused", (b & 1) != 0 }, { "cpu_time_ns", in.u32() }, { "vcpus", b >> 4 }, { "secret", "x" } };
    if (b & 2)
        f["shutdown"] = (b & 4) != 0;
    return f;
}

std::string odd_id(Input& in, uint64_t id)
{
    switch (in.u8() % 7) {
    case 0: return "-1";
    case 1: return "1.5";
    case 2: return "\"" + std::to_string(id) + "\"";
    case 3: return "18446744073709551615";
    case 4: return "null";
    case 5: return "[" + std::to_string(id) + "]";
    default: return std::to_string(id + (uint64_t(1) << 32));
    }
}

// What an ok reply carries: a status's fields; adoption's domid (ours, or a claim to another).
Json ok_fields(Input& in, std::string_view op, uint32_t self)
{
    if (op == ipc::ops::kStatus)
        return status_fields(in);
    if (op == ipc::ops::kAdopt)
        return Json { { "domid", (in.u8() & 1) ? Json(in.u32()) : Json(self) } };
    return Json::object();
}

std::string reply_text(Input& in, uint8_t form, uint64_t id, std::string_view op, uint32_t self)
{
    std::string head = "{\"id\":" + std::to_string(id) + ",\"ok\":true";
    switch (form & 7) {
    case kOk: return ipc::json_frame(ipc::ok_reply(id, ok_fields(in, op, self))).payload;
    case kError:
        return ipc::json_frame(Json { { "id", id }, { "ok", false }, { "code", in.u8() }, { "error", in.text(in.u8()) } })
            .payload;
    case kJunkField: return head + ",\"x\":" + in.text(in.u16() % 4096) + "}";
    case kDeep: { // up to 130,000 levels
        size_t depth = in.u16() + ((in.u8() & 1) ? 65536 : 0);
        return head + ",\"r\":" + std::string(depth, '[') + std::string(depth, ']') + "}";
    }
    case kHuge: { // up to 64 KiB, or just under or over the 1 MiB a VMM's message may have
        uint8_t b = in.u8();
        size_t n = b < 0xfe ? size_t(b) << 8 : (1u << 20) - 64 + (b == 0xff ? 128 : 0);
        return head + ",\"detail\":\"" + std::string(n, 'a') + "\"}";
    }
    case kOddId: return "{\"id\":" + odd_id(in, id) + ",\"ok\":true}";
    case kNotAReply:
        return head + ((in.u8() & 1) ? ",\"event\":\"shutdown\",\"reason\":3}" : ",\"op\":\"domain-exists\",\"domid\":0}");
    default: {
        static constexpr std::string_view kOdd[] = { ",\"ok\":\"yes\"}", "}", ",\"ok\":false}",
                                                    ",\"ok\":false,\"code\":-5,\"error\":7}" };
        return "{\"id\":" + std::to_string(id) + std::string(kOdd[in.u8() % 4]);
    }
    }
}

ipc::Frame make_frame(ipc::FrameKind kind, std::string text, size_t fds)
{
    std::vector<UniqueFd> attached;
    for (size_t i = 0; i < fds; ++i)
        attached.push_back(any_fd());
    return ipc::Frame::make(kind, std::move(text), std::move(attached));
}

Json create_args(Input& in, const Domains& doms)
{
    uint8_t how = in.u8(), policy = in.u8();
    config::DomainConfig cfg;
    uint8_t sel = in.u8();
    cfg.name = (sel & 3) == 0 && !doms.empty() ? doms[(sel >> 2) % doms.size()].name
        : (sel & 3) == 1                       ? in.text(in.u8() % 12)
                                               : "n" + std::to_string(sel);
    cfg.type = config::DomainType::Pvh;
    cfg.kernel = "/nonexistent";
    cfg.memory_mib = cfg.maxmem_mib = 16 + (how >> 4);
    cfg.maxvcpus = 1 + (how & 3);
    cfg.vcpus = 1 + ((how >> 2) & 3) % cfg.maxvcpus;
    static constexpr config::ShutdownAction kActions[] = { config::ShutdownAction::Destroy, config::ShutdownAction::Restart,
                                                           config::ShutdownAction::RenameRestart,
                                                           config::ShutdownAction::Preserve };
    cfg.on_poweroff = kActions[policy & 3];
    cfg.on_reboot = kActions[(policy >> 2) & 3];
    cfg.on_crash = kActions[(policy >> 4) & 3];
    static constexpr config::ShutdownAction kOthers[] = { config::ShutdownAction::CoredumpDestroy,
                                                          config::ShutdownAction::CoredumpRestart,
                                                          config::ShutdownAction::SoftReset, config::ShutdownAction::Destroy };
    cfg.on_watchdog = kOthers[(how >> 4) & 3];
    vmm::VmSpec spec;
    spec.name = cfg.name;
    spec.kernel = cfg.kernel;
    spec.memory_mib = spec.maxmem_mib = cfg.memory_mib;
    spec.vcpus = cfg.vcpus;
    spec.max_vcpus = cfg.maxvcpus;
    Json args { { "config", config::to_json(cfg) }, { "spec", vmm::vm_spec_to_json(spec) }, { "paused", (policy & 64) != 0 } };
    if (policy & 128)
        args["spec"].erase("kernel");
    if (how & 8)
        args["hard"] = Json::array({ uint_list(in, 8), uint_list(in, 70000) });
    if (sel & 128)
        args["nodes"] = uint_list(in, 5000);
    return args;
}

Json op_args(Input& in, std::string_view op, const Domains& doms)
{
    namespace ops = ipc::ops;
    if (op == ops::kPing || op == "no-such-op")
        return Json::object();
    if (op == ops::kCreate)
        return create_args(in, doms);
    if (op == ops::kDebugKeys)
        return Json { { "keys", (in.u8() & 1) ? std::string("q") : in.text(in.u8() % 8) } };
    if (op == ops::kXenstoreRead || op == ops::kXenstoreWrite || op == ops::kXenstoreLs || op == ops::kXenstoreRm) {
        uint8_t sel = in.u8();
        std::string path = sel % 4 == 0 ? "/local/domain/" + std::to_string(in.u8() % 4) + "/x"
            : sel % 4 == 1              ? "/vm"
            : sel % 4 == 2              ? "/"
                                        : in.text(in.u8() % 32);
        return Json { { "path", path }, { "value", in.text(in.u8()) } };
    }
    if (op == ops::kList) {
        uint8_t sel = in.u8();
        if (sel % 3 == 0)
            return Json::object();
        Json doms_arg = sel % 3 == 1 ? Json::array({ dom_value(in, doms), dom_value(in, doms) }) : Json("x");
        return Json { { "doms", doms_arg } };
    }
    Json args { { "dom", dom_value(in, doms) } };
    uint8_t b = in.u8();
    if (op == ops::kShutdown) {
        static constexpr std::string_view kKinds[] = { "poweroff", "reboot", "halt" };
        args["kind"] = std::string(kKinds[b % 3]);
        args["force"] = (b & 4) ? Json(true) : (b & 8) ? Json("yes") : Json(false);
    } else if (op == ops::kWait) {
        args["by_name"] = (b & 1) != 0;
    } else if (op == ops::kVcpuPin) {
        Json vcpus = Json::array();
        for (unsigned n = b % 4; n > 0; --n)
            vcpus.push_back(Json { { "vcpu", in.u8() % 5 }, { "cpus", uint_list(in, 8) }, { "hard", uint_list(in, 8) },
                                   { "soft", uint_list(in, 70000) } });
        args["vcpus"] = (b & 4) ? Json("all") : vcpus;
        if (b & 8)
            args["nodes"] = uint_list(in, 2048);
    } else if (op == ops::kVcpuSet) {
        static const Json kCounts[] = { 0, 1, 2, 4, UINT32_MAX, -1, "2" };
        args["count"] = kCounts[b % 7];
    } else if (op == ops::kSchedCredit) {
        static const Json kWeights[] = { 0, 1, 256, 65535, 65536, "x" };
        static const Json kCaps[] = { 0, 50, 100, 101, -1, 1u << 31 };
        if (b & 1)
            args["weight"] = kWeights[(b >> 1) % 6];
        if (b & 16)
            args["cap"] = kCaps[(b >> 5) % 6];
        if (b & 128)
            args.erase("dom"); // every domain's
    } else if (op == ops::kMemSet || op == ops::kMemMax) {
        static const Json kKib[] = { 0, 1, 1024, 16384, 17000, 1u << 20, UINT64_MAX, "x" };
        args["kib"] = kKib[b % 8];
    }
    return args;
}

} // namespace

UniqueFd any_fd()
{
    static const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    return UniqueFd(::fcntl(devnull, F_DUPFD_CLOEXEC, 3));
}

ipc::Frame vmm_reply(Input& in, uint64_t id, std::string_view op, uint32_t self)
{
    uint8_t form = in.u8();
    auto kind = (form & 32) ? ipc::FrameKind::Xenstore : ipc::FrameKind::Json;
    return make_frame(kind, reply_text(in, form, id, op, self), (form >> 3) & 3);
}

ipc::Frame vmm_request(Input& in, const Domains& doms, uint32_t self, uint64_t& next_id)
{
    uint8_t sel = in.u8(), id_form = in.u8();
    Json req = Json::object();
    switch (sel % 5) {
    case 0: req["op"] = std::string(ipc::ops::kEvtchnBind); break;
    case 1: req["op"] = std::string(ipc::ops::kDomainExists); break;
    case 2: req["op"] = in.text(in.u8() % 24); break;
    case 3: break; // no op at all
    default: req["op"] = 7; break;
    }
    switch (id_form % 4) {
    case 0: req["id"] = next_id++; break;
    case 1: req["id"] = in.le(8); break;
    case 2: req["id"] = "7"; break;
    default: break;
    }
    req["remote_dom"] = domid_value(in, doms, self);
    req["domid"] = req["remote_dom"];
    req["remote_port"] = in.u32();
    req["local_port"] = in.u32();
    return make_frame(ipc::FrameKind::Json, ipc::json_frame(req).payload, (sel >> 4) % 3);
}

ipc::Frame vmm_event(Input& in, const Domains& doms)
{
    uint8_t kind = in.u8();
    Json ev = Json::object();
    switch (kind % 6) {
    case 0: ev = Json { { "event", "shutdown" }, { "reason", in.u8() % 8 }, { "detail", in.text(in.u8() % 64) } }; break;
    case 1: ev["event"] = "xs-reset"; break;
    case 2:
        ev = Json { { "event", "evtchn-closed" }, { "port", in.u32() }, { "remote_dom", domid_value(in, doms, 0) },
                    { "remote_port", in.u32() } };
        break;
    case 3: ev["event"] = in.text(in.u8() % 24); break;
    case 4: ev["event"] = 5; break;
    default:
        ev = Json { { "event", "shutdown" }, { "reason", (kind & 8) ? Json(256 + in.u8()) : Json("crash") },
                    { "detail", std::string(2000, 'd') } };
        break;
    }
    return ipc::json_frame(ev);
}

ipc::Frame vmm_xenstore(Input& in, const Domains& doms, uint32_t& type)
{
    type = in.u8() % 32;
    uint32_t tx = in.u8() % 4;
    uint8_t sel = in.u8();
    std::string path;
    switch (sel % 6) {
    case 0: path = "data/x" + std::to_string((sel >> 3) % 4); break;
    case 1: path = "/local/domain/" + std::to_string(doms.empty() ? 0 : doms[(sel >> 3) % doms.size()].domid) + "/name"; break;
    case 2: path = "control/shutdown"; break;
    case 3: path = "@releaseDomain"; break;
    case 4: path = "/vm"; break;
    default: path = in.text(in.u8() % 64); break;
    }
    // A value from the input, or (top bit set) up to 2 KiB of filler: a short input reaches the cap.
    uint8_t n = in.u8();
    std::string payload = path + '\0' + ((n & 0x80) ? std::string(size_t(n & 0x7f) * 16, 'v') : in.text(n));
    if (sel & 64)
        payload += '\0';
    auto msg = xenstore::Message::make(static_cast<xenstore::MsgType>(type), in.u16(), tx, std::move(payload));
    auto bytes = msg.encode();
    return ipc::Frame::make(ipc::FrameKind::Xenstore, std::string(bytes.begin(), bytes.end()));
}

ipc::Json client_request(Input& in, uint8_t op, uint64_t id, bool odd_id, const Domains& doms)
{
    std::string_view name = kClientOps[op % std::size(kClientOps)];
    Json req = op_args(in, name, doms);
    req["op"] = std::string(name);
    req["id"] = odd_id ? Json("x") : Json(id);
    return req;
}

} // namespace xkvm::fuzz::daemon_msg
