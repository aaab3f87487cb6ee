/* GET /api/NAME/_distinct/FIELD?filter=...: the distinct values of one declared, readable field
 * (a dotted path into nested properties), as a JSON array written as documents are. */
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

static bool only_filter(const char *key, const char *value, void *arg)
{
    (void)value;
    if (strcmp(key, "filter") == 0)
        return true;
    *(const char **)arg = key;
    return false;
}

/* Returns: true after answering 404 (a field the model does not declare) or 400 (writeOnly). */
static bool refuse_field(api_call_t *call)
{
    const char *name = call->id;
    const odm_field_t *field = odm_model_field(call->model, name, strlen(name));
    if (field == NULL)
        return api__failf(call->req, ODM_ERR_NOT_FOUND, "model '%s' declares no field '%s'",
                          call->model->name, name);
    if (field->write_only)
        return api__failf(call->req, ODM_ERR_BAD_QUERY, "field '%s' is writeOnly", name);
    return false;
}

/* Parses ?filter= into `out`. Returns: true after answering 400. */
static bool refuse_filter(api_call_t *call, bson_t *out)
{
    odm_request_t *req = call->req;
    const char *unknown = NULL;
    if (!odm_request_each_query(req, only_filter, &unknown))
        return api__failf(req, ODM_ERR_BAD_QUERY, "unknown query parameter '%s'", unknown);
    const char *v = odm_request_query(req, "filter");
    if (v == NULL) {
        api__scope_filter(call->model, API_SCOPE_LIVE, out);
        api__owner_filter(call, call->model, out);
        return false;
    }
    odm_error_t err;
    json_t *filter = odm_json_parse(v, strlen(v), 0, &err);
    if (filter == NULL) {
        err.kind = ODM_ERR_BAD_QUERY;
        odm_error_prefix(&err, "filter");
        return api__fail(req, &err, NULL);
    }
    bool ok = json_is_object(filter) && odm_codec_filter(call->model, filter, out, &err);
    if (!json_is_object(filter))
        odm_error_set(&err, ODM_ERR_BAD_QUERY, "filter must be a JSON object");
    json_decref(filter);
    if (!ok)
        return api__fail(req, &err, NULL);
    api__scope_filter(call->model, API_SCOPE_LIVE, out);
    api__owner_filter(call, call->model, out);
    return false;
}

static bool distinct_work(api_call_t *call)
{
    bson_t *filter = &call->doc; /* the call's spare document holds the filter */
    const char *name = call->id;
    bson_t values;
    odm_error_t err;
    if (!odm_store_distinct(call->app->store, call->model->collection, name, filter, &values,
                            odm_request_deadline_ms(call->req), &err)) {
        bson_destroy(&values);
        return api__fail(call->req, &err, NULL);
    }
    odm_buf_t out;
    odm_buf_init(&out, ODM_API_MAX_DISTINCT);
    const odm_field_t *field = odm_model_field(call->model, name, strlen(name));
    bool ok = odm_codec_write_values(field, &values, &out, &err);
    bson_destroy(&values);
    if (!ok) {
        odm_buf_release(&out);
        return api__failf(call->req, ODM_ERR_TOO_LARGE,
                          "distinct values of '%s' larger than %u bytes: narrow the filter", name,
                          ODM_API_MAX_DISTINCT);
    }
    size_t len;
    char *body = odm_buf_steal(&out, &len);
    if (body == NULL)
        return api__failf(call->req, ODM_ERR_INTERNAL, "out of memory");
    odm_request_add_header(call->req, "Cache-Control", ODM_API_CACHE_CONTROL);
    odm_request_reply(call->req, 200, "application/json", body, len);
    return true;
}

void api__distinct(api_call_t *call)
{
    if (refuse_field(call) || refuse_filter(call, &call->doc))
        return;
    call->work = distinct_work;
    api__submit(call);
}
