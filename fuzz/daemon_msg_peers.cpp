#include "daemon_msg_peers.h"

#include <poll.h>

namespace xkvm::fuzz::daemon_msg {

namespace {

constexpr size_t kClassifyBytes = 8u << 10; // frames we send that could be taken as requests

void read_vmm(Vmm& v)
{
    std::vector<ipc::Frame> frames;
    auto open = v.chan->receive(frames);
    for (auto& f : frames) {
        if (f.kind != ipc::FrameKind::Json)
            continue; // the store's replies and watch events for our guest
        auto j = ipc::parse_json(f);
        check(j.has_value());
        auto op = ipc::get_string(*j, "op", 64);
        if (!op) {
            ++v.answers;
            continue;
        }
        auto id = ipc::get_uint(*j, "id");
        check(id && *id > v.last_id);
        v.last_id = *id;
        v.asked.push_back({ *id, op.release_value() });
        if (v.asked.size() > 512)
            v.asked.pop_front();
    }
    if (!open || !*open)
        v.chan.reset();
}

void read_client(Client& c)
{
    std::vector<ipc::Frame> frames;
    auto open = c.chan->receive(frames);
    for (auto& f : frames) {
        auto j = ipc::parse_json(f);
        check(j.has_value());
        auto id = ipc::get_uint(*j, "id");
        check(id.has_value() && ipc::get_bool(*j, "ok").has_value());
        auto it = c.open.find(*id);
        check(it != c.open.end());
        if (--it->second == 0)
            c.open.erase(it);
    }
    if (!open || !*open)
        c.chan.reset(); // the daemon dropped us: what was open stays unanswered
}

} // namespace

Domains domains(Run& run)
{
    Domains out;
    for (auto* rec : run.peer->table().all())
        out.push_back({ rec->domid, rec->name });
    return out;
}

bool is_request(const ipc::Frame& f)
{
    if (f.kind != ipc::FrameKind::Json || f.payload.size() > kClassifyBytes)
        return false;
    auto j = ipc::parse_json(f, ipc::kUntrustedJsonLimits);
    return j && ipc::get_string(*j, "op", 64) && ipc::get_uint(*j, "id");
}

void pump(Run& run)
{
    for (auto& s : run.peer->take_spawned()) {
        Vmm& v = run.vmms.emplace_back();
        v.pid = s.pid;
        v.domid = s.domid;
        v.chan = std::move(s.chan);
        v.adopted = s.adopted;
    }
    // Only what is ready is read: a receive per peer per step would cost more than the step.
    std::vector<pollfd> fds;
    std::vector<ipc::Channel*> chans;
    for (auto& v : run.vmms)
        if (v.chan) {
            fds.push_back({ v.chan->fd(), POLLIN, 0 });
            chans.push_back(v.chan.get());
        }
    for (auto& c : run.clients)
        if (c && c->chan) {
            fds.push_back({ c->chan->fd(), POLLIN, 0 });
            chans.push_back(c->chan.get());
        }
    for (auto* chan : chans)
        if (chan->has_pending_output())
            (void)chan->flush(); // what the socket does not take stays queued for the next pump
    check(::poll(fds.data(), fds.size(), 0) >= 0);
    size_t i = 0;
    for (auto& v : run.vmms)
        if (v.chan && (fds[i++].revents & (POLLIN | POLLHUP | POLLERR)))
            read_vmm(v);
    for (auto& c : run.clients)
        if (c && c->chan && (fds[i++].revents & (POLLIN | POLLHUP | POLLERR)))
            read_client(*c);
    for (auto& c : run.clients)
        if (c && !c->chan)
            c.reset();
}

Vmm* pick_vmm(Run& run, uint8_t sel, bool hung_up_too)
{
    std::vector<Vmm*> live;
    for (auto& v : run.vmms)
        if (!v.ended && (v.chan || hung_up_too))
            live.push_back(&v);
    return live.empty() ? nullptr : live[sel % live.size()];
}

Client& client(Run& run, uint8_t sel)
{
    auto& slot = run.clients[sel % run.clients.size()];
    if (!slot) {
        auto c = run.peer->connect_client();
        check(c.has_value());
        auto chan = ipc::Channel::create(std::move(c->second));
        check(chan.has_value());
        slot.emplace();
        slot->id = c->first;
        slot->chan = chan.release_value();
        ++run.clients_connected;
    }
    return *slot;
}

} // namespace xkvm::fuzz::daemon_msg
