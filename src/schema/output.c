/* Output: one "basic" output unit per violation, {"instanceLocation", "keywordLocation",
 * ["absoluteKeywordLocation",] "error"}, appended to the capped list of the validation. The
 * list and the location buffer are made with the first unit: a valid instance costs nothing. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "odmd/buf.h"
#include "odmd/pointer.h"
#include "odmd/text.h"
#include "schema/internal.h"

#define MAX_LOCATION 65536

/* Appends "/" and an array index in decimal. */
static bool put_index(odm_buf_t *b, size_t index)
{
    char digits[ODM_TEXT_INT_MAX + 1] = "/";
    return odm_buf_append(b, digits, 1 + odm_text_uint(index, digits + 1));
}

/* Appends the segments of a path, outermost first. */
static bool put_path(odm_buf_t *b, const schema__seg_t *seg)
{
    if (seg == NULL)
        return true;
    if (!put_path(b, seg->up))
        return false;
    if (seg->name != NULL)
        return odm_pointer_append_token(b, seg->name, seg->len);
    return put_index(b, seg->len);
}

static bool put_token(odm_buf_t *b, const char *name)
{
    return name == NULL || odm_pointer_append_token(b, name, strlen(name));
}

/* A new string from the scratch buffer ("" when building it failed). Locations are made of
 * schema keys and instance keys, valid UTF-8 as jansson holds them. */
static json_t *scratch_string(odm_buf_t *b, bool ok)
{
    return ok && b->len > 0 ? json_stringn_nocheck(b->data, b->len) : json_string_nocheck("");
}

/* Locations are built in the validation's scratch buffer (reset for each). */
static json_t *location(odm_buf_t *b, const schema__seg_t *path, const char *kw, const char *sub)
{
    odm_buf_reset(b);
    return scratch_string(b, put_path(b, path) && put_token(b, kw) && put_token(b, sub));
}

static json_t *absolute_location(odm_buf_t *b, const schema__node_t *node, const char *kw,
                                 const char *sub)
{
    odm_buf_reset(b);
    bool ok = odm_buf_puts(b, node->cres->res->uri) && odm_buf_putc(b, '#') &&
              odm_buf_puts(b, node->pointer) && put_token(b, kw) && put_token(b, sub);
    return scratch_string(b, ok);
}

void schema__errors_init(schema__errors_t *e, size_t max)
{
    e->list = NULL;
    e->count = 0;
    e->max = max;
    odm_buf_init(&e->scratch, MAX_LOCATION);
}

void schema__errors_release(schema__errors_t *e)
{
    json_decref(e->list);
    odm_buf_release(&e->scratch);
}

json_t *schema__errors_take(schema__errors_t *e)
{
    json_t *list = e->list != NULL ? e->list : json_array();
    e->list = NULL;
    return list;
}

/* A message being formatted into a fixed buffer, cut short when it does not fit. */
typedef struct {
    char *buf;
    size_t cap, len; /* len < cap: room for the NUL */
} msg_t;

static void msg_put(msg_t *m, const char *s, size_t n)
{
    size_t room = m->cap - 1 - m->len;
    n = n < room ? n : room;
    memcpy(m->buf + m->len, s, n);
    m->len += n;
}

static void msg_unsigned(msg_t *m, unsigned long long x, bool negative)
{
    char digits[ODM_TEXT_INT_MAX + 1] = "-";
    size_t n = odm_text_uint(x, digits + 1);
    msg_put(m, negative ? digits : digits + 1, negative ? n + 1 : n);
}

/* printf for the conversions reports use (%s, %.*s, %zu, %d), without libc's formatting
 * machinery, which costs more than the rest of a unit's text. Others are copied as written. */
static void format_message(char *buf, size_t cap, const char *fmt, va_list ap)
{
    msg_t m = {buf, cap, 0};
    for (const char *p = fmt; *p != '\0'; p++) {
        const char *run = p;
        while (*p != '\0' && *p != '%')
            p++;
        msg_put(&m, run, (size_t)(p - run));
        if (*p == '\0')
            break;
        if (strncmp(p, "%s", 2) == 0) {
            const char *s = va_arg(ap, const char *);
            msg_put(&m, s, strlen(s));
        } else if (strncmp(p, "%.*s", 4) == 0) {
            int n = va_arg(ap, int);
            const char *s = va_arg(ap, const char *);
            msg_put(&m, s, n > 0 ? (size_t)n : 0);
            p += 2;
        } else if (strncmp(p, "%zu", 3) == 0) {
            msg_unsigned(&m, va_arg(ap, size_t), false);
            p++;
        } else if (strncmp(p, "%d", 2) == 0) {
            int d = va_arg(ap, int);
            msg_unsigned(&m, d < 0 ? 0ull - (unsigned long long)d : (unsigned long long)d, d < 0);
        } else {
            msg_put(&m, p, 1);
            continue;
        }
        p++;
    }
    buf[m.len] = '\0';
}

/* Cuts a truncated multi-byte sequence off the end of a formatted message. */
static void trim_utf8(char *msg)
{
    size_t n = strlen(msg), i = n;
    while (i > 0 && ((unsigned char)msg[i - 1] & 0xC0) == 0x80)
        i--;
    if (i > 0 && (unsigned char)msg[i - 1] >= 0xC0) {
        unsigned char lead = (unsigned char)msg[i - 1];
        size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
        if (n - (i - 1) < want)
            msg[i - 1] = '\0';
    }
}

/* Sets a member whose name is a string literal, stealing the value. */
#define SET_MEMBER(unit, name, value)                                                              \
    json_object_setn_new_nocheck(unit, name, sizeof(name) - 1, value)

/* A new output unit for the current location of `v`. */
static json_t *new_unit(const schema__vctx_t *v, const char *kw, const char *sub, const char *msg)
{
    json_t *unit = json_object();
    if (unit == NULL)
        return NULL;
    odm_buf_t *b = &v->errors->scratch;
    SET_MEMBER(unit, "instanceLocation", location(b, v->ipath, NULL, NULL));
    SET_MEMBER(unit, "keywordLocation", location(b, v->kpath, kw, sub));
    if (v->via_ref && v->node != NULL)
        SET_MEMBER(unit, "absoluteKeywordLocation", absolute_location(b, v->node, kw, sub));
    SET_MEMBER(unit, "error", json_stringn_nocheck(msg, strlen(msg)));
    return unit;
}

bool schema__report(const schema__vctx_t *v, const char *kw, const char *sub, const char *fmt, ...)
{
    if (!schema__collecting(v))
        return false;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    format_message(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    trim_utf8(msg); /* the rest is valid UTF-8: it comes from schema and instance strings */
    schema__errors_t *e = v->errors;
    if (e->list == NULL && (e->list = json_array()) == NULL)
        return false;
    if (json_array_append_new(e->list, new_unit(v, kw, sub, msg)) == 0)
        e->count++;
    return false;
}
