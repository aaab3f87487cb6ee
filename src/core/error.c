/* The error table (kind -> status, problem type, title) and the one problem+json writer. */
#include "odmd/error.h"

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

const char *odm_error_title(odm_error_kind_t kind)
{
    return valid_kind(kind) ? kinds[kind].title : kinds[ODM_ERR_INTERNAL].title;
}

/* The URIs are literals so that callers get static storage without any initialisation. */
#define TYPE(slug) "urn:odmd:problem:" slug
const char *odm_error_type(odm_error_kind_t kind)
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
    };
    return valid_kind(kind) ? uris[kind] : uris[ODM_ERR_INTERNAL];
}
#undef TYPE

char *odm_problem_body(const odm_error_t *err, const json_t *errors, size_t *len)
{
    odm_error_kind_t kind = err ? err->kind : ODM_ERR_INTERNAL;
    json_t *body = json_pack("{s:s, s:s, s:i, s:s}", "type", odm_error_type(kind), "title",
                             odm_error_title(kind), "status", odm_error_status(kind), "detail",
                             err && err->message[0] ? err->message : odm_error_title(kind));
    if (body == NULL)
        return NULL;
    if (errors != NULL)
        json_object_set(body, "errors", (json_t *)errors);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (text != NULL && len != NULL)
        *len = strlen(text);
    return text;
}
