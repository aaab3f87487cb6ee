/* The Data API's writes of whole documents: insertOne, insertMany, replaceOne (with upsert),
 * deleteOne, deleteMany. Each document is checked as the REST API's POST and PUT check theirs
 * (api__check_create, api__build_replace through the compare-and-set write), and deletes of an
 * x-softDelete model stamp deletedAt as REST's do. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/dataapi.h"

/* Prefixes each violation's instanceLocation with `prefix` (a JSON Pointer into the request
 * body: "/document", "/documents/3"), so that the pointers name the value in the body sent. */
static void prefix_errors(json_t *errors, const char *prefix)
{
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        const char *at = json_string_value(json_object_get(e, "instanceLocation"));
        if (at == NULL || strncmp(at, "/filter/", 8) == 0) /* already a pointer into the body */
            continue;
        char joined[1024];
        snprintf(joined, sizeof joined, "%s%s", prefix, at);
        json_object_set_new(e, "instanceLocation", json_string(joined));
    }
}

/* Answers a refusal of the value at `prefix` in the body. Returns: true (answered). */
static bool fail_verdict(api_call_t *call, api_verdict_t *v, const char *prefix)
{
    prefix_errors(v->errors, prefix);
    api__fail(call->req, &v->err, v->errors);
    api__verdict_release(v);
    return true;
}

/* A member the action needs. Returns: true after answering 400. */
static bool refuse_missing(api_call_t *call, const json_t *member, const char *name)
{
    return member == NULL &&
           api__failf(call->req, ODM_ERR_BAD_REQUEST, "missing '%s' in the body", name);
}

/* x-requireIfMatch: the Data API sends no If-Match, so its writes of existing documents are
 * refused as REST refuses unconditional ones. Returns: true after answering 428. */
static bool refuse_unconditional(api_call_t *call)
{
    return call->model->require_if_match &&
           api__failf(call->req, ODM_ERR_PRECONDITION_REQUIRED,
                      "model '%s' requires If-Match (x-requireIfMatch): write it through /api/%s",
                      call->model->name, call->model->name);
}

/* {"insertedId": the _id of `doc`} */
static bool reply_inserted(api_call_t *call, const bson_t *doc)
{
    odm_buf_t out;
    odm_error_t err = {0};
    api__dataapi_answer_init(&out);
    bool ok = odm_buf_puts(&out, "{\"insertedId\":") &&
              api__dataapi_put_id(call, doc, &out, &err) && odm_buf_putc(&out, '}');
    return api__dataapi_reply(call, &out, ok, &err);
}

/* ---- insertOne ---- */

bool api__dataapi_check_insert_one(api_call_t *call)
{
    api_dataapi_t *d = call->dataapi;
    if (refuse_missing(call, d->document, "document"))
        return true;
    api_verdict_t v = {0};
    json_t *id = NULL;
    bool ok = api__check_create(call, (json_t *)d->document, &call->doc, &id, &v);
    json_decref(id);
    return !ok && fail_verdict(call, &v, "/document");
}

bool api__dataapi_insert_one(api_call_t *call)
{
    odm_error_t err;
    if (!odm_store_insert(call->app->store, call->model->collection, &call->doc,
                          odm_request_deadline_ms(call->req), &err))
        return api__fail(call->req, &err, NULL);
    return reply_inserted(call, &call->doc);
}

/* ---- insertMany ---- */

typedef struct {
    size_t n;
    bson_t *docs; /* n, each initialised */
} many_t;

static void many_free(void *p)
{
    many_t *m = p;
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n; i++)
        bson_destroy(&m->docs[i]);
    free(m->docs);
    free(m);
}

/* Every document checked and converted into the action's state: one refused refuses them all
 * (nothing is inserted). Returns: true after answering. */
bool api__dataapi_check_insert_many(api_call_t *call)
{
    api_dataapi_t *d = call->dataapi;
    if (refuse_missing(call, d->documents, "documents"))
        return true;
    size_t n = json_array_size(d->documents);
    if (n == 0)
        return api__failf(call->req, ODM_ERR_BAD_REQUEST, "'documents' is empty");
    if (n > api__bulk_max(call))
        return api__failf(call->req, ODM_ERR_TOO_LARGE,
                          "%zu documents in one request; the limit is %zu", n, api__bulk_max(call));
    many_t *m = calloc(1, sizeof *m);
    bson_t *docs = m != NULL ? calloc(n, sizeof *docs) : NULL;
    if (docs == NULL) {
        free(m);
        return api__failf(call->req, ODM_ERR_INTERNAL, "out of memory");
    }
    m->docs = docs;
    d->state = m;
    d->state_free = many_free;
    for (size_t i = 0; i < n; i++) {
        api_verdict_t v = {0};
        json_t *id = NULL;
        bson_init(&m->docs[i]);
        m->n = i + 1;
        bool ok = api__check_create(call, json_array_get(d->documents, i), &m->docs[i], &id, &v);
        json_decref(id);
        if (!ok) {
            char at[48];
            snprintf(at, sizeof at, "/documents/%zu", i);
            odm_error_prefix(&v.err, "documents[%zu]", i);
            return fail_verdict(call, &v, at);
        }
    }
    return false;
}

/* {"insertedIds": [...]} */
static bool reply_inserted_many(api_call_t *call, const many_t *m)
{
    odm_buf_t out;
    odm_error_t err = {0};
    api__dataapi_answer_init(&out);
    bool ok = odm_buf_puts(&out, "{\"insertedIds\":[");
    for (size_t i = 0; ok && i < m->n; i++)
        ok = (i == 0 || odm_buf_putc(&out, ',')) &&
             api__dataapi_put_id(call, &m->docs[i], &out, &err);
    ok = ok && odm_buf_puts(&out, "]}");
    if (!ok && err.kind == ODM_ERR_NONE)
        odm_error_set(&err, ODM_ERR_INTERNAL, "answer larger than its limit");
    return api__dataapi_reply(call, &out, ok, &err);
}

/* Ordered, as the Data API's insertMany: the first document the server refuses (a duplicate
 * key) stops the rest, and the answer is its error, saying how many went in before it. */
bool api__dataapi_insert_many(api_call_t *call)
{
    many_t *m = call->dataapi->state;
    const bson_t **docs = calloc(m->n, sizeof *docs);
    odm_store_item_t *items = calloc(m->n, sizeof *items);
    odm_error_t err;
    bool answered = false;
    if (docs == NULL || items == NULL) {
        answered = api__failf(call->req, ODM_ERR_INTERNAL, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < m->n; i++)
        docs[i] = &m->docs[i];
    if (!odm_store_insert_many(call->app->store, call->model->collection, docs, m->n, true, items,
                               odm_request_deadline_ms(call->req), &err)) {
        answered = api__fail(call->req, &err, NULL);
        goto done;
    }
    for (size_t i = 0; i < m->n && !answered; i++)
        if (items[i].status == ODM_STORE_REFUSED) {
            odm_error_prefix(&items[i].err, "documents[%zu] (the %zu before it were inserted)", i,
                             i);
            answered = api__fail(call->req, &items[i].err, NULL);
        }
    if (!answered)
        answered = reply_inserted_many(call, m);
done:
    free(docs);
    free(items);
    return answered;
}

/* ---- replaceOne ---- */

bool api__dataapi_check_replace_one(api_call_t *call)
{
    const json_t *replacement = call->dataapi->replacement;
    if (refuse_missing(call, replacement, "replacement") || refuse_unconditional(call))
        return true;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)replacement, key, value)
    {
        if (key[0] == '$')
            return api__failf(call->req, ODM_ERR_BAD_REQUEST,
                              "'replacement' must be a document, not update operators ('%s')", key);
    }
    api_verdict_t v = {0};
    return !api__check_read_only(call->model, replacement, true, &v) &&
           fail_verdict(call, &v, "/replacement");
}

static json_t *build_replacement(api_call_t *call, const bson_t *stored, odm_error_t *err)
{
    return api__build_replace(call->model, call->dataapi->replacement, stored, err);
}

/* An _id in the replacement must be the matched document's (MongoDB keeps _id immutable).
 * Returns: true after answering 400. */
static bool refuse_other_id(api_call_t *call, const bson_t *stored)
{
    const json_t *id = json_object_get(call->dataapi->replacement, "_id");
    if (id == NULL)
        return false;
    json_t *old = odm_codec_to_tree(call->model, stored);
    bool same = old != NULL && json_equal(json_object_get(old, "_id"), (json_t *)id);
    json_decref(old);
    return !same && api__failf(call->req, ODM_ERR_BAD_REQUEST,
                               "'replacement' holds an _id other than the matched document's");
}

/* Replaces the matched document (borrowed) through the compare-and-set write. */
static bool replace_found(api_call_t *call, const bson_t *stored)
{
    bson_iter_t it;
    if (refuse_other_id(call, stored))
        return true;
    if (!bson_iter_init_find(&it, stored, "_id"))
        return api__failf(call->req, ODM_ERR_INTERNAL, "a stored document without _id");
    bson_append_iter(&call->id_filter, "_id", 3, &it);
    api__scope_filter(call->model, API_SCOPE_LIVE, &call->id_filter);
    api__owner_filter(call, call->model, &call->id_filter);
    api_write_t w;
    api__write_init(&w, &call->id_filter);
    w.build = build_replacement;
    w.skip_same = true; /* MongoDB counts an identical replacement as not modified */
    w.first = stored;
    api_write_status_t status = api__write_guarded(call, &w);
    if (status == API_WRITE_REFUSED)
        fail_verdict(call, &w.verdict, "/replacement");
    else
        api__dataapi_reply_counts(call, status != API_WRITE_GONE, status == API_WRITE_DONE, NULL);
    api__write_release(&w);
    return true;
}

/* A replacement's own _id against the filter's (MongoDB keeps the filter's: a different one is
 * refused). Returns: true after answering 400. */
static bool refuse_other_filter_id(api_call_t *call, const json_t *filter_id)
{
    const json_t *own = json_object_get(call->dataapi->replacement, "_id");
    if (filter_id == NULL || own == NULL || json_equal((json_t *)own, (json_t *)filter_id))
        return false;
    json_t *errors = json_pack("[{s:s, s:s}]", "instanceLocation", "/replacement/_id", "error",
                               "differs from the filter's _id, which the upserted document takes");
    odm_error_t err;
    odm_error_set(&err, ODM_ERR_BAD_REQUEST,
                  "'replacement' holds an _id other than the filter's (_id cannot change)");
    api__fail(call->req, &err, errors);
    json_decref(errors);
    return true;
}

/* upsert with no match: the replacement inserted as insertOne inserts a document, with the
 * filter's _id equality as its _id, as MongoDB's upsert takes it (updateOne's too). */
static bool upsert_replacement(api_call_t *call)
{
    api_verdict_t v = {0};
    json_t *filter_id = NULL;
    if (!api__dataapi_filter_id(call, &filter_id, &v.err))
        return api__fail(call->req, &v.err, NULL);
    if (refuse_other_filter_id(call, filter_id)) {
        json_decref(filter_id);
        return true;
    }
    json_t *doc = json_deep_copy(call->dataapi->replacement);
    bool taken = filter_id != NULL && json_object_get(doc, "_id") == NULL;
    if (doc == NULL || (taken && json_object_set(doc, "_id", filter_id) != 0)) {
        json_decref(doc);
        json_decref(filter_id);
        return api__failf(call->req, ODM_ERR_INTERNAL, "out of memory");
    }
    json_decref(filter_id);
    odm_error_t err;
    if (!api__dataapi_check_upserted(call, doc, taken, &call->doc, &v))
        return fail_verdict(call, &v, "/replacement");
    if (!odm_store_insert(call->app->store, call->model->collection, &call->doc,
                          odm_request_deadline_ms(call->req), &err))
        return api__fail(call->req, &err, NULL);
    return api__dataapi_reply_counts(call, 0, 0, &call->doc);
}

/* The matched document is the compare-and-set's first read: a snapshot (internal.h). */
bool api__dataapi_replace_one(api_call_t *call)
{
    odm_error_t err;
    bson_t stored = BSON_INITIALIZER, snapshot;
    bool found = false, answered;
    api__snapshot_projection(&snapshot);
    bool read =
        odm_store_find_one(call->app->store, call->model->collection, &call->dataapi->filter_bson,
                           &snapshot, &stored, &found, odm_request_deadline_ms(call->req), &err);
    bson_destroy(&snapshot);
    if (!read)
        answered = api__fail(call->req, &err, NULL);
    else if (found)
        answered = replace_found(call, &stored);
    else if (call->dataapi->upsert)
        answered = upsert_replacement(call);
    else
        answered = api__dataapi_reply_counts(call, 0, 0, NULL);
    bson_destroy(&stored);
    return answered;
}

/* ---- deleteOne, deleteMany ---- */

bool api__dataapi_check_delete(api_call_t *call)
{
    return refuse_unconditional(call);
}

static bool reply_deleted(api_call_t *call, int64_t deleted)
{
    odm_buf_t out;
    odm_error_t err = {0};
    api__dataapi_answer_init(&out);
    bool ok = odm_buf_puts(&out, "{\"deletedCount\":") && odm_buf_put_int(&out, deleted) &&
              odm_buf_putc(&out, '}');
    if (!ok)
        odm_error_set(&err, ODM_ERR_INTERNAL, "answer larger than its limit");
    return api__dataapi_reply(call, &out, ok, &err);
}

/* x-softDelete: the first live match gets deletedAt (as REST's DELETE ?filter= stamps each).
 * Returns: false with err set. */
static bool soft_delete_first(api_call_t *call, int64_t *deleted, odm_error_t *err)
{
    bson_t stored = BSON_INITIALIZER, only_id = BSON_INITIALIZER;
    bson_iter_t it;
    bool found = false;
    BSON_APPEND_INT32(&only_id, "_id", 1);
    bool ok =
        odm_store_find_one(call->app->store, call->model->collection, &call->dataapi->filter_bson,
                           &only_id, &stored, &found, odm_request_deadline_ms(call->req), err);
    *deleted = 0;
    if (ok && found && bson_iter_init_find(&it, &stored, "_id")) {
        bson_append_iter(&call->filter, "_id", 3, &it);
        api__scope_filter(call->model, API_SCOPE_LIVE, &call->filter);
        api__owner_filter(call, call->model, &call->filter);
        ok = api__soft_delete_many(call, deleted, err);
    }
    bson_destroy(&stored);
    bson_destroy(&only_id);
    return ok;
}

bool api__dataapi_delete_one(api_call_t *call)
{
    odm_error_t err;
    int64_t deleted = 0;
    bool ok = call->model->deleted_at != NULL
                  ? soft_delete_first(call, &deleted, &err)
                  : odm_store_delete(call->app->store, call->model->collection,
                                     &call->dataapi->filter_bson, &deleted,
                                     odm_request_deadline_ms(call->req), &err);
    return ok ? reply_deleted(call, deleted) : api__fail(call->req, &err, NULL);
}

bool api__dataapi_delete_many(api_call_t *call)
{
    odm_error_t err;
    int64_t deleted = 0;
    bool ok;
    if (call->model->deleted_at != NULL) {
        bson_concat(&call->filter, &call->dataapi->filter_bson);
        ok = api__soft_delete_many(call, &deleted, &err);
    } else {
        ok = odm_store_delete_many(call->app->store, call->model->collection,
                                   &call->dataapi->filter_bson, &deleted,
                                   odm_request_deadline_ms(call->req), &err);
    }
    return ok ? reply_deleted(call, deleted) : api__fail(call->req, &err, NULL);
}
