/* The Data API's aggregate action: a client's pipeline held to the stage allow-list of named
 * aggregations (odm_model_check_pipeline), run behind the model's soft-delete and owner filters
 * and with its writeOnly fields out of reach, capped as GET /api/NAME/_agg/AGG is. */
#include <string.h>

#include "api/dataapi.h"

bool api__dataapi_check_aggregate(api_call_t *call)
{
    const json_t *pipeline = call->dataapi->pipeline;
    odm_error_t err;
    if (pipeline == NULL)
        return api__failf(call->req, ODM_ERR_BAD_REQUEST, "missing 'pipeline' in the body");
    if (!odm_model_check_pipeline(call->models, pipeline, NULL, &err)) {
        odm_error_prefix(&err, "pipeline");
        return api__fail(call->req, &err, NULL);
    }
    uint32_t next = api__aggregate_prefix(call, &call->doc);
    next = api__aggregate_hide_write_only(call->model, &call->doc, next);
    if (!odm_codec_ejson_pipeline(pipeline, next, &call->doc, &err))
        return api__fail(call->req, &err, NULL);
    api__aggregate_cap(&call->doc, next + (uint32_t)json_array_size(pipeline));
    return false;
}

typedef struct {
    const api_call_t *call;
    odm_buf_t out;
} answer_t;

/* Writes one result as find writes a document (plain or Extended JSON, writeOnly fields and
 * the version left out): an api_aggregate_each_fn. */
static bool write_result(void *arg, const bson_t *doc, size_t i, odm_error_t *err)
{
    answer_t *a = arg;
    if ((i > 0 && !odm_buf_putc(&a->out, ',')) ||
        !api__dataapi_put_document(a->call, doc, &a->out, err))
        return odm_error_set(err, ODM_ERR_TOO_LARGE,
                             "the aggregation answers more than %u bytes: narrow it",
                             ODM_API_AGG_MAX_BYTES);
    return true;
}

/* aggregate: {"documents": [...]}, at most ODM_API_AGG_MAX_DOCS (more is 413). */
bool api__dataapi_aggregate(api_call_t *call)
{
    answer_t a = {.call = call};
    odm_buf_init(&a.out, ODM_API_AGG_MAX_BYTES);
    odm_error_t err = {0};
    bool ok = odm_buf_puts(&a.out, "{\"documents\":[") &&
              api__aggregate_run(call, &call->doc, write_result, &a, &err) &&
              odm_buf_puts(&a.out, "]}");
    if (!ok && err.kind == ODM_ERR_NONE)
        odm_error_set(&err, ODM_ERR_TOO_LARGE, "the aggregation's answer is too large");
    return api__dataapi_reply(call, &a.out, ok, &err);
}
