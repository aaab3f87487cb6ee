/* GET /metrics: the request metrics with the worker pool's and the store's, in Prometheus's
 * text format, on the API's listener or on a listener of their own (--metrics-listen). */
#include <stdio.h>
#include <string.h>

#include "api/internal.h"

/* Route labels, indexed by API_METRICS_ROUTE(kind); 0: no route matched. A kind without a
 * name here counts as "other". */
static const char *const route_names[ODM_METRICS_MAX_ROUTES] = {
    [0] = "none",
    [API_METRICS_ROUTE(API_HEALTHZ)] = "healthz",
    [API_METRICS_ROUTE(API_READYZ)] = "readyz",
    [API_METRICS_ROUTE(API_COLLECTION)] = "collection",
    [API_METRICS_ROUTE(API_DOCUMENT)] = "document",
    [API_METRICS_ROUTE(API_DISTINCT)] = "distinct",
    [API_METRICS_ROUTE(API_RESTORE)] = "restore",
    [API_METRICS_ROUTE(API_METRICS)] = "metrics",
    [API_METRICS_ROUTE(API_DATAAPI)] = "dataapi",
};

/* The store's error kinds as labels; a kind not named here is written as "other". */
static const char *const error_kinds[ODM_ERR__COUNT] = {
    [ODM_ERR_UNAVAILABLE] = "unavailable", [ODM_ERR_TIMEOUT] = "timeout",
    [ODM_ERR_CONFLICT] = "conflict",       [ODM_ERR_TOO_LARGE] = "too_large",
    [ODM_ERR_INTERNAL] = "internal",
};

odm_metrics_t *odm_api_metrics_new(void)
{
    return odm_metrics_new(route_names, ODM_METRICS_MAX_ROUTES, ODMD_VERSION);
}

void odm_api_metrics_label(odm_metrics_t *m, odm_models_t *models)
{
    for (size_t i = 0; i < models->n; i++)
        models->items[i]->metrics_label = m ? odm_metrics_model(m, models->items[i]->name) : 0;
}

static bool write_work(odm_work_pool_t *pool, odm_buf_t *out)
{
    odm_work_stats_t s;
    odm_work_stats(pool, &s);
    return odm_metrics_family(out, "odmd_work_queue_depth", "gauge", "Jobs waiting for a worker") &&
           odm_metrics_sample_u64(out, "odmd_work_queue_depth", NULL, s.queued) &&
           odm_metrics_family(out, "odmd_work_queue_capacity", "gauge",
                              "Jobs that may wait before a 503 (--queue-max)") &&
           odm_metrics_sample_u64(out, "odmd_work_queue_capacity", NULL, s.queue_max) &&
           odm_metrics_family(out, "odmd_workers", "gauge", "Worker threads (--workers)") &&
           odm_metrics_sample_u64(out, "odmd_workers", NULL, s.threads) &&
           odm_metrics_family(out, "odmd_worker_jobs_total", "counter",
                              "Jobs the workers have run (or expired), all workers together") &&
           odm_metrics_sample_u64(out, "odmd_worker_jobs_total", NULL, s.jobs) &&
           odm_metrics_family(out, "odmd_worker_busy_seconds_total", "counter",
                              "Time the workers spent in jobs, all workers together") &&
           odm_metrics_sample_f64(out, "odmd_worker_busy_seconds_total", NULL,
                                  (double)s.busy_us / 1e6);
}

static bool write_errors(const odm_store_stats_t *s, odm_buf_t *out)
{
    uint64_t other = 0;
    bool ok = odm_metrics_family(out, "odmd_mongo_errors_total", "counter",
                                 "Database errors by the kind odmd maps them to");
    for (size_t k = 0; ok && k < ODM_ERR__COUNT; k++) {
        char labels[64];
        if (error_kinds[k] == NULL) {
            other += s->errors[k];
            continue;
        }
        snprintf(labels, sizeof labels, "kind=\"%s\"", error_kinds[k]);
        ok = odm_metrics_sample_u64(out, "odmd_mongo_errors_total", labels, s->errors[k]);
    }
    return ok && odm_metrics_sample_u64(out, "odmd_mongo_errors_total", "kind=\"other\"", other);
}

static bool write_store(odm_store_t *store, odm_buf_t *out)
{
    odm_store_stats_t s;
    odm_store_stats(store, &s);
    return odm_metrics_family(out, "odmd_mongo_pool_size", "gauge",
                              "Database clients the pool may hold") &&
           odm_metrics_sample_u64(out, "odmd_mongo_pool_size", NULL, s.max_clients) &&
           odm_metrics_family(out, "odmd_mongo_pool_in_use", "gauge",
                              "Database clients taken by operations") &&
           odm_metrics_sample_u64(out, "odmd_mongo_pool_in_use", NULL, s.in_use) &&
           odm_metrics_family(out, "odmd_mongo_pool_waits_total", "counter",
                              "Operations that found no free client and waited for one") &&
           odm_metrics_sample_u64(out, "odmd_mongo_pool_waits_total", NULL, s.waits) &&
           odm_metrics_family(out, "odmd_mongo_pool_wait_timeouts_total", "counter",
                              "Waits for a client that gave up (answered 503)") &&
           odm_metrics_sample_u64(out, "odmd_mongo_pool_wait_timeouts_total", NULL,
                                  s.wait_timeouts) &&
           odm_metrics_family(out, "odmd_mongo_pool_wait_seconds_total", "counter",
                              "Time spent waiting for a free client") &&
           odm_metrics_sample_f64(out, "odmd_mongo_pool_wait_seconds_total", NULL,
                                  (double)s.wait_us / 1e6) &&
           write_errors(&s, out);
}

/* Answers 200 with every series, or 500 when they pass ODM_METRICS_MAX_OUTPUT. */
static void reply_metrics(const odm_app_t *app, odm_request_t *req)
{
    odm_buf_t out;
    odm_buf_init(&out, ODM_METRICS_MAX_OUTPUT);
    if (!odm_metrics_write(app->metrics, &out) || !write_work(app->pool, &out) ||
        !write_store(app->store, &out)) {
        odm_buf_release(&out);
        api__failf(req, ODM_ERR_INTERNAL, "metrics larger than %u bytes", ODM_METRICS_MAX_OUTPUT);
        return;
    }
    size_t len;
    char *body = odm_buf_steal(&out, &len);
    odm_request_add_header(req, "Cache-Control", "no-store");
    odm_request_reply(req, 200, ODM_METRICS_CONTENT_TYPE, body, len);
}

void api__metrics(api_call_t *call)
{
    if (call->app->metrics == NULL || call->app->metrics_elsewhere) {
        api__failf(call->req, ODM_ERR_NOT_FOUND, "no such route");
        return;
    }
    reply_metrics(call->app, call->req);
}

void odm_api_metrics_handle(odm_request_t *req, void *arg)
{
    const odm_app_t *app = arg;
    if (strcmp(odm_request_raw_path(req), "/metrics") != 0 || app->metrics == NULL) {
        api__failf(req, ODM_ERR_NOT_FOUND, "no such route");
        return;
    }
    if (!(odm_request_method(req) & (ODM_METHOD_GET | ODM_METHOD_HEAD))) {
        odm_request_add_header(req, "Allow", "GET, HEAD");
        api__failf(req, ODM_ERR_METHOD_NOT_ALLOWED, "method not allowed on this route");
        return;
    }
    reply_metrics(app, req);
}
