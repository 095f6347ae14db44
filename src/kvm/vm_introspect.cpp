// The KVM VM's side of introspection (issue 10): write limits as read-only memslots, the MSR
// filter for intercepted WRMSRs, and what KVM can report at all.
#include <algorithm>
#include <sys/ioctl.h>

#include "kvm/vm.h"

namespace xkvm::kvm {

namespace {
constexpr uint64_t kPage = 4096;
} // namespace

hv::IntrospectionCaps Vm::introspection_caps() const
{
    hv::IntrospectionCaps caps;
    caps.page_access = m_sys.has(KVM_CAP_READONLY_MEM) ? hv::kAccessWrite : 0;
    caps.breakpoints = caps.single_step = m_sys.has(KVM_CAP_SET_GUEST_DEBUG);
    caps.msr_writes = m_sys.has(KVM_CAP_X86_MSR_FILTER);
    return caps; // no CR or descriptor-table exits reach user space on KVM
}

Status Vm::set_page_access(memory::Gpa gpa, uint64_t size, uint8_t allowed)
{
    TRY(hv::check_page_access_request(m_physmap, gpa, size, allowed));
    if ((allowed & (hv::kAccessRead | hv::kAccessExec)) != (hv::kAccessRead | hv::kAccessExec))
        return fail(ENOSYS, "KVM can only take write access away (read and execute faults on RAM stay in the kernel)");
    if (!m_sys.has(KVM_CAP_READONLY_MEM))
        return fail(ENOSYS, "this KVM has no read-only memslots (KVM_CAP_READONLY_MEM), so no write limits");

    std::lock_guard guard(m_slot_lock);
    FrameRanges limits = m_write_limited;
    limits.assign(gpa / kPage, (gpa + size) / kPage, !(allowed & hv::kAccessWrite));
    // Every mapping the range touches is re-split; nothing changes unless all of them fit.
    std::vector<std::pair<memory::Mapping, uint8_t*>> touched;
    uint32_t freed = 0, needed = 0;
    for (const Slot& s : m_slots) {
        if (!s.used || s.mapping.end() <= gpa || s.mapping.gpa >= gpa + size)
            continue;
        ++freed;
        if (std::find_if(touched.begin(), touched.end(), [&](auto& t) { return t.first == s.mapping; }) == touched.end())
            touched.emplace_back(s.mapping, s.host);
    }
    for (const auto& [m, host] : touched)
        needed += static_cast<uint32_t>(split_by_write_limits(m.gpa, m.size, m.prot == memory::Protection::ReadOnly, limits).size());
    if (needed > free_slots_locked() + freed)
        return fail(ENOSPC, "limiting {:#x}+{:#x} needs {} memslots; KVM has {} free", gpa, size, needed, free_slots_locked() + freed);

    m_gate.close(); // no vCPU may run into the moment between a slot's delete and its re-create
    Status st;
    for (const auto& [m, host] : touched) {
        drop_slots_locked(m);
        if (st)
            st = add_slots_locked(m, host, limits);
    }
    m_gate.open();
    TRY(st);
    m_write_limited = std::move(limits);
    return {};
}

bool Vm::write_limited(uint64_t gpa)
{
    std::lock_guard guard(m_slot_lock);
    if (!m_write_limited.contains(gpa / kPage))
        return false;
    // A write to ROM exits as MMIO whatever the limits say: there is no RAM to complete it into.
    for (const Slot& s : m_slots)
        if (s.used && s.piece.gpa <= gpa && gpa - s.piece.gpa < s.piece.size)
            return s.mapping.prot != memory::Protection::ReadOnly;
    return false;
}

Status Vm::write_ram(uint64_t gpa, std::span<const uint8_t> data)
{
    if (!m_physmap)
        return fail(EINVAL, "no guest memory to write {:#x}", gpa);
    return m_physmap->write(gpa, data);
}

Status Vm::set_msr_intercepts(const Vcpu* vcpu, std::span<const uint32_t> msrs)
{
    if (!msrs.empty() && !m_sys.has(KVM_CAP_X86_MSR_FILTER))
        return fail(ENOSYS, "this KVM has no MSR filter (KVM_CAP_X86_MSR_FILTER), so no WRMSR intercepts");
    std::lock_guard guard(m_vcpus_lock);
    std::vector<uint32_t> all(msrs.begin(), msrs.end());
    for (const auto& [other, list] : m_msr_intercepts)
        if (other != vcpu)
            all.insert(all.end(), list.begin(), list.end());
    std::vector<MsrWriteRange> ranges = TRY(plan_msr_write_filter(all));
    if (m_sys.has(KVM_CAP_X86_MSR_FILTER)) {
        kvm_msr_filter filter {};
        filter.flags = KVM_MSR_FILTER_DEFAULT_ALLOW;
        for (size_t i = 0; i < ranges.size(); ++i) {
            filter.ranges[i].flags = KVM_MSR_FILTER_WRITE;
            filter.ranges[i].base = ranges[i].base;
            filter.ranges[i].nmsrs = ranges[i].nmsrs;
            filter.ranges[i].bitmap = ranges[i].bitmap.data();
        }
        if (::ioctl(m_fd.get(), KVM_X86_SET_MSR_FILTER, &filter) < 0)
            return make_unexpected(Error::from_errno("KVM_X86_SET_MSR_FILTER"));
    }
    m_msr_intercepts[vcpu].assign(msrs.begin(), msrs.end());
    return {};
}

} // namespace xkvm::kvm
