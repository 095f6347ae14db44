// A stand-in for xkvm-vmm that a subverted VMM could be: xkvmd spawns it (XKVM_VMM points here) as
// `hostile_vmm --control-fd N`, and it answers the daemon's requests with what XKVM_HOSTILE names:
//
//   deep-reply   the build reply carries JSON nested 30,000 levels deep (60 KB: within a VMM's size
//                limit, so that only its depth is wrong)
//   flood        builds normally, then sends events and requests without end, never reading
//   junk         builds normally, then sends frames the protocol allows but nobody asked for without
//                end, never reading: events half the size a VMM's may be (VmmLink::kJsonLimits) nested
//                as deep as allowed, replies to requests never made, xenstore frames too short to hold
//                a header, unknown operations
//   broken       builds normally, then sends text that is not JSON and events nested 30,000 deep
//   evtchn-block answers every request; a peer's interdomain bind (evtchn-connect) gets the send end
//                of a notification socket whose queue is already full and whose O_NONBLOCK is
//                cleared, and nothing here ever reads it
//
// Anything else: a well-behaved VMM that answers every request with ok (and a plausible build).
//
// With XKVM_HOSTILE_NEXT=<file>, only the next VMM the daemon starts is hostile: the one that claims
// the file (by renaming it) takes its mode from the file's contents, and every other execs the real
// VMM, XKVM_HOSTILE_REAL_VMM. So one daemon runs good domains and a hostile one side by side.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>

#include "ipc/channel.h"
#include "ipc/json_message.h"
#include "ipc/ops.h"
#include "toolstack/daemon/vmm_link.h"

using namespace xkvm;

namespace {

// Nesting that would exhaust the stack of a recursive reader (the original xkvmd crash took ~100,000),
// small enough to pass the size limit.
constexpr size_t kDeep = 30'000;
static_assert(2 * kDeep + 100 < toolstack::VmmLink::kJsonLimits.max_bytes);

std::string deep_reply(uint64_t id, size_t depth)
{
    std::string s = R"({"id":)" + std::to_string(id) + R"(,"ok":true,"pid":1,"vcpus":[],"x":)";
    s.append(depth, '[');
    s.append(depth, ']');
    s += '}';
    return s;
}

ipc::Json build_reply(uint64_t id)
{
    return ipc::ok_reply(id, ipc::Json { { "pid", ::getpid() }, { "vcpus", ipc::Json::array() } });
}

// Events and requests, each with a reply the daemon cannot deliver (we never read).
ipc::Frame flood_frame(uint64_t n)
{
    static const ipc::Json ev { { "event", "xs-reset-not-really" }, { "padding", std::string(1000, 'x') } };
    return ipc::json_frame(n % 2 ? ev : ipc::Json { { "op", ipc::ops::kDomainExists }, { "id", n }, { "domid", 0 } });
}

// Sends `next(n)` for n = 0, 1, ... as fast as the socket takes them; stops when the daemon closes
// or kills us.
void send_forever(ipc::Channel& chan, const std::function<ipc::Frame(uint64_t)>& next)
{
    for (uint64_t n = 0;; ++n) {
        auto r = chan.send(next(n));
        if (!r && r.error().code != ENOBUFS)
            return;
        if (!r && !chan.flush_blocking(std::chrono::seconds(30)))
            return;
    }
}

// Frames the protocol allows but nobody asked for, the costliest first: an event nested as deep as
// the daemon accepts and padded to half its size limit, replies to requests never made, xenstore
// frames too short to hold a header, unknown operations.
ipc::Frame junk_frame(uint64_t n)
{
    static const std::string heavy = R"({"event":"x","x":)" + std::string(31, '[') + '"'
        + std::string(toolstack::VmmLink::kJsonLimits.max_bytes / 2, 'x') + '"' + std::string(31, ']') + "}";
    switch (n % 4) {
    case 0: return ipc::Frame::make(ipc::FrameKind::Json, heavy);
    case 1: return ipc::json_frame(ipc::ok_reply(1'000'000 + n));
    case 2: return ipc::Frame::make(ipc::FrameKind::Xenstore, "abc");
    default: return ipc::json_frame(ipc::Json { { "op", "no-such-op" }, { "id", n } });
    }
}

// What breaks the protocol: text that is not JSON, then an event nested kDeep levels deep.
ipc::Frame broken_frame(uint64_t n)
{
    if (n % 2 == 0)
        return ipc::Frame::make(ipc::FrameKind::Json, "{not json");
    return ipc::Frame::make(ipc::FrameKind::Json,
                            R"({"event":"x","x":)" + std::string(kDeep, '[') + std::string(kDeep, ']') + "}");
}

// The far end of a peer's interdomain channel, made to block a sender that does not guard against
// it: the queue is full and the send end is in blocking mode. We keep a descriptor of both ends (the
// send end's file is the very one the peer gets) and never read.
std::vector<UniqueFd> blocking_notify_end(std::vector<UniqueFd>& kept)
{
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) != 0)
        return {};
    UniqueFd receive(sv[0]), send(sv[1]);
    const char one = 1;
    while (::send(send.get(), &one, 1, MSG_DONTWAIT) == 1)
        ;
    ::fcntl(send.get(), F_SETFL, ::fcntl(send.get(), F_GETFL) & ~O_NONBLOCK);
    std::vector<UniqueFd> out;
    out.emplace_back(::fcntl(send.get(), F_DUPFD_CLOEXEC, 0));
    kept.push_back(std::move(receive));
    kept.push_back(std::move(send));
    return out;
}

// The mode of this VMM, or nullopt when it is to be the real one (see the file comment).
std::optional<std::string> claim_mode()
{
    const char* next = std::getenv("XKVM_HOSTILE_NEXT");
    if (!next || !*next) {
        const char* mode = std::getenv("XKVM_HOSTILE");
        return mode ? mode : "";
    }
    std::string claimed = std::string(next) + "." + std::to_string(::getpid());
    if (::rename(next, claimed.c_str()) != 0)
        return std::nullopt;
    std::stringstream mode;
    mode << std::ifstream(claimed).rdbuf();
    ::unlink(claimed.c_str());
    return mode.str();
}

} // namespace

int main(int argc, char** argv)
{
    if (argc < 3 || std::string(argv[1]) != "--control-fd") // then perhaps --private-root: passed on
        return 2;
    auto claimed = claim_mode();
    if (!claimed) {
        const char* real = std::getenv("XKVM_HOSTILE_REAL_VMM");
        if (!real)
            return 2;
        argv[0] = const_cast<char*>(real);
        ::execv(real, argv);
        return 127;
    }
    const std::string mode = *claimed;
    auto chan = ipc::Channel::create(UniqueFd(std::atoi(argv[2])));
    if (!chan)
        return 1;
    std::vector<UniqueFd> kept; // what peers sent us and what we hold of theirs, never read
    for (;;) {
        auto frame = (*chan)->receive_blocking(std::chrono::hours(1));
        if (!frame)
            return 0;
        for (auto& fd : frame->fds)
            kept.push_back(std::move(fd));
        auto req = ipc::parse_json(*frame);
        if (!req || !req->contains("op"))
            continue;
        uint64_t id = ipc::get_uint(*req, "id").value_or(0);
        std::string op = ipc::get_string(*req, "op").value_or("");
        ipc::Frame out;
        if (op == ipc::ops::kEvtchnConnect && mode == "evtchn-block")
            out = ipc::Frame::make(ipc::FrameKind::Json, ipc::ok_reply(id).dump(), blocking_notify_end(kept));
        else if (op == ipc::ops::kBuild && mode == "deep-reply")
            out = ipc::Frame::make(ipc::FrameKind::Json, deep_reply(id, kDeep));
        else
            out = ipc::json_frame(op == ipc::ops::kBuild ? build_reply(id) : ipc::ok_reply(id));
        if (!(*chan)->send(std::move(out)) || !(*chan)->flush_blocking(std::chrono::seconds(10)))
            return 1;
        if (op == ipc::ops::kBuild && mode == "flood")
            send_forever(**chan, flood_frame);
        if (op == ipc::ops::kBuild && mode == "junk")
            send_forever(**chan, junk_frame);
        if (op == ipc::ops::kBuild && mode == "broken")
            send_forever(**chan, broken_frame);
        if (op == ipc::ops::kDestroy)
            return 0;
    }
}
