/* Per-request call state, the hand-off to the worker pool, and helpers the handlers share. */
#include <inttypes.h>
#include <pthread.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/dataapi.h"
#include "api/internal.h"
#include "odmd/clock.h"
#include "odmd/log.h"

/* One freed call kept per thread for the next request on it: a call is 2 KiB, past malloc's
 * per-thread cache, and its calloc took ~6k of the ~100k instructions of a 422 answer. The
 * slot is freed when its thread ends. */
static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;
static bool spare_ok;

static void spare_make(void)
{
    spare_ok = pthread_key_create(&spare_key, free) == 0;
}

static void call_recycle(api_call_t *call)
{
    pthread_once(&spare_once, spare_make);
    if (!spare_ok || pthread_getspecific(spare_key) != NULL ||
        pthread_setspecific(spare_key, call) != 0)
        free(call);
}

static api_call_t *call_alloc(void)
{
    pthread_once(&spare_once, spare_make);
    api_call_t *call = spare_ok ? pthread_getspecific(spare_key) : NULL;
    if (call == NULL)
        return calloc(1, sizeof *call);
    pthread_setspecific(spare_key, NULL);
    memset(call, 0, offsetof(api_call_t, caller)); /* the caller is the last member */
    call->caller.name[0] = '\0';
    call->caller.scopes[0] = '\0';
    return call;
}

static void call_free(void *p)
{
    api_call_t *call = p;
    if (call == NULL)
        return;
    free(call->id);
    json_decref(call->body);
    bson_destroy(&call->id_filter);
    bson_destroy(&call->doc);
    api__expand_free(call->expand);
    api__dataapi_free(call->dataapi);
    bson_destroy(&call->filter);
    api_list_t *list = call->list;
    if (list != NULL) {
        bson_destroy(&list->filter);
        bson_destroy(&list->sort);
        bson_destroy(&list->projection);
        odm_buf_release(&list->page);
        api__cursor_free(list->cursor);
        free(list);
    }
    odm_model_set_release(call->set); /* last: the jobs above may point into its models */
    call_recycle(call);
}

api_call_t *api__call_new(odm_request_t *req, const odm_app_t *app, odm_model_set_t *set,
                          const odm_model_t *model)
{
    api_call_t *call = call_alloc();
    if (call == NULL)
        return NULL;
    call->req = req;
    call->app = app;
    call->model = model;
    call->set = set;
    call->models = odm_model_set_models(set);
    bson_init(&call->id_filter);
    bson_init(&call->doc);
    bson_init(&call->filter);
    odm_request_set_state(req, call, call_free);
    return call;
}

static void run_job(odm_job_t *job)
{
    api_call_t *call = (api_call_t *)((char *)job - offsetof(api_call_t, job));
    if (call->work(call))
        odm_request_resume(call->req); /* the last touch of the request */
}

static void expire_job(odm_job_t *job)
{
    api_call_t *call = (api_call_t *)((char *)job - offsetof(api_call_t, job));
    api__failf(call->req, ODM_ERR_TIMEOUT, "request waited too long for a worker");
    odm_request_resume(call->req);
}

void api__submit(api_call_t *call)
{
    int64_t deadline = odm_request_deadline_ms(call->req);
    int64_t budget = odm_store_op_budget_ms(call->app->store);
    call->job.run = run_job;
    call->job.expire = expire_job;
    /* a job must start while one whole store operation still fits before the deadline */
    call->job.start_by_ms = deadline - budget > odm_now_ms() ? deadline - budget : odm_now_ms();
    odm_request_suspend(call->req);
    if (!odm_work_submit(call->app->pool, &call->job)) {
        api__failf(call->req, ODM_ERR_UNAVAILABLE, "too many requests queued");
        odm_request_resume(call->req);
    }
}

bool api__refuse_body(api_call_t *call, bool document)
{
    size_t len;
    const char *body = odm_request_body(call->req, &len);
    odm_error_t err;
    call->body = odm_json_parse(body, len, document ? ODM_JSON_DOCUMENT : 0, &err);
    return call->body == NULL && api__fail(call->req, &err, NULL);
}

void api__verdict_release(api_verdict_t *v)
{
    json_decref(v->errors);
    v->errors = NULL;
}

/* Answers the verdict's refusal. Returns: true (answered). */
static bool fail_verdict(api_call_t *call, api_verdict_t *v)
{
    api__fail(call->req, &v->err, v->errors);
    api__verdict_release(v);
    return true;
}

/* Collects the violations of `doc`, known invalid, into *list (new; NULL on out of memory),
 * with `err` saying how many. Returns false. */
static bool collect_violations(const odm_model_t *model, const json_t *doc,
                               odm_schema_errors_t **list, odm_error_t *err)
{
    *list = odm_schema_errors_new(ODM_SCHEMA_MAX_ERRORS);
    if (*list == NULL)
        return odm_error_set(err, ODM_ERR_INTERNAL, "out of memory");
    odm_schema_validate(model->schema, doc, *list);
    size_t n = odm_schema_errors_count(*list);
    return odm_error_set(err, ODM_ERR_VALIDATION, "%zu violation%s of the '%s' model", n,
                         n == 1 ? "" : "s", model->name);
}

bool api__check_valid(const odm_model_t *model, const json_t *doc, api_verdict_t *v)
{
    if (odm_schema_validate(model->schema, doc, NULL))
        return true;
    odm_schema_errors_t *list;
    collect_violations(model, doc, &list, &v->err);
    json_decref(v->errors);
    v->errors = list != NULL ? odm_schema_errors_json(list) : NULL;
    odm_schema_errors_free(list);
    return false;
}

/* odm_problem_errors_fn of the validator's list: the units go straight into the body. */
static bool put_violations(odm_buf_t *b, const void *list)
{
    return odm_schema_errors_write(list, b);
}

bool api__refuse_invalid(api_call_t *call, const json_t *doc)
{
    if (odm_schema_validate(call->model->schema, doc, NULL))
        return false;
    odm_schema_errors_t *list;
    odm_error_t err, told;
    collect_violations(call->model, doc, &list, &err);
    api__withhold(call->req, &err, &told);
    odm_request_fail_with(call->req, &told, list != NULL ? put_violations : NULL, list);
    odm_schema_errors_free(list);
    return true;
}

bool api__check_read_only(const odm_model_t *model, const json_t *body, bool skip_id,
                          api_verdict_t *v)
{
    json_t *errors = json_array();
    if (odm_model_check_read_only(model, body, skip_id, errors)) {
        json_decref(errors);
        return true;
    }
    odm_error_set(&v->err, ODM_ERR_VALIDATION, "read-only fields cannot be written");
    json_decref(v->errors);
    v->errors = errors;
    return false;
}

bool api__refuse_read_only(api_call_t *call, bool skip_id)
{
    api_verdict_t v = {0};
    return !api__check_read_only(call->model, call->body, skip_id, &v) && fail_verdict(call, &v);
}

bool api__check_convertible(const odm_model_t *model, const json_t *doc, int64_t version,
                            bson_t *out, api_verdict_t *v)
{
    json_t *errors = json_array();
    if (odm_codec_to_bson(model, doc, out, errors, &v->err)) {
        json_decref(errors);
        BSON_APPEND_INT64(out, ODM_VERSION_FIELD, version);
        return true;
    }
    json_decref(v->errors);
    v->errors = errors;
    return false;
}

bool api__refuse_unconvertible(api_call_t *call, const json_t *doc, int64_t version, bson_t *out)
{
    api_verdict_t v = {0};
    return !api__check_convertible(call->model, doc, version, out, &v) && fail_verdict(call, &v);
}

void api__etag(int64_t version, char *out, size_t size)
{
    char digits[24];
    size_t n = 0, len = 0;
    uint64_t u = version < 0 ? (uint64_t)0 - (uint64_t)version : (uint64_t)version;
    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (size < n + 4) { /* quotes, sign, NUL: never with the documented 32 bytes */
        if (size > 0)
            out[0] = '\0';
        return;
    }
    out[len++] = '"';
    if (version < 0)
        out[len++] = '-';
    while (n > 0)
        out[len++] = digits[--n];
    out[len++] = '"';
    out[len] = '\0';
}

/* Calls fn for each entity-tag of a comma-separated list; true when one matches. */
static bool any_tag(const char *header, int64_t version, bool weak_ok)
{
    char want[32];
    api__etag(version, want, sizeof want);
    size_t wlen = strlen(want);
    const char *p = header;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        bool weak = strncmp(p, "W/", 2) == 0;
        if (weak)
            p += 2;
        size_t n = strcspn(p, ",");
        size_t t = n;
        while (t > 0 && p[t - 1] == ' ')
            t--;
        if (t == wlen && memcmp(p, want, wlen) == 0 && (weak_ok || !weak))
            return true;
        p += n;
    }
    return false;
}

static bool is_star(const char *header)
{
    while (*header == ' ')
        header++;
    return header[0] == '*' && header[1 + strspn(header + 1, " ")] == '\0';
}

bool api__if_match(const char *header, bool exists, int64_t version)
{
    if (header == NULL)
        return true;
    if (!exists)
        return false;
    return is_star(header) || any_tag(header, version, false);
}

bool api__if_none_match(const char *header, int64_t version)
{
    if (header == NULL)
        return false;
    return is_star(header) || any_tag(header, version, true);
}

/* Kinds whose messages quote the database (its host, the driver's words): the log keeps the
 * message with the request id, the client gets what it can act on. */
static const struct {
    odm_error_kind_t kind;
    const char *advice;
} withheld[] = {
    {ODM_ERR_UNAVAILABLE, "the database is unavailable; retry later"},
    {ODM_ERR_TIMEOUT, "the request could not be answered in time; retry later"},
};

void api__withhold(odm_request_t *req, const odm_error_t *err, odm_error_t *told)
{
    *told = *err;
    for (size_t i = 0; i < sizeof withheld / sizeof withheld[0]; i++) {
        if (err->kind != withheld[i].kind)
            continue;
        odm_warn("request %s: %s", odm_request_id(req), err->message);
        odm_error_set(told, err->kind, "%s", withheld[i].advice);
        return;
    }
}

bool api__fail(odm_request_t *req, const odm_error_t *err, const json_t *errors)
{
    odm_error_t told;
    api__withhold(req, err, &told);
    odm_request_fail(req, &told, errors);
    return true;
}

bool api__failf(odm_request_t *req, odm_error_kind_t kind, const char *fmt, ...)
{
    odm_error_t err;
    va_list ap;
    va_start(ap, fmt);
    odm_error_setv(&err, kind, fmt, ap);
    va_end(ap);
    odm_request_fail(req, &err, NULL);
    return true;
}

/* What a cache may do with a GET or HEAD answer (RFC 9111 5.2.2.4: store it, but revalidate it
 * with its ETag before every use). */
static void add_cache_control(odm_request_t *req)
{
    if (odm_request_method(req) & (ODM_METHOD_GET | ODM_METHOD_HEAD))
        odm_request_add_header(req, "Cache-Control", ODM_API_CACHE_CONTROL);
}

bool api__reply_document(api_call_t *call, int status, const bson_t *doc)
{
    odm_buf_t out;
    odm_error_t err;
    odm_buf_init(&out, ODM_API_MAX_RESPONSE);
    if (!odm_codec_write_json(call->model, doc, &out, &err)) {
        odm_buf_release(&out);
        return api__fail(call->req, &err, NULL);
    }
    char etag[32];
    api__etag(odm_codec_version(doc), etag, sizeof etag);
    odm_request_add_header(call->req, "ETag", etag);
    add_cache_control(call->req);
    size_t len;
    char *body = odm_buf_steal(&out, &len);
    /* a 304 sends no body; the body given sets its Content-Length to the 200's (RFC 9110 8.6) */
    odm_request_reply(call->req, status, status == 304 ? NULL : "application/json", body, len);
    return true;
}

void api__reply_list(odm_request_t *req, char *body, size_t len)
{
    add_cache_control(req);
    odm_request_reply(req, 200, "application/json", body, len);
}

json_t *api__merge_patch(json_t *target, const json_t *patch)
{
    if (!json_is_object(patch)) {
        json_decref(target);
        return json_deep_copy(patch);
    }
    if (!json_is_object(target)) {
        json_decref(target);
        target = json_object();
        if (target == NULL)
            return NULL;
    }
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)patch, key, value)
    {
        if (json_is_null(value)) {
            json_object_del(target, key);
            continue;
        }
        json_t *old = json_object_get(target, key);
        json_t *merged = api__merge_patch(old ? json_incref(old) : json_null(), value);
        if (merged == NULL || json_object_set_new(target, key, merged) != 0) {
            json_decref(target);
            return NULL;
        }
    }
    return target;
}
