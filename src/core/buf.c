/* A growable byte buffer with a hard cap. */
#include "odmd/buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "odmd/text.h"

void odm_buf_init(odm_buf_t *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void odm_buf_release(odm_buf_t *b)
{
    free(b->data);
    odm_buf_init(b, b->max);
}

void odm_buf_reset(odm_buf_t *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

/* Makes room for n more bytes plus a NUL. */
static bool reserve(odm_buf_t *b, size_t n)
{
    if (n > b->max || b->len > b->max - n)
        return false;
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (p == NULL)
        return false;
    b->data = p;
    b->cap = cap;
    return true;
}

bool odm_buf_append(odm_buf_t *b, const void *p, size_t n)
{
    /* room already there (the usual case): no checks beyond the two that decide it */
    if (n < b->cap - b->len && n <= b->max - b->len) {
        if (n)
            memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = '\0';
        return true;
    }
    if (!reserve(b, n))
        return false;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return true;
}

bool odm_buf_puts(odm_buf_t *b, const char *s)
{
    return odm_buf_append(b, s, strlen(s));
}

bool odm_buf_putc(odm_buf_t *b, char c)
{
    if (b->len + 1 < b->cap && b->len < b->max) {
        b->data[b->len++] = c;
        b->data[b->len] = '\0';
        return true;
    }
    return odm_buf_append(b, &c, 1);
}

bool odm_buf_printf(odm_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !reserve(b, (size_t)n))
        return false;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return true;
}

bool odm_buf_put_int(odm_buf_t *b, long long v)
{
    char digits[ODM_TEXT_INT_MAX];
    return odm_buf_append(b, digits, odm_text_int(v, digits));
}

/* The bytes a JSON string literal cannot hold as they are: control characters, '"', '\\'. */
static const bool must_escape[256] = {
    [0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1,
    [0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1, [0x0c] = 1, [0x0d] = 1,
    [0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1, [0x12] = 1, [0x13] = 1, [0x14] = 1,
    [0x15] = 1, [0x16] = 1, [0x17] = 1, [0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1,
    [0x1c] = 1, [0x1d] = 1, [0x1e] = 1, [0x1f] = 1, ['"'] = 1,  ['\\'] = 1,
};

/* Returns: how many of s's first n bytes a JSON string literal holds as they are (before the
 * first control character, '"' or '\\'); n when none needs escaping. */
static size_t plain_prefix(const char *s, size_t n)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    size_t i = 0;
    /* eight bytes at a time: a byte below 0x20, equal to '"' or to '\\' sets its high bit in
     * `hit` (the classic has-less and has-zero tests, exact about whether any byte does) */
    for (; i + 8 <= n; i += 8) {
        uint64_t w, quote, slash;
        memcpy(&w, s + i, 8);
        quote = w ^ (ones * '"');
        slash = w ^ (ones * '\\');
        uint64_t hit =
            ((w - ones * 0x20) & ~w) | ((quote - ones) & ~quote) | ((slash - ones) & ~slash);
        if (hit & highs)
            break;
    }
    while (i < n && !must_escape[(unsigned char)s[i]])
        i++;
    return i;
}

bool odm_buf_json_string(odm_buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t start = b->len;
    size_t plain = plain_prefix(s, n);
    if (plain == n) { /* nothing to escape: one copy */
        if (odm_buf_putc(b, '"') && odm_buf_append(b, s, n) && odm_buf_putc(b, '"'))
            return true;
        goto fail;
    }
    if (!odm_buf_putc(b, '"'))
        return false;
    size_t run = 0; /* bytes copied verbatim in one go */
    for (size_t i = plain; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!must_escape[c])
            continue;
        if (!odm_buf_append(b, s + run, i - run))
            goto fail;
        run = i + 1;
        char esc[6] = {'\\', 0};
        size_t len = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        default:
            esc[1] = 'u', esc[2] = '0', esc[3] = '0', esc[4] = hex[c >> 4], esc[5] = hex[c & 15];
            len = 6;
        }
        if (!odm_buf_append(b, esc, len))
            goto fail;
    }
    if (odm_buf_append(b, s + run, n - run) && odm_buf_putc(b, '"'))
        return true;
fail:
    b->len = start;
    if (b->data)
        b->data[start] = '\0';
    return false;
}

const char *odm_buf_cstr(odm_buf_t *b)
{
    return b->data ? b->data : "";
}

char *odm_buf_steal(odm_buf_t *b, size_t *len)
{
    char *p = b->data;
    if (len)
        *len = b->len;
    odm_buf_init(b, b->max);
    return p;
}
