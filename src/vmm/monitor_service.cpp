// The monitor socket and its operations (the service thread). The event path is in
// monitor_service_events.cpp.
#include "vmm/monitor_service.h"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>

#include <algorithm>

#include "base/log.h"
#include "base/thread_role.h"
#include "ipc/notify_socket.h"
#include "ipc/ops.h"
#include "ipc/socket.h"
#include "vmm/monitor_events.h"

namespace xkvm::vmm {

namespace {

constexpr size_t kMaxBusyPeers = 4;
constexpr uint64_t kMaxAccessPages = 1u << 18;  // per set-access: 1 GiB
constexpr uint64_t kMaxGfn = 1ull << 40;        // 52-bit guest-physical addresses
constexpr size_t kReceiveBudget = 64 << 10;
constexpr size_t kMaxMsrs = 64;
constexpr uint8_t kCrMask = (1u << 0) | (1u << 3) | (1u << 4);

} // namespace

const MonitorService::Op MonitorService::kOps[] = {
    { ipc::ops::kMonitorOpen, &MonitorService::op_open },
    { ipc::ops::kMonitorSlotNotify, &MonitorService::op_slot_notify },
    { ipc::ops::kMonitorCaps, &MonitorService::op_caps },
    { ipc::ops::kMonitorEvents, &MonitorService::op_events },
    { ipc::ops::kMonitorSetAccess, &MonitorService::op_set_access },
    { ipc::ops::kMonitorGetAccess, &MonitorService::op_get_access },
};

MonitorService::MonitorService(hv::Vm& vm, memory::Physmap& physmap, std::vector<hv::VcpuRunner*> runners)
    : m_vm(vm), m_physmap(physmap), m_runners(std::move(runners)), m_vcpus(m_runners.size())
{
}

MonitorService::~MonitorService()
{
    stop();
}

Status MonitorService::listen(const std::string& path, MonitorOptions options)
{
    if (m_thread.joinable())
        return fail(EBUSY, "the monitor endpoint is served already");
    m_options = options;
    m_wake = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!m_wake)
        return make_unexpected(Error::from_errno("eventfd"));
    ::unlink(path.c_str());
    m_listener = TRY(ipc::listen_unix(path));
    m_path = path;
    m_thread = std::thread([this] { run(); });
    return {};
}

void MonitorService::stop()
{
    if (!m_thread.joinable())
        return;
    uint64_t one = 1;
    (void)!::write(m_wake.get(), &one, sizeof(one));
    m_thread.join();
    ::unlink(m_path.c_str());
}

bool MonitorService::wait_for_monitor(std::chrono::milliseconds timeout)
{
    std::unique_lock lock(m_lock);
    return m_ready_cv.wait_for(lock, timeout, [&] { return m_ready; });
}

void MonitorService::run()
{
    pthread_setname_np(pthread_self(), "monitor");
    enter_thread_role(ThreadRole::Monitor);
    for (;;) {
        std::vector<pollfd> fds { { m_wake.get(), POLLIN, 0 }, { m_listener.get(), POLLIN, 0 },
                                  { m_peer ? m_peer->fd() : -1, POLLIN, 0 } };
        for (auto& b : m_busy)
            fds.push_back({ b->fd(), POLLIN, 0 });
        size_t first_notify = fds.size();
        // Only this thread replaces m_channel, so reading its descriptors here needs no lock.
        if (m_channel) {
            fds.push_back({ m_channel->ring_notify_fd(), POLLIN, 0 });
            for (uint32_t v = 0; m_channel->has_slots() && v < m_channel->vcpus(); ++v)
                fds.push_back({ m_channel->slot_notify_fd(v), POLLIN, 0 });
        }
        if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) {
            log::get("vmevent")->error("monitor endpoint: poll: {}", errno_string(errno));
            break;
        }
        if (fds[0].revents & POLLIN)
            break;
        if (fds[1].revents & POLLIN)
            accept_peer();
        if (fds[2].revents & (POLLIN | POLLHUP | POLLERR))
            serve_frames();
        if (std::any_of(fds.begin() + 3, fds.begin() + first_notify, [](auto& p) { return p.revents != 0; }))
            refuse_busy();
        bool notified = false;
        for (auto it = fds.begin() + first_notify; it != fds.end(); ++it)
            if (it->revents) {
                (void)ipc::drain_notify(it->fd);
                notified = true;
            }
        if (notified && m_channel) {
            std::unique_lock lock(m_lock);
            if (auto r = collect_responses_locked(); !r) {
                lock.unlock();
                drop_monitor(r.error().message);
            }
        }
    }
    drop_monitor("the domain's VMM is stopping");
}

void MonitorService::accept_peer()
{
    auto fd = ipc::accept_unix(m_listener.get());
    if (!fd)
        return;
    if (auto ok = ipc::check_peer_uid(fd->get()); !ok) {
        log::get("vmevent")->warn("monitor endpoint: {}", ok.error().message);
        return;
    }
    auto chan = ipc::Channel::create(fd.release_value());
    if (!chan)
        return;
    if (!m_peer)
        m_peer = chan.release_value();
    else if (m_busy.size() < kMaxBusyPeers)
        m_busy.push_back(chan.release_value());
}

void MonitorService::refuse_busy()
{
    std::erase_if(m_busy, [](auto& b) {
        std::vector<ipc::Frame> frames;
        auto open = b->receive(frames, kReceiveBudget);
        for (auto& f : frames) {
            auto j = ipc::parse_json(f, ipc::kUntrustedJsonLimits);
            uint64_t id = j ? ipc::opt_uint(*j, "id", 0).value_or(0) : 0;
            (void)b->send(ipc::json_frame(ipc::error_reply(id, Error { EBUSY, "the domain has a monitor already" })));
        }
        return !open || !*open || !frames.empty();
    });
}

void MonitorService::serve_frames()
{
    std::vector<ipc::Frame> frames;
    auto open = m_peer->receive(frames, kReceiveBudget);
    for (auto& f : frames) {
        auto j = ipc::parse_json(f, ipc::kUntrustedJsonLimits);
        if (!j) {
            drop_monitor(j.error().message);
            return;
        }
        uint64_t id = ipc::opt_uint(*j, "id", 0).value_or(0);
        std::vector<UniqueFd> fds;
        auto reply = dispatch(*j, fds);
        ipc::Frame out = ipc::json_frame(reply ? ipc::ok_reply(id, std::move(*reply)) : ipc::error_reply(id, reply.error()));
        out.fds = std::move(fds);
        if (auto r = m_peer->send(std::move(out)); !r) {
            drop_monitor(r.error().message);
            return;
        }
    }
    if (!open || !*open)
        drop_monitor(open ? "the monitor closed its socket" : open.error().message);
}

Result<ipc::Json> MonitorService::dispatch(const ipc::Json& request, std::vector<UniqueFd>& fds)
{
    auto op = TRY(ipc::get_string(request, "op", 64));
    for (const Op& o : kOps)
        if (op == o.name) {
            if (!m_channel && o.handler != &MonitorService::op_open)
                return fail(EPROTO, "'{}' before '{}'", op, ipc::ops::kMonitorOpen);
            return (this->*o.handler)(request, fds);
        }
    return fail(EINVAL, "unknown monitor operation '{}'", op);
}

Result<ipc::Json> MonitorService::op_open(const ipc::Json& args, std::vector<UniqueFd>& fds)
{
    if (m_channel)
        return fail(EBUSY, "the channel is open already");
    auto pages = TRY(ipc::opt_uint(args, "ring_pages", 1, vmevent::kMaxRingPages));
    if (pages == 0)
        return fail(EINVAL, "a ring of 0 pages");
    bool slots = TRY(ipc::opt_bool(args, "slots", true)) && m_options.slots;
    auto channel = TRY(MonitorChannel::create(static_cast<uint32_t>(m_runners.size()), static_cast<uint32_t>(pages), slots));
    fds = TRY(channel->open_fds());
    ipc::Json reply { { "vcpus", m_runners.size() }, { "ring_pages", pages }, { "ring_entries", channel->ring_entries() },
                      { "slots", slots }, { "version", vmevent::kInterfaceVersion } };
    {
        std::lock_guard guard(m_lock);
        m_channel = std::move(channel);
        m_vcpus.assign(m_runners.size(), {});
        m_blocking = RingBlocking(static_cast<uint32_t>(m_runners.size()));
    }
    log::get("vmevent")->info("monitor attached ({} ring page(s), {})", pages, slots ? "slots" : "ring only");
    return reply;
}

Result<ipc::Json> MonitorService::op_slot_notify(const ipc::Json& args, std::vector<UniqueFd>& fds)
{
    auto first = TRY(ipc::get_uint(args, "first", UINT32_MAX));
    auto count = TRY(ipc::get_uint(args, "count", vmevent::kMaxFdsPerReply));
    fds = TRY(m_channel->slot_notify_fds(static_cast<uint32_t>(first), static_cast<uint32_t>(count)));
    return ipc::Json::object();
}

Result<ipc::Json> MonitorService::op_caps(const ipc::Json&, std::vector<UniqueFd>&)
{
    hv::IntrospectionCaps c = m_vm.introspection_caps();
    return ipc::Json { { "page_access", c.page_access }, { "breakpoints", c.breakpoints },
                       { "cr_writes", c.cr_writes }, { "descriptor", c.descriptor_access },
                       { "msr_writes", c.msr_writes }, { "single_step", c.single_step }, { "guest_request", true } };
}

Result<ipc::Json> MonitorService::op_events(const ipc::Json& args, std::vector<UniqueFd>&)
{
    vmevent::EventConfig c;
    c.guest_request = TRY(ipc::opt_bool(args, "guest_request", false));
    c.guest_request_sync = TRY(ipc::opt_bool(args, "guest_request_sync", true));
    c.breakpoint = TRY(ipc::opt_bool(args, "breakpoint", false));
    c.singlestep = TRY(ipc::opt_bool(args, "singlestep", false));
    c.cr_writes = static_cast<uint8_t>(TRY(ipc::opt_uint(args, "cr_writes", 0, 0xff)));
    c.descriptor = TRY(ipc::opt_bool(args, "descriptor", false));
    if (args.contains("msrs"))
        c.msrs = TRY(ipc::get_uint_list(args, "msrs", UINT32_MAX, kMaxMsrs));
    if (c.cr_writes & ~kCrMask)
        return fail(EINVAL, "control-register events exist for CR0, CR3 and CR4 only");
    hv::IntrospectionCaps caps = m_vm.introspection_caps();
    if ((c.breakpoint && !caps.breakpoints) || (c.cr_writes & ~caps.cr_writes) ||
        (c.descriptor && !caps.descriptor_access) || (!c.msrs.empty() && !caps.msr_writes) ||
        (c.singlestep && !caps.single_step))
        return fail(EOPNOTSUPP, "this backend cannot report all of those events (see the 'caps' operation)");
    std::lock_guard guard(m_lock);
    bool intercepts_change = hv::Intercepts { m_config.breakpoint, m_config.cr_writes, m_config.descriptor, m_config.msrs } !=
                             hv::Intercepts { c.breakpoint, c.cr_writes, c.descriptor, c.msrs };
    bool singlestep_change = c.singlestep != m_config.singlestep;
    m_config = std::move(c);
    if (intercepts_change || singlestep_change)
        apply_intercepts_locked();
    m_ready = true;
    m_ready_cv.notify_all();
    return ipc::Json::object();
}

Result<ipc::Json> MonitorService::op_set_access(const ipc::Json& args, std::vector<UniqueFd>&)
{
    auto gfn = TRY(ipc::get_uint(args, "gfn", kMaxGfn - 1));
    auto nr = TRY(ipc::get_uint(args, "nr", kMaxAccessPages));
    auto access = TRY(ipc::get_uint(args, "access", UINT32_MAX));
    if (nr == 0 || gfn + nr > kMaxGfn)
        return fail(EINVAL, "pages {:#x}+{} are not guest-physical", gfn, nr);
    uint8_t bits = TRY(page_access_of(static_cast<uint32_t>(access)));
    std::lock_guard guard(m_lock);
    TRY(limit_ram(gfn, nr, bits));
    return ipc::Json::object();
}

Status MonitorService::limit_ram(uint64_t gfn, uint64_t nr, uint8_t bits)
{
    auto ram = m_physmap.mapped_in(gfn << 12, nr << 12);
    if (ram.empty())
        return fail(EINVAL, "pages {:#x}+{} hold no RAM", gfn, nr);
    for (const auto& m : ram) {
        TRY(m_vm.set_page_access(m.gpa, m.size, bits));
        for (uint64_t p = m.gpa >> 12; p < m.end() >> 12; ++p)
            if (bits == hv::kAccessAll)
                m_limited.erase(p);
            else
                m_limited[p] = bits;
    }
    return {};
}

Result<ipc::Json> MonitorService::op_get_access(const ipc::Json& args, std::vector<UniqueFd>&)
{
    auto gfn = TRY(ipc::get_uint(args, "gfn", kMaxGfn - 1));
    std::lock_guard guard(m_lock);
    auto it = m_limited.find(gfn);
    uint8_t bits = it == m_limited.end() ? uint8_t { hv::kAccessAll } : it->second;
    return ipc::Json { { "access", static_cast<uint32_t>(xenmem_access_of(bits)) } };
}

void MonitorService::drop_monitor(const std::string& why)
{
    m_peer.reset();
    std::lock_guard guard(m_lock);
    if (!m_channel)
        return;
    log::get("vmevent")->info("monitor detached: {}", why);
    release_all_locked();
}

} // namespace xkvm::vmm
