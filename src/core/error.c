/* The error table (kind -> status, problem type, title) and the one problem+json writer. */
#include "odmd/error.h"

#include "odmd/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    int status;
    const char *title;
} kinds[ODM_ERR__COUNT] = {
    [ODM_ERR_NONE] = {200, "No error"},
    [ODM_ERR_BAD_REQUEST] = {400, "Bad request"},
    [ODM_ERR_MALFORMED_JSON] = {400, "Malformed JSON body"},
    [ODM_ERR_BAD_QUERY] = {400, "Bad query parameter"},
    [ODM_ERR_BAD_ID] = {400, "Malformed document id"},
    [ODM_ERR_UNAUTHORIZED] = {401, "Unauthorized"},
    [ODM_ERR_NOT_FOUND] = {404, "Not found"},
    [ODM_ERR_METHOD_NOT_ALLOWED] = {405, "Method not allowed"},
    [ODM_ERR_CONFLICT] = {409, "Conflict"},
    [ODM_ERR_PRECONDITION] = {412, "Precondition failed"},
    [ODM_ERR_TOO_LARGE] = {413, "Payload too large"},
    [ODM_ERR_MEDIA_TYPE] = {415, "Unsupported media type"},
    [ODM_ERR_VALIDATION] = {422, "Validation failed"},
    [ODM_ERR_INTERNAL] = {500, "Internal error"},
    [ODM_ERR_UNAVAILABLE] = {503, "Service unavailable"},
    [ODM_ERR_TIMEOUT] = {504, "Request timed out"},
    [ODM_ERR_CONFIG] = {500, "Bad configuration"},
    [ODM_ERR_SCHEMA] = {500, "Bad schema"},
    [ODM_ERR_IO] = {500, "I/O error"},
    [ODM_ERR_PRECONDITION_REQUIRED] = {428, "Precondition required"},
    [ODM_ERR_FORBIDDEN] = {403, "Forbidden"},
    [ODM_ERR_TOO_MANY_REQUESTS] = {429, "Too many requests"},
};

bool odm_error_setv(odm_error_t *err, odm_error_kind_t kind, const char *fmt, va_list ap)
{
    if (err == NULL)
        return false;
    err->kind = kind;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    return false;
}

bool odm_error_set(odm_error_t *err, odm_error_kind_t kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    odm_error_setv(err, kind, fmt, ap);
    va_end(ap);
    return false;
}

void odm_error_prefix(odm_error_t *err, const char *fmt, ...)
{
    if (err == NULL)
        return;
    char joined[ODM_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(joined, sizeof joined, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof joined - 2)
        return;
    joined[n++] = ':';
    joined[n++] = ' ';
    size_t rest = sizeof joined - (size_t)n - 1, mlen = strlen(err->message);
    memcpy(joined + n, err->message, mlen < rest ? mlen : rest);
    joined[n + (mlen < rest ? mlen : rest)] = '\0';
    memcpy(err->message, joined, sizeof joined);
}

void odm_error_clear(odm_error_t *err)
{
    if (err == NULL)
        return;
    err->kind = ODM_ERR_NONE;
    err->message[0] = '\0';
}

static bool valid_kind(odm_error_kind_t kind)
{
    return kind >= 0 && kind < ODM_ERR__COUNT;
}

int odm_error_status(odm_error_kind_t kind)
{
    return valid_kind(kind) ? kinds[kind].status : 500;
}

static const char *error_title(odm_error_kind_t kind)
{
    return valid_kind(kind) ? kinds[kind].title : kinds[ODM_ERR_INTERNAL].title;
}

/* The URIs are literals so that callers get static storage without any initialisation. */
#define TYPE(slug) "urn:odmd:problem:" slug
static const char *error_type(odm_error_kind_t kind)
{
    static const char *const uris[ODM_ERR__COUNT] = {
        [ODM_ERR_NONE] = TYPE("none"),
        [ODM_ERR_BAD_REQUEST] = TYPE("bad-request"),
        [ODM_ERR_MALFORMED_JSON] = TYPE("malformed-json"),
        [ODM_ERR_BAD_QUERY] = TYPE("bad-query"),
        [ODM_ERR_BAD_ID] = TYPE("bad-id"),
        [ODM_ERR_UNAUTHORIZED] = TYPE("unauthorized"),
        [ODM_ERR_NOT_FOUND] = TYPE("not-found"),
        [ODM_ERR_METHOD_NOT_ALLOWED] = TYPE("method-not-allowed"),
        [ODM_ERR_CONFLICT] = TYPE("conflict"),
        [ODM_ERR_PRECONDITION] = TYPE("precondition-failed"),
        [ODM_ERR_TOO_LARGE] = TYPE("payload-too-large"),
        [ODM_ERR_MEDIA_TYPE] = TYPE("unsupported-media-type"),
        [ODM_ERR_VALIDATION] = TYPE("validation"),
        [ODM_ERR_INTERNAL] = TYPE("internal"),
        [ODM_ERR_UNAVAILABLE] = TYPE("unavailable"),
        [ODM_ERR_TIMEOUT] = TYPE("timeout"),
        [ODM_ERR_CONFIG] = TYPE("config"),
        [ODM_ERR_SCHEMA] = TYPE("schema"),
        [ODM_ERR_IO] = TYPE("io"),
        [ODM_ERR_PRECONDITION_REQUIRED] = TYPE("precondition-required"),
        [ODM_ERR_FORBIDDEN] = TYPE("forbidden"),
        [ODM_ERR_TOO_MANY_REQUESTS] = TYPE("too-many-requests"),
    };
    return valid_kind(kind) ? uris[kind] : uris[ODM_ERR_INTERNAL];
}
#undef TYPE

/* The problem body is written straight into a buffer: json_pack and json_dumps cost 55k
 * instructions per 422 with the validator's errors (most of the request's time when the
 * polling thread answers it). The text is json_dumps's with JSON_COMPACT, byte for byte. */
#define PROBLEM_MAX ((size_t)64 << 20) /* far above ODM_SCHEMA_MAX_ERRORS messages */
#define PROBLEM_MAX_DEPTH 32           /* deeper values are handed to json_dumps */

/* What json_dumps writes for one value (reals, and values nested too deep to recurse into). */
static bool put_dumped(odm_buf_t *b, const json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    bool ok = text != NULL && odm_buf_puts(b, text);
    free(text);
    return ok;
}

static bool put_value(odm_buf_t *b, const json_t *v, int depth)
{
    if (depth > PROBLEM_MAX_DEPTH)
        return put_dumped(b, v);
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        size_t klen;
        const json_t *member;
        bool first = true;
        if (!odm_buf_putc(b, '{'))
            return false;
        json_object_keylen_foreach((json_t *)v, key, klen, member)
        {
            if ((!first && !odm_buf_putc(b, ',')) || !odm_buf_json_string(b, key, klen) ||
                !odm_buf_putc(b, ':') || !put_value(b, member, depth + 1))
                return false;
            first = false;
        }
        return odm_buf_putc(b, '}');
    }
    case JSON_ARRAY: {
        size_t i;
        const json_t *item;
        if (!odm_buf_putc(b, '['))
            return false;
        json_array_foreach(v, i, item)
        {
            if ((i > 0 && !odm_buf_putc(b, ',')) || !put_value(b, item, depth + 1))
                return false;
        }
        return odm_buf_putc(b, ']');
    }
    case JSON_STRING:
        return odm_buf_json_string(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return odm_buf_put_int(b, json_integer_value(v));
    case JSON_TRUE:
        return odm_buf_append(b, "true", 4);
    case JSON_FALSE:
        return odm_buf_append(b, "false", 5);
    case JSON_NULL:
        return odm_buf_append(b, "null", 4);
    default:
        return put_dumped(b, v); /* JSON_REAL: jansson's own digits */
    }
}

bool odm_problem_put_json(odm_buf_t *b, const void *errors)
{
    return put_value(b, errors, 1);
}

char *odm_problem_body(const odm_error_t *err, const json_t *errors, size_t *len)
{
    return odm_problem_body_with(err, errors != NULL ? odm_problem_put_json : NULL, errors, len);
}

char *odm_problem_body_with(const odm_error_t *err, odm_problem_errors_fn *write,
                            const void *errors, size_t *len)
{
    odm_error_kind_t kind = err ? err->kind : ODM_ERR_INTERNAL;
    const char *type = error_type(kind), *title = error_title(kind);
    const char *detail = err && err->message[0] ? err->message : title;
    odm_buf_t b;
    odm_buf_init(&b, PROBLEM_MAX);
    bool ok = odm_buf_puts(&b, "{\"type\":") && odm_buf_json_string(&b, type, strlen(type)) &&
              odm_buf_puts(&b, ",\"title\":") && odm_buf_json_string(&b, title, strlen(title)) &&
              odm_buf_puts(&b, ",\"status\":") && odm_buf_put_int(&b, odm_error_status(kind)) &&
              odm_buf_puts(&b, ",\"detail\":") && odm_buf_json_string(&b, detail, strlen(detail));
    if (ok && write != NULL)
        ok = odm_buf_puts(&b, ",\"errors\":") && write(&b, errors);
    ok = ok && odm_buf_putc(&b, '}');
    if (!ok) {
        odm_buf_release(&b);
        return NULL;
    }
    return odm_buf_steal(&b, len);
}
