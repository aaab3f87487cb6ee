/* /api/NAME: list with filter, sort, projection and paging (page and count fanned out), and
 * create; also /readyz. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "odmd/clock.h"
#include "odmd/jarena.h"

/* A whole decimal number within [min, max]. */
static bool parse_bounded(const char *s, long long min, long long max, long long *out)
{
    if (s == NULL || *s == '\0' || strspn(s, "0123456789") != strlen(s) || strlen(s) > 12)
        return false;
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno != 0 || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static bool check_param(const char *key, const char *value, void *arg)
{
    static const char *const known[] = {"limit",  "skip",  "sort",   "fields",
                                        "filter", "count", "expand", "deleted"};
    (void)value;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(key, known[i]) == 0)
            return true;
    if (strcmp(key, "after") == 0) /* cursor.c */
        return true;
    *(const char **)arg = key;
    return false;
}

/* Parses the list's query parameters into call->list. Returns: true after answering 400. */
static bool refuse_list_query(api_call_t *call)
{
    odm_request_t *req = call->req;
    api_list_t *list = call->list;
    const char *unknown = NULL;
    if (!odm_request_each_query(req, check_param, &unknown))
        return api__failf(req, ODM_ERR_BAD_QUERY, "unknown query parameter '%s'", unknown);
    long long n = ODM_API_DEFAULT_LIMIT;
    const char *v = odm_request_query(req, "limit");
    if (v != NULL && !parse_bounded(v, 1, ODM_API_MAX_LIMIT, &n))
        return api__failf(req, ODM_ERR_BAD_QUERY,
                          "limit must be a whole number from 1 to 1000, not '%s'", v);
    list->limit = n;
    n = 0;
    v = odm_request_query(req, "skip");
    if (v != NULL && !parse_bounded(v, 0, ODM_API_MAX_SKIP, &n))
        return api__failf(req, ODM_ERR_BAD_QUERY,
                          "skip must be a whole number from 0 to %lld (page further with the "
                          "Link header's after=), not '%s'",
                          ODM_API_MAX_SKIP, v);
    list->skip = n;
    v = odm_request_query(req, "count");
    if (v != NULL && strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
        return api__failf(req, ODM_ERR_BAD_QUERY, "count must be true or false, not '%s'", v);
    list->want_count = v != NULL && strcmp(v, "true") == 0;

    odm_error_t err;
    v = odm_request_query(req, "sort");
    if (v != NULL && !odm_codec_sort(call->model, v, strlen(v), &list->sort, &err))
        goto fail;
    v = odm_request_query(req, "fields");
    const char *expand = odm_request_query(req, "expand");
    if (expand != NULL && api__refuse_expand(call, expand, v, &list->projection))
        return true;
    if (expand == NULL && v != NULL &&
        !odm_codec_projection(call->model, v, strlen(v), &list->projection, &err))
        goto fail;
    v = odm_request_query(req, "filter");
    if (v != NULL) {
        json_t *filter = odm_json_parse(v, strlen(v), 0, &err);
        if (filter == NULL) {
            err.kind = ODM_ERR_BAD_QUERY;
            odm_error_prefix(&err, "filter");
            goto fail;
        }
        bool ok =
            json_is_object(filter) && odm_codec_filter(call->model, filter, &list->filter, &err);
        if (!json_is_object(filter))
            odm_error_set(&err, ODM_ERR_BAD_QUERY, "filter must be a JSON object");
        json_decref(filter);
        if (!ok)
            goto fail;
    }
    api_scope_t scope;
    if (api__refuse_deleted_param(call, &scope))
        return true;
    api__scope_filter(call->model, scope, &list->filter);
    api__owner_filter(call, call->model, &list->filter);
    return false;
fail:
    return api__fail(req, &err, NULL);
}

typedef struct {
    api_list_t *list;
    bool first;
} page_writer_t;

static bool write_one(const bson_t *doc, void *arg, odm_error_t *err)
{
    page_writer_t *w = arg;
    doc = api__cursor_shown(w->list, doc);
    if (doc == NULL) /* past the limit: there is a next page */
        return true;
    if (!w->first && !odm_buf_putc(&w->list->page, ','))
        return odm_error_set(err, ODM_ERR_INTERNAL, "page larger than %u bytes",
                             ODM_API_MAX_RESPONSE);
    w->first = false;
    return odm_codec_write_json(w->list->call->model, doc, &w->list->page, err);
}

static void run_page(api_list_t *list)
{
    api_call_t *call = list->call;
    page_writer_t w = {list, true};
    odm_buf_reset(&list->page);
    list->page_ok =
        odm_buf_putc(&list->page, '[') &&
        odm_store_find(call->app->store, call->model->collection, api__cursor_filter(list),
                       bson_empty(&list->sort) ? NULL : &list->sort,
                       bson_empty(&list->projection) ? NULL : &list->projection, list->skip,
                       api__cursor_limit(list), write_one, &w, odm_request_deadline_ms(call->req),
                       &list->page_err) &&
        odm_buf_putc(&list->page, ']');
}

static void run_count(api_list_t *list)
{
    api_call_t *call = list->call;
    list->count_ok =
        odm_store_count(call->app->store, call->model->collection, &list->filter, &list->total,
                        odm_request_deadline_ms(call->req), &list->count_err);
}

/* Composes the answer from the page (and the count). */
static void reply_list(api_list_t *list)
{
    odm_request_t *req = list->call->req;
    if (!list->page_ok || !api__cursor_link(list, &list->page_err)) {
        api__fail(req, &list->page_err, NULL);
        return;
    }
    if (list->want_count) {
        if (!list->count_ok) {
            api__fail(req, &list->count_err, NULL);
            return;
        }
        char total[32];
        snprintf(total, sizeof total, "%lld", (long long)list->total);
        odm_request_add_header(req, "X-Total-Count", total);
    }
    size_t len;
    char *body = odm_buf_steal(&list->page, &len);
    api__reply_list(req, body, len);
}

#define LIST_OF(ptr, member) ((api_list_t *)((char *)(ptr)-offsetof(api_list_t, member)))

static void page_job_run(odm_job_t *job)
{
    run_page(LIST_OF(job, page_job));
}

static void count_job_run(odm_job_t *job)
{
    run_count(LIST_OF(job, count_job));
}

static void page_job_expire(odm_job_t *job)
{
    api_list_t *list = LIST_OF(job, page_job);
    list->page_ok = false;
    odm_error_set(&list->page_err, ODM_ERR_TIMEOUT, "request waited too long for a worker");
}

static void count_job_expire(odm_job_t *job)
{
    api_list_t *list = LIST_OF(job, count_job);
    list->count_ok = false;
    odm_error_set(&list->count_err, ODM_ERR_TIMEOUT, "request waited too long for a worker");
}

/* The last of page and count to finish answers and resumes. */
static void list_joined(odm_fanout_t *f)
{
    api_list_t *list = LIST_OF(f, fan);
    reply_list(list);
    odm_request_resume(list->call->req);
}

/* expand=: the page kept as BSON, answered once its references are fetched (expand.c). */

static bool keep_one(const bson_t *doc, void *arg, odm_error_t *err)
{
    api_call_t *call = arg;
    doc = api__cursor_shown(call->list, doc);
    return doc == NULL || api__expand_add(call->expand, doc, err); /* NULL: a next page */
}

static void compose_expanded(api_call_t *call)
{
    api_list_t *list = call->list;
    const odm_error_t *failed = api__expand_error(call->expand);
    if (list->page_ok && failed != NULL) {
        list->page_ok = false;
        list->page_err = *failed;
    }
    if (list->page_ok) {
        odm_buf_reset(&list->page);
        list->page_ok = api__expand_write(call->expand, true, &list->page, &list->page_err);
    }
    reply_list(list);
}

static void count_arrived(odm_fanout_t *f)
{
    api__expand_arrive(LIST_OF(f, fan)->call->expand);
}

/* The count (when asked) runs on another worker while this one reads the page and then the
 * references; the last of them answers. */
static bool expand_work(api_call_t *call)
{
    api_list_t *list = call->list;
    api__expand_start(call->expand, list->want_count ? 1 : 0, compose_expanded);
    if (list->want_count) {
        list->count_job = (odm_job_t){
            .run = count_job_run, .expire = count_job_expire, .start_by_ms = call->job.start_by_ms};
        odm_job_t *jobs[] = {&list->count_job};
        odm_work_fanout(call->app->pool, &list->fan, jobs, 1, count_arrived);
    }
    list->page_ok =
        odm_store_find(call->app->store, call->model->collection, api__cursor_filter(list),
                       bson_empty(&list->sort) ? NULL : &list->sort,
                       bson_empty(&list->projection) ? NULL : &list->projection, list->skip,
                       api__cursor_limit(list), keep_one, call, odm_request_deadline_ms(call->req),
                       &list->page_err);
    api__expand_run(call->expand, list->page_ok);
    return false;
}

static bool list_work(api_call_t *call)
{
    api_list_t *list = call->list;
    if (call->expand != NULL)
        return expand_work(call);
    if (!list->want_count) {
        run_page(list);
        reply_list(list);
        return true;
    }
    int64_t start_by = call->job.start_by_ms;
    list->page_job =
        (odm_job_t){.run = page_job_run, .expire = page_job_expire, .start_by_ms = start_by};
    list->count_job =
        (odm_job_t){.run = count_job_run, .expire = count_job_expire, .start_by_ms = start_by};
    odm_job_t *jobs[] = {&list->page_job, &list->count_job};
    odm_work_fanout(call->app->pool, &list->fan, jobs, 2, list_joined);
    return false;
}

/* Attaches a new list state to the call. Returns: true after answering 500. */
static bool refuse_list(api_call_t *call)
{
    api_list_t *list = calloc(1, sizeof *list);
    if (list == NULL)
        return api__failf(call->req, ODM_ERR_INTERNAL, "out of memory");
    list->call = call;
    bson_init(&list->filter);
    bson_init(&list->sort);
    bson_init(&list->projection);
    odm_buf_init(&list->page, ODM_API_MAX_RESPONSE);
    call->list = list;
    return false;
}

void api__list(api_call_t *call)
{
    if (refuse_list(call) || refuse_list_query(call) || api__cursor_refuse(call))
        return;
    if (api__export_wanted(call)) {
        api__export(call);
        return;
    }
    call->work = list_work;
    api__submit(call);
}

json_t *api__build_create(const odm_model_t *model, json_t *body)
{
    json_t *doc = json_object();
    if (doc == NULL) {
        json_decref(body);
        return NULL;
    }
    odm_error_t err;
    if (json_object_get(body, "_id") == NULL && model->id_generated &&
        !odm_codec_new_id(model, doc, NULL, &err)) {
        json_decref(doc);
        json_decref(body);
        return NULL;
    }
    json_object_update(doc, body);
    json_decref(body);
    odm_model_apply_defaults(model, doc);
    odm_model_stamp(model, doc, odm_model_wall_ms(), true);
    return doc;
}

/* A valid document whose _id the client left out and odmd cannot make (422): stored, it would
 * get the driver's ObjectId, which no URL of the model names. Returns: true after answering. */
static bool refuse_missing_id(api_call_t *call)
{
    if (!json_is_object(call->body) || json_object_get(call->body, "_id") != NULL)
        return false;
    json_t *errors = json_array();
    odm_error_t err;
    bool refused = !odm_codec_new_id(call->model, call->body, errors, &err);
    if (refused)
        api__fail(call->req, &err, errors);
    json_decref(errors);
    return refused;
}

/* POST: the body is checked, built into the document, validated and converted into call->doc
 * before anything is written; an array (a bulk insert) is only parsed here, its items are
 * checked by api__bulk_create. Returns: true after answering. */
static bool refuse_create_body(api_call_t *call)
{
    if (api__refuse_body(call, true))
        return true;
    if (!json_is_object(call->body) && !json_is_array(call->body))
        return api__failf(call->req, ODM_ERR_BAD_REQUEST,
                          "the body must be a document (a JSON object) or an array of them");
    if (json_is_array(call->body)) {
        call->body_ready = true;
        return false;
    }
    if (api__refuse_read_only(call, false))
        return true;
    odm_jarena_t arena; /* the document's blocks beside the body's, freed with it */
    odm_jarena_begin(&arena);
    call->body = api__build_create(call->model, call->body);
    odm_jarena_end(&arena);
    if (call->body == NULL || !api__owner_stamp(call, call->body))
        return api__failf(call->req, ODM_ERR_INTERNAL, "out of memory");
    if (api__refuse_invalid(call, call->body) || refuse_missing_id(call) ||
        api__refuse_unconvertible(call, call->body, odm_codec_first_version(), &call->doc))
        return true;
    call->body_ready = true;
    return false;
}

static bool create_run(api_call_t *call)
{
    if (!call->body_ready && refuse_create_body(call))
        return true;
    if (json_is_array(call->body))
        return api__bulk_create(call);
    odm_error_t err;
    if (!odm_store_insert(call->app->store, call->model->collection, &call->doc,
                          odm_request_deadline_ms(call->req), &err))
        return api__fail(call->req, &err, NULL);
    return api__answer_created(call);
}

bool api__answer_created(api_call_t *call)
{
    odm_buf_t location;
    odm_buf_init(&location, 4096);
    bool ok = odm_buf_puts(&location, "/api/") && odm_buf_puts(&location, call->model->name) &&
              odm_buf_putc(&location, '/');
    if (ok && odm_codec_id_segment(&call->doc, &location))
        odm_request_add_header(call->req, "Location", odm_buf_cstr(&location));
    odm_buf_release(&location);
    return api__reply_document(call, 201, &call->doc);
}

/* A body too large to check on arrival is checked here, before any Idempotency-Key is claimed:
 * a refused body claims none, whatever its size. */
static bool create_work(api_call_t *call)
{
    if (call->coalesce && api__coalesce_create(call))
        return true;
    if (!call->body_ready && refuse_create_body(call))
        return true;
    return api__idempotent(call, create_run);
}

void api__create(api_call_t *call)
{
    size_t len;
    odm_request_body(call->req, &len);
    if (api__refuse_create_query(call))
        return;
    if (len <= call->app->inline_body_max &&
        (refuse_create_body(call) || (json_is_array(call->body) && api__refuse_bulk_create(call))))
        return;
    call->coalesce = api__coalescible_create(call);
    call->work = create_work;
    api__submit(call);
}

/* /readyz: ready once the models' indexes exist and the database answers a ping. */
static bool readyz_work(api_call_t *call)
{
    odm_error_t err;
    if (call->app->indexes == NULL)
        return api__failf(call->req, ODM_ERR_UNAVAILABLE,
                          "the models' indexes cannot be created: the log says why");
    if (!odm_api_indexes_done(call->app->indexes))
        return api__failf(call->req, ODM_ERR_UNAVAILABLE,
                          "the models' indexes are not created yet");
    if (!odm_store_ping(call->app->store, odm_request_deadline_ms(call->req), &err)) {
        odm_error_prefix(&err, "database not reachable");
        err.kind = ODM_ERR_UNAVAILABLE;
        return api__fail(call->req, &err, NULL);
    }
    static const char body[] = "{\"status\":\"ready\"}";
    char *copy = strdup(body);
    odm_request_reply(call->req, 200, "application/json", copy, copy ? strlen(body) : 0);
    return true;
}

void api__readyz(api_call_t *call)
{
    call->work = readyz_work;
    api__submit(call);
}
