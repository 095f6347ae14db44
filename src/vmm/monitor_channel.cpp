#include "vmm/monitor_channel.h"

#include "ipc/notify_socket.h"

namespace xkvm::vmm {

Result<std::unique_ptr<MonitorChannel>> MonitorChannel::create(uint32_t vcpus, uint32_t ring_pages, bool slots)
{
    auto ring = TRY(vmevent::SharedArea::create("xkvm-vm-event-ring", ring_pages * vmevent::kPageSize));
    std::unique_ptr<MonitorChannel> c(new MonitorChannel(vcpus, std::move(ring)));
    c->m_ring.emplace(c->m_ring_area.bytes());
    std::tie(c->m_ring_notify, c->m_ring_notify_far) = TRY(ipc::make_duplex_notify_pair());
    if (!slots)
        return c;
    c->m_slot_area.emplace(TRY(vmevent::SharedArea::create("xkvm-vm-event-slots", vmevent::slot_area_bytes(vcpus))));
    c->m_slots.emplace(c->m_slot_area->bytes(), vcpus);
    for (uint32_t v = 0; v < vcpus; ++v) {
        auto [ours, theirs] = TRY(ipc::make_duplex_notify_pair());
        c->m_slot_notify.push_back(std::move(ours));
        c->m_slot_notify_far.push_back(std::move(theirs));
    }
    return c;
}

Result<std::vector<UniqueFd>> MonitorChannel::open_fds()
{
    if (!m_ring_notify_far)
        return fail(EINVAL, "the channel was opened already");
    std::vector<UniqueFd> fds;
    fds.push_back(TRY(m_ring_area.dup_fd()));
    fds.push_back(std::move(m_ring_notify_far));
    if (m_slot_area)
        fds.push_back(TRY(m_slot_area->dup_fd()));
    return fds;
}

Result<std::vector<UniqueFd>> MonitorChannel::slot_notify_fds(uint32_t first, uint32_t count)
{
    if (!m_slots)
        return fail(EOPNOTSUPP, "this channel has no slots");
    if (first >= m_vcpus || count > m_vcpus - first)
        return fail(EINVAL, "slots {}..{} of {}", first, uint64_t { first } + count, m_vcpus);
    std::vector<UniqueFd> fds;
    for (uint32_t v = first; v < first + count; ++v) {
        if (!m_slot_notify_far[v])
            return fail(EINVAL, "the notification of slot {} was handed over already", v);
        fds.push_back(std::move(m_slot_notify_far[v]));
    }
    return fds;
}

bool MonitorChannel::put_ring(const vmevent::Event& request)
{
    if (!m_ring->put_request(request))
        return false;
    (void)ipc::send_notify(m_ring_notify.get());
    return true;
}

bool MonitorChannel::submit_slot(uint32_t vcpu, const vmevent::Event& request)
{
    if (!m_slots || !m_slots->submit(vcpu, request))
        return false;
    (void)ipc::send_notify(m_slot_notify[vcpu].get());
    return true;
}

} // namespace xkvm::vmm
