/* CORS (the Fetch standard's CORS protocol): which browser origins may read odmd's answers,
 * and the fields that say so, added to every answer on its way out (server.c, linger.c). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/internal.h"

/* A preflight's answer may be cached this long by the browser (Chromium caps it at 7200). */
#define CORS_MAX_AGE "600"

/* The request fields odmd reads, which a page's script may set (api-key: the Data API's routes'
 * key). Accept and Content-Type are safelisted only for some values, so they are listed too. */
#define CORS_ALLOW_HEADERS                                                                         \
    "Authorization, Content-Type, Accept, If-Match, If-None-Match, Idempotency-Key, "              \
    "X-Request-Id, api-key"

/* The answer fields a script may read besides the safelisted ones (Content-Type, ...). */
#define CORS_EXPOSE_HEADERS                                                                        \
    "ETag, Location, X-Total-Count, Link, Retry-After, RateLimit, RateLimit-Policy, "              \
    "X-Request-Id, Allow, Accept-Patch, Idempotency-Replayed, WWW-Authenticate"

bool http__cors_init(odm_http_server_t *server, odm_error_t *err)
{
    http__cors_t *c = &server->cors;
    const char *list = server->opts.cors_origin;
    memset(c, 0, sizeof *c);
    if (list == NULL || list[0] == '\0')
        return true;
    c->enabled = true;
    if (strcmp(list, "*") == 0) {
        c->any = true;
        return true;
    }
    for (const char *p = list; *p != '\0';) {
        p += strspn(p, " ,");
        size_t n = strcspn(p, ",");
        size_t trimmed = n;
        while (trimmed > 0 && p[trimmed - 1] == ' ')
            trimmed--;
        if (trimmed > 0) {
            if (c->n == HTTP__CORS_MAX) {
                http__cors_release(server);
                return odm_error_set(err, ODM_ERR_CONFIG, "more than %d CORS origins",
                                     HTTP__CORS_MAX);
            }
            if ((c->origins[c->n++] = strndup(p, trimmed)) == NULL) {
                http__cors_release(server);
                return odm_error_set(err, ODM_ERR_INTERNAL, "out of memory");
            }
        }
        p += n;
    }
    return true;
}

void http__cors_release(odm_http_server_t *server)
{
    http__cors_t *c = &server->cors;
    for (unsigned i = 0; i < c->n; i++)
        free(c->origins[i]);
    memset(c, 0, sizeof *c);
}

/* Origins compare as ASCII case-insensitive strings: browsers serialise scheme and host in
 * lower case, and an operator may not. */
static bool origin_allowed(const http__cors_t *c, const char *origin)
{
    if (origin == NULL)
        return false;
    if (c->any)
        return true;
    for (unsigned i = 0; i < c->n; i++)
        if (strcasecmp(c->origins[i], origin) == 0)
            return true;
    return false;
}

static bool is_preflight(const odm_request_t *req)
{
    return req->method == ODM_METHOD_OPTIONS &&
           odm_request_header(req, "Access-Control-Request-Method") != NULL;
}

bool odm_request_is_cors_preflight(const odm_request_t *req)
{
    const http__cors_t *c = &req->server->cors;
    return c->enabled && is_preflight(req) && origin_allowed(c, odm_request_header(req, "Origin"));
}

void http__cors_headers(const odm_request_t *req, http__header_fn fn, void *ctx)
{
    const http__cors_t *c = &req->server->cors;
    if (!c->enabled)
        return;
    if (!c->any) /* the answer depends on Origin: caches must keep one per origin */
        fn(ctx, "Vary", "Origin");
    const char *origin = odm_request_header(req, "Origin");
    if (!origin_allowed(c, origin))
        return;
    /* "*" is never sent with Access-Control-Allow-Credentials, which odmd never sends: its
     * credentials are Authorization fields a script sets, not cookies */
    fn(ctx, "Access-Control-Allow-Origin", c->any ? "*" : origin);
    const char *allow = odm_request_response_header(req, "Allow");
    if (is_preflight(req) && req->status >= 200 && req->status < 300 && allow != NULL) {
        fn(ctx, "Access-Control-Allow-Methods", allow);
        fn(ctx, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
        fn(ctx, "Access-Control-Max-Age", CORS_MAX_AGE);
        return;
    }
    fn(ctx, "Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
}
