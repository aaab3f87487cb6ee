/* The Data API's reads: findOne and find, over the filter, sort, projection and bounds the
 * framework checked (dataapi.c). Worker threads. */
#include "api/dataapi.h"

static const bson_t *or_null(const bson_t *b)
{
    return bson_empty(b) ? NULL : b;
}

/* findOne: {"document": the first match, or null}. */
bool api__dataapi_find_one(api_call_t *call)
{
    api_dataapi_t *d = call->dataapi;
    odm_error_t err = {0};
    bson_t doc = BSON_INITIALIZER;
    bool found = false;
    odm_buf_t out;
    api__dataapi_answer_init(&out);
    bool ok = odm_store_find_one(call->app->store, call->model->collection, &d->filter_bson,
                                 or_null(&d->projection_bson), &doc, &found,
                                 odm_request_deadline_ms(call->req), &err);
    if (ok) {
        ok = odm_buf_puts(&out, "{\"document\":") &&
             (found ? api__dataapi_put_document(call, &doc, &out, &err)
                    : odm_buf_puts(&out, "null")) &&
             odm_buf_putc(&out, '}');
        if (!ok && err.kind == ODM_ERR_NONE)
            odm_error_set(&err, ODM_ERR_INTERNAL, "answer larger than its limit");
    }
    bson_destroy(&doc);
    return api__dataapi_reply(call, &out, ok, &err);
}

typedef struct {
    api_call_t *call;
    odm_buf_t *out;
    int64_t n;
} find_writer_t;

/* Writes one found document; the one past API_DATAAPI_MAX_LIMIT of a find without a limit
 * fails it (413: the client must page). */
static bool write_found(const bson_t *doc, void *arg, odm_error_t *err)
{
    find_writer_t *w = arg;
    if (w->n == API_DATAAPI_MAX_LIMIT)
        return odm_error_set(err, ODM_ERR_TOO_LARGE,
                             "more than %d documents match: page with limit and skip",
                             API_DATAAPI_MAX_LIMIT);
    if (w->n++ > 0 && !odm_buf_putc(w->out, ','))
        return odm_error_set(err, ODM_ERR_INTERNAL, "answer larger than %u bytes",
                             ODM_API_MAX_RESPONSE);
    return api__dataapi_put_document(w->call, doc, w->out, err);
}

/* find: {"documents": [...]}, at most limit (API_DATAAPI_MAX_LIMIT when absent: more is 413). */
bool api__dataapi_find(api_call_t *call)
{
    api_dataapi_t *d = call->dataapi;
    odm_error_t err = {0};
    odm_buf_t out;
    api__dataapi_answer_init(&out);
    find_writer_t w = {call, &out, 0};
    int64_t limit = d->has_limit ? d->limit : API_DATAAPI_MAX_LIMIT + 1;
    bool ok = odm_buf_puts(&out, "{\"documents\":[") &&
              odm_store_find(call->app->store, call->model->collection, &d->filter_bson,
                             or_null(&d->sort_bson), or_null(&d->projection_bson), d->skip, limit,
                             write_found, &w, odm_request_deadline_ms(call->req), &err) &&
              (odm_buf_puts(&out, "]}") ||
               odm_error_set(&err, ODM_ERR_INTERNAL, "answer larger than its limit"));
    return api__dataapi_reply(call, &out, ok, &err);
}
