// Writes the seed corpus of hypercall_fuzz: one small program per hypercall family (and a few that
// chain families), each reaching the family's success paths and some of its refusals, built with the
// ABI's own structures so the layouts are right. Run by hand after changing the input format:
//   build-fuzz/fuzz/hypercall_seeds fuzz/corpus/hypercall_fuzz
#include <cstdio>
#include <fstream>
#include <string>

#include "hypercall_input.h"
#include "xen/abi/compat32.h"
#include "xen/abi/event_channel.h"
#include "xen/abi/hvm.h"
#include "xen/abi/memory.h"
#include "xen/abi/sched.h"
#include "xen/abi/vcpu.h"
#include "xen/abi/version.h"

using namespace xkvm::fuzz;
using P = Program;

namespace {

constexpr uint64_t kBad = 0x7fff0000000ull; // far outside guest RAM

P xen_version()
{
    P p;
    p.call(XEN_HYPERCALL_xen_version, { P::imm(XENVER_version) });
    for (unsigned cmd : { XENVER_extraversion, XENVER_compile_info, XENVER_capabilities, XENVER_changeset,
                          XENVER_platform_parameters, XENVER_guest_handle, XENVER_commandline })
        p.call(XEN_HYPERCALL_xen_version, { P::imm(cmd), P::window(1, 8 * cmd) });
    p.put(2, 0, xen_feature_info { 0, 0 }).call(XEN_HYPERCALL_xen_version, { P::imm(XENVER_get_features), P::window(2) });
    p.put(2, 0, xen_feature_info { 9, 0 }).call(XEN_HYPERCALL_xen_version, { P::imm(XENVER_get_features), P::window(2) });
    p.call(XEN_HYPERCALL_xen_version, { P::imm(XENVER_pagesize) });
    p.call(XEN_HYPERCALL_xen_version, { P::imm(XENVER_build_id), P::window(1) });
    p.call(XEN_HYPERCALL_xen_version, { P::imm(XENVER_capabilities), P::ram_end(100) });
    p.call(XEN_HYPERCALL_xen_version, { P::imm(XENVER_extraversion), P::imm(kBad) });
    p.call(XEN_HYPERCALL_xen_version, { P::imm(XENVER_changeset), P::imm(kReadOnlyPage - 8) }); // runs into read-only
    p.call32(XEN_HYPERCALL_xen_version, { P::imm(XENVER_platform_parameters), P::window(3) });
    p.call(XEN_HYPERCALL_xen_version, { P::imm(77) });
    return p;
}

P console_io()
{
    const char msg[] = "seed console line\n";
    P p;
    p.write(0, 0x100, std::span(reinterpret_cast<const uint8_t*>(msg), sizeof(msg) - 1));
    p.call(XEN_HYPERCALL_console_io, { P::imm(CONSOLEIO_write), P::imm(sizeof(msg) - 1), P::window(0, 0x100) });
    p.call32(XEN_HYPERCALL_console_io, { P::imm(CONSOLEIO_write), P::imm(sizeof(msg) - 1), P::window(0, 0x100) });
    p.call(XEN_HYPERCALL_console_io, { P::imm(CONSOLEIO_read), P::imm(16), P::window(0) });
    p.call(XEN_HYPERCALL_console_io, { P::imm(CONSOLEIO_write), P::imm(0xffffffff), P::ram_end(8) });
    p.call(XEN_HYPERCALL_console_io, { P::imm(CONSOLEIO_write), P::imm(64), P::imm(kReadOnlyPage - 32) }); // reads on into the read-only page
    p.call(XEN_HYPERCALL_console_io, { P::imm(9) });
    return p;
}

P sched_op()
{
    P p(0x01); // two vCPUs
    p.call(XEN_HYPERCALL_sched_op, { P::imm(SCHEDOP_yield) });
    p.put(0, 0, sched_shutdown { SHUTDOWN_crash }).call(XEN_HYPERCALL_sched_op, { P::imm(SCHEDOP_shutdown_code), P::window(0) });
    p.put(0, 0, sched_shutdown { SHUTDOWN_reboot }).call(XEN_HYPERCALL_sched_op, { P::imm(SCHEDOP_shutdown), P::window(0) });
    p.put(0, 0, sched_shutdown { 42 }).call(XEN_HYPERCALL_sched_op, { P::imm(SCHEDOP_shutdown), P::window(0) });
    p.call(XEN_HYPERCALL_sched_op, { P::imm(SCHEDOP_block) });
    // poll on two ports with a deadline, then let the clock pass it
    evtchn_port_t ports[2] = { 1, 2 };
    p.put(1, 0, ports);
    sched_poll poll {};
    poll.ports = reinterpret_cast<evtchn_port_t*>(window_address(1, 0));
    poll.nr_ports = 2;
    poll.timeout = 5'000'000;
    p.put(2, 0, poll).call(XEN_HYPERCALL_sched_op, { P::imm(SCHEDOP_poll), P::window(2) });
    p.advance(20, 10);
    sched_poll_compat32 poll32 { static_cast<uint32_t>(window_address(1, 0)), 200, 0 };
    p.put(3, 0, poll32).call32(XEN_HYPERCALL_sched_op, { P::imm(SCHEDOP_poll), P::window(3) });
    p.put(0, 0, sched_remote_shutdown { 0, SHUTDOWN_poweroff })
        .call(XEN_HYPERCALL_sched_op, { P::imm(SCHEDOP_remote_shutdown), P::window(0) });
    p.call(XEN_HYPERCALL_sched_op, { P::imm(SCHEDOP_watchdog), P::window(0) });
    return p;
}

P hvm_op()
{
    P p(0x05); // HVM, two vCPUs
    xen_hvm_param param { DOMID_SELF, HVM_PARAM_CALLBACK_IRQ, (uint64_t(HVM_PARAM_CALLBACK_TYPE_VECTOR) << 56) | 0xf3 };
    p.put(0, 0, param).call(XEN_HYPERCALL_hvm_op, { P::imm(HVMOP_set_param), P::window(0) });
    param = { DOMID_SELF, HVM_PARAM_CALLBACK_IRQ, (uint64_t(HVM_PARAM_CALLBACK_TYPE_PCI_INTX) << 56) | (3 << 11) | 1 };
    p.put(0, 0, param).call32(XEN_HYPERCALL_hvm_op, { P::imm(HVMOP_set_param), P::window(0) });
    param = { DOMID_SELF, HVM_PARAM_CALLBACK_IRQ, 9 };
    p.put(0, 0, param).call(XEN_HYPERCALL_hvm_op, { P::imm(HVMOP_set_param), P::window(0) });
    param = { DOMID_SELF, HVM_PARAM_STORE_PFN, 0x1234 };
    p.put(0, 0, param).call(XEN_HYPERCALL_hvm_op, { P::imm(HVMOP_set_param), P::window(0) });
    param = { 3, HVM_PARAM_STORE_EVTCHN, 0 };
    p.put(0, 0, param).call(XEN_HYPERCALL_hvm_op, { P::imm(HVMOP_get_param), P::window(0) });
    param = { DOMID_SELF, HVM_NR_PARAMS, 0 };
    p.put(0, 0, param).call(XEN_HYPERCALL_hvm_op, { P::imm(HVMOP_get_param), P::window(0) });
    param = { DOMID_SELF, HVM_PARAM_STORE_EVTCHN, 0 };
    p.put(0, 0, param).call(XEN_HYPERCALL_hvm_op, { P::imm(HVMOP_get_param), P::window(0) });
    p.put(1, 0, xen_hvm_evtchn_upcall_vector { 1, 0xe0 })
        .call(XEN_HYPERCALL_hvm_op, { P::imm(HVMOP_set_evtchn_upcall_vector), P::window(1) });
    p.put(1, 0, xen_hvm_evtchn_upcall_vector { 0, 0x02 })
        .call(XEN_HYPERCALL_hvm_op, { P::imm(HVMOP_set_evtchn_upcall_vector), P::window(1) });
    p.call(XEN_HYPERCALL_hvm_op, { P::imm(HVMOP_get_time), P::window(2) });
    p.call(XEN_HYPERCALL_hvm_op, { P::imm(HVMOP_get_time), P::imm(kBad) });
    p.call(XEN_HYPERCALL_hvm_op, { P::imm(HVMOP_altp2m), P::window(2) });
    return p;
}

P memory_op()
{
    P p;
    xen_add_to_physmap atp {};
    atp.domid = DOMID_SELF;
    atp.space = XENMAPSPACE_shared_info;
    atp.gpfn = window_address(5, 0) >> 12;
    p.put(0, 0, atp).call(XEN_HYPERCALL_memory_op, { P::imm(XENMEM_add_to_physmap), P::window(0) });
    // the page moves: over the read-only page, then back into RAM from a 32-bit caller
    atp.gpfn = 0xa0;
    p.put(0, 0, atp).call(XEN_HYPERCALL_memory_op, { P::imm(XENMEM_add_to_physmap), P::window(0) });
    xen_add_to_physmap_compat32 atp32 { DOMID_SELF, 0, XENMAPSPACE_shared_info, 0, 0x150 };
    p.put(0, 0, atp32).call32(XEN_HYPERCALL_memory_op, { P::imm(XENMEM_add_to_physmap), P::window(0) });
    atp.space = XENMAPSPACE_gmfn;
    p.put(0, 0, atp).call(XEN_HYPERCALL_memory_op, { P::imm(XENMEM_add_to_physmap), P::window(0) });
    xen_memory_map map { 8, reinterpret_cast<void*>(window_address(1, 0)) };
    p.put(2, 0, map).call(XEN_HYPERCALL_memory_op, { P::imm(XENMEM_memory_map), P::window(2) });
    xen_memory_map_compat32 map32 { 2, static_cast<uint32_t>(window_address(1, 0)) };
    p.put(2, 0, map32).call32(XEN_HYPERCALL_memory_op, { P::imm(XENMEM_memory_map), P::window(2) });
    map = { 8, reinterpret_cast<void*>(kRamBytes - 16) };
    p.put(2, 0, map).call(XEN_HYPERCALL_memory_op, { P::imm(XENMEM_memory_map), P::window(2) });
    domid_t self = DOMID_SELF, other = 1;
    p.put(3, 0, self).put(3, 8, other);
    for (unsigned cmd : { XENMEM_current_reservation, XENMEM_maximum_reservation, XENMEM_maximum_gpfn }) {
        p.call(XEN_HYPERCALL_memory_op, { P::imm(cmd), P::window(3) });
        p.call(XEN_HYPERCALL_memory_op, { P::imm(cmd), P::window(3, 8) });
    }
    p.call(XEN_HYPERCALL_memory_op, { P::imm(XENMEM_current_reservation | (5 << 6)), P::window(3) });
    p.call(XEN_HYPERCALL_memory_op, { P::imm(XENMEM_populate_physmap), P::window(3) });
    return p;
}

P vcpu_op()
{
    P p(0x03); // four vCPUs
    p.call(XEN_HYPERCALL_vcpu_op, { P::imm(VCPUOP_is_up), P::imm(0) });
    p.call(XEN_HYPERCALL_vcpu_op, { P::imm(VCPUOP_is_up), P::imm(9) });
    p.call(XEN_HYPERCALL_vcpu_op, { P::imm(VCPUOP_up), P::imm(1) }); // no start state yet
    vcpu_hvm_context c {};
    c.mode = VCPU_HVM_MODE_32B;
    auto& r = c.cpu_regs.x86_32;
    r.eip = 0x1000;
    r.cr0 = 0x11;
    r.cs_limit = r.ds_limit = r.ss_limit = r.es_limit = 0xffffffff;
    r.cs_ar = 0xc9b;
    r.ds_ar = r.ss_ar = r.es_ar = 0xc93;
    p.put(1, 0, c).call(XEN_HYPERCALL_vcpu_op, { P::imm(VCPUOP_initialise), P::imm(1), P::window(1) });
    p.call(XEN_HYPERCALL_vcpu_op, { P::imm(VCPUOP_initialise), P::imm(1), P::window(1) }); // twice: EEXIST
    p.call(XEN_HYPERCALL_vcpu_op, { P::imm(VCPUOP_up), P::imm(1) });
    p.call(XEN_HYPERCALL_vcpu_op, { P::imm(VCPUOP_down), P::imm(1) });
    c = {};
    c.mode = VCPU_HVM_MODE_64B;
    c.cpu_regs.x86_64.cr0 = 0x80000011;
    c.cpu_regs.x86_64.cr4 = 0x20;
    c.cpu_regs.x86_64.efer = 0x500;
    c.cpu_regs.x86_64.cr3 = window_address(4, 0);
    p.put(2, 0, c).call(XEN_HYPERCALL_vcpu_op, { P::imm(VCPUOP_initialise), P::imm(2), P::window(2) });
    p.put(0, 0, vcpu_register_vcpu_info { window_address(3, 0) >> 12, 64, 0 })
        .call(XEN_HYPERCALL_vcpu_op, { P::imm(VCPUOP_register_vcpu_info), P::imm(0), P::window(0) });
    p.put(0, 0, vcpu_register_vcpu_info { window_address(3, 0) >> 12, 4090, 0 })
        .call(XEN_HYPERCALL_vcpu_op, { P::imm(VCPUOP_register_vcpu_info), P::imm(1), P::window(0) });
    p.put(0, 0, vcpu_set_periodic_timer { 2'000'000 })
        .call(XEN_HYPERCALL_vcpu_op, { P::imm(VCPUOP_set_periodic_timer), P::imm(0), P::window(0) });
    p.put(0, 0, vcpu_set_singleshot_timer { 3'000'000, VCPU_SSHOTTMR_future, })
        .call(XEN_HYPERCALL_vcpu_op, { P::imm(VCPUOP_set_singleshot_timer), P::imm(0), P::window(0) });
    p.call(XEN_HYPERCALL_vcpu_op, { P::imm(VCPUOP_set_singleshot_timer), P::imm(1), P::window(0) }); // not its own
    p.advance(20, 8);
    p.call(XEN_HYPERCALL_vcpu_op, { P::imm(VCPUOP_stop_periodic_timer), P::imm(0) });
    p.call(XEN_HYPERCALL_vcpu_op, { P::imm(VCPUOP_stop_singleshot_timer), P::imm(0) });
    p.call(XEN_HYPERCALL_vcpu_op, { P::imm(VCPUOP_get_physid), P::imm(0), P::window(0) });
    return p;
}

P set_timer_op()
{
    P p(0x01);
    p.call(XEN_HYPERCALL_set_timer_op, { P::imm(4'000'000) });
    p.hypercall(XEN_HYPERCALL_set_timer_op, flags_of(false, 0, 1), 0, { P::imm(2'000'000), P::imm(0) });
    p.advance(0, 0xffff).advance(22, 1);
    p.call(XEN_HYPERCALL_set_timer_op, { P::imm(1) }); // already due: fires now
    p.call(XEN_HYPERCALL_set_timer_op, { P::imm(0) });
    return p;
}

P event_channel_op()
{
    P p(0x11); // two vCPUs, 63 ports
    evtchn_alloc_unbound au { DOMID_SELF, 0, 0 };
    p.put(0, 0, au).call(XEN_HYPERCALL_event_channel_op, { P::imm(EVTCHNOP_alloc_unbound), P::window(0) });
    p.put(0, 0x40, evtchn_bind_virq { VIRQ_TIMER, 1, 0 })
        .call(XEN_HYPERCALL_event_channel_op, { P::imm(EVTCHNOP_bind_virq), P::window(0, 0x40) });
    p.put(0, 0x40, evtchn_bind_virq { VIRQ_DOM_EXC, 0, 0 })
        .call(XEN_HYPERCALL_event_channel_op, { P::imm(EVTCHNOP_bind_virq), P::window(0, 0x40) });
    p.put(0, 0x80, evtchn_bind_ipi { 1, 0 }).call(XEN_HYPERCALL_event_channel_op, { P::imm(EVTCHNOP_bind_ipi), P::window(0, 0x80) });
    p.put(0, 0xc0, evtchn_bind_interdomain { DOMID_SELF, 1, 0 })
        .call(XEN_HYPERCALL_event_channel_op, { P::imm(EVTCHNOP_bind_interdomain), P::window(0, 0xc0) });
    p.put(0, 0xc0, evtchn_bind_interdomain { 9, 1, 0 })
        .call(XEN_HYPERCALL_event_channel_op, { P::imm(EVTCHNOP_bind_interdomain), P::window(0, 0xc0) });
    for (evtchn_port_t port : { 1u, 3u, 4u, 60u }) {
        p.put(1, 0, evtchn_send { port }).call(XEN_HYPERCALL_event_channel_op, { P::imm(EVTCHNOP_send), P::window(1) });
        evtchn_status st {};
        st.dom = DOMID_SELF;
        st.port = port;
        p.put(2, 0, st).call(XEN_HYPERCALL_event_channel_op, { P::imm(EVTCHNOP_status), P::window(2) });
        p.call(XEN_HYPERCALL_event_channel_op, { P::imm(EVTCHNOP_unmask), P::window(1) });
    }
    p.put(1, 0x10, evtchn_bind_vcpu { 1, 1 }).call(XEN_HYPERCALL_event_channel_op, { P::imm(EVTCHNOP_bind_vcpu), P::window(1, 0x10) });
    p.raise_virq(VIRQ_TIMER, 1).raise_virq(VIRQ_DOM_EXC, 0).raise_port(2).backend(7);
    p.put(1, 0x20, evtchn_close { 2 }).call(XEN_HYPERCALL_event_channel_op, { P::imm(EVTCHNOP_close), P::window(1, 0x20) });
    p.put(1, 0x30, evtchn_reset { DOMID_SELF }).call(XEN_HYPERCALL_event_channel_op, { P::imm(EVTCHNOP_reset), P::window(1, 0x30) });
    p.call(XEN_HYPERCALL_event_channel_op, { P::imm(EVTCHNOP_init_control), P::window(1) });
    return p;
}

// shared_info mapped, vcpu_info moved, a timer VIRQ bound with a callback vector: the timer firing
// goes all the way to an upcall.
P upcall_chain()
{
    P p(0x05);
    xen_add_to_physmap atp {};
    atp.domid = DOMID_SELF;
    atp.space = XENMAPSPACE_shared_info;
    atp.gpfn = window_address(6, 0) >> 12;
    p.put(0, 0, atp).call(XEN_HYPERCALL_memory_op, { P::imm(XENMEM_add_to_physmap), P::window(0) });
    xen_hvm_param param { DOMID_SELF, HVM_PARAM_CALLBACK_IRQ, (uint64_t(HVM_PARAM_CALLBACK_TYPE_VECTOR) << 56) | 0xf3 };
    p.put(0, 0x40, param).call(XEN_HYPERCALL_hvm_op, { P::imm(HVMOP_set_param), P::window(0, 0x40) });
    p.put(0, 0x80, vcpu_register_vcpu_info { window_address(7, 0) >> 12, 0, 0 })
        .call(XEN_HYPERCALL_vcpu_op, { P::imm(VCPUOP_register_vcpu_info), P::imm(1), P::window(0, 0x80) });
    p.put(0, 0xc0, evtchn_bind_virq { VIRQ_TIMER, 0, 0 })
        .call(XEN_HYPERCALL_event_channel_op, { P::imm(EVTCHNOP_bind_virq), P::window(0, 0xc0) });
    p.call(XEN_HYPERCALL_set_timer_op, { P::imm(3'000'000) });
    p.advance(21, 1);
    // the guest scribbles on shared_info's mask words, then unmasks through Xen
    uint8_t junk[16];
    for (unsigned i = 0; i < sizeof(junk); ++i)
        junk[i] = static_cast<uint8_t>(0x5d * i);
    p.write(6, 0x800, junk);
    p.put(1, 0, evtchn_unmask { 1 }).call(XEN_HYPERCALL_event_channel_op, { P::imm(EVTCHNOP_unmask), P::window(1) });
    p.call(XEN_HYPERCALL_sched_op, { P::imm(SCHEDOP_block) });
    p.call(XEN_HYPERCALL_xen_version, { P::imm(XENVER_get_features), P::shared_info(0x10) });
    return p;
}

// Hypercall arguments behind guest page tables: 4-level and PAE tables in the window identity-map
// the first 2 MiB with a large page; a user-mode caller and a wrapping 32-bit buffer are refused.
P paged()
{
    P p;
    uint64_t pml4e = window_address(1, 0) | 3, pdpte = window_address(2, 0) | 3, pde = 0x83;
    p.put(0, 0, pml4e).put(1, 0, pdpte).put(2, 0, pde);
    p.put(4, 0, xen_feature_info { 0, 0 });
    p.hypercall(XEN_HYPERCALL_xen_version, flags_of(true), paging_of(Paging::Level4, kPagingWp | kPagingNx),
                { P::imm(XENVER_get_features), P::window(4) });
    p.hypercall(XEN_HYPERCALL_xen_version, flags_of(true), paging_of(Paging::Level5),
                { P::imm(XENVER_get_features), P::window(4) });
    // PAE starts at the 4-level PDPT (page 1); 32-bit paging has its own directory in page 3
    p.hypercall(XEN_HYPERCALL_xen_version, flags_of(false), paging_of(Paging::Pae, 0, 1),
                { P::imm(XENVER_capabilities), P::window(5) });
    uint32_t pde32 = 0x83;
    p.put(3, 0, pde32);
    p.hypercall(XEN_HYPERCALL_xen_version, flags_of(false), paging_of(Paging::Bits32, kPagingPse, 3),
                { P::imm(XENVER_extraversion), P::window(5) });
    p.hypercall(XEN_HYPERCALL_console_io, flags_of(false), 0, { P::imm(CONSOLEIO_write), P::imm(32), P::imm(0xfffffff0) });
    p.hypercall(XEN_HYPERCALL_xen_version, flags_of(true, 3), 0, { P::imm(XENVER_version) });
    p.hypercall(XEN_HYPERCALL_mmu_update, flags_of(true), 0, { P::window(0) });
    p.hypercall(200, flags_of(false, 1), 0, {});
    return p;
}

// Deadlines near, far and already past on the VMM's timer thread: single-shot, periodic, set_timer_op
// and poll timeouts of ~0 (which once turned into negative host delays and spun a host CPU).
P deadlines()
{
    P p(0x01);
    for (uint64_t deadline : { ~0ull, 1ull, 1ull << 62, 2'000'000ull, ~0ull >> 1 }) {
        p.put(0, 0, vcpu_set_singleshot_timer { deadline, 0 })
            .call(XEN_HYPERCALL_vcpu_op, { P::imm(VCPUOP_set_singleshot_timer), P::imm(0), P::window(0) });
        p.call(XEN_HYPERCALL_set_timer_op, { P::imm(deadline) });
    }
    p.put(0, 0x40, vcpu_set_periodic_timer { 1'000'000 })
        .call(XEN_HYPERCALL_vcpu_op, { P::imm(VCPUOP_set_periodic_timer), P::imm(0), P::window(0, 0x40) });
    evtchn_port_t port = 1;
    p.put(1, 0, port);
    for (uint64_t timeout : { ~0ull, 1ull, 3'000'000ull }) {
        sched_poll poll {};
        poll.ports = reinterpret_cast<evtchn_port_t*>(window_address(1, 0));
        poll.nr_ports = 1;
        poll.timeout = timeout;
        p.put(2, 0, poll).call(XEN_HYPERCALL_sched_op, { P::imm(SCHEDOP_poll), P::window(2) });
        p.advance(40, 0xffff);
    }
    return p;
}

// Channels to a peer domain through the brokers, both ways, with the ports each side got.
P interdomain()
{
    P p(0x01 | kSetupPeer);
    p.put(0, 0, evtchn_alloc_unbound { DOMID_SELF, kPeerDomid, 0 })
        .call(XEN_HYPERCALL_event_channel_op, { P::imm(EVTCHNOP_alloc_unbound), P::window(0) }); // ours #0
    p.peer(PeerOp::BindInterdomain, 0);                                                          // peer #1
    p.port_write(1, 0, 0).call(XEN_HYPERCALL_event_channel_op, { P::imm(EVTCHNOP_send), P::window(1) });
    p.peer(PeerOp::Send, 1).peer(PeerOp::AllocUnbound);                                          // peer #3
    p.put(0, 0x40, evtchn_bind_interdomain { kPeerDomid, 0, 0 }).port_write(0, 0x44, 3)
        .call(XEN_HYPERCALL_event_channel_op, { P::imm(EVTCHNOP_bind_interdomain), P::window(0, 0x40) }); // ours #2
    p.port_write(1, 0, 2).call(XEN_HYPERCALL_event_channel_op, { P::imm(EVTCHNOP_send), P::window(1) });
    p.peer(PeerOp::Send, 3);
    sched_poll poll {};
    poll.ports = reinterpret_cast<evtchn_port_t*>(window_address(1, 0));
    poll.nr_ports = 1;
    poll.timeout = 1ull << 40;
    p.put(2, 0, poll).call(XEN_HYPERCALL_sched_op, { P::imm(SCHEDOP_poll), P::window(2) });
    p.put(0, 0x80, evtchn_status { DOMID_SELF, 0, 0, 0, {} }).port_write(0, 0x84, 2)
        .call(XEN_HYPERCALL_event_channel_op, { P::imm(EVTCHNOP_status), P::window(0, 0x80) });
    p.put(0, 0xc0, evtchn_bind_interdomain { 9, 1, 0 })
        .call(XEN_HYPERCALL_event_channel_op, { P::imm(EVTCHNOP_bind_interdomain), P::window(0, 0xc0) });
    p.peer(PeerOp::Close, 1).port_write(1, 0, 0).call(XEN_HYPERCALL_event_channel_op, { P::imm(EVTCHNOP_close), P::window(1) });
    p.peer(PeerOp::Gone);
    return p;
}

// Two vCPU threads at once: one binds, sends and polls while the other sets timers and closes.
P race(uint8_t setup)
{
    P first, second;
    first.put(0, 0, evtchn_bind_ipi { 0, 0 }).call(XEN_HYPERCALL_event_channel_op, { P::imm(EVTCHNOP_bind_ipi), P::window(0) });
    first.port_write(1, 0, 0).call(XEN_HYPERCALL_event_channel_op, { P::imm(EVTCHNOP_send), P::window(1) });
    first.call(XEN_HYPERCALL_set_timer_op, { P::imm(1'500'000) });
    first.call(XEN_HYPERCALL_sched_op, { P::imm(SCHEDOP_block) });
    second.put(4, 0, vcpu_set_periodic_timer { 1'000'000 })
        .hypercall(XEN_HYPERCALL_vcpu_op, flags_of(true, 0, 1), 0, { P::imm(VCPUOP_set_periodic_timer), P::imm(1), P::window(4) });
    second.put(5, 0, evtchn_bind_virq { VIRQ_TIMER, 1, 0 })
        .hypercall(XEN_HYPERCALL_event_channel_op, flags_of(true, 0, 1), 0, { P::imm(EVTCHNOP_bind_virq), P::window(5) });
    second.port_write(6, 0, 0).hypercall(XEN_HYPERCALL_event_channel_op, flags_of(true, 0, 1), 0,
                                         { P::imm(EVTCHNOP_close), P::window(6) });
    second.peer(PeerOp::AllocUnbound).peer(PeerOp::BindInterdomain, 0);
    P p(setup);
    auto a = first.bytes(), b = second.bytes();
    p.split_at(static_cast<uint16_t>(a.size() - 1));
    auto out = p.bytes();
    out.insert(out.end(), a.begin() + 1, a.end()); // without their setup bytes
    out.insert(out.end(), b.begin() + 1, b.end());
    return P::from(out);
}

bool write_seed(const std::string& dir, const std::string& name, const P& p)
{
    std::ofstream out(dir + "/" + name, std::ios::binary);
    out.write(reinterpret_cast<const char*>(p.bytes().data()), static_cast<std::streamsize>(p.bytes().size()));
    return static_cast<bool>(out.flush());
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: hypercall_seeds <corpus directory>\n");
        return 2;
    }
    const std::pair<const char*, P> seeds[] = {
        { "xen_version", xen_version() }, { "console_io", console_io() }, { "sched_op", sched_op() },
        { "hvm_op", hvm_op() },           { "memory_op", memory_op() },   { "vcpu_op", vcpu_op() },
        { "set_timer_op", set_timer_op() }, { "event_channel_op", event_channel_op() },
        { "upcall_chain", upcall_chain() }, { "paged", paged() },
        { "deadlines", deadlines() }, { "interdomain", interdomain() },
        { "race", race(0x01 | kSetupRace) }, { "race_peer", race(0x03 | kSetupRace | kSetupPeer) },
    };
    for (const auto& [name, p] : seeds) {
        if (!write_seed(argv[1], name, p)) {
            std::fprintf(stderr, "hypercall_seeds: cannot write %s/%s\n", argv[1], name);
            return 1;
        }
    }
    return 0;
}
