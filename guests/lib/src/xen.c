/* Finding Xen through CPUID, the hypercall page, and small helpers over common hypercalls. */
#include "guest/guest.h"

struct xen_info xen_info;

bool xen_detect(void)
{
    for (uint32_t base = XEN_CPUID_FIRST_LEAF; base < XEN_CPUID_FIRST_LEAF + 0x10000; base += 0x100) {
        struct cpuid_regs r = cpuid(base, 0);
        if (r.ebx != XEN_CPUID_SIGNATURE_EBX || r.ecx != XEN_CPUID_SIGNATURE_ECX ||
            r.edx != XEN_CPUID_SIGNATURE_EDX || r.eax < base + 2)
            continue;
        xen_info.present = true;
        xen_info.cpuid_base = base;
        xen_info.cpuid_max_leaf = r.eax;
        xen_info.cpuid_version = cpuid(base + 1, 0).eax;
        struct cpuid_regs hc = cpuid(base + 2, 0);
        xen_info.hypercall_pages = hc.eax;
        xen_info.hypercall_msr = hc.ebx;
        if (r.eax >= base + 4) {
            struct cpuid_regs hvm = cpuid(base + 4, 0);
            xen_info.hvm_features = hvm.eax;
            if (hvm.eax & XEN_HVM_CPUID_VCPU_ID_PRESENT)
                xen_info.vcpu_id = hvm.ebx;
            if (hvm.eax & XEN_HVM_CPUID_DOMID_PRESENT)
                xen_info.domid = hvm.ecx;
        }
        return true;
    }
    return false;
}

int xen_setup_hypercall_page(void)
{
    if (!xen_info.present && !xen_detect())
        return -XEN_ENODEV;
    /* The VMM fills the page during the WRMSR exit. To tell, put the -ENOSYS placeholder back into the
     * first stub (it may hold Xen's from an earlier call) and see whether it changes. */
    static uint8_t placeholder[XEN_HYPERCALL_STUB_SIZE];
    static bool captured;
    if (!captured) {
        memcpy(placeholder, xen_hypercall_page, sizeof(placeholder));
        captured = true;
    }
    memcpy(xen_hypercall_page, placeholder, sizeof(placeholder));
    wrmsr(xen_info.hypercall_msr, (uint64_t)(uintptr_t)xen_hypercall_page);
    xen_info.hypercalls_ready = memcmp(placeholder, xen_hypercall_page, sizeof(placeholder)) != 0;
    return xen_info.hypercalls_ready ? 0 : -XEN_EIO;
}

long xen_hypercall(unsigned nr, unsigned long a1, unsigned long a2, unsigned long a3, unsigned long a4,
                   unsigned long a5)
{
    if (nr >= XEN_HYPERCALL_COUNT)
        return -XEN_ENOSYS;
    unsigned long target = (unsigned long)xen_hypercall_page + nr * XEN_HYPERCALL_STUB_SIZE;
    long ret;
#if defined(__x86_64__)
    register unsigned long r10 __asm__("r10") = a4;
    register unsigned long r8 __asm__("r8") = a5;
    __asm__ volatile("call *%[t]"
                     : "=a"(ret), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8)
                     : [t] "r"(target)
                     : "rcx", "r9", "r11", "memory", "cc");
#else
    __asm__ volatile("call *%%eax"
                     : "=a"(ret), "+b"(a1), "+c"(a2), "+d"(a3), "+S"(a4), "+D"(a5)
                     : "a"(target)
                     : "memory", "cc");
#endif
    return ret;
}

const char* xen_strerror(long err)
{
    static const struct {
        int num;
        const char* name;
    } names[] = {
        {0, "OK"}, {XEN_EPERM, "EPERM"}, {XEN_ENOENT, "ENOENT"}, {XEN_ESRCH, "ESRCH"}, {XEN_EINTR, "EINTR"},
        {XEN_EIO, "EIO"}, {XEN_ENXIO, "ENXIO"}, {XEN_E2BIG, "E2BIG"}, {XEN_EBADF, "EBADF"},
        {XEN_EAGAIN, "EAGAIN"}, {XEN_ENOMEM, "ENOMEM"}, {XEN_EACCES, "EACCES"}, {XEN_EFAULT, "EFAULT"},
        {XEN_EBUSY, "EBUSY"}, {XEN_EEXIST, "EEXIST"}, {XEN_ENODEV, "ENODEV"}, {XEN_EISDIR, "EISDIR"},
        {XEN_EINVAL, "EINVAL"}, {XEN_ENOSPC, "ENOSPC"}, {XEN_EROFS, "EROFS"}, {XEN_ERANGE, "ERANGE"},
        {XEN_ENAMETOOLONG, "ENAMETOOLONG"}, {XEN_ENOSYS, "ENOSYS"}, {XEN_ENOTEMPTY, "ENOTEMPTY"},
        {XEN_ENODATA, "ENODATA"}, {XEN_ETIME, "ETIME"}, {XEN_EBADMSG, "EBADMSG"}, {XEN_EOVERFLOW, "EOVERFLOW"},
        {XEN_EOPNOTSUPP, "EOPNOTSUPP"}, {XEN_ENOBUFS, "ENOBUFS"}, {XEN_EISCONN, "EISCONN"},
        {XEN_ENOTCONN, "ENOTCONN"}, {XEN_ETIMEDOUT, "ETIMEDOUT"}, {XEN_ECONNREFUSED, "ECONNREFUSED"},
    };
    long e = err < 0 ? -err : err;
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (names[i].num == e)
            return names[i].name;
    return "E?";
}

int xen_get_param(uint32_t index, uint64_t* value)
{
    struct xen_hvm_param p = {.domid = DOMID_SELF, .index = index};
    long rc = hypercall_hvm_op(HVMOP_get_param, &p);
    if (rc == 0)
        *value = p.value;
    return (int)rc;
}

int xen_set_param(uint32_t index, uint64_t value)
{
    struct xen_hvm_param p = {.domid = DOMID_SELF, .index = index, .value = value};
    return (int)hypercall_hvm_op(HVMOP_set_param, &p);
}

int xen_evtchn_send(evtchn_port_t port)
{
    struct evtchn_send s = {.port = port};
    return (int)hypercall_event_channel_op(EVTCHNOP_send, &s);
}

int xen_evtchn_unmask(evtchn_port_t port)
{
    struct evtchn_unmask u = {.port = port};
    return (int)hypercall_event_channel_op(EVTCHNOP_unmask, &u);
}

int xen_evtchn_close(evtchn_port_t port)
{
    struct evtchn_close c = {.port = port};
    return (int)hypercall_event_channel_op(EVTCHNOP_close, &c);
}

int xen_evtchn_alloc_unbound(domid_t remote, evtchn_port_t* port)
{
    struct evtchn_alloc_unbound a = {.dom = DOMID_SELF, .remote_dom = remote};
    long rc = hypercall_event_channel_op(EVTCHNOP_alloc_unbound, &a);
    if (rc == 0)
        *port = a.port;
    return (int)rc;
}

int xen_evtchn_bind_virq(uint32_t virq, uint32_t vcpu, evtchn_port_t* port)
{
    struct evtchn_bind_virq b = {.virq = virq, .vcpu = vcpu};
    long rc = hypercall_event_channel_op(EVTCHNOP_bind_virq, &b);
    if (rc == 0)
        *port = b.port;
    return (int)rc;
}

int xen_shutdown(unsigned reason)
{
    struct sched_shutdown s = {.reason = reason};
    return (int)hypercall_sched_op(SCHEDOP_shutdown, &s);
}

int xen_yield(void) { return (int)hypercall_sched_op(SCHEDOP_yield, NULL); }

int xen_set_callback_vector(uint8_t vector)
{
    return xen_set_param(HVM_PARAM_CALLBACK_IRQ,
                         ((uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << HVM_PARAM_CALLBACK_IRQ_TYPE_SHIFT) | vector);
}

int xen_set_upcall_vector(uint32_t vcpu, uint8_t vector)
{
    struct xen_hvm_evtchn_upcall_vector u = {.vcpu = vcpu, .vector = vector};
    return (int)hypercall_hvm_op(HVMOP_set_evtchn_upcall_vector, &u);
}

/* Stands in for RAM until shared_info is mapped over it. */
static uint8_t shared_info_page[PAGE_SIZE] GUEST_PAGE_ALIGNED GUEST_NOINIT;
static struct shared_info* shared_info;

int xen_map_shared_info(uint64_t gpa)
{
    if (gpa & (PAGE_SIZE - 1))
        return -XEN_EINVAL;
    struct xen_add_to_physmap xatp = {
        .domid = DOMID_SELF,
        .space = XENMAPSPACE_shared_info,
        .idx = 0,
        .gpfn = (xen_pfn_t)(gpa >> PAGE_SHIFT),
    };
    long rc = hypercall_memory_op(XENMEM_add_to_physmap, &xatp);
    if (rc == 0)
        shared_info = (struct shared_info*)(uintptr_t)gpa;
    return (int)rc;
}

struct shared_info* xen_shared_info(void)
{
    if (!shared_info && xen_map_shared_info((uintptr_t)shared_info_page) != 0)
        return NULL;
    return shared_info;
}

#define BITS_PER_XEN_ULONG (sizeof(xen_ulong_t) * 8)

bool xen_evtchn_test_and_clear_pending(evtchn_port_t port)
{
    if (port >= EVTCHN_2L_NR_CHANNELS)
        return false;
    xen_ulong_t* word = &shared_info->evtchn_pending[port / BITS_PER_XEN_ULONG];
    unsigned long bit = port % BITS_PER_XEN_ULONG;
    bool was;
    __asm__ volatile("lock btr %2, %0" : "+m"(*word), "=@ccc"(was) : "r"(bit) : "memory");
    return was;
}

bool xen_evtchn_is_pending(evtchn_port_t port)
{
    if (port >= EVTCHN_2L_NR_CHANNELS)
        return false;
    xen_ulong_t w = READ_ONCE(shared_info->evtchn_pending[port / BITS_PER_XEN_ULONG]);
    return (w >> (port % BITS_PER_XEN_ULONG)) & 1;
}

void xen_evtchn_mask(evtchn_port_t port)
{
    if (port >= EVTCHN_2L_NR_CHANNELS)
        return;
    xen_ulong_t* word = &shared_info->evtchn_mask[port / BITS_PER_XEN_ULONG];
    unsigned long bit = port % BITS_PER_XEN_ULONG;
    __asm__ volatile("lock bts %1, %0" : "+m"(*word) : "r"(bit) : "memory");
}
