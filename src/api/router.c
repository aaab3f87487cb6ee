/* The route table and the checks every request goes through, in their order of precedence:
 * 404/405, 401, 413, 415, then the handler's 400 and 422. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "api/internal.h"
#include "odmd/log.h"

#define API_PREFIX "/api/"

typedef struct {
    api_route_kind_t kind;
    unsigned methods; /* odm_method_t bits */
    const char *allow;
    bool needs_key;   /* behind --api-key */
} route_spec_t;

static const route_spec_t routes[] = {
    [API_HEALTHZ] = {API_HEALTHZ, ODM_METHOD_GET | ODM_METHOD_HEAD, "GET, HEAD", false},
    [API_READYZ] = {API_READYZ, ODM_METHOD_GET | ODM_METHOD_HEAD, "GET, HEAD", false},
    [API_COLLECTION] = {API_COLLECTION, ODM_METHOD_GET | ODM_METHOD_HEAD | ODM_METHOD_POST,
                        "GET, HEAD, POST", true},
    [API_DOCUMENT] = {API_DOCUMENT,
                      ODM_METHOD_GET | ODM_METHOD_HEAD | ODM_METHOD_PUT | ODM_METHOD_PATCH |
                          ODM_METHOD_DELETE,
                      "GET, HEAD, PUT, PATCH, DELETE", true},
};

typedef void (*handler_fn)(api_call_t *call);

static const struct {
    api_route_kind_t kind;
    odm_method_t method;
    handler_fn fn;
} handlers[] = {
    {API_READYZ, ODM_METHOD_GET, api__readyz},
    {API_READYZ, ODM_METHOD_HEAD, api__readyz},
    {API_COLLECTION, ODM_METHOD_GET, api__list},
    {API_COLLECTION, ODM_METHOD_HEAD, api__list},
    {API_COLLECTION, ODM_METHOD_POST, api__create},
    {API_DOCUMENT, ODM_METHOD_GET, api__get_document},
    {API_DOCUMENT, ODM_METHOD_HEAD, api__get_document},
    {API_DOCUMENT, ODM_METHOD_PUT, api__put_document},
    {API_DOCUMENT, ODM_METHOD_PATCH, api__patch_document},
    {API_DOCUMENT, ODM_METHOD_DELETE, api__delete_document},
};


bool api__match_route(const odm_app_t *app, const char *path, api_route_t *r)
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
    if (strncmp(path, API_PREFIX, strlen(API_PREFIX)) != 0)
        return false;
    const char *name = path + strlen(API_PREFIX);
    const char *slash = strchr(name, '/');
    size_t name_len = slash ? (size_t)(slash - name) : strlen(name);
    r->model = odm_models_find(app->models, name, name_len);
    if (r->model == NULL)
        return false;
    if (slash == NULL || slash[1] == '\0') {
        r->kind = API_COLLECTION;
        return true;
    }
    r->id = slash + 1;
    r->id_len = strlen(r->id);
    if (memchr(r->id, '/', r->id_len) != NULL)
        return false;
    r->kind = API_DOCUMENT;
    return true;
}

/* Compares without an early exit, so that timing does not reveal the key. */
static bool same_secret(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = (unsigned char)(la != lb);
    for (size_t i = 0; i < lb; i++)
        diff |= (unsigned char)(a[i < la ? i : 0] ^ b[i]);
    return diff == 0;
}

static bool authorized(const odm_app_t *app, odm_request_t *req)
{
    if (app->api_key == NULL || app->api_key[0] == '\0')
        return true;
    const char *auth = odm_request_header(req, "Authorization");
    if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
        return false;
    const char *token = auth + 7;
    while (*token == ' ')
        token++;
    return same_secret(token, app->api_key);
}

bool api__acceptable_media_type(const char *ct)
{
    if (ct == NULL)
        return false;
    while (*ct == ' ')
        ct++;
    size_t n = strcspn(ct, ";");
    while (n > 0 && ct[n - 1] == ' ')
        n--;
    static const char json[] = "application/json", suffix[] = "+json";
    bool ok = (n == strlen(json) && strncasecmp(ct, json, n) == 0) ||
              (n > strlen(suffix) && strncasecmp(ct, "application/", 12) == 0 &&
               strncasecmp(ct + n - strlen(suffix), suffix, strlen(suffix)) == 0);
    if (!ok)
        return false;
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

static handler_fn find_handler(api_route_kind_t kind, odm_method_t method)
{
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
        if (handlers[i].kind == kind && handlers[i].method == method)
            return handlers[i].fn;
    return NULL;
}

static void reply_healthz(odm_request_t *req)
{
    static const char body[] = "{\"status\":\"ok\"}";
    char *copy = strdup(body);
    odm_request_reply(req, 200, "application/json", copy, copy ? strlen(body) : 0);
}

/* The checks that outrank 413: route (404), method (405), then the API key (401). Returns:
 * true after answering. */
static bool refuse_route(const odm_app_t *app, odm_request_t *req, api_route_t *r)
{
    if (!api__match_route(app, odm_request_path(req), r))
        return api__failf(req, ODM_ERR_NOT_FOUND, "no such route");
    const route_spec_t *spec = &routes[r->kind];
    if (!(spec->methods & odm_request_method(req))) {
        odm_request_add_header(req, "Allow", spec->allow);
        return api__failf(req, ODM_ERR_METHOD_NOT_ALLOWED, "method not allowed on this route");
    }
    if (spec->needs_key && !authorized(app, req))
        return api__failf(req, ODM_ERR_UNAUTHORIZED, "missing or wrong bearer token");
    return false;
}

/* The checks of the request as a whole after the route: 413, then 415. Returns: true after
 * answering. */
static bool refuse_body(odm_request_t *req)
{
    if (odm_request_body_too_large(req))
        return api__failf(req, ODM_ERR_TOO_LARGE, "request body larger than the limit");
    bool takes_body =
        odm_request_method(req) & (ODM_METHOD_POST | ODM_METHOD_PUT | ODM_METHOD_PATCH);
    if ((takes_body || odm_request_has_body(req)) &&
        !api__acceptable_media_type(odm_request_header(req, "Content-Type")))
        return api__failf(req, ODM_ERR_MEDIA_TYPE,
                          "expected a JSON content type (application/json)");
    return false;
}

void odm_api_preflight(odm_request_t *req, void *arg)
{
    api_route_t r;
    refuse_route(arg, req, &r);
}

void odm_api_handle(odm_request_t *req, void *arg)
{
    const odm_app_t *app = arg;
    api_route_t r;
    if (refuse_route(app, req, &r) || refuse_body(req))
        return;
    if (r.kind == API_HEALTHZ) {
        reply_healthz(req);
        return;
    }
    api_call_t *call = api__call_new(req, app, r.model);
    if (call == NULL) {
        api__failf(req, ODM_ERR_INTERNAL, "out of memory");
        return;
    }
    if (r.id != NULL && (call->id = strndup(r.id, r.id_len)) == NULL) {
        api__failf(req, ODM_ERR_INTERNAL, "out of memory");
        return;
    }
    find_handler(r.kind, odm_request_method(req))(call);
}
