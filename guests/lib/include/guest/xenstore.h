/* A polling xenstore client over the ring at HVM_PARAM_STORE_PFN (no interrupts needed).
 * Paths may be absolute or relative to the domain's home (/local/domain/<domid>). Each call returns
 * a non-negative value or a negative Xen errno (the server's error name mapped back, -XEN_ETIMEDOUT
 * when no reply comes, -XEN_E2BIG when a reply does not fit). */
#pragma once
#include "guest/base.h"

/* Wire protocol (Xen's io/xs_wire.h): message types. */
enum xs_msg_type {
    XS_CONTROL = 0,
    XS_DIRECTORY = 1,
    XS_READ = 2,
    XS_GET_PERMS = 3,
    XS_WATCH = 4,
    XS_UNWATCH = 5,
    XS_TRANSACTION_START = 6,
    XS_TRANSACTION_END = 7,
    XS_INTRODUCE = 8,
    XS_RELEASE = 9,
    XS_GET_DOMAIN_PATH = 10,
    XS_WRITE = 11,
    XS_MKDIR = 12,
    XS_RM = 13,
    XS_SET_PERMS = 14,
    XS_WATCH_EVENT = 15,
    XS_ERROR = 16,
    XS_IS_DOMAIN_INTRODUCED = 17,
    XS_RESUME = 18,
    XS_SET_TARGET = 19,
    XS_RESET_WATCHES = 21,
    XS_DIRECTORY_PART = 22,
};

struct xsd_sockmsg {
    uint32_t type;
    uint32_t req_id;
    uint32_t tx_id;
    uint32_t len; /* payload bytes that follow */
};

#define XENSTORE_RING_SIZE 1024
#define XENSTORE_PAYLOAD_MAX 4096
typedef uint32_t XENSTORE_RING_IDX;
#define XENSTORE_MASK_IDX(idx) ((idx) & (XENSTORE_RING_SIZE - 1))

struct xenstore_domain_interface {
    char req[XENSTORE_RING_SIZE]; /* guest -> server */
    char rsp[XENSTORE_RING_SIZE]; /* server -> guest */
    XENSTORE_RING_IDX req_cons, req_prod;
    XENSTORE_RING_IDX rsp_cons, rsp_prod;
};

/* Finds the ring and event channel (HVM params). Called lazily by everything below. */
int xs_init(void);
struct xenstore_domain_interface* xs_ring(void);
uint32_t xs_evtchn(void);
/* How long one call waits for the server before -XEN_ETIMEDOUT (default 5000 ms; polls yield the vCPU). */
void xs_set_timeout_ms(unsigned ms);

/* Raw request: payload of len bytes; the reply (type in *reply_type, payload NUL-terminated when it
 * fits) goes to reply. Returns the reply's payload length or -errno (an XS_ERROR reply is returned as
 * its errno). Watch events that arrive meanwhile are queued for xs_read_watch(). */
int xs_request(uint32_t type, uint32_t tx_id, const void* payload, uint32_t len, uint32_t* reply_type,
               char* reply, uint32_t reply_size);

/* Value into buf (NUL-terminated); returns its length. */
int xs_read(const char* path, char* buf, size_t size);
int xs_write(const char* path, const char* value);
/* Child names into buf, each NUL-terminated, back to back; returns the number of children. */
int xs_directory(const char* path, char* buf, size_t size);
int xs_mkdir(const char* path);
int xs_rm(const char* path);
int xs_watch(const char* path, const char* token);
int xs_unwatch(const char* path, const char* token);
/* Next watch event (the one the server fires on registration included). Returns 0. */
int xs_read_watch(char* path, size_t path_size, char* token, size_t token_size);
int xs_transaction_start(uint32_t* tx_id);
int xs_transaction_end(uint32_t tx_id, bool commit);
/* Transaction-scoped variants. */
int xs_read_tx(uint32_t tx_id, const char* path, char* buf, size_t size);
int xs_write_tx(uint32_t tx_id, const char* path, const char* value);
