/* Streaming export of a list (GET /api/NAME with Accept: application/x-ndjson or text/csv):
 * every matching document, read in batches on a worker and written through a bounded ring
 * (odm_request_reply_stream), so memory stays flat whatever the size of the result. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/internal.h"
#include "odmd/clock.h"
#include "odmd/log.h"

#define EXPORT_RING (256u << 10) /* the ring between the worker and the connection */
#define EXPORT_FLUSH (64u << 10) /* rows are gathered up to this much, then put in the ring */
#define EXPORT_BATCH 1000        /* documents per round trip to the database */
#define EXPORT_MAX_COLUMNS 32    /* the projection's own cap */

#define NDJSON_TYPE "application/x-ndjson"
#define CSV_TYPE "text/csv; charset=utf-8; header=present"

typedef enum { EXPORT_NONE, EXPORT_NDJSON, EXPORT_CSV } export_format_t;

/* Owned by its job, not by the request: the export outlives the request's context when the
 * client goes away while a batch is being read. */
typedef struct {
    odm_job_t job;
    odm_request_t *req; /* until the resume only */
    const odm_app_t *app;
    const odm_model_t *model;
    export_format_t format;
    bson_t filter, sort, projection;
    int64_t skip;
    char *columns[EXPORT_MAX_COLUMNS]; /* CSV: the fields named, in order */
    size_t n_columns;
    odm_stream_t *stream;
    odm_buf_t out;       /* rows not yet in the ring */
    odm_buf_t cell;      /* CSV: one value */
    int64_t deadline_ms; /* of the whole export */
    bool counted;        /* in exports_running */
    char request_id[72];
} api_export_t;

static atomic_size_t exports_running;

/* The media range of the first of application/x-ndjson and text/csv that Accept names with a
 * non-zero q; EXPORT_NONE when it names neither. */
static export_format_t wanted_format(const char *accept)
{
    static const struct {
        const char *type;
        export_format_t format;
    } types[] = {{"application/x-ndjson", EXPORT_NDJSON}, {"text/csv", EXPORT_CSV}};
    for (const char *p = accept; p != NULL && *p != '\0';) {
        p += strspn(p, " \t,");
        size_t range = strcspn(p, ",");
        size_t type = strcspn(p, ";,");
        while (type > 0 && (p[type - 1] == ' ' || p[type - 1] == '\t'))
            type--;
        const char *q = strstr(p, "q=");
        bool zero = q != NULL && q < p + range && strtod(q + 2, NULL) <= 0.0;
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (!zero && type == strlen(types[i].type) && strncasecmp(p, types[i].type, type) == 0)
                return types[i].format;
        p += range;
    }
    return EXPORT_NONE;
}

bool api__export_wanted(const api_call_t *call)
{
    return odm_request_method(call->req) == ODM_METHOD_GET &&
           wanted_format(odm_request_header(call->req, "Accept")) != EXPORT_NONE;
}

static void export_free(api_export_t *ex)
{
    bson_destroy(&ex->filter);
    bson_destroy(&ex->sort);
    bson_destroy(&ex->projection);
    for (size_t i = 0; i < ex->n_columns; i++)
        free(ex->columns[i]);
    odm_buf_release(&ex->out);
    odm_buf_release(&ex->cell);
    if (ex->counted)
        atomic_fetch_sub(&exports_running, 1);
    free(ex);
}

/* ---- rows ---- */

static bool flush_rows(api_export_t *ex, odm_error_t *err)
{
    if (ex->out.len == 0)
        return true;
    bool ok = odm_stream_write(ex->stream, ex->out.data, ex->out.len, ex->deadline_ms, err);
    odm_buf_reset(&ex->out);
    return ok;
}

/* RFC 4180: a value holding a comma, a quote or a line break is quoted, its quotes doubled. */
static bool put_csv_cell(odm_buf_t *out, const char *s, size_t n)
{
    if (strcspn(s, ",\"\r\n") >= n)
        return odm_buf_append(out, s, n);
    if (!odm_buf_putc(out, '"'))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((s[i] == '"' && !odm_buf_putc(out, '"')) || !odm_buf_putc(out, s[i]))
            return false;
    return odm_buf_putc(out, '"');
}

/* The value a column names: the path's own, or, where the path goes through an array
 * ("items.sku"), that array as the projection left it. Returns: false when there is none. */
static bool find_cell(const bson_t *doc, const char *path, bson_iter_t *found, size_t *used)
{
    bson_iter_t it;
    char prefix[1024];
    size_t n = strlen(path);
    if (n >= sizeof prefix)
        return false;
    memcpy(prefix, path, n + 1);
    *used = n;
    if (bson_iter_init(&it, doc) && bson_iter_find_descendant(&it, prefix, found))
        return true;
    for (char *dot = strchr(prefix, '.'); dot != NULL; dot = strchr(dot + 1, '.')) {
        *dot = '\0';
        bool array = bson_iter_init(&it, doc) && bson_iter_find_descendant(&it, prefix, found) &&
                     BSON_ITER_HOLDS_ARRAY(found);
        *dot = '.';
        if (array) {
            *used = (size_t)(dot - prefix);
            return true;
        }
    }
    return false;
}

/* One column of a row: a string as it is, a scalar as its JSON text without quotes (dates in
 * RFC 3339, ObjectIds in hex), an object or array as JSON text, a missing value or null as
 * nothing. */
static bool put_column(api_export_t *ex, const bson_t *doc, const char *path, odm_error_t *err)
{
    bson_iter_t found;
    size_t used;
    if (!find_cell(doc, path, &found, &used))
        return true;
    bson_type_t type = bson_iter_type(&found);
    if (type == BSON_TYPE_NULL)
        return true;
    if (type == BSON_TYPE_UTF8) {
        uint32_t len;
        const char *s = bson_iter_utf8(&found, &len);
        return put_csv_cell(&ex->out, s, len) ||
               odm_error_set(err, ODM_ERR_TOO_LARGE, "row larger than %zu bytes", ex->out.max);
    }
    odm_buf_reset(&ex->cell);
    const odm_field_t *field = odm_model_field(ex->model, path, used);
    if (!odm_codec_write_value(field, &found, &ex->cell, err))
        return false;
    const char *s = odm_buf_cstr(&ex->cell);
    size_t n = ex->cell.len;
    if (n >= 2 && s[0] == '"') /* an ObjectId, a date, a decimal: no escapes inside */
        s++, n -= 2;
    return put_csv_cell(&ex->out, s, n) ||
           odm_error_set(err, ODM_ERR_TOO_LARGE, "row larger than %zu bytes", ex->out.max);
}

static bool put_row(const bson_t *doc, void *arg, odm_error_t *err)
{
    api_export_t *ex = arg;
    if (ex->format == EXPORT_NDJSON) {
        if (!odm_codec_write_json(ex->model, doc, &ex->out, err) || !odm_buf_putc(&ex->out, '\n'))
            return false;
    } else {
        for (size_t i = 0; i < ex->n_columns; i++)
            if ((i > 0 && !odm_buf_putc(&ex->out, ',')) ||
                !put_column(ex, doc, ex->columns[i], err))
                return false;
        if (!odm_buf_puts(&ex->out, "\r\n"))
            return odm_error_set(err, ODM_ERR_TOO_LARGE, "row too large");
    }
    return ex->out.len < EXPORT_FLUSH || flush_rows(ex, err);
}

static bool put_header(api_export_t *ex, odm_error_t *err)
{
    if (ex->format != EXPORT_CSV)
        return true;
    for (size_t i = 0; i < ex->n_columns; i++)
        if ((i > 0 && !odm_buf_putc(&ex->out, ',')) ||
            !put_csv_cell(&ex->out, ex->columns[i], strlen(ex->columns[i])))
            return odm_error_set(err, ODM_ERR_INTERNAL, "out of memory");
    return odm_buf_puts(&ex->out, "\r\n") || odm_error_set(err, ODM_ERR_INTERNAL, "out of memory");
}

/* ---- the job ---- */

#define EXPORT_OF(job) ((api_export_t *)((char *)(job)-offsetof(api_export_t, job)))

/* Answers the request with the stream's head and resumes it. Returns: false after answering an
 * error instead (the request is resumed either way). */
static bool start_stream(api_export_t *ex)
{
    odm_request_t *req = ex->req;
    odm_error_t err;
    /* a database that cannot be reached gets its 503 before the answer's status is sent */
    if (!odm_store_ping(ex->app->store, odm_request_deadline_ms(req), &err)) {
        api__fail(req, &err, NULL);
        odm_request_resume(req);
        return false;
    }
    ex->stream = odm_request_reply_stream(
        req, 200, ex->format == EXPORT_CSV ? CSV_TYPE : NDJSON_TYPE, EXPORT_RING);
    if (ex->stream == NULL) {
        api__failf(req, ODM_ERR_INTERNAL, "out of memory");
        odm_request_resume(req);
        return false;
    }
    odm_request_add_header(req, "Cache-Control", ODM_API_CACHE_CONTROL);
    odm_request_resume(req); /* the last touch of the request */
    ex->req = NULL;
    return true;
}

static void export_run(odm_job_t *job)
{
    api_export_t *ex = EXPORT_OF(job);
    if (!start_stream(ex)) {
        export_free(ex);
        return;
    }
    ex->deadline_ms = odm_now_ms() + ex->app->export_timeout_ms;
    odm_store_scan_t q = {
        .filter = &ex->filter,
        .sort = bson_empty(&ex->sort) ? NULL : &ex->sort,
        .projection = bson_empty(&ex->projection) ? NULL : &ex->projection,
        .skip = ex->skip,
        .batch_size = EXPORT_BATCH,
        .max_time_ms = ex->app->export_timeout_ms,
    };
    odm_error_t err;
    /* the time limit is the stream's and the cursor's; the store's own start check wants a whole
     * operation budget before its deadline, which a short --export-timeout would not leave */
    int64_t store_deadline = ex->deadline_ms + odm_store_op_budget_ms(ex->app->store);
    bool ok = put_header(ex, &err) &&
              odm_store_scan(ex->app->store, ex->model->collection, &q, put_row, ex, store_deadline,
                             &err) &&
              flush_rows(ex, &err);
    if (!ok)
        odm_warn("request %s: export of '%s' cut: %s", ex->request_id, ex->model->name,
                 err.message);
    odm_stream_end(ex->stream, ok);
    export_free(ex);
}

static void export_expire(odm_job_t *job)
{
    api_export_t *ex = EXPORT_OF(job);
    api__failf(ex->req, ODM_ERR_TIMEOUT, "request waited too long for a worker");
    odm_request_resume(ex->req);
    export_free(ex);
}

/* ---- the handler ---- */

/* CSV: the columns are the fields named, in order (already checked by the projection). */
static bool refuse_columns(api_export_t *ex, odm_request_t *req)
{
    const char *fields = odm_request_query(req, "fields");
    if (fields == NULL || *fields == '\0')
        return api__failf(req, ODM_ERR_BAD_QUERY,
                          "fields is required for text/csv: name the columns (fields=a,b.c)");
    for (const char *p = fields; *p != '\0' && ex->n_columns < EXPORT_MAX_COLUMNS;) {
        size_t n = strcspn(p, ",");
        if ((ex->columns[ex->n_columns++] = strndup(p, n)) == NULL)
            return api__failf(req, ODM_ERR_INTERNAL, "out of memory");
        p += n + (p[n] == ',');
    }
    return false;
}

/* Returns: true after answering. */
static bool refuse_export(api_call_t *call, api_export_t *ex)
{
    odm_request_t *req = call->req;
    static const char *const paged[] = {"limit", "count", "expand"};
    for (size_t i = 0; i < sizeof paged / sizeof paged[0]; i++)
        if (odm_request_query(req, paged[i]) != NULL)
            return api__failf(req, ODM_ERR_BAD_QUERY,
                              "%s does not apply to an export: every matching document is sent",
                              paged[i]);
    if (ex->format == EXPORT_CSV && refuse_columns(ex, req))
        return true;
    ex->counted = true;
    if (atomic_fetch_add(&exports_running, 1) >= call->app->max_exports)
        return api__failf(req, ODM_ERR_UNAVAILABLE, "too many exports running (at most %zu)",
                          call->app->max_exports);
    return false;
}

static api_export_t *export_new(api_call_t *call)
{
    api_export_t *ex = calloc(1, sizeof *ex);
    if (ex == NULL)
        return NULL;
    api_list_t *list = call->list;
    ex->req = call->req;
    ex->app = call->app;
    ex->model = call->model;
    ex->format = wanted_format(odm_request_header(call->req, "Accept"));
    bson_copy_to(&list->filter, &ex->filter);
    bson_copy_to(&list->sort, &ex->sort);
    bson_copy_to(&list->projection, &ex->projection);
    ex->skip = list->skip;
    odm_buf_init(&ex->out, ODM_API_MAX_RESPONSE);
    odm_buf_init(&ex->cell, ODM_API_MAX_RESPONSE);
    snprintf(ex->request_id, sizeof ex->request_id, "%s", odm_request_id(call->req));
    return ex;
}

void api__export(api_call_t *call)
{
    api_export_t *ex = export_new(call);
    if (ex == NULL) {
        api__failf(call->req, ODM_ERR_INTERNAL, "out of memory");
        return;
    }
    if (refuse_export(call, ex)) {
        export_free(ex);
        return;
    }
    int64_t deadline = odm_request_deadline_ms(call->req);
    int64_t budget = odm_store_op_budget_ms(call->app->store);
    ex->job = (odm_job_t){.run = export_run,
                          .expire = export_expire,
                          .start_by_ms =
                              deadline - budget > odm_now_ms() ? deadline - budget : odm_now_ms()};
    odm_request_suspend(call->req);
    if (!odm_work_submit(call->app->pool, &ex->job)) {
        api__failf(call->req, ODM_ERR_UNAVAILABLE, "too many requests queued");
        odm_request_resume(call->req);
        export_free(ex);
    }
}
