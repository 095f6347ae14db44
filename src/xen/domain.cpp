#include "xen/domain.h"

#include <algorithm>
#include <cstring>
#include <ctime>
#include <utility>

#include "base/log.h"
#include "xen/abi/compat32.h"
#include "xen/xen_errno.h"

namespace xkvm::xen {

namespace {

// Params a guest may write; the rest are the toolstack's (store/console rings) or read-only.
bool guest_writable(uint32_t index)
{
    switch (index) {
    case HVM_PARAM_CALLBACK_IRQ:
    case HVM_PARAM_TIMER_MODE:
    case HVM_PARAM_ACPI_S_STATE:
    case HVM_PARAM_X87_FIP_WIDTH:
        return true;
    default:
        return false;
    }
}

// Xen's fixed swizzle of PCI INTx onto GSIs 16..47 for the emulated platform.
uint32_t pci_intx_gsi(uint32_t dev, uint32_t intx)
{
    return (((dev << 2) + (dev >> 3) + intx) & 31) + 16;
}

} // namespace

Domain::Domain(Platform& platform, DomainSetup setup)
    : m_platform(platform), m_setup(std::move(setup)), m_shared(m_setup.shared_info_page, m_setup.max_vcpus),
      m_evtchn(m_shared, m_setup.domid, m_setup.max_vcpus, m_setup.max_evtchn_port,
               { [this](uint32_t vcpu) { deliver_upcall(vcpu); }, [this](evtchn_port_t port) { wake_pollers(port); } },
               m_setup.emul_pin_virqs),
      m_timers(platform, m_setup.max_vcpus, [this](uint32_t vcpu) { m_evtchn.raise_virq(VIRQ_TIMER, vcpu); }),
      m_reservation(platform.physmap(),
                    { m_setup.ram_pages, m_setup.max_pages, m_setup.ram_backing, m_setup.max_extent_order })
{
    for (uint32_t i = 0; i < m_setup.max_vcpus; ++i)
        m_vcpus.push_back(std::make_unique<VcpuXenState>());
    m_vcpus[0]->initialised = true;
}

Result<uint64_t> Domain::get_param(uint32_t index) const
{
    if (index >= HVM_NR_PARAMS)
        return xen_fail(XEN_EINVAL, "HVM param {} out of range", index);
    std::lock_guard guard(m_lock);
    return m_params[index];
}

Status Domain::set_param(uint32_t index, uint64_t value, bool from_guest)
{
    if (index >= HVM_NR_PARAMS)
        return xen_fail(XEN_EINVAL, "HVM param {} out of range", index);
    if (from_guest && !guest_writable(index))
        return xen_fail(XEN_EPERM, "HVM param {} is not writable by the guest", index);
    std::lock_guard guard(m_lock);
    if (index == HVM_PARAM_CALLBACK_IRQ) {
        CallbackVia via;
        uint8_t type = static_cast<uint8_t>(value >> HVM_PARAM_CALLBACK_IRQ_TYPE_SHIFT);
        switch (type) {
        case HVM_PARAM_CALLBACK_TYPE_GSI: {
            uint64_t gsi = value & ((1ull << HVM_PARAM_CALLBACK_IRQ_TYPE_SHIFT) - 1);
            if (gsi >= 48)
                return xen_fail(XEN_EINVAL, "callback GSI {} out of range", gsi);
            via.kind = gsi ? CallbackVia::Kind::Gsi : CallbackVia::Kind::None;
            via.gsi = static_cast<uint32_t>(gsi);
            break;
        }
        case HVM_PARAM_CALLBACK_TYPE_PCI_INTX: {
            uint32_t devfn = (value >> 8) & 0xff;
            uint32_t intx = value & 3;
            if ((value >> 16) & 0xffffffffull)
                return xen_fail(XEN_EINVAL, "callback INTx on a bus or segment other than 0");
            via.kind = CallbackVia::Kind::PciIntx;
            via.gsi = pci_intx_gsi(devfn >> 3, intx);
            break;
        }
        case HVM_PARAM_CALLBACK_TYPE_VECTOR: {
            uint8_t vector = value & 0xff;
            if (vector < 0x10)
                return xen_fail(XEN_EINVAL, "callback vector {:#x} is reserved", vector);
            via.kind = CallbackVia::Kind::Vector;
            via.vector = vector;
            break;
        }
        default:
            return xen_fail(XEN_EINVAL, "unknown callback type {}", type);
        }
        m_via = via;
    }
    m_params[index] = value;
    return {};
}

std::optional<uint64_t> Domain::shared_info_gfn() const
{
    std::lock_guard guard(m_lock);
    return m_shared_info_gfn;
}

namespace {

// The one page at `gpa` as the physmap has it (part of a larger mapping, usually), if mapped.
std::optional<memory::Mapping> page_at(const memory::Physmap& pm, uint64_t gpa)
{
    for (const auto& m : pm.mappings())
        if (m.gpa <= gpa && gpa < m.end())
            return memory::Mapping { gpa, memory::kPageSize, m.offset + (gpa - m.gpa), m.prot };
    return std::nullopt;
}

} // namespace

Status Domain::map_shared_info(uint64_t gfn)
{
    uint64_t gpa = gfn << memory::kPageShift;
    if (gfn >= (1ull << 40))
        return xen_fail(XEN_EINVAL, "gfn {:#x} out of range", gfn);
    std::lock_guard guard(m_lock);
    if (m_shared_info_gfn == gfn)
        return {};
    auto& pm = physmap();
    // As in Xen, the page displaces whatever is at the new place. Unlike Xen, what it displaced at
    // the old place comes back when it leaves (RAM stays whole, the physmap does not fragment), and
    // a page that cannot be mapped at the new place leaves everything as it was.
    auto displaced = page_at(pm, gpa);
    if (displaced)
        TRY(pm.unmap(gpa, memory::kPageSize));
    if (auto r = pm.map(gpa, memory::kPageSize, m_setup.shared_info_offset); !r) {
        if (displaced)
            (void)pm.map(displaced->gpa, displaced->size, displaced->offset, displaced->prot);
        return xen_fail(XEN_ENOMEM, "shared_info at gfn {:#x}: {}", gfn, r.error().message);
    }
    if (m_shared_info_gfn) {
        uint64_t old = *m_shared_info_gfn << memory::kPageShift;
        if (auto r = pm.unmap(old, memory::kPageSize); !r)
            log::get("xen")->warn("shared_info left at {:#x}: {}", old, r.error().message);
        else if (const auto& was = m_shared_info_displaced; was)
            if (auto back = pm.map(old, memory::kPageSize, was->offset, was->prot); !back)
                log::get("xen")->warn("the page at {:#x} could not be put back: {}", old, back.error().message);
    }
    bool first = !m_shared_info_gfn;
    m_shared_info_gfn = gfn;
    m_shared_info_displaced = displaced;
    if (first) {
        update_wallclock();
        for (uint32_t v = 0; v < std::min<uint32_t>(m_setup.max_vcpus, XEN_LEGACY_MAX_VCPUS); ++v)
            if (!m_shared.vcpu_info_registered(v))
                update_vcpu_time(v);
    }
    return {};
}

void Domain::frame_removed(uint64_t gfn)
{
    std::lock_guard guard(m_lock);
    if (m_shared_info_gfn == gfn)
        m_shared_info_gfn.reset();
}

void Domain::update_vcpu_time(uint32_t vcpu)
{
    if (uint8_t* vi = m_shared.vcpu_info(vcpu))
        write_vcpu_time(vi, m_setup.tsc_at_boot, 0, m_setup.clock);
}

void Domain::update_wallclock()
{
    timespec real {};
    clock_gettime(CLOCK_REALTIME, &real);
    uint64_t now_ns = static_cast<uint64_t>(real.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(real.tv_nsec);
    uint64_t boot_ns = now_ns - std::min(now_ns, m_platform.system_time_ns());
    m_shared.update_wallclock(boot_ns / 1'000'000'000ull, static_cast<uint32_t>(boot_ns % 1'000'000'000ull));
}

Status Domain::register_vcpu_info(uint32_t vcpu, uint64_t gfn, uint32_t offset)
{
    if (vcpu >= m_setup.max_vcpus)
        return xen_fail(XEN_ENOENT, "vcpu {} does not exist", vcpu);
    // Xen 4.19's order (common/domain.c, common_vcpu_op then map_guest_area): first only whether
    // frame and offset make an address at all (the shift may not lose bits, the offset not leave the
    // frame, the sum not be all ones), then a second registration, and only then where it lies. So a
    // frame far above RAM is -EBUSY on a second call and -EINVAL (not RAM) on a first.
    const uint64_t gpa = (gfn << memory::kPageShift) + offset; // wraps as Xen's paddr_t does
    if (gpa == ~0ull || (gpa >> memory::kPageShift) != gfn)
        return xen_fail(XEN_EINVAL, "vcpu_info at gfn {:#x} offset {:#x} is no address", gfn, offset);
    if (m_shared.vcpu_info_registered(vcpu))
        return xen_fail(XEN_EBUSY, "vcpu {} has registered its vcpu_info already", vcpu);
    // The record may not cross a page and must be aligned to the guest's word.
    if ((gpa >> memory::kPageShift) != ((gpa + sizeof(struct vcpu_info) - 1) >> memory::kPageShift))
        return xen_fail(XEN_ENXIO, "vcpu_info at {:#x} would cross a page", gpa);
    if (gpa % (m_shared.is_32bit() ? 4 : 8))
        return xen_fail(XEN_ENXIO, "vcpu_info at {:#x} is not aligned", gpa);
    auto range = physmap().host_range(gpa, sizeof(struct vcpu_info), true);
    if (!range)
        return xen_fail(XEN_EINVAL, "vcpu_info at {:#x} is not guest RAM", gpa);
    uint8_t* host = *range;
    if (uint8_t* old = m_shared.vcpu_info(vcpu)) {
        std::memcpy(host, old, sizeof(struct vcpu_info));
    } else {
        std::memset(host, 0, sizeof(struct vcpu_info));
        host[offsetof(struct vcpu_info, evtchn_upcall_mask)] = 1;
    }
    m_shared.set_vcpu_info(vcpu, host);
    update_vcpu_time(vcpu);
    // Everything is marked pending so nothing raised meanwhile is lost; a spurious upcall is harmless.
    if (m_shared.is_32bit())
        __atomic_store_n(reinterpret_cast<uint32_t*>(host + offsetof(vcpu_info_compat32, evtchn_pending_sel)), ~0u, __ATOMIC_SEQ_CST);
    else
        __atomic_store_n(reinterpret_cast<uint64_t*>(host + offsetof(struct vcpu_info, evtchn_pending_sel)), ~0ull, __ATOMIC_SEQ_CST);
    if (!m_shared.test_and_set_upcall_pending(vcpu))
        deliver_upcall(vcpu);
    return {};
}

CallbackVia Domain::callback_via() const
{
    std::lock_guard guard(m_lock);
    return m_via;
}

void Domain::deliver_upcall(uint32_t vcpu)
{
    if (vcpu >= m_setup.max_vcpus)
        return;
    // Interrupt controllers wake a vCPU halted in the guest by themselves; only one blocked in
    // SCHEDOP_block/poll needs a kick to end its hypercall. The blocker sets `blocked` before it
    // looks at evtchn_upcall_pending, which was set before this runs: one of the two sees the other.
    auto kick_if_blocked = [&] {
        if (m_vcpus[vcpu]->blocked.load())
            m_platform.kick_vcpu(vcpu);
    };
    if (uint8_t vector = m_vcpus[vcpu]->upcall_vector.load()) {
        m_platform.lapic_vector(vcpu, vector);
        kick_if_blocked();
        return;
    }
    CallbackVia via = callback_via();
    switch (via.kind) {
    case CallbackVia::Kind::Vector:
        m_platform.kick_vcpu(vcpu); // injected by the VMM at the vCPU's next entry (direct_upcall_due)
        return;
    case CallbackVia::Kind::Gsi:
    case CallbackVia::Kind::PciIntx:
        // The line follows vCPU 0's upcall_pending, as Xen's does.
        if (vcpu == 0)
            m_platform.assert_callback_gsi(via.gsi);
        kick_if_blocked();
        return;
    case CallbackVia::Kind::None:
        kick_if_blocked();
        return;
    }
}

std::optional<uint8_t> Domain::direct_upcall_due(uint32_t vcpu) const
{
    if (vcpu >= m_setup.max_vcpus || m_vcpus[vcpu]->upcall_vector.load())
        return std::nullopt;
    CallbackVia via = callback_via();
    if (via.kind != CallbackVia::Kind::Vector)
        return std::nullopt;
    if (!m_shared.upcall_pending(vcpu))
        return std::nullopt;
    return via.vector;
}

bool Domain::begin_wait(uint32_t vcpu, std::vector<evtchn_port_t> poll_ports, uint64_t deadline_ns, bool poll)
{
    VcpuXenState& st = *m_vcpus.at(vcpu);
    uint64_t alarm = 0;
    if (poll && deadline_ns) {
        // If an event wakes the vCPU first, end_wait cancels this; a kick that comes anyway finds
        // nothing to do.
        Platform& platform = m_platform;
        alarm = platform.set_alarm(deadline_ns, [&platform, vcpu] { platform.kick_vcpu(vcpu); });
        if (!alarm)
            return false;
    }
    uint64_t stale;
    {
        std::lock_guard guard(st.poll_lock);
        st.polling = poll;
        st.poll_woken = false;
        st.poll_ports = std::move(poll_ports);
        st.poll_deadline_ns = deadline_ns;
        stale = std::exchange(st.poll_alarm, alarm);
    }
    if (stale)
        m_platform.cancel_alarm(stale);
    return true;
}

void Domain::end_wait(uint32_t vcpu)
{
    VcpuXenState& st = *m_vcpus.at(vcpu);
    uint64_t alarm;
    {
        std::lock_guard guard(st.poll_lock);
        st.polling = false;
        st.poll_ports.clear();
        st.poll_deadline_ns = 0;
        st.blocked = false;
        alarm = std::exchange(st.poll_alarm, 0);
    }
    // Outside the poll lock: the timer service takes its own lock, and its thread may be kicking
    // this vCPU right now.
    if (alarm)
        m_platform.cancel_alarm(alarm);
}

bool Domain::wake_condition(uint32_t vcpu)
{
    VcpuXenState& st = *m_vcpus.at(vcpu);
    std::vector<evtchn_port_t> ports;
    {
        std::lock_guard guard(st.poll_lock);
        if (!st.polling)
            return m_shared.upcall_pending(vcpu);
        if (st.poll_deadline_ns && m_platform.system_time_ns() >= st.poll_deadline_ns)
            return true;
        // Listed ports are asked directly: a wake-up for an earlier event, arriving after the guest
        // consumed it and polled again, must not end the new poll. A poll of no ports has nothing
        // to ask and takes any port's wake-up.
        if (st.poll_ports.empty())
            return st.poll_woken;
        ports = st.poll_ports;
    }
    return m_evtchn.any_pending(ports);
}

void Domain::wake_pollers(evtchn_port_t port)
{
    for (uint32_t v = 0; v < m_setup.max_vcpus; ++v) {
        VcpuXenState& st = *m_vcpus[v];
        bool wake;
        {
            std::lock_guard guard(st.poll_lock);
            wake = st.polling
                && (st.poll_ports.empty()
                    || std::find(st.poll_ports.begin(), st.poll_ports.end(), port) != st.poll_ports.end());
            st.poll_woken |= wake;
        }
        if (wake)
            m_platform.kick_vcpu(v);
    }
}

bool Domain::pin_routed_to_evtchn(uint32_t pin) const
{
    return m_setup.emul_pin_virqs && pin < VIRQ_EMUL_PIN_NUM && m_evtchn.global_virq_bound(VIRQ_EMUL_PIN_START + pin);
}

std::optional<unsigned> Domain::preset_shutdown_code() const
{
    int code = m_preset_shutdown_code.load();
    if (code < 0)
        return std::nullopt;
    return static_cast<unsigned>(code);
}

} // namespace xkvm::xen
