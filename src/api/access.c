/* Callers in the API: who sends a request on an /api/ route (401 when it cannot be told, RFC
 * 6750 3) and whether its scopes cover what the request does (403). */
#include <stdio.h>
#include <string.h>

#include "api/internal.h"

#define REALM "Bearer realm=\"odmd\""
#define CHALLENGE_MAX 512       /* the realm, the error and a scope (a model name: 255 bytes) */
#define API_KEY_HEADER_MAX 1024 /* "Bearer " and an api-key header's key */

/* What a request on route `r` does to its model: reads (GET, HEAD, OPTIONS) unless it asks for
 * soft-deleted documents (?deleted=) or restores one; everything else writes. */
static odm_access_t route_access(const api_route_t *r, odm_request_t *req)
{
    if (r->kind == API_RESTORE)
        return ODM_ACCESS_WRITE;
    if (!(odm_request_method(req) & (ODM_METHOD_GET | ODM_METHOD_HEAD | ODM_METHOD_OPTIONS)))
        return ODM_ACCESS_WRITE;
    return odm_request_query(req, "deleted") != NULL ? ODM_ACCESS_WRITE : ODM_ACCESS_READ;
}

bool api__refuse_scope(odm_request_t *req, const odm_principal_t *who, odm_access_t access,
                       const odm_model_t *model)
{
    if (odm_principal_allows(who, access, model->name))
        return false;
    const char *verb = access == ODM_ACCESS_READ ? "read" : "write";
    char challenge[CHALLENGE_MAX];
    snprintf(challenge, sizeof challenge, REALM ", error=\"insufficient_scope\", scope=\"%s:%s\"",
             verb, model->name);
    odm_request_add_header(req, "WWW-Authenticate", challenge);
    return api__failf(req, ODM_ERR_FORBIDDEN, "'%s' lacks the scope '%s:%s' (or %s:*, or admin)",
                      who->name, verb, model->name, verb);
}

/* The challenge for a refused credential: error="invalid_token" and the reason as
 * error_description (RFC 6750 3: its characters only, so no quote or backslash). */
static void add_invalid_challenge(odm_request_t *req, const char *reason)
{
    static const char head[] = REALM ", error=\"invalid_token\", error_description=\"";
    char challenge[CHALLENGE_MAX];
    size_t n = sizeof head - 1;
    memcpy(challenge, head, n);
    for (const char *p = reason; *p != '\0' && n + 2 < sizeof challenge; p++)
        if ((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f && *p != '"' && *p != '\\')
            challenge[n++] = *p;
    challenge[n++] = '"';
    challenge[n] = '\0';
    odm_request_add_header(req, "WWW-Authenticate", challenge);
}

/* The Data API's routes also take a key as its clients send it, in an api-key header, when no
 * Authorization header is sent: read as "Bearer KEY" (a key too long for `buf` is sent as
 * none, and refused). Returns: the Authorization value to identify (borrowed, or `buf`). */
static const char *authorization_of(const api_route_t *r, odm_request_t *req, char *buf,
                                    size_t size)
{
    const char *authorization = odm_request_header(req, "Authorization");
    const char *key = odm_request_header(req, "api-key");
    if (authorization != NULL || key == NULL || r->kind != API_DATAAPI)
        return authorization;
    int n = snprintf(buf, size, "Bearer %s", key);
    if (n < 0 || (size_t)n >= size)
        snprintf(buf, size, "Bearer ");
    return buf;
}

/* The Data API answered a call without any credential 400 InvalidParameter, in these words
 * (a refused one was its 401 InvalidSession, "invalid session: ..."). Returns: true. */
static bool refuse_dataapi_none(odm_request_t *req)
{
    if (odm_request_header(req, "api-key") != NULL) { /* one too long for authorization_of */
        odm_request_add_header(req, "WWW-Authenticate", REALM ", error=\"invalid_token\"");
        return api__failf(req, ODM_ERR_UNAUTHORIZED,
                          "invalid session: the api-key header is longer than %d bytes",
                          API_KEY_HEADER_MAX - 8);
    }
    return api__failf(req, ODM_ERR_BAD_REQUEST, "no authentication methods were specified");
}

bool api__refuse_caller(const odm_app_t *app, odm_request_t *req, const api_route_t *r,
                        odm_principal_t *who)
{
    odm_error_t err;
    char bearer[API_KEY_HEADER_MAX];
    const char *authorization = authorization_of(r, req, bearer, sizeof bearer);
    switch (odm_auth_identify(app->auth, authorization, who, &err)) {
    case ODM_AUTH_OK: /* a route without a model (/openapi.json) needs a caller, no scope */
        return r->model != NULL && api__refuse_scope(req, who, route_access(r, req), r->model);
    case ODM_AUTH_NONE:
        if (r->kind == API_DATAAPI)
            return refuse_dataapi_none(req);
        odm_request_add_header(req, "WWW-Authenticate", REALM);
        break;
    case ODM_AUTH_INVALID:
        add_invalid_challenge(req, err.message);
        if (r->kind == API_DATAAPI)
            odm_error_prefix(&err, "invalid session");
        break;
    }
    return api__fail(req, &err, NULL);
}
