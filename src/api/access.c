/* Callers in the API: who sends a request on an /api/ route (401 when it cannot be told, RFC
 * 6750 3) and whether its scopes cover what the request does (403). */
#include <stdio.h>
#include <string.h>

#include "api/internal.h"

#define REALM "Bearer realm=\"odmd\""
#define CHALLENGE_MAX 512 /* the realm, the error and a scope (a model name: 255 bytes) */

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

bool api__refuse_caller(const odm_app_t *app, odm_request_t *req, const api_route_t *r,
                        odm_principal_t *who)
{
    odm_error_t err;
    const char *authorization = odm_request_header(req, "Authorization");
    switch (odm_auth_identify(app->auth, authorization, who, &err)) {
    case ODM_AUTH_OK:
        return api__refuse_scope(req, who, route_access(r, req), r->model);
    case ODM_AUTH_NONE:
        odm_request_add_header(req, "WWW-Authenticate", REALM);
        break;
    case ODM_AUTH_INVALID:
        odm_request_add_header(req, "WWW-Authenticate", REALM ", error=\"invalid_token\"");
        break;
    }
    return api__fail(req, &err, NULL);
}
