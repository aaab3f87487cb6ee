/* Bulk writes on /api/NAME: POST of an array (each item checked as a single POST, the valid ones
 * inserted with one insertMany), PATCH ?filter= (a merge patch written to every match with the
 * compare-and-set of a single PATCH) and DELETE ?filter=. None of them is a transaction. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"

/* The bound on items per POST and on documents per PATCH (--bulk-max). */
size_t api__bulk_max(const api_call_t *call)
{
    return call->app->bulk_max > 0 ? call->app->bulk_max : ODM_API_BULK_MAX;
}

/* Accepts only the query parameter named by arg. */
static bool only_param(const char *key, const char *value, void *arg)
{
    const char **allowed = arg;
    (void)value;
    if (strcmp(key, allowed[0]) == 0)
        return true;
    allowed[1] = key;
    return false;
}

/* Returns: true after answering 400 for a query parameter other than `name`. */
static bool refuse_other_params(api_call_t *call, const char *name)
{
    const char *seen[2] = {name, NULL};
    if (odm_request_each_query(call->req, only_param, seen))
        return false;
    return api__failf(call->req, ODM_ERR_BAD_QUERY, "unknown query parameter '%s'", seen[1]);
}

/* Parses the required ?filter= into call->filter. Returns: true after answering 400. */
static bool refuse_filter(api_call_t *call)
{
    if (refuse_other_params(call, "filter"))
        return true; /* ?purge=true is DELETE's alone: bulk DELETE soft-deletes */
    const char *v = odm_request_query(call->req, "filter");
    if (v == NULL)
        return api__failf(call->req, ODM_ERR_BAD_QUERY,
                          "a filter is required to write many documents (filter={} means all)");
    odm_error_t err;
    json_t *filter = odm_json_parse(v, strlen(v), 0, &err);
    if (filter == NULL) {
        err.kind = ODM_ERR_BAD_QUERY;
        odm_error_prefix(&err, "filter");
        return api__fail(call->req, &err, NULL);
    }
    bool ok = json_is_object(filter) && odm_codec_filter(call->model, filter, &call->filter, &err);
    if (!json_is_object(filter))
        odm_error_set(&err, ODM_ERR_BAD_QUERY, "filter must be a JSON object");
    json_decref(filter);
    if (!ok)
        return api__fail(call->req, &err, NULL);
    api__scope_filter(call->model, API_SCOPE_LIVE, &call->filter); /* x-softDelete: live ones */
    api__owner_filter(call, call->model, &call->filter);           /* x-owner: the caller's */
    return false;
}

/* Whether a precondition header is "*" (spaces around allowed). */
static bool is_star(const char *header)
{
    header += strspn(header, " ");
    return header[0] == '*' && header[1 + strspn(header + 1, " ")] == '\0';
}

/* Preconditions on the collection itself (RFC 9110 13.1): it has no ETag, so If-Match with
 * entity-tags never matches, and If-None-Match: * always does (the collection exists); both
 * are 412, nothing written. If-Match: * and If-None-Match with tags let the request go on.
 * Returns: true after answering 412. */
static bool refuse_preconditions(api_call_t *call)
{
    const char *if_match = odm_request_header(call->req, "If-Match");
    const char *if_none = odm_request_header(call->req, "If-None-Match");
    if (if_match != NULL && !is_star(if_match))
        return api__failf(call->req, ODM_ERR_PRECONDITION,
                          "the collection has no ETag: If-Match names documents at /api/NAME/ID");
    if (if_none != NULL && is_star(if_none))
        return api__failf(call->req, ODM_ERR_PRECONDITION, "the collection matches If-None-Match");
    return false;
}

/* An item's failure as told: {"status", "detail"[, "errors"]}. Returns: a new object, NULL on
 * out of memory. */
static json_t *told_failure(const odm_error_t *told, const json_t *errors)
{
    json_t *o =
        json_pack("{s:i, s:s}", "status", odm_error_status(told->kind), "detail", told->message);
    if (o != NULL && errors != NULL && json_array_size(errors) > 0)
        json_object_set(o, "errors", (json_t *)errors);
    return o;
}

/* An item's failure, a database's own words withheld as api__fail withholds them. */
static json_t *failure(api_call_t *call, const odm_error_t *err, const json_t *errors)
{
    odm_error_t told;
    api__withhold(call->req, err, &told);
    return told_failure(&told, errors);
}

/* Answers 200 with `results` (stolen). Returns: true (answered). */
static bool reply_results(api_call_t *call, json_t *results)
{
    if (results == NULL)
        return api__failf(call->req, ODM_ERR_INTERNAL, "out of memory");
    odm_request_reply_json(call->req, 200, results);
    json_decref(results);
    return true;
}

/* ---- POST of an array ---- */

typedef struct {
    bson_t doc;     /* the document to insert (checked items) */
    json_t *id;     /* its _id as the client sees it (checked items) */
    json_t *result; /* the item's result once decided */
} bulk_item_t;

typedef struct {
    size_t n;
    bool ordered;
    bulk_item_t *items;
    const bson_t **docs;     /* the checked items' documents, in input order */
    size_t *index;           /* docs[k] is items[index[k]] */
    odm_store_item_t *fates; /* of docs[k] */
    size_t n_docs;
} bulk_insert_t;

/* A checked document whose _id the client left out and odmd cannot make (as a single POST). */
static bool check_id(const odm_model_t *model, json_t *doc, api_verdict_t *v)
{
    if (!json_is_object(doc) || json_object_get(doc, "_id") != NULL)
        return true;
    json_decref(v->errors);
    v->errors = json_array();
    return odm_codec_new_id(model, doc, v->errors, &v->err);
}

bool api__check_create(const api_call_t *call, json_t *item, bson_t *out, json_t **id,
                       api_verdict_t *v)
{
    const odm_model_t *model = call->model;
    json_t *doc = json_incref(item);
    if (json_is_object(item)) {
        if (!api__check_read_only(model, item, false, v)) {
            json_decref(doc);
            return false;
        }
        doc = api__build_create(model, doc);
        if (doc == NULL || !api__owner_stamp(call, doc)) {
            json_decref(doc);
            return odm_error_set(&v->err, ODM_ERR_INTERNAL, "out of memory");
        }
    }
    bool ok = api__check_valid(model, doc, v) && check_id(model, doc, v) &&
              api__check_convertible(model, doc, odm_codec_first_version(), out, v);
    if (ok)
        *id = json_incref(json_object_get(doc, "_id"));
    json_decref(doc);
    return ok;
}

/* Checks and converts one item (borrowed) as a single POST does, into it->doc and it->id.
 * Returns: false with v filled. */
static bool check_item(const api_call_t *call, json_t *item, bulk_item_t *it, api_verdict_t *v)
{
    return api__check_create(call, item, &it->doc, &it->id, v);
}

static json_t *not_tried(void)
{
    return json_pack("{s:i, s:s}", "status", 424, "detail",
                     "not inserted: an earlier item failed and ordered=true");
}

/* Checks every item; the checked ones go to b->docs. Ordered, the first failure leaves the
 * items after it not tried. */
static void check_items(api_call_t *call, bulk_insert_t *b)
{
    bool stopped = false;
    for (size_t i = 0; i < b->n; i++) {
        bulk_item_t *it = &b->items[i];
        api_verdict_t v = {0};
        if (stopped)
            it->result = not_tried();
        else if (check_item(call, json_array_get(call->body, i), it, &v)) {
            b->docs[b->n_docs] = &it->doc;
            b->index[b->n_docs++] = i;
        } else {
            it->result = failure(call, &v.err, v.errors);
            stopped = b->ordered;
        }
        api__verdict_release(&v);
    }
}

/* The result of an inserted item: {"status": 201, "_id", "etag"}. */
static json_t *inserted(const bulk_item_t *it)
{
    char etag[32];
    api__etag(odm_codec_version(&it->doc), etag, sizeof etag);
    return json_pack("{s:i, s:O, s:s}", "status", 201, "_id", it->id ? it->id : json_null(), "etag",
                     etag);
}

/* Gives each inserted document its result from its fate. */
static void record_fates(api_call_t *call, bulk_insert_t *b)
{
    for (size_t k = 0; k < b->n_docs; k++) {
        bulk_item_t *it = &b->items[b->index[k]];
        const odm_store_item_t *fate = &b->fates[k];
        if (fate->status == ODM_STORE_INSERTED)
            it->result = inserted(it);
        else if (fate->status == ODM_STORE_REFUSED)
            it->result = failure(call, &fate->err, NULL);
        else
            it->result = not_tried();
    }
}

/* The results in input order. Returns: a new array, NULL on out of memory. */
static json_t *collect_results(bulk_insert_t *b)
{
    json_t *results = json_array();
    for (size_t i = 0; results != NULL && i < b->n; i++) {
        json_t *r = b->items[i].result;
        b->items[i].result = NULL;
        if (r == NULL || json_array_append_new(results, r) != 0) {
            json_decref(results);
            results = NULL;
        }
    }
    return results;
}

bool api__refuse_create_query(api_call_t *call)
{
    if (refuse_other_params(call, "ordered"))
        return true;
    const char *v = odm_request_query(call->req, "ordered");
    if (v != NULL && strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
        return api__failf(call->req, ODM_ERR_BAD_QUERY, "ordered must be true or false, not '%s'",
                          v);
    return false;
}

bool api__refuse_bulk_create(api_call_t *call)
{
    if (api__refuse_create_query(call))
        return true;
    size_t n = json_array_size(call->body);
    if (n > api__bulk_max(call))
        return api__failf(call->req, ODM_ERR_TOO_LARGE,
                          "%zu documents in one request; the limit is %zu", n, api__bulk_max(call));
    return false;
}

/* n zeroed elements of `size` bytes aligned on `align` (a bson_t asks for 128, more than calloc
 * gives). Returns: NULL on out of memory or overflow; free() releases it. */
static void *calloc_aligned(size_t n, size_t size, size_t align)
{
    if (size == 0 || n > SIZE_MAX / size)
        return NULL;
    void *p = aligned_alloc(align, n * size); /* size is a multiple of align: a struct's is */
    if (p != NULL)
        memset(p, 0, n * size);
    return p;
}

/* Allocates b's arrays for b->n items. Returns: false on out of memory. */
static bool bulk_insert_init(bulk_insert_t *b)
{
    size_t n = b->n > 0 ? b->n : 1;
    b->items = calloc_aligned(n, sizeof *b->items, _Alignof(bulk_item_t));
    b->docs = calloc(n, sizeof *b->docs);
    b->index = calloc(n, sizeof *b->index);
    b->fates = calloc(n, sizeof *b->fates);
    for (size_t i = 0; b->items != NULL && i < b->n; i++)
        bson_init(&b->items[i].doc);
    return b->items && b->docs && b->index && b->fates;
}

static void bulk_insert_release(bulk_insert_t *b)
{
    for (size_t i = 0; b->items != NULL && i < b->n; i++) {
        bson_destroy(&b->items[i].doc);
        json_decref(b->items[i].id);
        json_decref(b->items[i].result);
    }
    free(b->items);
    free(b->docs);
    free(b->index);
    free(b->fates);
}

bool api__bulk_create(api_call_t *call)
{
    if (api__refuse_bulk_create(call))
        return true;
    const char *ordered = odm_request_query(call->req, "ordered");
    bulk_insert_t b = {.n = json_array_size(call->body),
                       .ordered = ordered != NULL && strcmp(ordered, "true") == 0};
    if (!bulk_insert_init(&b)) {
        bulk_insert_release(&b);
        return api__failf(call->req, ODM_ERR_INTERNAL, "out of memory");
    }
    check_items(call, &b);
    odm_error_t err;
    bool answered = false;
    if (b.n_docs > 0 &&
        !odm_store_insert_many(call->app->store, call->model->collection, b.docs, b.n_docs,
                               b.ordered, b.fates, odm_request_deadline_ms(call->req), &err))
        answered = api__fail(call->req, &err, NULL);
    if (!answered) {
        record_fates(call, &b);
        reply_results(call, collect_results(&b));
    }
    bulk_insert_release(&b);
    return true;
}

/* ---- PATCH ?filter= ---- */

static bool keep_match(const bson_t *doc, void *arg, odm_error_t *err)
{
    api_matches_t *m = arg;
    if (m->n == m->cap) /* the find's limit stops it first */
        return odm_error_set(err, ODM_ERR_INTERNAL, "more matches than the find's limit");
    m->bytes += doc->len;
    if (m->bytes > ODM_API_BULK_MAX_BYTES)
        return odm_error_set(err, ODM_ERR_BAD_QUERY,
                             "the documents matching the filter hold more than %u MiB: narrow it",
                             ODM_API_BULK_MAX_BYTES >> 20);
    bson_copy_to(doc, &m->docs[m->n++]);
    return true;
}

bool api__read_matches(api_call_t *call, const bson_t *filter, size_t cap, api_matches_t *m,
                       odm_error_t *err)
{
    m->cap = cap;
    m->docs = calloc_aligned(m->cap, sizeof *m->docs, _Alignof(bson_t));
    if (m->docs == NULL)
        return odm_error_set(err, ODM_ERR_INTERNAL, "out of memory");
    bson_t snapshot;
    api__snapshot_projection(&snapshot);
    bool read =
        odm_store_find(call->app->store, call->model->collection, filter, NULL, &snapshot, 0,
                       (int64_t)m->cap, keep_match, m, odm_request_deadline_ms(call->req), err);
    bson_destroy(&snapshot);
    return read;
}

void api__matches_release(api_matches_t *m)
{
    for (size_t i = 0; i < m->n; i++)
        bson_destroy(&m->docs[i]);
    free(m->docs);
}

/* Reads up to bulk_max + 1 matching documents into m. Returns: true after answering (an error,
 * or 400 when more than the bound match). */
static bool refuse_matches(api_call_t *call, api_matches_t *m)
{
    size_t max = api__bulk_max(call);
    odm_error_t err;
    if (!api__read_matches(call, &call->filter, max + 1, m, &err))
        return api__fail(call->req, &err, NULL);
    if (m->n > max)
        return api__failf(call->req, ODM_ERR_BAD_QUERY,
                          "more than %zu documents match the filter: narrow it", max);
    return false;
}

typedef struct {
    int64_t matched, modified;
    json_t *failures;
    bool halted;      /* the database failed (503, 504): the rest is not tried */
    odm_error_t halt; /* that failure as told */
} patch_tally_t;

/* Adds the failure of the document with `id_filter` to the tally. Returns: false on out of
 * memory. */
static bool add_failure(api_call_t *call, patch_tally_t *t, const bson_t *id_filter,
                        const odm_error_t *told, const json_t *errors)
{
    json_t *tree = odm_codec_to_tree(call->model, id_filter);
    json_t *id = tree ? json_object_get(tree, "_id") : NULL;
    json_t *f = json_pack("{s:O}", "_id", id ? id : json_null()); /* the _id first */
    json_t *why = told_failure(told, errors);
    bool ok = f != NULL && why != NULL && json_object_update(f, why) == 0 &&
              json_array_append(t->failures, f) == 0;
    json_decref(why);
    json_decref(f);
    json_decref(tree);
    return ok;
}

/* Writes the patch to the document `doc` with `id_filter` and tallies the outcome. A database
 * failure halts the rest. Returns: false on out of memory. */
static bool patch_write(api_call_t *call, const bson_t *doc, const bson_t *id_filter,
                        patch_tally_t *t)
{
    api_write_t w;
    api__write_init(&w, id_filter);
    w.build = api__build_patch;
    w.skip_same = true;
    w.first = doc;
    api_write_status_t status = api__write_guarded(call, &w);
    bool ok = true;
    if (status == API_WRITE_DONE)
        t->modified++;
    if (status == API_WRITE_REFUSED) {
        odm_error_t told;
        api__withhold(call->req, &w.verdict.err, &told);
        ok = add_failure(call, t, id_filter, &told, w.verdict.errors);
        t->halted = told.kind == ODM_ERR_UNAVAILABLE || told.kind == ODM_ERR_TIMEOUT;
        t->halt = told;
    }
    api__write_release(&w);
    return ok;
}

/* Writes the patch to one matched document (or, once halted, counts it failed untried).
 * Returns: false on out of memory. */
static bool patch_one(api_call_t *call, const bson_t *doc, patch_tally_t *t)
{
    bson_t id_filter = BSON_INITIALIZER;
    bson_iter_t it;
    t->matched++;
    if (!bson_iter_init_find(&it, doc, "_id")) /* never from MongoDB: without it, no guard */
        return true;
    bson_append_iter(&id_filter, "_id", 3, &it);
    api__scope_filter(call->model, API_SCOPE_LIVE, &id_filter); /* soft-deleted meanwhile: gone */
    api__owner_filter(call, call->model, &id_filter);
    bool ok = t->halted ? add_failure(call, t, &id_filter, &t->halt, NULL)
                        : patch_write(call, doc, &id_filter, t);
    bson_destroy(&id_filter);
    return ok;
}

static bool bulk_patch_work(api_call_t *call)
{
    if (!call->body_ready && (api__refuse_patch_body(call) || refuse_preconditions(call)))
        return true;
    api_matches_t m = {0};
    if (refuse_matches(call, &m)) {
        api__matches_release(&m);
        return true;
    }
    patch_tally_t t = {.failures = json_array()};
    bool ok = t.failures != NULL;
    for (size_t i = 0; ok && i < m.n; i++)
        ok = patch_one(call, &m.docs[i], &t);
    api__matches_release(&m);
    json_t *answer = ok ? json_pack("{s:I, s:I, s:I, s:O}", "matched", (json_int_t)t.matched,
                                    "modified", (json_int_t)t.modified, "failed",
                                    (json_int_t)json_array_size(t.failures), "failures", t.failures)
                        : NULL;
    json_decref(t.failures);
    return reply_results(call, answer);
}

void api__bulk_patch(api_call_t *call)
{
    if (refuse_filter(call) || api__refuse_unconditional(call))
        return;
    size_t len;
    odm_request_body(call->req, &len);
    if (len <= call->app->inline_body_max) {
        if (api__refuse_patch_body(call) || refuse_preconditions(call))
            return;
        call->body_ready = true;
    }
    call->work = bulk_patch_work;
    api__submit(call);
}

/* ---- DELETE ?filter= ---- */

static bool bulk_delete_work(api_call_t *call)
{
    odm_error_t err;
    int64_t deleted = 0;
    if (call->model->deleted_at != NULL) {
        if (!api__soft_delete_many(call, &deleted, &err))
            return api__fail(call->req, &err, NULL);
        return reply_results(call, json_pack("{s:I}", "deleted", (json_int_t)deleted));
    }
    if (!odm_store_delete_many(call->app->store, call->model->collection, &call->filter, &deleted,
                               odm_request_deadline_ms(call->req), &err))
        return api__fail(call->req, &err, NULL);
    return reply_results(call, json_pack("{s:I}", "deleted", (json_int_t)deleted));
}

void api__bulk_delete(api_call_t *call)
{
    if (refuse_filter(call) || api__refuse_unconditional(call) || refuse_preconditions(call))
        return;
    call->work = bulk_delete_work;
    api__submit(call);
}
