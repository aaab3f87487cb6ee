/* Output: one "basic" output unit per violation, {"instanceLocation", "keywordLocation",
 * ["absoluteKeywordLocation",] "error"}, appended to the capped list of the validation. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "odmd/buf.h"
#include "schema/internal.h"

#define MAX_LOCATION 65536

/* Appends "/" and a JSON Pointer token (~ as ~0, / as ~1). */
static bool put_escaped(odm_buf_t *b, const char *name, size_t len)
{
    if (!odm_buf_putc(b, '/'))
        return false;
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        if (name[i] != '~' && name[i] != '/')
            continue;
        if (!odm_buf_append(b, name + run, i - run) ||
            !odm_buf_puts(b, name[i] == '~' ? "~0" : "~1"))
            return false;
        run = i + 1;
    }
    return odm_buf_append(b, name + run, len - run);
}

/* Appends the segments of a path, outermost first. */
static bool put_path(odm_buf_t *b, const schema__seg_t *seg)
{
    if (seg == NULL)
        return true;
    if (!put_path(b, seg->up))
        return false;
    if (seg->name != NULL)
        return put_escaped(b, seg->name, seg->len);
    return odm_buf_printf(b, "/%zu", seg->len);
}

static bool put_token(odm_buf_t *b, const char *name)
{
    return name == NULL || put_escaped(b, name, strlen(name));
}

/* Locations are built in the validation's scratch buffer (reset for each). */
static json_t *location(odm_buf_t *b, const schema__seg_t *path, const char *kw, const char *sub)
{
    odm_buf_reset(b);
    bool ok = put_path(b, path) && put_token(b, kw) && put_token(b, sub);
    return json_stringn(ok ? odm_buf_cstr(b) : "", ok ? b->len : 0);
}

static json_t *absolute_location(odm_buf_t *b, const schema__node_t *node, const char *kw,
                                 const char *sub)
{
    odm_buf_reset(b);
    bool ok = odm_buf_puts(b, node->cres->res->uri) && odm_buf_putc(b, '#') &&
              odm_buf_puts(b, node->pointer) && put_token(b, kw) && put_token(b, sub);
    return json_stringn(ok ? odm_buf_cstr(b) : "", ok ? b->len : 0);
}

void schema__errors_init(schema__errors_t *e, size_t max)
{
    e->list = json_array();
    e->max = max;
    odm_buf_init(&e->scratch, MAX_LOCATION);
}

void schema__errors_release(schema__errors_t *e)
{
    json_decref(e->list);
    odm_buf_release(&e->scratch);
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

bool schema__report(const schema__vctx_t *v, const char *kw, const char *sub, const char *fmt, ...)
{
    if (!schema__collecting(v))
        return false;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    trim_utf8(msg);
    json_t *unit = json_object();
    if (unit == NULL)
        return false;
    odm_buf_t *b = &v->errors->scratch;
    json_object_set_new(unit, "instanceLocation", location(b, v->ipath, NULL, NULL));
    json_object_set_new(unit, "keywordLocation", location(b, v->kpath, kw, sub));
    if (v->via_ref && v->node != NULL)
        json_object_set_new(unit, "absoluteKeywordLocation",
                            absolute_location(b, v->node, kw, sub));
    json_object_set_new(unit, "error", json_string(msg));
    json_array_append_new(v->errors->list, unit);
    return false;
}
