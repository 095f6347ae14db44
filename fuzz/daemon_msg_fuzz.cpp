// Fuzzes xkvmd's handling of what a subverted VMM sends it, replies included: a toolstack::VmmLink
// on one end of a socket pair, the hostile VMM on the other writing any frames (JSON nested 100,000
// deep, replies to requests never made, replies carrying descriptors, broken headers), and the
// daemon's side doing what Daemon::vmm_readable does with them: receive within its budget, parse
// with the untrusted limits, complete requests in flight, read a VMM's own requests and events
// field by field, forward a completed reply to a client as the daemon does, expire deadlines.
//
// What must hold, besides no crash (a stack overflow on deep JSON was one) and no sanitizer report:
// requests in flight, bytes queued for the VMM and for the client stay within their caps, every
// request's callback runs exactly once, and a reply is never accepted for a request not in flight.
#include "fuzz_input.h"
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "ipc/channel.h"
#include "ipc/json_message.h"
#include "ipc/ops.h"
#include "toolstack/daemon/vmm_link.h"

using namespace xkvm;
using fuzz::check;
using fuzz::Input;

namespace {

// No process has this pid (above any pid_max), so nothing real could ever be signalled.
constexpr pid_t kNoPid = 0x7ffffff0;
constexpr size_t kVmmReceiveBudget = 256 << 10; // as the daemon's per-pass budget
constexpr unsigned kMaxSteps = 256;



struct Run {
    std::unique_ptr<toolstack::VmmLink> link;
    std::unique_ptr<ipc::Channel> vmm;    // the hostile VMM's end
    std::unique_ptr<ipc::Channel> client; // a CLI client the daemon forwards replies to
    UniqueFd client_peer;
    uint64_t requested = 0, answered = 0;
};

std::pair<UniqueFd, UniqueFd> socket_pair()
{
    int fds[2];
    check(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
    return { UniqueFd(fds[0]), UniqueFd(fds[1]) };
}

// A request from the daemon; its answer goes on to the client as Daemon::reply does.
void daemon_request(Input& in, Run& run)
{
    static constexpr std::string_view kOps[] = { ipc::ops::kPause, ipc::ops::kSandboxProbe, ipc::ops::kEvtchnConnect,
                                                 ipc::ops::kDomainExists, "xs" };
    auto op = kOps[in.u8() % 5];
    auto timeout = std::chrono::milliseconds(in.u8() % 4);
    ++run.requested;
    run.link->request(op, ipc::Json { { "dom", "guest" } }, [&run](Result<ipc::Json> r) {
        ++run.answered;
        auto fields = r ? ipc::pick_fields(*r, { "state", "exists", "vcpus", "detail" }) : ipc::Json::object();
        auto msg = r ? ipc::ok_reply(1, std::move(fields)) : ipc::error_reply(1, r.error());
        (void)run.client->send(ipc::json_frame(msg));
    }, timeout);
    check(run.link->pending() <= toolstack::VmmLink::kMaxPending);
}

// What the hostile VMM writes: frames around any JSON text, deep nesting, replies, descriptors.
void vmm_sends(Input& in, Run& run)
{
    uint8_t how = in.u8();
    std::string text;
    switch ((how & 7) % 5) { // the higher bits: ok, the frame kind, descriptors
    case 0: text = in.text(in.u16() % 2048); break;
    case 1: { // a reply to one of our ids, its fields any text
        text = "{\"id\":" + std::to_string(1 + in.u8() % 8) + ",\"ok\":" + ((how & 8) ? "true" : "false")
            + ",\"code\":" + std::to_string(in.u8()) + ",\"x\":" + in.text(in.u8()) + "}";
        break;
    }
    case 2: { // nested as deep as it likes: up to 130,000 levels in a reply
        size_t depth = (size_t(in.u16()) << 1) % 130'000;
        text = "{\"id\":" + std::to_string(1 + in.u8() % 8) + ",\"ok\":true,\"r\":" + std::string(depth, '[')
            + std::string(depth, ']') + "}";
        break;
    }
    case 3: text = "{\"op\":\"" + in.text(in.u8() % 24) + "\",\"id\":" + std::to_string(in.u16()) + "," + in.text(in.u8()) + "}"; break;
    case 4: text = "{\"event\":\"" + in.text(in.u8() % 24) + "\"," + in.text(in.u8()) + "}"; break;
    }
    std::vector<UniqueFd> fds;
    for (unsigned i = 0; i < ((how >> 5) & 3); ++i)
        fds.emplace_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    auto kind = (how & 16) ? ipc::FrameKind::Xenstore : ipc::FrameKind::Json;
    (void)run.vmm->send(ipc::Frame::make(kind, std::move(text), std::move(fds)));
}

// A VMM's own request or event, read as the daemon reads them.
void daemon_reads(const ipc::Json& j, Run& run)
{
    if (j.contains("op")) {
        auto op = ipc::get_string(j, "op", 64);
        auto id = ipc::get_uint(j, "id");
        if (!op || !id)
            return;
        (void)ipc::get_uint(j, "remote_dom", UINT16_MAX);
        (void)ipc::get_uint(j, "remote_port", UINT32_MAX);
        (void)ipc::get_uint(j, "domid", UINT16_MAX);
        run.link->reply(*id, *op == ipc::ops::kDomainExists ? Result<ipc::Json>(ipc::Json { { "exists", false } })
                                                               : fail(EOPNOTSUPP, "unknown request"));
        return;
    }
    (void)ipc::opt_string(j, "event", "", 64);
    (void)ipc::opt_uint(j, "reason", 0, 255);
    (void)ipc::opt_string(j, "detail", "", 4096);
    (void)ipc::get_uint_list(j, "cpus", 4095, 64);
}

// Daemon::vmm_readable: false once the VMM broke the protocol or went away.
bool daemon_receives(Run& run)
{
    std::vector<ipc::Frame> frames;
    auto open = run.link->channel().receive(frames, kVmmReceiveBudget);
    for (auto& f : frames) {
        if (f.kind == ipc::FrameKind::Xenstore)
            continue; // the store's own fuzz targets take these
        auto j = ipc::parse_json(f, ipc::kUntrustedJsonLimits);
        if (!j)
            return false;
        uint64_t before = run.answered;
        bool reply = !j->contains("op") && !j->contains("event") && j->contains("id");
        if (!run.link->complete(*j, f.fds))
            daemon_reads(*j, run);
        check(run.answered <= before + 1 && (reply || run.answered == before));
    }
    return open && *open;
}

void drain_client(Run& run)
{
    std::vector<char> buf(1 << 16);
    while (::recv(run.client_peer.get(), buf.data(), buf.size(), MSG_DONTWAIT) > 0) { }
    (void)run.client->flush();
    (void)run.link->channel().flush();
    (void)run.vmm->flush();
}

void step(Input& in, Run& run)
{
    switch (in.u8() % 6) {
    case 0: daemon_request(in, run); break;
    case 1: vmm_sends(in, run); break;
    case 2:
        if (!daemon_receives(run))
            run.link->close_channel();
        break;
    case 3: (void)run.link->expire(toolstack::VmmLink::Clock::now() + std::chrono::milliseconds(in.u8() % 4)); break;
    case 4: { // the raw stream: any header, any length
        std::string raw = in.text(in.u8());
        (void)!::write(run.vmm->fd(), raw.data(), raw.size());
        break;
    }
    case 5: drain_client(run); break;
    }
    check(run.link->pending() <= toolstack::VmmLink::kMaxPending);
    check(run.link->channel().queued_bytes() <= toolstack::VmmLink::kMaxQueuedBytes);
    check(run.answered <= run.requested);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    Input in(data, size);
    Run run;
    auto [daemon_end, vmm_end] = socket_pair();
    auto [client_end, client_peer] = socket_pair();
    auto link = toolstack::VmmLink::adopt(kNoPid, 4, std::move(daemon_end));
    auto vmm = ipc::Channel::create(std::move(vmm_end));
    auto client = ipc::Channel::create(std::move(client_end));
    check(link.has_value() && vmm.has_value() && client.has_value());
    run.link = link.release_value();
    run.vmm = vmm.release_value();
    run.client = client.release_value();
    run.client->set_max_queued_bytes(16 << 20);
    run.client_peer = std::move(client_peer);
    for (unsigned steps = 0; !in.empty() && steps < kMaxSteps; ++steps)
        step(in, run);
    // The VMM goes away: everything still in flight is answered, once.
    run.link->close_channel();
    check(run.link->pending() == 0 && run.answered == run.requested);
    return 0;
}
