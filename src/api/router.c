/* The route table and the checks every request goes through, in their order of precedence:
 * 404/405, 401, 413, 415, then the handler's 400 and 422. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/dataapi.h"
#include "api/internal.h"
#include "odmd/log.h"

#define API_PREFIX "/api/"

/* Accept-Patch (RFC 5789 3.1): the bodies PATCH reads, each a JSON merge patch (RFC 7396). */
#define ACCEPT_PATCH ODM_API_MERGE_PATCH ", application/json"

typedef void (*handler_fn)(api_call_t *call);

static void reply_healthz(api_call_t *call);
static void reply_options(api_call_t *call);

/* What each route answers, one row per method, in the order Allow lists them, and how
 * /openapi.json describes it (openapi.c). */
static const struct {
    api_route_kind_t kind;
    odm_method_t method;
    const char *name;
    handler_fn fn;
    api_describe_fn describe; /* NULL: not in the document */
} handlers[] = {
    {API_HEALTHZ, ODM_METHOD_GET, "GET", reply_healthz, api__describe_healthz},
    {API_HEALTHZ, ODM_METHOD_HEAD, "HEAD", reply_healthz, api__describe_healthz},
    {API_HEALTHZ, ODM_METHOD_OPTIONS, "OPTIONS", reply_options, api__describe_options},
    {API_READYZ, ODM_METHOD_GET, "GET", api__readyz, api__describe_readyz},
    {API_READYZ, ODM_METHOD_HEAD, "HEAD", api__readyz, api__describe_readyz},
    {API_READYZ, ODM_METHOD_OPTIONS, "OPTIONS", reply_options, api__describe_options},
    {API_COLLECTION, ODM_METHOD_GET, "GET", api__list, api__describe_list},
    {API_COLLECTION, ODM_METHOD_HEAD, "HEAD", api__list, api__describe_list},
    {API_COLLECTION, ODM_METHOD_POST, "POST", api__create, api__describe_create},
    {API_COLLECTION, ODM_METHOD_PATCH, "PATCH", api__bulk_patch, api__describe_bulk_patch},
    {API_COLLECTION, ODM_METHOD_DELETE, "DELETE", api__bulk_delete, api__describe_bulk_delete},
    {API_COLLECTION, ODM_METHOD_OPTIONS, "OPTIONS", reply_options, api__describe_options},
    {API_DOCUMENT, ODM_METHOD_GET, "GET", api__get_document, api__describe_get},
    {API_DOCUMENT, ODM_METHOD_HEAD, "HEAD", api__get_document, api__describe_get},
    {API_DOCUMENT, ODM_METHOD_PUT, "PUT", api__put_document, api__describe_put},
    {API_DOCUMENT, ODM_METHOD_PATCH, "PATCH", api__patch_document, api__describe_patch},
    {API_DOCUMENT, ODM_METHOD_DELETE, "DELETE", api__delete_document, api__describe_delete},
    {API_DOCUMENT, ODM_METHOD_OPTIONS, "OPTIONS", reply_options, api__describe_options},
    {API_DISTINCT, ODM_METHOD_GET, "GET", api__distinct, api__describe_distinct},
    {API_DISTINCT, ODM_METHOD_HEAD, "HEAD", api__distinct, api__describe_distinct},
    {API_DISTINCT, ODM_METHOD_OPTIONS, "OPTIONS", reply_options, api__describe_options},
    {API_RESTORE, ODM_METHOD_POST, "POST", api__restore_document, api__describe_restore},
    {API_RESTORE, ODM_METHOD_OPTIONS, "OPTIONS", reply_options, api__describe_options},
    {API_METRICS, ODM_METHOD_GET, "GET", api__metrics, api__describe_metrics},
    {API_METRICS, ODM_METHOD_HEAD, "HEAD", api__metrics, api__describe_metrics},
    {API_OPENAPI, ODM_METHOD_GET, "GET", api__openapi, api__describe_openapi},
    {API_OPENAPI, ODM_METHOD_HEAD, "HEAD", api__openapi, api__describe_openapi},
    {API_OPENAPI, ODM_METHOD_OPTIONS, "OPTIONS", reply_options, api__describe_options},
    {API_DATAAPI, ODM_METHOD_POST, "POST", api__dataapi, api__describe_dataapi},
    {API_DATAAPI, ODM_METHOD_OPTIONS, "OPTIONS", reply_options, api__describe_options},
};

/* Accept-Patch (RFC 5789 3.1): the bodies PATCH reads, each a JSON merge patch (RFC 7396). */
#define ACCEPT_PATCH ODM_API_MERGE_PATCH ", application/json"

/* Whether a route needs a caller (access.c): the /api/ routes. */
static const bool needs_key[] = {
    [API_HEALTHZ] = false, [API_READYZ] = false,  [API_COLLECTION] = true,
    [API_DOCUMENT] = true, [API_DISTINCT] = true, [API_RESTORE] = true,
    [API_METRICS] = false, [API_OPENAPI] = true,  [API_DATAAPI] = true,
};

bool api__match_route(const odm_models_t *models, const char *path, api_route_t *r)
{
    memset(r, 0, sizeof *r);
    if (strcmp(path, "/healthz") == 0) {
        r->kind = API_HEALTHZ;
        return true;
    }
    if (strcmp(path, "/readyz") == 0) {
        r->kind = API_READYZ;
        return true;
    }
    if (strcmp(path, "/metrics") == 0) {
        r->kind = API_METRICS;
        return true;
    }
    if (strcmp(path, "/openapi.json") == 0) {
        r->kind = API_OPENAPI;
        return true;
    }
    if (strncmp(path, API_DATAAPI_PREFIX, strlen(API_DATAAPI_PREFIX)) == 0) {
        r->kind = API_DATAAPI; /* an unknown ACTION is the handler's 404 */
        r->id = path + strlen(API_DATAAPI_PREFIX);
        r->id_len = strlen(r->id);
        return r->id_len > 0 && memchr(r->id, '/', r->id_len) == NULL;
    }
    if (strncmp(path, API_PREFIX, strlen(API_PREFIX)) != 0)
        return false;
    const char *name = path + strlen(API_PREFIX);
    const char *slash = strchr(name, '/');
    size_t name_len = slash ? (size_t)(slash - name) : strlen(name);
    r->model = odm_models_find(models, name, name_len);
    if (r->model == NULL)
        return false;
    if (slash == NULL || slash[1] == '\0') {
        r->kind = API_COLLECTION;
        return true;
    }
    r->id = slash + 1;
    r->id_len = strlen(r->id);
    r->kind = API_DOCUMENT;
    static const char distinct[] = "_distinct/";
    if (strncmp(r->id, distinct, sizeof distinct - 1) == 0) {
        r->id += sizeof distinct - 1; /* the FIELD segment */
        r->id_len -= sizeof distinct - 1;
        r->kind = API_DISTINCT;
    }
    static const char restore[] = "/restore";
    size_t n = sizeof restore - 1;
    if (r->kind == API_DOCUMENT && r->model->deleted_at != NULL && r->id_len > n &&
        strcmp(r->id + r->id_len - n, restore) == 0) {
        r->id_len -= n; /* the ID segment */
        r->kind = API_RESTORE;
    }
    if (r->id_len == 0 || memchr(r->id, '/', r->id_len) != NULL)
        return false;
    return true;
}

static bool type_is(const char *type, size_t len, const char *want)
{
    return len == strlen(want) && strncasecmp(type, want, len) == 0;
}

/* application/...+json */
static bool json_suffix(const char *type, size_t len)
{
    static const char suffix[] = "+json";
    size_t n = strlen(suffix);
    return len > n && strncasecmp(type, "application/", 12) == 0 &&
           strncasecmp(type + len - n, suffix, n) == 0;
}

/* Parameters after the type: only charset=utf-8 (quoted or not) is accepted. */
static bool params_acceptable(const char *ct)
{
    for (const char *p = strchr(ct, ';'); p != NULL; p = strchr(p + 1, ';')) {
        const char *param = p + 1;
        while (*param == ' ')
            param++;
        size_t plen = strcspn(param, ";");
        while (plen > 0 && param[plen - 1] == ' ')
            plen--;
        if (plen == 0)
            continue;
        if (strncasecmp(param, "charset=", 8) != 0)
            return false;
        const char *v = param + 8;
        size_t vlen = plen - 8;
        if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"')
            v++, vlen -= 2;
        if (!(vlen == 5 && strncasecmp(v, "utf-8", 5) == 0))
            return false;
    }
    return true;
}

bool api__acceptable_media_type(const char *ct, odm_method_t method)
{
    if (ct == NULL)
        return false;
    while (*ct == ' ')
        ct++;
    size_t n = strcspn(ct, ";");
    while (n > 0 && ct[n - 1] == ' ')
        n--;
    bool ok =
        type_is(ct, n, "application/json") ||
        (method == ODM_METHOD_PATCH ? type_is(ct, n, ODM_API_MERGE_PATCH) : json_suffix(ct, n));
    return ok && params_acceptable(ct);
}

static handler_fn find_handler(api_route_kind_t kind, odm_method_t method)
{
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
        if (handlers[i].kind == kind && handlers[i].method == method)
            return handlers[i].fn;
    return NULL;
}

bool api__route_row(size_t i, api_route_kind_t *kind, odm_method_t *method, const char **name,
                    api_describe_fn *describe)
{
    if (i >= sizeof handlers / sizeof handlers[0])
        return false;
    *kind = handlers[i].kind;
    *method = handlers[i].method;
    *name = handlers[i].name;
    *describe = handlers[i].describe;
    return true;
}

bool api__route_allows(api_route_kind_t kind, odm_method_t method)
{
    return find_handler(kind, method) != NULL;
}

bool api__route_needs_key(api_route_kind_t kind)
{
    return needs_key[kind];
}

/* Adds Allow (the route's methods) and, where PATCH is allowed, Accept-Patch. */
static void add_allow(odm_request_t *req, api_route_kind_t kind)
{
    char allow[96];
    size_t len = 0;
    allow[0] = '\0';
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++) {
        if (handlers[i].kind != kind)
            continue;
        int n =
            snprintf(allow + len, sizeof allow - len, "%s%s", len ? ", " : "", handlers[i].name);
        if (n > 0 && (size_t)n < sizeof allow - len)
            len += (size_t)n;
    }
    odm_request_add_header(req, "Allow", allow);
    if (find_handler(kind, ODM_METHOD_PATCH) != NULL)
        odm_request_add_header(req, "Accept-Patch", ACCEPT_PATCH);
}

static void reply_healthz(api_call_t *call)
{
    static const char body[] = "{\"status\":\"ok\"}";
    char *copy = strdup(body);
    odm_request_reply(call->req, 200, "application/json", copy, copy ? strlen(body) : 0);
}

/* OPTIONS: 204 with what the route allows (RFC 9110 9.3.7, RFC 5789 3.1). */
static void reply_options(api_call_t *call)
{
    add_allow(call->req, call->route);
    odm_request_reply(call->req, 204, NULL, NULL, 0);
}

/* The checks that outrank 413: route (404), method (405), then the caller (401, 403: who is
 * filled for the /api/ routes). Returns: true after answering. */
static bool refuse_route(const odm_app_t *app, const odm_models_t *models, odm_request_t *req,
                         api_route_t *r, odm_principal_t *who)
{
    if (!api__match_route(models, odm_request_raw_path(req), r))
        return api__failf(req, ODM_ERR_NOT_FOUND, "no such route");
    odm_request_set_metrics_labels(req, r->model ? r->model->metrics_label : 0,
                                   API_METRICS_ROUTE(r->kind));
    if (r->kind == API_DATAAPI)
        api__dataapi_shape(req);
    if (find_handler(r->kind, odm_request_method(req)) == NULL) {
        add_allow(req, r->kind);
        return api__failf(req, ODM_ERR_METHOD_NOT_ALLOWED, "method not allowed on this route");
    }
    if (!needs_key[r->kind])
        return false;
    /* a browser sends a CORS preflight without credentials, whatever the request after it: it
     * is answered with no caller (its OPTIONS reads nothing) */
    if (odm_request_is_cors_preflight(req)) {
        memset(who, 0, sizeof *who);
        return false;
    }
    return api__refuse_caller(app, req, r, who);
}

/* The checks of the request as a whole after the route: 413, then 415 (for PATCH with
 * Accept-Patch, RFC 5789 2.2). A restore reads no body: it needs no Content-Type. Returns: true
 * after answering. */
static bool refuse_body(odm_request_t *req, api_route_kind_t kind)
{
    if (odm_request_body_too_large(req))
        return api__failf(req, ODM_ERR_TOO_LARGE, "request body larger than the limit");
    odm_method_t method = odm_request_method(req);
    bool takes_body =
        (method & (ODM_METHOD_POST | ODM_METHOD_PUT | ODM_METHOD_PATCH)) && kind != API_RESTORE;
    const char *content_type = odm_request_header(req, "Content-Type");
    if (!(takes_body || odm_request_has_body(req)) ||
        api__acceptable_media_type(content_type, method) ||
        (kind == API_DATAAPI && content_type != NULL &&
         strncasecmp(content_type, API_DATAAPI_EJSON, strlen(API_DATAAPI_EJSON)) == 0 &&
         strchr("; ", content_type[strlen(API_DATAAPI_EJSON)]) != NULL))
        return false;
    if (method == ODM_METHOD_PATCH) {
        odm_request_add_header(req, "Accept-Patch", ACCEPT_PATCH);
        return api__failf(req, ODM_ERR_MEDIA_TYPE, "expected a JSON merge patch (%s)",
                          ODM_API_MERGE_PATCH);
    }
    return api__failf(req, ODM_ERR_MEDIA_TYPE, "expected a JSON content type (application/json)");
}

void odm_api_preflight(odm_request_t *req, void *arg)
{
    const odm_app_t *app = arg;
    odm_model_set_t *set = odm_api_models_acquire(app->models);
    api_route_t r;
    odm_principal_t who;
    refuse_route(app, odm_model_set_models(set), req, &r, &who);
    odm_model_set_release(set);
}

/* The model set in force is taken here and held by the call until the request completes, so
 * that a reload cannot free the models its jobs use; an answer without a call drops it at once. */
void odm_api_handle(odm_request_t *req, void *arg)
{
    const odm_app_t *app = arg;
    odm_model_set_t *set = odm_api_models_acquire(app->models);
    api_route_t r;
    odm_principal_t who;
    if (refuse_route(app, odm_model_set_models(set), req, &r, &who) || refuse_body(req, r.kind)) {
        odm_model_set_release(set);
        return;
    }
    api_call_t *call = api__call_new(req, app, set, r.model);
    if (call == NULL) {
        odm_model_set_release(set);
        api__failf(req, ODM_ERR_INTERNAL, "out of memory");
        return;
    }
    call->route = r.kind;
    if (needs_key[r.kind])
        call->caller = who;
    odm_error_t err;
    if (r.id != NULL && (call->id = odm_codec_id_decode(r.id, r.id_len, &err)) == NULL) {
        api__fail(req, &err, NULL);
        return;
    }
    find_handler(r.kind, odm_request_method(req))(call);
}
