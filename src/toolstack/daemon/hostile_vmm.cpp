// A stand-in for xkvm-vmm that a subverted VMM could be: xkvmd spawns it (XKVM_VMM points here) as
// `hostile_vmm --control-fd N`, and it answers the daemon's requests with what XKVM_HOSTILE names:
//
//   deep-reply   the build reply carries JSON nested 100,000 levels deep (about 200 KB)
//   flood        builds normally, then sends events and requests without end, never reading
//
// Anything else: a well-behaved VMM that answers every request with ok (and a plausible build).
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "ipc/ops.h"
#include "ipc/channel.h"
#include "ipc/json_message.h"

using namespace xkvm;

namespace {

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

// Events and requests as fast as the socket takes them; stops when the daemon closes or kills us.
void flood(ipc::Channel& chan)
{
    ipc::Json ev { { "event", "xs-reset-not-really" }, { "padding", std::string(1000, 'x') } };
    for (uint64_t n = 0;; ++n) {
        auto frame = ipc::json_frame(n % 2 ? ev : ipc::Json { { "op", ipc::ops::kDomainExists }, { "id", n }, { "domid", 0 } });
        auto r = chan.send(std::move(frame));
        if (!r && r.error().code != ENOBUFS)
            return;
        if (!r && !chan.flush_blocking(std::chrono::seconds(30)))
            return;
    }
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 3 || std::string(argv[1]) != "--control-fd")
        return 2;
    const char* mode_env = std::getenv("XKVM_HOSTILE");
    std::string mode = mode_env ? mode_env : "";
    auto chan = ipc::Channel::create(UniqueFd(std::atoi(argv[2])));
    if (!chan)
        return 1;
    for (;;) {
        auto frame = (*chan)->receive_blocking(std::chrono::hours(1));
        if (!frame)
            return 0;
        auto req = ipc::parse_json(*frame);
        if (!req || !req->contains("op"))
            continue;
        uint64_t id = ipc::get_uint(*req, "id").value_or(0);
        std::string op = ipc::get_string(*req, "op").value_or("");
        ipc::Frame out;
        if (op == ipc::ops::kBuild && mode == "deep-reply")
            out = ipc::Frame::make(ipc::FrameKind::Json, deep_reply(id, 100'000));
        else
            out = ipc::json_frame(op == ipc::ops::kBuild ? build_reply(id) : ipc::ok_reply(id));
        if (!(*chan)->send(std::move(out)) || !(*chan)->flush_blocking(std::chrono::seconds(10)))
            return 1;
        if (op == ipc::ops::kBuild && mode == "flood")
            flood(**chan);
        if (op == ipc::ops::kDestroy)
            return 0;
    }
}
