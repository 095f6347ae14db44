/* printf-style formatting into a buffer; printf() flushes that buffer with one console write. */
#include "guest/guest.h"

struct sink {
    char* buf;
    size_t size;                          /* room in buf */
    size_t pos;                           /* bytes in buf */
    size_t total;                         /* bytes produced, as snprintf reports */
    void (*flush)(const char*, size_t);   /* NULL: truncate */
};

static void put(struct sink* s, const char* p, size_t n)
{
    s->total += n;
    while (n) {
        if (s->pos == s->size) {
            if (!s->flush)
                return;
            s->flush(s->buf, s->pos);
            s->pos = 0;
        }
        size_t chunk = s->size - s->pos < n ? s->size - s->pos : n;
        memcpy(s->buf + s->pos, p, chunk);
        s->pos += chunk;
        p += chunk;
        n -= chunk;
    }
}

static void pad(struct sink* s, char c, int count)
{
    char block[16];
    memset(block, c, sizeof(block));
    for (; count > 0; count -= (int)sizeof(block))
        put(s, block, count < (int)sizeof(block) ? (size_t)count : sizeof(block));
}

enum { F_LEFT = 1, F_ZERO = 2, F_PLUS = 4, F_SPACE = 8, F_ALT = 16, F_UPPER = 32, F_PTR = 64 };

static void put_number(struct sink* s, uint64_t v, bool negative, unsigned base, int flags, int width, int prec)
{
    char digits[24];
    const char* set = (flags & F_UPPER) ? "0123456789ABCDEF" : "0123456789abcdef";
    bool nonzero = v != 0;
    int n = 0;
    while (v) {
        uint32_t rem;
        v = div_u64_rem(v, base, &rem);
        digits[n++] = set[rem];
    }
    if (prec < 0 && n == 0)
        digits[n++] = '0';
    char prefix[3];
    int plen = 0;
    if (negative)
        prefix[plen++] = '-';
    else if (flags & F_PLUS)
        prefix[plen++] = '+';
    else if (flags & F_SPACE)
        prefix[plen++] = ' ';
    if (((flags & F_ALT) && base == 16 && nonzero) || (flags & F_PTR)) {
        prefix[plen++] = '0';
        prefix[plen++] = (flags & F_UPPER) ? 'X' : 'x';
    } else if ((flags & F_ALT) && base == 8 && (prec <= n)) {
        prefix[plen++] = '0';
    }
    int zeros = prec > n ? prec - n : 0;
    if ((flags & F_ZERO) && !(flags & F_LEFT) && prec < 0 && width > plen + n)
        zeros = width - plen - n;
    int fill = width - plen - zeros - n;
    if (!(flags & F_LEFT))
        pad(s, ' ', fill);
    put(s, prefix, (size_t)plen);
    pad(s, '0', zeros);
    char out[24];
    for (int i = 0; i < n; i++)
        out[i] = digits[n - 1 - i];
    put(s, out, (size_t)n);
    if (flags & F_LEFT)
        pad(s, ' ', fill);
}

static void put_string(struct sink* s, const char* str, int flags, int width, int prec)
{
    if (!str)
        str = "(null)";
    size_t len = prec >= 0 ? strnlen(str, (size_t)prec) : strlen(str);
    int fill = width - (int)len;
    if (!(flags & F_LEFT))
        pad(s, ' ', fill);
    put(s, str, len);
    if (flags & F_LEFT)
        pad(s, ' ', fill);
}

static void format(struct sink* s, const char* fmt, va_list ap)
{
    while (*fmt) {
        const char* start = fmt;
        while (*fmt && *fmt != '%')
            fmt++;
        put(s, start, (size_t)(fmt - start));
        if (!*fmt)
            break;
        fmt++;
        int flags = 0, width = -1, prec = -1, lng = 0, shorts = 0;
        for (;; fmt++) {
            if (*fmt == '-') flags |= F_LEFT;
            else if (*fmt == '0') flags |= F_ZERO;
            else if (*fmt == '+') flags |= F_PLUS;
            else if (*fmt == ' ') flags |= F_SPACE;
            else if (*fmt == '#') flags |= F_ALT;
            else break;
        }
        if (*fmt == '*') {
            width = va_arg(ap, int);
            if (width < 0) {
                flags |= F_LEFT;
                width = -width;
            }
            fmt++;
        } else {
            for (width = 0; *fmt >= '0' && *fmt <= '9'; fmt++)
                width = width * 10 + (*fmt - '0');
        }
        if (*fmt == '.') {
            fmt++;
            if (*fmt == '*') {
                prec = va_arg(ap, int);
                fmt++;
            } else {
                for (prec = 0; *fmt >= '0' && *fmt <= '9'; fmt++)
                    prec = prec * 10 + (*fmt - '0');
            }
        }
        for (;; fmt++) {
            if (*fmt == 'l') lng++;
            else if (*fmt == 'z' || *fmt == 't') lng = sizeof(size_t) == 8 ? 2 : 0;
            else if (*fmt == 'j') lng = 2;
            else if (*fmt == 'h') shorts++; /* promoted to int; narrowed below */
            else break;
        }
        bool short_arg = shorts == 1, char_arg = shorts >= 2;
        char c = *fmt ? *fmt++ : '\0';
        unsigned base = 10;
        switch (c) {
        case 'd':
        case 'i': {
            long long v = lng >= 2 ? va_arg(ap, long long) : lng == 1 ? va_arg(ap, long) : va_arg(ap, int);
            if (char_arg) v = (signed char)v;
            else if (short_arg) v = (short)v;
            put_number(s, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0, 10, flags, width, prec);
            break;
        }
        case 'X':
            flags |= F_UPPER;
            /* fall through */
        case 'x':
            base = 16;
            goto unsigned_number;
        case 'o':
            base = 8;
            /* fall through */
        case 'u':
        unsigned_number: {
            unsigned long long v = lng >= 2   ? va_arg(ap, unsigned long long)
                                   : lng == 1 ? va_arg(ap, unsigned long)
                                              : va_arg(ap, unsigned int);
            if (char_arg) v = (unsigned char)v;
            else if (short_arg) v = (unsigned short)v;
            put_number(s, v, false, base, flags, width, prec);
            break;
        }
        case 'p':
            put_number(s, (uintptr_t)va_arg(ap, void*), false, 16, flags | F_PTR, width, prec);
            break;
        case 'c': {
            char ch = (char)va_arg(ap, int);
            if (!(flags & F_LEFT))
                pad(s, ' ', width - 1);
            put(s, &ch, 1);
            if (flags & F_LEFT)
                pad(s, ' ', width - 1);
            break;
        }
        case 's':
            put_string(s, va_arg(ap, const char*), flags, width, prec);
            break;
        case '%':
            put(s, "%", 1);
            break;
        default: /* unknown conversion: show it as written */
            put(s, "%", 1);
            put(s, &c, c ? 1 : 0);
            break;
        }
    }
}

int vsnprintf(char* buf, size_t size, const char* fmt, va_list ap)
{
    struct sink s = {.buf = buf, .size = size ? size - 1 : 0, .flush = NULL};
    format(&s, fmt, ap);
    if (size)
        buf[s.pos] = '\0';
    return (int)s.total;
}

int snprintf(char* buf, size_t size, const char* fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

int vprintf(const char* fmt, va_list ap)
{
    char buf[256];
    struct sink s = {.buf = buf, .size = sizeof(buf), .flush = console_write};
    format(&s, fmt, ap);
    if (s.pos)
        console_write(buf, s.pos);
    return (int)s.total;
}

int printf(const char* fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

int puts(const char* str)
{
    return printf("%s\n", str);
}
