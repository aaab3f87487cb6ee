/* Output: one "basic" output unit per violation, {"instanceLocation", "keywordLocation",
 * ["absoluteKeywordLocation",] "error"}. A violation is recorded as a plain struct in the
 * list's arena (the location segments and the message's template and parameters, borrowed):
 * making the text of every unit as jansson values cost two thirds of an all-errors validation.
 * The text is made when the list is written, straight into the caller's buffer. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "odmd/buf.h"
#include "odmd/pointer.h"
#include "odmd/text.h"
#include "schema/internal.h"

#define MAX_LOCATION 65536
#define MAX_MESSAGE 512

odm_schema_errors_t *odm_schema_errors_new(size_t max)
{
    odm_schema_errors_t *e = calloc(1, sizeof(*e));
    if (e != NULL)
        e->max = max > 0 ? max : 1;
    return e;
}

void odm_schema_errors_free(odm_schema_errors_t *e)
{
    if (e == NULL)
        return;
    schema__arena_release(&e->arena);
    free(e);
}

size_t odm_schema_errors_count(const odm_schema_errors_t *e)
{
    return e->count;
}

void schema__errors_reset(odm_schema_errors_t *e)
{
    schema__arena_reset(&e->arena);
    e->first = e->last = NULL;
    e->count = 0;
}

/* ---- recording ---- */

static size_t path_length(const schema__seg_t *seg)
{
    size_t n = 0;
    for (; seg != NULL; seg = seg->up)
        n++;
    return n;
}

/* Copies a path's segments into toks[0..n), outermost first. */
static void copy_path(schema__tok_t *toks, size_t n, const schema__seg_t *seg)
{
    for (size_t i = n; i > 0; i--, seg = seg->up) {
        toks[i - 1].name = seg->name;
        toks[i - 1].len = seg->len;
    }
}

/* The conversion at p ('%' ...): 's', '*' (%.*s), 'z' (%zu), 'd', or 0 for another. */
static char conversion(const char *p)
{
    if (p[1] == 's' || p[1] == 'd')
        return p[1];
    if (p[1] == '.' && p[2] == '*' && p[3] == 's')
        return '*';
    return p[1] == 'z' && p[2] == 'u' ? 'z' : 0;
}

/* The conversions of a template: 's', '*', 'z', 'd' in order (at most SCHEMA_MSG_ARGS
 * parameters; others are not conversions reports use). */
static void signature(const char *fmt, char *sig)
{
    size_t n = 0, params = 0;
    for (const char *p = strchr(fmt, '%'); p != NULL; p = strchr(p + 1, '%')) {
        char c = conversion(p);
        size_t takes = c == '*' ? 2 : 1;
        if (c == 0 || params + takes > SCHEMA_MSG_ARGS)
            continue;
        sig[n++] = c;
        params += takes;
    }
    sig[n] = '\0';
}

static const char *signature_of(odm_schema_errors_t *e, const char *fmt)
{
    schema__sig_t *s = &e->sigs[((uintptr_t)fmt >> 3) & (SCHEMA_SIGS - 1)];
    if (s->fmt != fmt) {
        signature(fmt, s->sig);
        s->fmt = fmt;
    }
    return s->sig;
}

/* Keeps the parameters of the template's conversions in order. */
static void keep_args(schema__arg_t *args, const char *sig, va_list ap)
{
    for (size_t n = 0; *sig != '\0'; sig++) {
        if (*sig == 's') {
            args[n++].s = va_arg(ap, const char *);
        } else if (*sig == '*') {
            args[n++].d = va_arg(ap, int);
            args[n++].s = va_arg(ap, const char *);
        } else if (*sig == 'z') {
            args[n++].z = va_arg(ap, size_t);
        } else {
            args[n++].d = va_arg(ap, int);
        }
    }
}

bool schema__report(const schema__vctx_t *v, const char *kw, const char *sub, const char *fmt, ...)
{
    if (!schema__collecting(v))
        return false;
    odm_schema_errors_t *e = v->errors;
    size_t ni = path_length(v->ipath), nk = path_length(v->kpath);
    schema__unit_t *u =
        schema__arena_alloc_raw(&e->arena, sizeof(*u) + (ni + nk) * sizeof(schema__tok_t));
    if (u == NULL)
        return false;
    u->next = NULL;
    u->node = v->via_ref ? v->node : NULL;
    u->kw = kw;
    u->sub = sub;
    u->fmt = fmt;
    u->n_ipath = ni;
    u->n_kpath = nk;
    copy_path(u->segs, ni, v->ipath);
    copy_path(u->segs + ni, nk, v->kpath);
    va_list ap;
    va_start(ap, fmt);
    keep_args(u->args, signature_of(e, fmt), ap);
    va_end(ap);
    if (e->last != NULL)
        e->last->next = u;
    else
        e->first = u;
    e->last = u;
    e->count++;
    return false;
}

/* ---- text ---- */

/* Appends "/" and an array index in decimal. */
static bool put_index(odm_buf_t *b, size_t index)
{
    char digits[ODM_TEXT_INT_MAX + 1] = "/";
    return odm_buf_append(b, digits, 1 + odm_text_uint(index, digits + 1));
}

static bool put_toks(odm_buf_t *b, const schema__tok_t *toks, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bool ok = toks[i].name != NULL ? odm_pointer_append_token(b, toks[i].name, toks[i].len)
                                       : put_index(b, toks[i].len);
        if (!ok)
            return false;
    }
    return true;
}

static bool put_token(odm_buf_t *b, const char *name)
{
    return name == NULL || odm_pointer_append_token(b, name, strlen(name));
}

/* The locations of a unit, each into `b` (reset first); false when it does not fit. */
static bool instance_location(odm_buf_t *b, const schema__unit_t *u)
{
    odm_buf_reset(b);
    return put_toks(b, u->segs, u->n_ipath);
}

static bool keyword_location(odm_buf_t *b, const schema__unit_t *u)
{
    odm_buf_reset(b);
    return put_toks(b, u->segs + u->n_ipath, u->n_kpath) && put_token(b, u->kw) &&
           put_token(b, u->sub);
}

static bool absolute_location(odm_buf_t *b, const schema__unit_t *u)
{
    odm_buf_reset(b);
    return odm_buf_puts(b, u->node->cres->res->uri) && odm_buf_putc(b, '#') &&
           odm_buf_puts(b, u->node->pointer) && put_token(b, u->kw) && put_token(b, u->sub);
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

/* printf for the conversions reports use (%s, %.*s, %zu, %d) over the kept parameters, without
 * libc's formatting machinery. Others are copied as written. Returns the length. */
static size_t format_message(char *buf, size_t cap, const char *fmt, const schema__arg_t *args)
{
    msg_t m = {buf, cap, 0};
    size_t n = 0;
    for (const char *p = fmt; *p != '\0'; p++) {
        const char *run = p;
        while (*p != '\0' && *p != '%')
            p++;
        msg_put(&m, run, (size_t)(p - run));
        if (*p == '\0')
            break;
        char c = conversion(p);
        if (c == 's' && n < SCHEMA_MSG_ARGS) {
            const char *s = args[n++].s;
            msg_put(&m, s, strlen(s));
        } else if (c == '*' && n + 2 <= SCHEMA_MSG_ARGS) {
            int len = args[n++].d;
            msg_put(&m, args[n++].s, len > 0 ? (size_t)len : 0);
            p += 2;
        } else if (c == 'z' && n < SCHEMA_MSG_ARGS) {
            msg_unsigned(&m, args[n++].z, false);
            p++;
        } else if (c == 'd' && n < SCHEMA_MSG_ARGS) {
            int d = args[n++].d;
            msg_unsigned(&m, d < 0 ? 0ull - (unsigned long long)d : (unsigned long long)d, d < 0);
        } else {
            msg_put(&m, p, 1);
            continue;
        }
        p++;
    }
    buf[m.len] = '\0';
    return m.len;
}

/* Cuts a truncated multi-byte sequence off the end of a formatted message. Returns the length. */
static size_t trim_utf8(char *msg, size_t n)
{
    size_t i = n;
    while (i > 0 && ((unsigned char)msg[i - 1] & 0xC0) == 0x80)
        i--;
    if (i > 0 && (unsigned char)msg[i - 1] >= 0xC0) {
        unsigned char lead = (unsigned char)msg[i - 1];
        size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
        if (n - (i - 1) < want) {
            msg[i - 1] = '\0';
            return i - 1;
        }
    }
    return n;
}

/* The message of a unit into msg (MAX_MESSAGE bytes); the rest is valid UTF-8: it comes from
 * schema and instance strings. Returns the length. */
static size_t message(char *msg, const schema__unit_t *u)
{
    return trim_utf8(msg, format_message(msg, MAX_MESSAGE, u->fmt, u->args));
}

/* ---- writing ---- */

/* Appends `"name":` and the scratch buffer's text as a JSON string ("" when it did not fit). */
static bool put_member(odm_buf_t *out, const char *name, const odm_buf_t *text, bool fits)
{
    bool some = fits && text->data != NULL;
    return odm_buf_puts(out, name) &&
           odm_buf_json_string(out, some ? text->data : "", some ? text->len : 0);
}

static bool write_unit(odm_buf_t *out, odm_buf_t *scratch, const schema__unit_t *u)
{
    char msg[MAX_MESSAGE];
    size_t n = message(msg, u);
    bool ok = put_member(out, "{\"instanceLocation\":", scratch, instance_location(scratch, u)) &&
              put_member(out, ",\"keywordLocation\":", scratch, keyword_location(scratch, u));
    if (ok && u->node != NULL)
        ok = put_member(out, ",\"absoluteKeywordLocation\":", scratch,
                        absolute_location(scratch, u));
    return ok && odm_buf_puts(out, ",\"error\":") && odm_buf_json_string(out, msg, n) &&
           odm_buf_putc(out, '}');
}

/* ---- writing, the common case: a unit whose text fits on the stack ---- */

#define FAST_UNIT 2048

typedef struct {
    char *p;
    size_t len, cap;
} text_t;

/* The bytes a JSON string (JSON_ESCAPE) or a pointer token (TOKEN_ESCAPE) does not hold as
 * they are. */
enum { JSON_ESCAPE = 1, TOKEN_ESCAPE = 2, BOTH_ESCAPE = 3 };
static const unsigned char special[256] = {
    [0x00] = 1, [0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1, [0x07] = 1,
    [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1, [0x0c] = 1, [0x0d] = 1, [0x0e] = 1, [0x0f] = 1,
    [0x10] = 1, [0x11] = 1, [0x12] = 1, [0x13] = 1, [0x14] = 1, [0x15] = 1, [0x16] = 1, [0x17] = 1,
    [0x18] = 1, [0x19] = 1, [0x1a] = 1, [0x1b] = 1, [0x1c] = 1, [0x1d] = 1, [0x1e] = 1, [0x1f] = 1,
    ['"'] = 1,  ['\\'] = 1, ['~'] = 2,  ['/'] = 2,
};

static bool text_put(text_t *t, const char *s, size_t n)
{
    if (n > t->cap - t->len)
        return false;
    memcpy(t->p + t->len, s, n);
    t->len += n;
    return true;
}

#define TEXT_LIT(t, lit) text_put(t, lit, sizeof(lit) - 1)

/* The second byte of a JSON escape ("\\n"), 'u' for "\\u00XX". */
static const char json_escape[128] = {
    ['"'] = '"',  ['\\'] = '\\', ['\n'] = 'n', ['\r'] = 'r',
    ['\t'] = 't', ['\b'] = 'b',  ['\f'] = 'f',
};

/* Appends the escape of byte c of the kinds in `escapes` (special[c] & escapes != 0). */
static bool text_escape(text_t *t, unsigned char c, unsigned escapes)
{
    static const char hex[] = "0123456789ABCDEF";
    char esc[6] = {'\\', json_escape[c] ? json_escape[c] : 'u', '0', '0', hex[c >> 4], hex[c & 15]};
    if (special[c] & escapes & TOKEN_ESCAPE) {
        esc[0] = '~';
        esc[1] = c == '~' ? '0' : '1';
    }
    return text_put(t, esc, esc[1] == 'u' ? 6 : 2);
}

/* How many of s's first n bytes need no escape of the kinds in `escapes`: eight bytes at a
 * time (a byte below 0x20 or equal to one of the escaped ones sets its high bit in `hit`: the
 * classic has-less and has-zero tests, exact about whether any byte does), then one by one. */
static size_t plain_run(const char *s, size_t n, unsigned escapes)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w, quote, slash;
        memcpy(&w, s + i, 8);
        quote = w ^ (ones * '"');
        slash = w ^ (ones * '\\');
        uint64_t hit =
            ((w - ones * 0x20) & ~w) | ((quote - ones) & ~quote) | ((slash - ones) & ~slash);
        if (escapes & TOKEN_ESCAPE) {
            uint64_t tilde = w ^ (ones * '~'), sep = w ^ (ones * '/');
            hit |= ((tilde - ones) & ~tilde) | ((sep - ones) & ~sep);
        }
        if (hit & highs)
            break;
    }
    while (i < n && (special[(unsigned char)s[i]] & escapes) == 0)
        i++;
    return i;
}

/* Appends s escaped for a JSON string (`escapes` JSON_ESCAPE) or for a pointer token inside a
 * JSON string (BOTH_ESCAPE): what odm_pointer_append_token then odm_buf_json_string make. */
static bool text_plain(text_t *t, const char *s, size_t n, unsigned escapes)
{
    for (;;) {
        size_t run = plain_run(s, n, escapes);
        if (!text_put(t, s, run))
            return false;
        if (run == n)
            return true;
        if (!text_escape(t, (unsigned char)s[run], escapes))
            return false;
        s += run + 1;
        n -= run + 1;
    }
}

static bool text_toks(text_t *t, const schema__tok_t *toks, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!TEXT_LIT(t, "/"))
            return false;
        if (toks[i].name == NULL) {
            char digits[ODM_TEXT_INT_MAX];
            if (!text_put(t, digits, odm_text_uint(toks[i].len, digits)))
                return false;
        } else if (!text_plain(t, toks[i].name, toks[i].len, BOTH_ESCAPE)) {
            return false;
        }
    }
    return true;
}

static bool text_token(text_t *t, const char *name)
{
    return name == NULL || (TEXT_LIT(t, "/") && text_plain(t, name, strlen(name), BOTH_ESCAPE));
}

/* A unit's text into t; false when it does not fit. */
static bool fast_unit(text_t *t, const schema__unit_t *u)
{
    char msg[MAX_MESSAGE];
    size_t n = message(msg, u);
    bool ok = TEXT_LIT(t, "{\"instanceLocation\":\"") && text_toks(t, u->segs, u->n_ipath) &&
              TEXT_LIT(t, "\",\"keywordLocation\":\"") &&
              text_toks(t, u->segs + u->n_ipath, u->n_kpath) && text_token(t, u->kw) &&
              text_token(t, u->sub) && TEXT_LIT(t, "\"");
    if (ok && u->node != NULL) {
        const char *uri = u->node->cres->res->uri, *pointer = u->node->pointer;
        ok = TEXT_LIT(t, ",\"absoluteKeywordLocation\":\"") &&
             text_plain(t, uri, strlen(uri), JSON_ESCAPE) && TEXT_LIT(t, "#") &&
             text_plain(t, pointer, strlen(pointer), JSON_ESCAPE) && text_token(t, u->kw) &&
             text_token(t, u->sub) && TEXT_LIT(t, "\"");
    }
    return ok && TEXT_LIT(t, ",\"error\":\"") && text_plain(t, msg, n, JSON_ESCAPE) &&
           TEXT_LIT(t, "\"}");
}

bool odm_schema_errors_write(const odm_schema_errors_t *e, odm_buf_t *out)
{
    odm_buf_t scratch;
    odm_buf_init(&scratch, MAX_LOCATION);
    bool ok = odm_buf_putc(out, '[');
    for (const schema__unit_t *u = e->first; ok && u != NULL; u = u->next) {
        char fast[FAST_UNIT];
        text_t t = {fast, u == e->first ? 0 : 1, sizeof fast};
        fast[0] = ',';
        if (fast_unit(&t, u))
            ok = odm_buf_append(out, fast, t.len);
        else
            ok = (u == e->first || odm_buf_putc(out, ',')) && write_unit(out, &scratch, u);
    }
    odm_buf_release(&scratch);
    return ok && odm_buf_putc(out, ']');
}

/* ---- jansson ---- */

/* A new string of the scratch buffer's text ("" when it did not fit). Locations are made of
 * schema keys and instance keys, valid UTF-8 as jansson holds them. */
static json_t *scratch_string(const odm_buf_t *b, bool fits)
{
    return fits && b->len > 0 ? json_stringn_nocheck(b->data, b->len) : json_string_nocheck("");
}

/* Sets a member whose name is a string literal, stealing the value. */
#define SET_MEMBER(unit, name, value)                                                              \
    json_object_setn_new_nocheck(unit, name, sizeof(name) - 1, value)

static json_t *unit_json(odm_buf_t *scratch, const schema__unit_t *u)
{
    json_t *unit = json_object();
    if (unit == NULL)
        return NULL;
    char msg[MAX_MESSAGE];
    size_t n = message(msg, u);
    bool fits = instance_location(scratch, u);
    SET_MEMBER(unit, "instanceLocation", scratch_string(scratch, fits));
    fits = keyword_location(scratch, u);
    SET_MEMBER(unit, "keywordLocation", scratch_string(scratch, fits));
    if (u->node != NULL) {
        fits = absolute_location(scratch, u);
        SET_MEMBER(unit, "absoluteKeywordLocation", scratch_string(scratch, fits));
    }
    SET_MEMBER(unit, "error", json_stringn_nocheck(msg, n));
    return unit;
}

json_t *odm_schema_errors_json(const odm_schema_errors_t *e)
{
    json_t *list = json_array();
    odm_buf_t scratch;
    odm_buf_init(&scratch, MAX_LOCATION);
    for (const schema__unit_t *u = e->first; list != NULL && u != NULL; u = u->next) {
        if (json_array_append_new(list, unit_json(&scratch, u)) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    odm_buf_release(&scratch);
    return list;
}
