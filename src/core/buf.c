/* A growable byte buffer with a hard cap. */
#include "odmd/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

bool odm_buf_json_string(odm_buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t start = b->len;
    if (!odm_buf_putc(b, '"'))
        return false;
    size_t run = 0; /* bytes copied verbatim in one go */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if (!odm_buf_append(b, s + run, i - run))
            goto fail;
        run = i + 1;
        char esc[6] = {'\\', 0};
        size_t len = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
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
