/* URI references (RFC 3986 section 5: resolution, dot segments) and JSON Pointers (RFC 6901). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "odmd/pointer.h"
#include "odmd/text.h"
#include "schema/internal.h"

typedef struct {
    const char *p;
    size_t n;
    bool defined;
} span_t;

typedef struct {
    span_t scheme, authority, path, query, fragment;
} uri_t;

static size_t scheme_len(const char *s)
{
    if (!isalpha((unsigned char)s[0]))
        return 0;
    size_t i = 1;
    while (isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')
        i++;
    return s[i] == ':' ? i : 0;
}

static void parse(const char *s, uri_t *u)
{
    memset(u, 0, sizeof(*u));
    size_t n = scheme_len(s);
    if (n > 0) {
        u->scheme = (span_t){s, n, true};
        s += n + 1;
    }
    if (s[0] == '/' && s[1] == '/') {
        size_t a = strcspn(s + 2, "/?#");
        u->authority = (span_t){s + 2, a, true};
        s += 2 + a;
    }
    size_t p = strcspn(s, "?#");
    u->path = (span_t){s, p, true};
    s += p;
    if (*s == '?') {
        size_t q = strcspn(s + 1, "#");
        u->query = (span_t){s + 1, q, true};
        s += 1 + q;
    }
    if (*s == '#')
        u->fragment = (span_t){s + 1, strlen(s + 1), true};
}

typedef struct {
    char *p;
    size_t n, cap;
    bool overflow;
} out_t;

static void put(out_t *o, const char *s, size_t n)
{
    if (o->overflow || o->n + n >= o->cap) {
        o->overflow = true;
        return;
    }
    memcpy(o->p + o->n, s, n);
    o->n += n;
    o->p[o->n] = '\0';
}

/* Removes "." and ".." segments from the path in o->p[start..] in place (RFC 3986 5.2.4). */
static void remove_dots(out_t *o, size_t start)
{
    char *in = o->p + start;
    size_t n = o->n - start, w = 0, i = 0;
    char *outp = in;
    while (i < n) {
        const char *r = in + i;
        size_t left = n - i;
        if (left >= 3 && memcmp(r, "../", 3) == 0) {
            i += 3;
        } else if (left >= 2 && memcmp(r, "./", 2) == 0) {
            i += 2;
        } else if ((left >= 3 && memcmp(r, "/./", 3) == 0) ||
                   (left == 2 && memcmp(r, "/.", 2) == 0)) {
            i += 2;
            if (left == 2)
                in[--i] = '/'; /* "/." at the end becomes "/" */
        } else if ((left >= 4 && memcmp(r, "/../", 4) == 0) ||
                   (left == 3 && memcmp(r, "/..", 3) == 0)) {
            i += 3;
            if (left == 3)
                in[--i] = '/';
            while (w > 0 && outp[--w] != '/')
                ;
        } else if ((left == 1 && r[0] == '.') || (left == 2 && memcmp(r, "..", 2) == 0)) {
            i = n;
        } else {
            size_t seg = 1 + strcspn(r + 1, "/");
            if (seg > left)
                seg = left;
            memmove(outp + w, r, seg);
            w += seg;
            i += seg;
        }
    }
    o->n = start + w;
    o->p[o->n] = '\0';
}

static void put_path(out_t *o, const uri_t *b, const uri_t *r)
{
    size_t start = o->n;
    if (r->path.n > 0 && r->path.p[0] == '/') {
        put(o, r->path.p, r->path.n);
    } else {
        if (b->authority.defined && b->path.n == 0) {
            put(o, "/", 1);
        } else {
            size_t keep = b->path.n;
            while (keep > 0 && b->path.p[keep - 1] != '/')
                keep--;
            put(o, b->path.p, keep);
        }
        put(o, r->path.p, r->path.n);
    }
    if (!o->overflow)
        remove_dots(o, start);
}

static void put_tail(out_t *o, const span_t *query, const span_t *fragment)
{
    if (query->defined) {
        put(o, "?", 1);
        put(o, query->p, query->n);
    }
    if (fragment->defined) {
        put(o, "#", 1);
        put(o, fragment->p, fragment->n);
    }
}

static void put_authority(out_t *o, const span_t *a)
{
    if (a->defined) {
        put(o, "//", 2);
        put(o, a->p, a->n);
    }
}

static void put_rooted(out_t *o, const span_t *path)
{
    size_t start = o->n;
    put(o, path->p, path->n);
    if (!o->overflow)
        remove_dots(o, start);
}

char *schema__uri_resolve(const char *base, const char *ref)
{
    uri_t b, r;
    parse(base, &b);
    parse(ref, &r);
    char buf[SCHEMA_MAX_URI];
    out_t o = {buf, 0, sizeof(buf), false};
    buf[0] = '\0';
    const span_t *scheme = r.scheme.defined ? &r.scheme : &b.scheme;
    if (scheme->defined) {
        put(&o, scheme->p, scheme->n);
        put(&o, ":", 1);
    }
    if (r.scheme.defined || r.authority.defined) {
        put_authority(&o, &r.authority);
        put_rooted(&o, &r.path);
        put_tail(&o, &r.query, &r.fragment);
    } else if (r.path.n == 0) {
        put_authority(&o, &b.authority);
        put(&o, b.path.p, b.path.n);
        put_tail(&o, r.query.defined ? &r.query : &b.query, &r.fragment);
    } else {
        put_authority(&o, &b.authority);
        put_path(&o, &b, &r);
        put_tail(&o, &r.query, &r.fragment);
    }
    return o.overflow ? NULL : strdup(buf);
}

size_t schema__uri_base_len(const char *uri)
{
    return strcspn(uri, "#");
}

bool schema__uri_unescape(const char *s, size_t n, char *out, size_t cap, size_t *out_len)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return false;
            int hi = odm_text_hex_digit(s[i + 1]), lo = odm_text_hex_digit(s[i + 2]);
            if (hi < 0 || lo < 0)
                return false;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (w + 1 >= cap)
            return false;
        out[w++] = c;
    }
    out[w] = '\0';
    if (out_len != NULL)
        *out_len = w;
    return true;
}

bool schema__pointer_append(char *buf, size_t cap, const char *name, size_t len)
{
    size_t n = strlen(buf);
    if (n + 1 >= cap)
        return false;
    buf[n++] = '/';
    size_t used;
    if (odm_pointer_escape(name, len, buf + n, cap - 1 - n, &used) < len) {
        buf[n - 1] = '\0'; /* unchanged */
        return false;
    }
    buf[n + used] = '\0';
    return true;
}

bool schema__pointer_append_index(char *buf, size_t cap, size_t index)
{
    char num[ODM_TEXT_INT_MAX];
    return schema__pointer_append(buf, cap, num, odm_text_uint(index, num));
}

static json_t *array_step(json_t *node, const char *tok)
{
    if (tok[0] == '\0' || (tok[0] == '0' && tok[1] != '\0'))
        return NULL;
    char *end;
    unsigned long long i = strtoull(tok, &end, 10);
    if (*end != '\0' || !isdigit((unsigned char)tok[0]))
        return NULL;
    return json_array_get(node, (size_t)i);
}

json_t *schema__pointer_get(json_t *root, const char *pointer,
                            void (*step)(void *arg, json_t *node, const char *ptr, size_t ptr_len),
                            void *arg)
{
    json_t *node = root;
    const char *p = pointer;
    char tok[SCHEMA_MAX_URI];
    while (node != NULL && *p == '/') {
        size_t n = strcspn(p + 1, "/");
        if (!odm_pointer_unescape(p + 1, n, tok, sizeof(tok), NULL))
            return NULL;
        p += 1 + n;
        node = json_is_object(node)  ? json_object_get(node, tok)
               : json_is_array(node) ? array_step(node, tok)
                                     : NULL;
        if (node != NULL && step != NULL)
            step(arg, node, pointer, (size_t)(p - pointer));
    }
    return *p == '\0' ? node : NULL;
}

bool odm_schema_file_uri(const char *path, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    static const char keep[] = "-._~/!$&'()*+,;=:@";
    size_t len = sizeof "file://" - 1;
    if (size <= len)
        return false;
    memcpy(out, "file://", len);
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || strchr(keep, *p) != NULL;
        if (len + (plain ? 1 : 3) >= size)
            return false;
        if (plain) {
            out[len++] = (char)*p;
        } else {
            out[len++] = '%';
            out[len++] = hex[*p >> 4];
            out[len++] = hex[*p & 15];
        }
    }
    out[len] = '\0';
    return true;
}
