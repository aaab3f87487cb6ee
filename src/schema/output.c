/* Output: one "basic" output unit per violation, {"instanceLocation", "keywordLocation",
 * ["absoluteKeywordLocation",] "error"}, appended to the capped list of the validation. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "odmd/buf.h"
#include "schema/internal.h"

#define MAX_LOCATION 65536

/* Appends the segments of a path, outermost first. */
static bool put_path(odm_buf_t *b, const schema__seg_t *seg)
{
    if (seg == NULL)
        return true;
    if (!put_path(b, seg->up))
        return false;
    char tok[SCHEMA_MAX_URI] = "";
    bool ok = seg->name != NULL ? schema__pointer_append(tok, sizeof(tok), seg->name, seg->len)
                                : schema__pointer_append_index(tok, sizeof(tok), seg->len);
    return ok && odm_buf_puts(b, tok);
}

static bool put_token(odm_buf_t *b, const char *name)
{
    char tok[SCHEMA_MAX_URI] = "";
    return name == NULL ||
           (schema__pointer_append(tok, sizeof(tok), name, strlen(name)) && odm_buf_puts(b, tok));
}

static json_t *location(const schema__seg_t *path, const char *kw, const char *sub)
{
    odm_buf_t b;
    odm_buf_init(&b, MAX_LOCATION);
    bool ok = put_path(&b, path) && put_token(&b, kw) && put_token(&b, sub);
    json_t *s = json_string(ok ? odm_buf_cstr(&b) : "");
    odm_buf_release(&b);
    return s;
}

static json_t *absolute_location(const schema__node_t *node, const char *kw, const char *sub)
{
    odm_buf_t b;
    odm_buf_init(&b, MAX_LOCATION);
    bool ok = odm_buf_puts(&b, node->cres->res->uri) && odm_buf_putc(&b, '#') &&
              odm_buf_puts(&b, node->pointer) && put_token(&b, kw) && put_token(&b, sub);
    json_t *s = json_string(ok ? odm_buf_cstr(&b) : "");
    odm_buf_release(&b);
    return s;
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

bool schema__report(const schema__vctx_t *v, const char *kw, const char *sub, const char *fmt,
                    ...)
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
    json_object_set_new(unit, "instanceLocation", location(v->ipath, NULL, NULL));
    json_object_set_new(unit, "keywordLocation", location(v->kpath, kw, sub));
    if (v->via_ref && v->node != NULL)
        json_object_set_new(unit, "absoluteKeywordLocation", absolute_location(v->node, kw, sub));
    json_object_set_new(unit, "error", json_string(msg));
    json_array_append_new(v->errors->list, unit);
    return false;
}
