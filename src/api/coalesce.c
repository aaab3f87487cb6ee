/* Coalescing: the worker that takes a GET by id (or a valid POST) also takes the requests like
 * it already waiting in the queue, and runs them as one database command: one
 * find({_id: {$in: [...]}}) or one unordered insertMany. Each request is answered from its own
 * share of the result. Nothing waits for a batch to fill: at low load each batch is one. */
#include <string.h>

#include "api/internal.h"

#define CALL_OF(j) ((api_call_t *)((char *)(j)-offsetof(api_call_t, job)))

bool api__coalescible_get(const api_call_t *call)
{
    return call->expand == NULL;
}

bool api__coalescible_create(const api_call_t *call)
{
    return call->body_ready && json_is_object(call->body) &&
           odm_request_header(call->req, "Idempotency-Key") == NULL;
}

/* What a batch's calls have in common: the call being run, and for GETs the conditions of its
 * id filter besides the _id (the x-softDelete scope, the x-owner condition). */
typedef struct {
    const api_call_t *first;
    bson_t rest;
} batch_key_t;

/* Splits an id filter whose first key is _id into that _id (*id) and the other conditions
 * (rest, initialised here when it returns true). Returns: false when _id is not the first key
 * (a filter wrapped in $and): such a request runs alone. */
static bool split_id(const bson_t *filter, bson_iter_t *id, bson_t *rest)
{
    if (!bson_iter_init(id, filter) || !bson_iter_next(id) || strcmp(bson_iter_key(id), "_id") != 0)
        return false;
    bson_init(rest);
    bson_copy_to_excluding_noinit(filter, rest, "_id", NULL);
    return true;
}

/* A queued job like the key's call: a call's job (same run()), marked coalescible, with the
 * same work, on the same model. Under the pool's lock. */
static bool same_kind(const odm_job_t *job, const batch_key_t *key)
{
    if (job->run != key->first->job.run)
        return false;
    const api_call_t *c = CALL_OF(job);
    return c->coalesce && c->work == key->first->work && c->model == key->first->model;
}

static bool same_create(const odm_job_t *job, const void *key)
{
    return same_kind(job, key);
}

/* ...and for a GET, the same conditions besides the _id (the same scope, the same owner). */
static bool same_get(const odm_job_t *job, const void *key)
{
    const batch_key_t *k = key;
    bson_iter_t id;
    bson_t rest;
    if (!same_kind(job, k) || !split_id(&CALL_OF(job)->id_filter, &id, &rest))
        return false;
    bool same = bson_equal(&rest, &k->rest);
    bson_destroy(&rest);
    return same;
}

/* The batch: the key's call and the waiting calls like it, at most ODM_API_COALESCE_MAX.
 * Returns how many (1: nothing was waiting). */
static size_t take_batch(const batch_key_t *key, bool (*match)(const odm_job_t *, const void *),
                         api_call_t **calls)
{
    odm_job_t *jobs[ODM_API_COALESCE_MAX - 1];
    api_call_t *first = (api_call_t *)key->first;
    size_t n = odm_work_take_matching(first->app->pool, match, key, jobs, ODM_API_COALESCE_MAX - 1);
    calls[0] = first;
    for (size_t i = 0; i < n; i++)
        calls[i + 1] = CALL_OF(jobs[i]);
    return n + 1;
}

/* The earliest deadline of the batch: every taken job had a whole store operation's budget
 * left before it, so the command fits each request's deadline. */
static int64_t batch_deadline(api_call_t **calls, size_t n)
{
    int64_t deadline = odm_request_deadline_ms(calls[0]->req);
    for (size_t i = 1; i < n; i++) {
        int64_t d = odm_request_deadline_ms(calls[i]->req);
        if (d < deadline)
            deadline = d;
    }
    return deadline;
}

/* The batch is answered in the order 1, 2, ..., n - 1, 0: each taken call is resumed as soon as
 * it is answered, so that its answer leaves before the rest of the batch is written, and the
 * running call last, just before its run() resumes it. */
static size_t answer_order(size_t k, size_t n)
{
    return (k + 1) % n;
}

/* Resumes calls[i] once answered, but not the running call (its run() resumes it). The call's
 * last touch. */
static void resume_answered(api_call_t **calls, size_t i)
{
    if (i > 0)
        odm_request_resume(calls[i]->req);
}

/* ---- GET by id ---- */

/* Whether two _id values are the same for the server's $in: numbers by value, the rest by type
 * and bytes. */
static bool same_id(const bson_iter_t *a, const bson_iter_t *b)
{
    if (BSON_ITER_HOLDS_NUMBER(a) && BSON_ITER_HOLDS_NUMBER(b)) {
        if (BSON_ITER_HOLDS_DOUBLE(a) || BSON_ITER_HOLDS_DOUBLE(b))
            return bson_iter_as_double(a) == bson_iter_as_double(b);
        return bson_iter_as_int64(a) == bson_iter_as_int64(b);
    }
    if (bson_iter_type(a) != bson_iter_type(b))
        return false;
    if (BSON_ITER_HOLDS_OID(a))
        return bson_oid_equal(bson_iter_oid(a), bson_iter_oid(b));
    if (BSON_ITER_HOLDS_UTF8(a)) {
        uint32_t la, lb;
        const char *sa = bson_iter_utf8(a, &la), *sb = bson_iter_utf8(b, &lb);
        return la == lb && memcmp(sa, sb, la) == 0;
    }
    return false;
}

typedef struct {
    api_call_t **calls;
    size_t n;
    bson_t found[ODM_API_COALESCE_MAX];
    bool has[ODM_API_COALESCE_MAX];
} get_batch_t;

/* Keeps a copy of `doc` for every call of the batch that asked for its _id. */
static bool keep_found(const bson_t *doc, void *arg, odm_error_t *err)
{
    get_batch_t *b = arg;
    bson_iter_t got, want;
    (void)err;
    if (!bson_iter_init_find(&got, doc, "_id"))
        return true;
    for (size_t i = 0; i < b->n; i++) {
        if (b->has[i] || !bson_iter_init_find(&want, &b->calls[i]->id_filter, "_id") ||
            !same_id(&got, &want))
            continue;
        bson_copy_to(doc, &b->found[i]);
        b->has[i] = true;
    }
    return true;
}

/* {_id: {$in: [each call's id]}} and the conditions every call's filter shares (`rest`).
 * Returns how many ids went in. */
static size_t in_filter(api_call_t **calls, size_t n, const bson_t *rest, bson_t *filter)
{
    bson_t in, list;
    size_t ids = 0;
    bson_init(filter);
    BSON_APPEND_DOCUMENT_BEGIN(filter, "_id", &in);
    BSON_APPEND_ARRAY_BEGIN(&in, "$in", &list);
    for (size_t i = 0; i < n; i++) {
        bson_iter_t it;
        if (!bson_iter_init_find(&it, &calls[i]->id_filter, "_id"))
            continue;
        char key[16];
        const char *k;
        bson_uint32_to_string((uint32_t)ids++, &k, key, sizeof key);
        bson_append_iter(&list, k, -1, &it);
    }
    bson_append_array_end(&in, &list);
    bson_append_document_end(filter, &in);
    bson_concat(filter, rest);
    return ids;
}

bool api__coalesce_get(api_call_t *call)
{
    batch_key_t key = {.first = call};
    bson_iter_t id;
    if (!split_id(&call->id_filter, &id, &key.rest))
        return false;
    api_call_t *calls[ODM_API_COALESCE_MAX];
    size_t n = take_batch(&key, same_get, calls);
    if (n == 1) {
        bson_destroy(&key.rest);
        return false;
    }
    get_batch_t b = {.calls = calls, .n = n};
    bson_t filter;
    size_t ids = in_filter(calls, n, &key.rest, &filter);
    bson_destroy(&key.rest);
    odm_error_t err;
    bool ok = odm_store_find(call->app->store, call->model->collection, &filter, NULL, NULL, 0,
                             (int64_t)ids, keep_found, &b, batch_deadline(calls, n), &err);
    bson_destroy(&filter);
    for (size_t k = 0; k < n; k++) {
        size_t i = answer_order(k, n);
        if (!ok)
            api__fail(calls[i]->req, &err, NULL);
        else
            api__answer_get(calls[i], b.has[i] ? &b.found[i] : NULL);
        if (b.has[i])
            bson_destroy(&b.found[i]);
        resume_answered(calls, i);
    }
    return true;
}

/* ---- POST ---- */

bool api__coalesce_create(api_call_t *call)
{
    batch_key_t key = {.first = call};
    api_call_t *calls[ODM_API_COALESCE_MAX];
    size_t n = take_batch(&key, same_create, calls);
    if (n == 1)
        return false;
    const bson_t *docs[ODM_API_COALESCE_MAX];
    odm_store_item_t items[ODM_API_COALESCE_MAX];
    for (size_t i = 0; i < n; i++)
        docs[i] = &calls[i]->doc;
    odm_error_t err;
    bool ok = odm_store_insert_many(call->app->store, call->model->collection, docs, n, false,
                                    items, batch_deadline(calls, n), &err);
    for (size_t k = 0; k < n; k++) {
        size_t i = answer_order(k, n);
        if (!ok)
            api__fail(calls[i]->req, &err, NULL);
        else if (items[i].status != ODM_STORE_INSERTED)
            api__fail(calls[i]->req, &items[i].err, NULL);
        else
            api__answer_created(calls[i]);
        resume_answered(calls, i);
    }
    return true;
}
