/* A polling xenstore client: requests go into the req ring, replies are read from the rsp ring, the
 * server is kicked through the store event channel. Watch events met on the way are queued. */
#include "guest/guest.h"

static struct xenstore_domain_interface* ring;
static uint32_t store_port;
static uint32_t next_req_id = 1;
static uint64_t timeout_us = 5000000;
static bool consumed; /* rsp space freed since the server was last kicked */

struct watch_event {
    char data[256]; /* "path\0token\0" */
    uint32_t len;
};
static struct watch_event events[8];
static unsigned ev_head, ev_count;

void xs_set_timeout_ms(unsigned ms) { timeout_us = (uint64_t)ms * 1000; }
struct xenstore_domain_interface* xs_ring(void) { return ring; }
uint32_t xs_evtchn(void) { return store_port; }

int xs_init(void)
{
    if (ring)
        return 0;
    uint64_t pfn = 0, port = 0;
    int rc = xen_get_param(HVM_PARAM_STORE_PFN, &pfn);
    if (rc == 0)
        rc = xen_get_param(HVM_PARAM_STORE_EVTCHN, &port);
    if (rc)
        return rc;
    if (pfn == 0 || pfn >= (1ULL << (32 - PAGE_SHIFT)))
        return -XEN_ENXIO;
    store_port = (uint32_t)port;
    ring = (struct xenstore_domain_interface*)(uintptr_t)(pfn << PAGE_SHIFT);
    return 0;
}

/* Kicks the server if we freed response space it may be waiting for. */
static void notify_consumed(void)
{
    if (consumed) {
        consumed = false;
        xen_evtchn_send(store_port);
    }
}

/* *deadline is 0 until the first wait of an operation. */
static int wait_a_bit(uint64_t* deadline)
{
    notify_consumed();
    uint64_t now = guest_time_us();
    if (!*deadline)
        *deadline = now + timeout_us;
    else if (now >= *deadline)
        return -XEN_ETIMEDOUT;
    xen_yield();
    return 0;
}

static int ring_write(const void* data, uint32_t len)
{
    const char* p = data;
    uint64_t deadline = 0;
    while (len) {
        XENSTORE_RING_IDX cons = READ_ONCE(ring->req_cons), prod = ring->req_prod;
        rmb();
        uint32_t used = prod - cons;
        if (used > XENSTORE_RING_SIZE)
            return -XEN_EIO;
        uint32_t space = XENSTORE_RING_SIZE - used;
        if (space == 0) {
            xen_evtchn_send(store_port);
            int rc = wait_a_bit(&deadline);
            if (rc)
                return rc;
            continue;
        }
        uint32_t off = XENSTORE_MASK_IDX(prod);
        uint32_t n = len < space ? len : space;
        if (n > XENSTORE_RING_SIZE - off)
            n = XENSTORE_RING_SIZE - off;
        memcpy(ring->req + off, p, n);
        wmb();
        WRITE_ONCE(ring->req_prod, prod + n);
        p += n;
        len -= n;
    }
    return 0;
}

/* Reads exactly len bytes (dst may be NULL to discard). */
static int ring_read(void* dst, uint32_t len)
{
    char* p = dst;
    uint64_t deadline = 0;
    while (len) {
        XENSTORE_RING_IDX prod = READ_ONCE(ring->rsp_prod), cons = ring->rsp_cons;
        rmb();
        uint32_t avail = prod - cons;
        if (avail > XENSTORE_RING_SIZE)
            return -XEN_EIO;
        if (avail == 0) {
            int rc = wait_a_bit(&deadline);
            if (rc)
                return rc;
            continue;
        }
        uint32_t off = XENSTORE_MASK_IDX(cons);
        uint32_t n = len < avail ? len : avail;
        if (n > XENSTORE_RING_SIZE - off)
            n = XENSTORE_RING_SIZE - off;
        if (p) {
            memcpy(p, ring->rsp + off, n);
            p += n;
        }
        mb(); /* finish reading before handing the space back */
        WRITE_ONCE(ring->rsp_cons, cons + n);
        len -= n;
        consumed = true;
    }
    return 0;
}

static const struct {
    const char* name;
    int err;
} xs_errors[] = {
    {"EINVAL", XEN_EINVAL}, {"EACCES", XEN_EACCES}, {"EEXIST", XEN_EEXIST}, {"EISDIR", XEN_EISDIR},
    {"ENOENT", XEN_ENOENT}, {"ENOMEM", XEN_ENOMEM}, {"ENOSPC", XEN_ENOSPC}, {"EIO", XEN_EIO},
    {"ENOTEMPTY", XEN_ENOTEMPTY}, {"ENOSYS", XEN_ENOSYS}, {"EROFS", XEN_EROFS}, {"EBUSY", XEN_EBUSY},
    {"EAGAIN", XEN_EAGAIN}, {"EISCONN", XEN_EISCONN}, {"E2BIG", XEN_E2BIG}, {"EPERM", XEN_EPERM},
};

static int error_from_reply(const char* name)
{
    for (size_t i = 0; i < ARRAY_SIZE(xs_errors); i++)
        if (strcmp(name, xs_errors[i].name) == 0)
            return -xs_errors[i].err;
    return -XEN_EINVAL;
}

static void queue_event(const char* payload, uint32_t len)
{
    if (ev_count == ARRAY_SIZE(events) || len > sizeof(events[0].data))
        return; /* dropped: tests read events as they go */
    struct watch_event* e = &events[(ev_head + ev_count++) % ARRAY_SIZE(events)];
    memcpy(e->data, payload, len);
    e->len = len;
}

int xs_request(uint32_t type, uint32_t tx_id, const void* payload, uint32_t len, uint32_t* reply_type,
               char* reply, uint32_t reply_size)
{
    int rc = xs_init();
    if (rc)
        return rc;
    if (len > XENSTORE_PAYLOAD_MAX)
        return -XEN_E2BIG;
    struct xsd_sockmsg req = {.type = type, .req_id = next_req_id++, .tx_id = tx_id, .len = len};
    if ((rc = ring_write(&req, sizeof(req))) || (rc = ring_write(payload, len)))
        return rc;
    xen_evtchn_send(store_port);
    static char buf[XENSTORE_PAYLOAD_MAX + 1] GUEST_NOINIT;
    for (;;) {
        struct xsd_sockmsg rsp;
        if ((rc = ring_read(&rsp, sizeof(rsp))))
            return rc;
        if (rsp.len > XENSTORE_PAYLOAD_MAX)
            return -XEN_EIO; /* cannot resynchronise with a broken stream */
        if ((rc = ring_read(buf, rsp.len)))
            return rc;
        buf[rsp.len] = '\0';
        if (rsp.type == XS_WATCH_EVENT) {
            queue_event(buf, rsp.len);
            continue;
        }
        if (rsp.req_id != req.req_id)
            continue; /* a stale reply to an earlier, timed-out request */
        notify_consumed();
        if (reply_type)
            *reply_type = rsp.type;
        if (rsp.type == XS_ERROR)
            return error_from_reply(buf);
        if (reply && reply_size) {
            uint32_t n = rsp.len < reply_size ? rsp.len : reply_size - 1;
            memcpy(reply, buf, n);
            reply[n] = '\0';
            if (rsp.len >= reply_size)
                return -XEN_E2BIG;
        }
        return (int)rsp.len;
    }
}

/* Sends "path\0" or "path\0value" style payloads built from up to two strings. */
static int request2(uint32_t type, uint32_t tx, const char* a, const char* b, bool b_nul, char* reply,
                    uint32_t reply_size)
{
    static char payload[XENSTORE_PAYLOAD_MAX] GUEST_NOINIT;
    size_t la = strlen(a) + 1, lb = b ? strlen(b) + (b_nul ? 1 : 0) : 0;
    if (la + lb > sizeof(payload))
        return -XEN_E2BIG;
    memcpy(payload, a, la);
    if (b)
        memcpy(payload + la, b, lb);
    return xs_request(type, tx, payload, (uint32_t)(la + lb), NULL, reply, reply_size);
}

int xs_read_tx(uint32_t tx, const char* path, char* buf, size_t size)
{
    return request2(XS_READ, tx, path, NULL, false, buf, (uint32_t)size);
}

int xs_read(const char* path, char* buf, size_t size) { return xs_read_tx(0, path, buf, size); }

int xs_write_tx(uint32_t tx, const char* path, const char* value)
{
    int rc = request2(XS_WRITE, tx, path, value, false, NULL, 0);
    return rc < 0 ? rc : 0;
}

int xs_write(const char* path, const char* value) { return xs_write_tx(0, path, value); }

int xs_directory(const char* path, char* buf, size_t size)
{
    int len = request2(XS_DIRECTORY, 0, path, NULL, false, buf, (uint32_t)size);
    if (len < 0)
        return len;
    int count = 0;
    for (int i = 0; i < len; i++)
        count += buf[i] == '\0';
    return count;
}

static int simple(uint32_t type, const char* a, const char* b)
{
    int rc = request2(type, 0, a, b, true, NULL, 0);
    return rc < 0 ? rc : 0;
}

int xs_mkdir(const char* path) { return simple(XS_MKDIR, path, NULL); }
int xs_rm(const char* path) { return simple(XS_RM, path, NULL); }
int xs_watch(const char* path, const char* token) { return simple(XS_WATCH, path, token); }
int xs_unwatch(const char* path, const char* token) { return simple(XS_UNWATCH, path, token); }

int xs_read_watch(char* path, size_t path_size, char* token, size_t token_size)
{
    int rc = xs_init();
    if (rc)
        return rc;
    uint64_t deadline = 0;
    while (ev_count == 0) { /* nothing queued: take messages off the ring ourselves */
        XENSTORE_RING_IDX avail = READ_ONCE(ring->rsp_prod) - ring->rsp_cons;
        if (avail >= sizeof(struct xsd_sockmsg)) {
            struct xsd_sockmsg rsp;
            static char buf[XENSTORE_PAYLOAD_MAX + 1] GUEST_NOINIT;
            if ((rc = ring_read(&rsp, sizeof(rsp))))
                return rc;
            if (rsp.len > XENSTORE_PAYLOAD_MAX)
                return -XEN_EIO;
            if ((rc = ring_read(buf, rsp.len)))
                return rc;
            if (rsp.type == XS_WATCH_EVENT)
                queue_event(buf, rsp.len);
            continue;
        }
        if ((rc = wait_a_bit(&deadline)))
            return rc;
    }
    notify_consumed();
    struct watch_event* e = &events[ev_head];
    ev_head = (ev_head + 1) % ARRAY_SIZE(events);
    ev_count--;
    size_t plen = strnlen(e->data, e->len);
    const char* tok = plen < e->len ? e->data + plen + 1 : "";
    size_t tlen = strnlen(tok, e->len - (plen < e->len ? plen + 1 : e->len));
    if (path_size) {
        size_t n = plen < path_size - 1 ? plen : path_size - 1;
        memcpy(path, e->data, n);
        path[n] = '\0';
    }
    if (token_size) {
        size_t n = tlen < token_size - 1 ? tlen : token_size - 1;
        memcpy(token, tok, n);
        token[n] = '\0';
    }
    return 0;
}

int xs_transaction_start(uint32_t* tx_id)
{
    char reply[16];
    int rc = xs_request(XS_TRANSACTION_START, 0, "", 1, NULL, reply, sizeof(reply));
    if (rc < 0)
        return rc;
    *tx_id = (uint32_t)strtoul(reply, NULL, 10);
    return 0;
}

int xs_transaction_end(uint32_t tx_id, bool commit)
{
    const char* arg = commit ? "T" : "F";
    int rc = xs_request(XS_TRANSACTION_END, tx_id, arg, 2, NULL, NULL, 0);
    return rc < 0 ? rc : 0;
}
