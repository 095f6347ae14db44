#include "vmevent/client.h"

#include <sys/epoll.h>

#include <array>

#include <cstring>

#include "ipc/notify_socket.h"
#include "ipc/ops.h"
#include "ipc/socket.h"

namespace xkvm::vmevent {

namespace {

using namespace std::chrono_literals;
constexpr auto kCallTimeout = 10s;
// What each descriptor in the epoll set is: the VMM's channel, the ring's notification, or the
// notification of slot (tag - kFirstSlotTag).
constexpr uint32_t kChannelTag = 0, kRingTag = 1, kFirstSlotTag = 2;
constexpr size_t kReadyBatch = 64;

} // namespace

Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::connect(const std::string& socket_path, OpenOptions options)
{
    auto fd = ipc::connect_unix(socket_path);
    if (!fd && (fd.error().code == ENOENT || fd.error().code == ECONNREFUSED))
        return fail(ENOENT, "no monitor endpoint at {} (is the domain running?)", socket_path);
    std::unique_ptr<Client> c(new Client());
    c->m_chan = TRY(ipc::Channel::create(TRY(std::move(fd))));
    TRY(c->open(options));
    return c;
}

Result<ipc::Json> Client::call(std::string_view op, ipc::Json args, std::vector<UniqueFd>* fds)
{
    args["op"] = std::string(op);
    args["id"] = m_next_id++;
    auto frame = TRY(m_chan->call(ipc::json_frame(args), kCallTimeout));
    auto reply = TRY(ipc::reply_result(TRY(ipc::parse_json(frame))));
    if (fds)
        *fds = std::move(frame.fds);
    else if (!frame.fds.empty())
        return fail(EPROTO, "'{}' answered with descriptors", op);
    return reply;
}

Status Client::open(OpenOptions options)
{
    std::vector<UniqueFd> fds;
    auto reply = TRY(call(ipc::ops::kMonitorOpen, { { "ring_pages", options.ring_pages }, { "slots", options.slots } }, &fds));
    m_vcpus = static_cast<uint32_t>(TRY(ipc::get_uint(reply, "vcpus", 4096)));
    auto pages = TRY(ipc::get_uint(reply, "ring_pages", kMaxRingPages));
    bool slots = TRY(ipc::get_bool(reply, "slots"));
    if (TRY(ipc::get_uint(reply, "version", UINT32_MAX)) != kInterfaceVersion)
        return fail(EPROTO, "the VMM speaks vm_event version {}, not {}", reply["version"].dump(), kInterfaceVersion);
    if (fds.size() != (slots ? 3u : 2u))
        return fail(EPROTO, "open answered with {} descriptors", fds.size());
    m_ring_area.emplace(TRY(SharedArea::map(std::move(fds[0]), pages * kPageSize)));
    m_ring.emplace(m_ring_area->bytes());
    m_ring_notify = std::move(fds[1]);
    if (!ipc::is_notify_socket(m_ring_notify.get()))
        return fail(EPROTO, "the ring's notification is not a datagram socket");
    if (!slots)
        return watch_descriptors();
    m_slot_area.emplace(TRY(SharedArea::map(std::move(fds[2]), slot_area_bytes(m_vcpus))));
    for (uint32_t first = 0; first < m_vcpus; first += kMaxFdsPerReply) {
        uint32_t count = std::min(kMaxFdsPerReply, m_vcpus - first);
        std::vector<UniqueFd> notify;
        TRY(call(ipc::ops::kMonitorSlotNotify, { { "first", first }, { "count", count } }, &notify));
        if (notify.size() != count)
            return fail(EPROTO, "slot-notify answered with {} descriptors for {}", notify.size(), count);
        for (auto& fd : notify)
            m_slot_notify.push_back(std::move(fd));
    }
    m_slots.emplace(m_slot_area->bytes(), m_vcpus);
    m_slot_taken.assign(m_vcpus, false);
    return watch_descriptors();
}

// One epoll set for every descriptor, built once: a wait costs one system call however many
// vCPUs the domain has, and says which descriptors are ready.
Status Client::watch_descriptors()
{
    m_epoll = UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
    if (!m_epoll)
        return make_unexpected(Error::from_errno("epoll_create1"));
    auto watch = [&](int fd, uint32_t tag) -> Status {
        epoll_event ev {};
        ev.events = EPOLLIN;
        ev.data.u32 = tag;
        if (::epoll_ctl(m_epoll.get(), EPOLL_CTL_ADD, fd, &ev) < 0)
            return make_unexpected(Error::from_errno("epoll_ctl"));
        return {};
    };
    TRY(watch(m_chan->fd(), kChannelTag));
    TRY(watch(m_ring_notify.get(), kRingTag));
    for (uint32_t v = 0; v < m_slot_notify.size(); ++v)
        TRY(watch(m_slot_notify[v].get(), kFirstSlotTag + v));
    return {};
}

Result<ipc::Json> Client::caps()
{
    return call(ipc::ops::kMonitorCaps, ipc::Json::object());
}

Status Client::set_events(const EventConfig& c)
{
    TRY(call(ipc::ops::kMonitorEvents, { { "guest_request", c.guest_request }, { "guest_request_sync", c.guest_request_sync },
                          { "breakpoint", c.breakpoint }, { "singlestep", c.singlestep },
                          { "cr_writes", c.cr_writes }, { "descriptor", c.descriptor }, { "msrs", c.msrs } }));
    return {};
}

Status Client::set_access(uint64_t gfn, uint64_t nr, XenmemAccess access)
{
    TRY(call(ipc::ops::kMonitorSetAccess, { { "gfn", gfn }, { "nr", nr }, { "access", static_cast<uint32_t>(access) } }));
    return {};
}

Result<XenmemAccess> Client::get_access(uint64_t gfn)
{
    auto reply = TRY(call(ipc::ops::kMonitorGetAccess, { { "gfn", gfn } }));
    return static_cast<XenmemAccess>(TRY(ipc::get_uint(reply, "access", kXenmemDefault)));
}

Status Client::take_ring(std::vector<Pending>& out)
{
    for (;;) {
        Pending p;
        if (!TRY(m_ring->take_request(p.request)))
            return {};
        out.push_back(p);
    }
}

Status Client::wait(std::vector<Pending>& out, std::chrono::milliseconds timeout)
{
    size_t before = out.size();
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        // Shared memory first (no system calls); a notification that lands after this look wakes
        // the epoll_wait below, so nothing waits unseen.
        TRY(take_ring(out));
        for (uint32_t v = 0; m_slots && v < m_vcpus; ++v) {
            Pending p { {}, static_cast<int>(v) };
            if (!m_slot_taken[v] && m_slots->take_request(v, p.request)) {
                m_slot_taken[v] = true;
                out.push_back(p);
            }
        }
        if (out.size() > before)
            return {};
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return {};
        if (!TRY(wait_ready(static_cast<int>(left.count()))))
            return fail(ECONNRESET, "the domain's VMM closed the monitor channel");
    }
}

Result<bool> Client::wait_ready(int timeout_ms)
{
    std::array<epoll_event, kReadyBatch> ready;
    int n = ::epoll_wait(m_epoll.get(), ready.data(), static_cast<int>(ready.size()), timeout_ms);
    if (n < 0 && errno != EINTR)
        return make_unexpected(Error::from_errno("epoll_wait"));
    for (int i = 0; i < n; ++i) {
        uint32_t tag = ready[i].data.u32;
        if (tag == kRingTag) {
            ipc::drain_notify(m_ring_notify.get());
        } else if (tag >= kFirstSlotTag) {
            ipc::drain_notify(m_slot_notify[tag - kFirstSlotTag].get());
        } else {
            // Anything from the VMM outside a call (or its hanging up).
            std::vector<ipc::Frame> frames;
            if (!TRY(m_chan->receive(frames)))
                return false;
        }
    }
    return true;
}

Status Client::respond(const Pending& p, const Event& response)
{
    if (p.slot >= 0) {
        auto v = static_cast<uint32_t>(p.slot);
        if (v >= m_vcpus || !m_slot_taken[v])
            return fail(EINVAL, "no request of vcpu {} waits in its slot", v);
        m_slots->finish(v, response);
        m_slot_taken[v] = false;
        (void)ipc::send_notify(m_slot_notify[v].get());
        return {};
    }
    if (!m_ring->put_response(response))
        return fail(EINVAL, "more responses than requests taken from the ring");
    (void)ipc::send_notify(m_ring_notify.get());
    return {};
}

Event Client::resume(const Event& request)
{
    Event rsp {};
    rsp.version = kInterfaceVersion;
    rsp.vcpu_id = request.vcpu_id;
    rsp.reason = request.reason;
    rsp.flags = request.flags & kFlagVcpuPaused;
    return rsp;
}

} // namespace xkvm::vmevent
