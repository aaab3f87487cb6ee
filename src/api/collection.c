/* /api/NAME: list with filter, sort, projection and paging (page and count fanned out), and
 * create; also /readyz. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "odmd/clock.h"

static bool fail_query(api_call_t *call, const char *fmt, const char *what)
{
    odm_error_t err;
    odm_error_set(&err, ODM_ERR_BAD_QUERY, fmt, what);
    odm_request_fail(call->req, &err, NULL);
    return false;
}

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
    static const char *const known[] = {"limit", "skip", "sort", "fields", "filter", "count"};
    (void)value;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(key, known[i]) == 0)
            return true;
    *(const char **)arg = key;
    return false;
}

static bool parse_list_query(api_call_t *call)
{
    odm_request_t *req = call->req;
    const char *unknown = NULL;
    if (!odm_request_each_query(req, check_param, &unknown))
        return fail_query(call, "unknown query parameter '%s'", unknown);
    long long n = ODM_API_DEFAULT_LIMIT;
    const char *v = odm_request_query(req, "limit");
    if (v != NULL && !parse_bounded(v, 1, ODM_API_MAX_LIMIT, &n))
        return fail_query(call, "limit must be a whole number from 1 to 1000, not '%s'", v);
    call->limit = n;
    n = 0;
    v = odm_request_query(req, "skip");
    if (v != NULL && !parse_bounded(v, 0, ODM_API_MAX_SKIP, &n))
        return fail_query(call, "skip must be a whole number from 0 to 1000000000, not '%s'", v);
    call->skip = n;
    v = odm_request_query(req, "count");
    if (v != NULL && strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
        return fail_query(call, "count must be true or false, not '%s'", v);
    call->want_count = v != NULL && strcmp(v, "true") == 0;

    odm_error_t err;
    v = odm_request_query(req, "sort");
    if (v != NULL && !odm_codec_sort(call->model, v, strlen(v), &call->sort, &err))
        goto fail;
    v = odm_request_query(req, "fields");
    if (v != NULL && !odm_codec_projection(call->model, v, strlen(v), &call->projection, &err))
        goto fail;
    v = odm_request_query(req, "filter");
    if (v != NULL) {
        json_t *filter = odm_json_parse(v, strlen(v), 0, &err);
        if (filter == NULL) {
            err.kind = ODM_ERR_BAD_QUERY;
            odm_error_prefix(&err, "filter");
            goto fail;
        }
        bool ok = json_is_object(filter) && odm_codec_filter(call->model, filter, &call->filter, &err);
        if (!json_is_object(filter))
            odm_error_set(&err, ODM_ERR_BAD_QUERY, "filter must be a JSON object");
        json_decref(filter);
        if (!ok)
            goto fail;
    }
    return true;
fail:
    odm_request_fail(req, &err, NULL);
    return false;
}

typedef struct {
    api_call_t *call;
    bool first;
} page_writer_t;

static bool write_one(const bson_t *doc, void *arg, odm_error_t *err)
{
    page_writer_t *w = arg;
    if (!w->first && !odm_buf_putc(&w->call->page, ','))
        return odm_error_set(err, ODM_ERR_INTERNAL, "page larger than %u bytes",
                             ODM_API_MAX_RESPONSE);
    w->first = false;
    return odm_codec_write_json(w->call->model, doc, &w->call->page, err);
}

static void run_page(api_call_t *call)
{
    page_writer_t w = {call, true};
    odm_buf_reset(&call->page);
    call->page_ok = odm_buf_putc(&call->page, '[') &&
                    odm_store_find(call->app->store, call->model->collection, &call->filter,
                                   bson_empty(&call->sort) ? NULL : &call->sort,
                                   bson_empty(&call->projection) ? NULL : &call->projection,
                                   call->skip, call->limit, write_one, &w,
                                   odm_request_deadline_ms(call->req), &call->page_err) &&
                    odm_buf_putc(&call->page, ']');
}

static void run_count(api_call_t *call)
{
    call->count_ok = odm_store_count(call->app->store, call->model->collection, &call->filter,
                                     &call->total, odm_request_deadline_ms(call->req),
                                     &call->count_err);
}

/* Composes the answer from the page (and the count). */
static void reply_list(api_call_t *call)
{
    if (!call->page_ok) {
        odm_request_fail(call->req, &call->page_err, NULL);
        return;
    }
    if (call->want_count) {
        if (!call->count_ok) {
            odm_request_fail(call->req, &call->count_err, NULL);
            return;
        }
        char total[32];
        snprintf(total, sizeof total, "%lld", (long long)call->total);
        odm_request_add_header(call->req, "X-Total-Count", total);
    }
    size_t len;
    char *body = odm_buf_steal(&call->page, &len);
    odm_request_reply(call->req, 200, "application/json", body, len);
}

#define CALL_OF(ptr, member) ((api_call_t *)((char *)(ptr) - offsetof(api_call_t, member)))

static void page_job_run(odm_job_t *job)
{
    run_page(CALL_OF(job, page_job));
}

static void count_job_run(odm_job_t *job)
{
    run_count(CALL_OF(job, count_job));
}

static void page_job_expire(odm_job_t *job)
{
    api_call_t *call = CALL_OF(job, page_job);
    call->page_ok = false;
    odm_error_set(&call->page_err, ODM_ERR_TIMEOUT, "request waited too long for a worker");
}

static void count_job_expire(odm_job_t *job)
{
    api_call_t *call = CALL_OF(job, count_job);
    call->count_ok = false;
    odm_error_set(&call->count_err, ODM_ERR_TIMEOUT, "request waited too long for a worker");
}

/* The last of page and count to finish answers and resumes. */
static void list_joined(odm_fanout_t *f)
{
    api_call_t *call = CALL_OF(f, fan);
    reply_list(call);
    odm_request_resume(call->req);
}

static bool list_work(api_call_t *call)
{
    if (!call->want_count) {
        run_page(call);
        reply_list(call);
        return true;
    }
    int64_t start_by = call->job.start_by_ms;
    call->page_job = (odm_job_t){.run = page_job_run, .expire = page_job_expire, .start_by_ms = start_by};
    call->count_job = (odm_job_t){.run = count_job_run, .expire = count_job_expire, .start_by_ms = start_by};
    odm_job_t *jobs[] = {&call->page_job, &call->count_job};
    odm_work_fanout(call->app->pool, &call->fan, jobs, 2, list_joined);
    return false;
}

void api__list(api_call_t *call)
{
    if (!parse_list_query(call))
        return;
    call->work = list_work;
    api__submit(call);
}

/* POST: the client's fields, then the generated _id, then defaults; validated and converted
 * before anything is written. Returns false after answering. */
static bool prepare_create(api_call_t *call)
{
    odm_error_t err;
    json_t *body = api__parse_body(call->req, true, &err);
    if (body == NULL)
        return !api__fail(call, &err, NULL);
    json_t *doc = body;
    if (json_is_object(body)) {
        json_t *errors = json_array();
        bool ok = odm_model_check_read_only(call->model, body, false, errors);
        if (!ok) {
            odm_error_set(&err, ODM_ERR_VALIDATION, "read-only fields cannot be written");
            api__fail(call, &err, errors);
        }
        json_decref(errors);
        if (!ok) {
            json_decref(body);
            return false;
        }
        doc = json_object();
        if (call->model->id_kind == ODM_ID_OBJECTID) {
            bson_oid_t oid;
            char hex[25];
            bson_oid_init(&oid, NULL);
            bson_oid_to_string(&oid, hex);
            json_object_set_new(doc, "_id", json_string(hex));
        }
        json_object_update(doc, body);
        json_decref(body);
        odm_model_apply_defaults(call->model, doc);
    }
    call->body = doc;
    if (!api__validate(call, doc))
        return false;
    json_t *errors = json_array();
    bool ok = odm_codec_to_bson(call->model, doc, &call->doc, errors, &err);
    if (ok)
        BSON_APPEND_INT64(&call->doc, ODM_VERSION_FIELD, 1);
    else
        api__fail(call, &err, errors);
    json_decref(errors);
    call->body_ready = ok;
    return ok;
}

static bool create_work(api_call_t *call)
{
    if (!call->body_ready && !prepare_create(call))
        return true;
    odm_error_t err;
    if (!odm_store_insert(call->app->store, call->model->collection, &call->doc,
                          odm_request_deadline_ms(call->req), &err))
        return api__fail(call, &err, NULL);
    odm_buf_t location;
    odm_buf_init(&location, 4096);
    odm_buf_printf(&location, "/api/%s/", call->model->name);
    if (odm_codec_id_segment(&call->doc, &location))
        odm_request_add_header(call->req, "Location", odm_buf_cstr(&location));
    odm_buf_release(&location);
    return api__reply_document(call, 201, &call->doc);
}

void api__create(api_call_t *call)
{
    size_t len;
    odm_request_body(call->req, &len);
    if (len <= call->app->inline_body_max && !prepare_create(call))
        return;
    call->work = create_work;
    api__submit(call);
}

/* /readyz: ready once the models' indexes exist and the database answers a ping. */
static bool readyz_work(api_call_t *call)
{
    odm_error_t err;
    if (call->app->indexes != NULL && !odm_api_indexes_done(call->app->indexes)) {
        odm_error_set(&err, ODM_ERR_UNAVAILABLE, "the models' indexes are not created yet");
        return api__fail(call, &err, NULL);
    }
    if (!odm_store_ping(call->app->store, odm_request_deadline_ms(call->req), &err)) {
        odm_error_prefix(&err, "database not reachable");
        err.kind = ODM_ERR_UNAVAILABLE;
        return api__fail(call, &err, NULL);
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
