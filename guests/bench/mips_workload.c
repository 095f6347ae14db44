/* The mips_bench workload (see mips_workload.h). Each kernel takes fresh pseudo-random input per
 * round, so no round repeats the previous one's branch pattern exactly, and folds what it produced
 * into the checksum, so the compiler cannot drop any of it. */
#include "mips_workload.h"

#define SORT_COUNT 2048
#define SORT_SMALL 16 /* below this, insertion sort beats partitioning */
#define CRC_BYTES 16384
#define FORMAT_LINES 192
#define LIST_NODES 2048

/* xorshift64*: cheap, and the same sequence everywhere. */
static uint64_t rng_next(uint64_t* s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dULL;
}

/* FNV-1a step over a 64-bit value: how every kernel reports to the checksum. */
static uint64_t fold(uint64_t h, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        h ^= (v >> (i * 8)) & 0xff;
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* ---- sorting: quicksort with median-of-three pivots over 32-bit keys ---- */

static uint32_t sort_keys[SORT_COUNT];

static void insertion_sort(uint32_t* a, long lo, long hi)
{
    for (long i = lo + 1; i <= hi; i++) {
        uint32_t v = a[i];
        long j = i - 1;
        while (j >= lo && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static void swap_keys(uint32_t* a, long i, long j)
{
    uint32_t t = a[i];
    a[i] = a[j];
    a[j] = t;
}

static void quick_sort(uint32_t* a, long lo, long hi)
{
    while (hi - lo >= SORT_SMALL) {
        long mid = lo + (hi - lo) / 2;
        if (a[mid] < a[lo])
            swap_keys(a, mid, lo);
        if (a[hi] < a[lo])
            swap_keys(a, hi, lo);
        if (a[hi] < a[mid])
            swap_keys(a, hi, mid);
        uint32_t pivot = a[mid];
        long i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j)
                swap_keys(a, i++, j--);
        }
        /* Recurse into the smaller side, loop on the larger: the stack stays O(log n). */
        if (j - lo < hi - i) {
            quick_sort(a, lo, j);
            lo = i;
        } else {
            quick_sort(a, i, hi);
            hi = j;
        }
    }
    insertion_sort(a, lo, hi);
}

static uint64_t sort_kernel(uint64_t* rng, uint64_t h)
{
    for (long i = 0; i < SORT_COUNT; i++)
        sort_keys[i] = (uint32_t)rng_next(rng);
    quick_sort(sort_keys, 0, SORT_COUNT - 1);
    uint64_t disorder = 0;
    for (long i = 1; i < SORT_COUNT; i++)
        disorder += sort_keys[i - 1] > sort_keys[i];
    return fold(fold(h, disorder), (uint64_t)sort_keys[SORT_COUNT / 3] << 32 | sort_keys[SORT_COUNT - 1]);
}

/* ---- CRC-32 (the IEEE polynomial, reflected), table-driven a byte at a time ---- */

static uint32_t crc_table[256];
static uint8_t crc_data[CRC_BYTES];

static void crc_init_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static uint64_t crc_kernel(uint64_t* rng, uint64_t h)
{
    for (long i = 0; i < CRC_BYTES; i += 8) {
        uint64_t v = rng_next(rng);
        for (int b = 0; b < 8; b++)
            crc_data[i + b] = (uint8_t)(v >> (b * 8));
    }
    uint32_t crc = 0xffffffffu;
    for (long i = 0; i < CRC_BYTES; i++)
        crc = crc_table[(crc ^ crc_data[i]) & 0xff] ^ (crc >> 8);
    return fold(h, crc ^ 0xffffffffu);
}

/* ---- formatting: a small snprintf of its own (the library's copies with `rep movsb`) ---- */

struct out {
    char* buf;
    size_t size, pos;
};

static void out_char(struct out* o, char c)
{
    if (o->pos + 1 < o->size)
        o->buf[o->pos] = c;
    o->pos++;
}

static void out_number(struct out* o, uint64_t v, unsigned base, bool negative, int width, char pad)
{
    char digits[24];
    int n = 0;
    do {
        unsigned d = (unsigned)(v % base);
        digits[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    if (negative)
        digits[n++] = '-';
    for (int i = n; i < width; i++)
        out_char(o, pad);
    while (n)
        out_char(o, digits[--n]);
}

/* %d %u %x %s %c with an optional '0' flag and width: what the lines below need. */
static size_t format(char* buf, size_t size, const char* fmt, ...)
{
    struct out o = { buf, size, 0 };
    va_list ap;
    va_start(ap, fmt);
    for (const char* p = fmt; *p; p++) {
        if (*p != '%') {
            out_char(&o, *p);
            continue;
        }
        char pad = *++p == '0' ? '0' : ' ';
        int width = 0;
        while (*p >= '0' && *p <= '9')
            width = width * 10 + (*p++ - '0');
        long v;
        switch (*p) {
        case 'd':
            v = va_arg(ap, long);
            out_number(&o, v < 0 ? -(uint64_t)v : (uint64_t)v, 10, v < 0, width, pad);
            break;
        case 'u': out_number(&o, va_arg(ap, unsigned long), 10, false, width, pad); break;
        case 'x': out_number(&o, va_arg(ap, unsigned long), 16, false, width, pad); break;
        case 'c': out_char(&o, (char)va_arg(ap, int)); break;
        case 's':
            for (const char* s = va_arg(ap, const char*); *s; s++)
                out_char(&o, *s);
            break;
        default: out_char(&o, *p); break;
        }
    }
    va_end(ap);
    if (size)
        buf[o.pos < size ? o.pos : size - 1] = '\0';
    return o.pos;
}

static uint64_t format_kernel(uint64_t* rng, uint64_t h)
{
    static const char* const kNames[] = { "vcpu", "evtchn", "grant", "xenstore", "console", "timer" };
    char line[128];
    for (unsigned i = 0; i < FORMAT_LINES; i++) {
        uint64_t r = rng_next(rng);
        /* Integers go as (unsigned) long: format() reads every one with va_arg(ap, long). */
        size_t n = format(line, sizeof(line), "[%6u] %s%u: key=%08x value=%d flags=%c%c end=%016x\n",
                          (unsigned long)i, kNames[r % 6], (unsigned long)(r >> 8) & 63,
                          (unsigned long)(uint32_t)(r >> 16), (long)(int32_t)(r >> 24), (r & 0x100) ? 'R' : '-',
                          (r & 0x200) ? 'W' : '-', (unsigned long)r);
        uint64_t line_hash = n;
        for (size_t k = 0; line[k]; k++)
            line_hash = line_hash * 31 + (uint8_t)line[k];
        h = fold(h, line_hash);
    }
    return h;
}

/* ---- linked lists: build, merge sort, filter, walk ---- */

struct node {
    struct node* next;
    uint32_t key;
    uint32_t seq;
};

static struct node list_pool[LIST_NODES];

static struct node* merge_lists(struct node* a, struct node* b)
{
    struct node head = { 0, 0, 0 };
    struct node* tail = &head;
    while (a && b) {
        if (b->key < a->key) {
            tail->next = b;
            b = b->next;
        } else {
            tail->next = a;
            a = a->next;
        }
        tail = tail->next;
    }
    tail->next = a ? a : b;
    return head.next;
}

/* Top-down merge sort: split with a slow/fast walk, sort halves, merge (stable). */
static struct node* sort_list(struct node* list)
{
    if (!list || !list->next)
        return list;
    struct node* slow = list;
    for (struct node* fast = list->next; fast && fast->next; fast = fast->next->next)
        slow = slow->next;
    struct node* second = slow->next;
    slow->next = 0;
    return merge_lists(sort_list(list), sort_list(second));
}

static uint64_t list_kernel(uint64_t* rng, uint64_t h)
{
    struct node* list = 0;
    for (uint32_t i = 0; i < LIST_NODES; i++) {
        struct node* n = &list_pool[i];
        n->key = (uint32_t)rng_next(rng) & 0xffff; /* duplicates on purpose: stability shows in seq */
        n->seq = i;
        n->next = list;
        list = n;
    }
    list = sort_list(list);
    /* Unlink every node whose key is divisible by 3, then walk what is left. */
    for (struct node** link = &list; *link;) {
        if ((*link)->key % 3 == 0)
            *link = (*link)->next;
        else
            link = &(*link)->next;
    }
    uint64_t count = 0, walk = 0;
    for (struct node* n = list; n; n = n->next) {
        count++;
        walk = walk * 0x9e3779b1u + ((uint64_t)n->key << 16 | n->seq);
    }
    return fold(fold(h, count), walk);
}

uint64_t mips_workload_run(uint32_t iterations)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (uint32_t round = 0; round < iterations; round++) {
        /* Inside the loop so that a run of 0 rounds does none of the work (see mips_bench.c). */
        if (round == 0)
            crc_init_table();
        uint64_t rng = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)round << 32 | round);
        h = sort_kernel(&rng, h);
        h = crc_kernel(&rng, h);
        h = format_kernel(&rng, h);
        h = list_kernel(&rng, h);
    }
    return h;
}
