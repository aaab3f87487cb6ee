/* Request counters, latency histograms and gauges kept with relaxed atomics, and their
 * Prometheus text (format 0.0.4). The request path only adds; the writer only reads. */
#include "odmd/metrics.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* The statuses odmd answers, each with its own series; any other counts as "other". */
static const int statuses[] = {200, 201, 204, 206, 304, 400, 401, 403, 404, 405,
                               406, 408, 409, 410, 411, 412, 413, 414, 415, 416,
                               422, 428, 429, 431, 500, 501, 502, 503, 504, 505};
#define N_STATUSES (sizeof statuses / sizeof statuses[0] + 1) /* the last: "other" */
#define STATUS_MAX 600

static const char *const method_names[ODM_METRICS_METHODS] = {
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "other", "OPTIONS",
};
#define METHOD_OTHER 6

/* Latency bucket bounds in microseconds (written as seconds): 0.5 ms to 10 s, covering an
 * answer from the polling thread (tens of microseconds) up to the longest request timeout a
 * deployment is likely to set. */
static const uint64_t bucket_us[] = {500,    1000,   2500,   5000,    10000,   25000,   50000,
                                     100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};
#define N_BUCKETS (sizeof bucket_us / sizeof bucket_us[0] + 1) /* the last: +Inf */

#define N_MODELS (ODM_METRICS_MAX_MODELS + 1) /* slot 0: no model */

typedef struct {
    atomic_ullong buckets[N_BUCKETS]; /* not cumulative: each request adds to one */
    atomic_ullong sum_us;
} latency_t;

struct odm_metrics {
    const char *const *routes;
    size_t n_routes;
    const char *version;
    uint8_t status_index[STATUS_MAX]; /* status -> index into statuses, N_STATUSES - 1: other */
    atomic_ullong *requests;          /* [model][method][status] */
    latency_t latency[ODM_METRICS_MAX_ROUTES][ODM_METRICS_METHODS];
    atomic_llong in_flight;
    atomic_ullong reloads[2];    /* [ok] */
    pthread_mutex_t models_lock; /* registering only */
    char *models[N_MODELS];      /* slot -> name; written once, before n_models covers it */
    atomic_uint n_models;        /* slots in use, 0 itself included */
};

odm_metrics_t *odm_metrics_new(const char *const *routes, size_t n_routes, const char *version)
{
    odm_metrics_t *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->requests = calloc((size_t)N_MODELS * ODM_METRICS_METHODS * N_STATUSES, sizeof *m->requests);
    if (m->requests == NULL || pthread_mutex_init(&m->models_lock, NULL) != 0) {
        free(m->requests);
        free(m);
        return NULL;
    }
    m->routes = routes;
    m->n_routes = n_routes < ODM_METRICS_MAX_ROUTES ? n_routes : ODM_METRICS_MAX_ROUTES;
    m->version = version;
    memset(m->status_index, N_STATUSES - 1, sizeof m->status_index);
    for (size_t i = 0; i < N_STATUSES - 1; i++)
        m->status_index[statuses[i]] = (uint8_t)i;
    atomic_init(&m->n_models, 1);
    return m;
}

void odm_metrics_free(odm_metrics_t *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < N_MODELS; i++)
        free(m->models[i]);
    pthread_mutex_destroy(&m->models_lock);
    free(m->requests);
    free(m);
}

unsigned odm_metrics_model(odm_metrics_t *m, const char *name)
{
    unsigned slot = 0;
    pthread_mutex_lock(&m->models_lock);
    unsigned n = atomic_load_explicit(&m->n_models, memory_order_relaxed);
    for (unsigned i = 1; i < n && slot == 0; i++)
        if (strcmp(m->models[i], name) == 0)
            slot = i;
    if (slot == 0 && n < N_MODELS && (m->models[n] = strdup(name)) != NULL) {
        slot = n;
        atomic_store_explicit(&m->n_models, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&m->models_lock);
    return slot;
}

static void add(atomic_ullong *c, uint64_t v)
{
    atomic_fetch_add_explicit(c, v, memory_order_relaxed);
}

static uint64_t get(atomic_ullong *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

void odm_metrics_request_started(odm_metrics_t *m)
{
    atomic_fetch_add_explicit(&m->in_flight, 1, memory_order_relaxed);
}

static size_t bucket_of(int64_t us)
{
    size_t i = 0;
    while (i < N_BUCKETS - 1 && (uint64_t)us > bucket_us[i])
        i++;
    return i;
}

void odm_metrics_request_done(odm_metrics_t *m, const odm_metrics_request_t *r)
{
    unsigned model = r->model < N_MODELS ? r->model : 0;
    unsigned route = r->route < m->n_routes ? r->route : 0;
    unsigned method = r->method < ODM_METRICS_METHODS ? r->method : METHOD_OTHER;
    size_t status =
        r->status >= 0 && r->status < STATUS_MAX ? m->status_index[r->status] : N_STATUSES - 1;
    int64_t us = r->duration_us > 0 ? r->duration_us : 0;
    add(&m->requests[((size_t)model * ODM_METRICS_METHODS + method) * N_STATUSES + status], 1);
    latency_t *l = &m->latency[route][method];
    add(&l->buckets[bucket_of(us)], 1);
    add(&l->sum_us, (uint64_t)us);
    if (r->started)
        atomic_fetch_sub_explicit(&m->in_flight, 1, memory_order_relaxed);
}

void odm_metrics_reload(odm_metrics_t *m, bool ok)
{
    add(&m->reloads[ok], 1);
}

bool odm_metrics_family(odm_buf_t *out, const char *name, const char *type, const char *help)
{
    return odm_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

bool odm_metrics_sample_u64(odm_buf_t *out, const char *name, const char *labels, uint64_t v)
{
    if (labels == NULL)
        return odm_buf_printf(out, "%s %" PRIu64 "\n", name, v);
    return odm_buf_printf(out, "%s{%s} %" PRIu64 "\n", name, labels, v);
}

bool odm_metrics_sample_f64(odm_buf_t *out, const char *name, const char *labels, double v)
{
    if (labels == NULL)
        return odm_buf_printf(out, "%s %.15g\n", name, v);
    return odm_buf_printf(out, "%s{%s} %.15g\n", name, labels, v);
}

/* Writes a label value with the format's escapes (backslash, double quote, newline). */
static bool put_label_value(odm_buf_t *out, const char *v)
{
    bool ok = odm_buf_putc(out, '"');
    for (; ok && *v != '\0'; v++) {
        if (*v == '\\' || *v == '"')
            ok = odm_buf_putc(out, '\\') && odm_buf_putc(out, *v);
        else if (*v == '\n')
            ok = odm_buf_puts(out, "\\n");
        else
            ok = odm_buf_putc(out, *v);
    }
    return ok && odm_buf_putc(out, '"');
}

static const char *route_name(const odm_metrics_t *m, size_t i)
{
    return i < m->n_routes && m->routes[i] != NULL ? m->routes[i] : "other";
}

static bool write_requests_of(odm_metrics_t *m, odm_buf_t *out, unsigned model, const char *name)
{
    bool ok = true;
    for (size_t method = 0; ok && method < ODM_METRICS_METHODS; method++) {
        for (size_t s = 0; ok && s < N_STATUSES; s++) {
            uint64_t v =
                get(&m->requests[((size_t)model * ODM_METRICS_METHODS + method) * N_STATUSES + s]);
            if (v == 0)
                continue;
            ok = odm_buf_puts(out, "odmd_http_requests_total{model=") &&
                 put_label_value(out, name) &&
                 odm_buf_printf(out, ",method=\"%s\",", method_names[method]);
            if (ok && s < N_STATUSES - 1)
                ok = odm_buf_printf(out, "status=\"%d\"} %" PRIu64 "\n", statuses[s], v);
            else if (ok)
                ok = odm_buf_printf(out, "status=\"other\"} %" PRIu64 "\n", v);
        }
    }
    return ok;
}

static bool write_requests(odm_metrics_t *m, odm_buf_t *out)
{
    bool ok = odm_metrics_family(out, "odmd_http_requests_total", "counter",
                                 "HTTP requests answered, by model, method and status");
    unsigned n = atomic_load_explicit(&m->n_models, memory_order_acquire);
    for (unsigned model = 0; ok && model < n; model++)
        ok = write_requests_of(m, out, model, model == 0 ? "" : m->models[model]);
    return ok;
}

static bool write_histogram(odm_metrics_t *m, odm_buf_t *out, size_t route, size_t method)
{
    latency_t *l = &m->latency[route][method];
    uint64_t counts[N_BUCKETS], total = 0;
    for (size_t i = 0; i < N_BUCKETS; i++)
        total += counts[i] = get(&l->buckets[i]);
    if (total == 0)
        return true;
    const char *name = "odmd_http_request_duration_seconds";
    const char *r = route_name(m, route), *meth = method_names[method];
    bool ok = true;
    uint64_t cumulative = 0;
    for (size_t i = 0; ok && i < N_BUCKETS; i++) {
        cumulative += counts[i];
        if (i < N_BUCKETS - 1)
            ok =
                odm_buf_printf(out, "%s_bucket{route=\"%s\",method=\"%s\",le=\"%g\"} %" PRIu64 "\n",
                               name, r, meth, (double)bucket_us[i] / 1e6, cumulative);
        else
            ok = odm_buf_printf(out,
                                "%s_bucket{route=\"%s\",method=\"%s\",le=\"+Inf\"} %" PRIu64 "\n",
                                name, r, meth, cumulative);
    }
    return ok &&
           odm_buf_printf(out, "%s_sum{route=\"%s\",method=\"%s\"} %.9g\n", name, r, meth,
                          (double)get(&l->sum_us) / 1e6) &&
           odm_buf_printf(out, "%s_count{route=\"%s\",method=\"%s\"} %" PRIu64 "\n", name, r, meth,
                          cumulative);
}

static bool write_latency(odm_metrics_t *m, odm_buf_t *out)
{
    bool ok = odm_metrics_family(out, "odmd_http_request_duration_seconds", "histogram",
                                 "Time from a request's head to its answer being sent, by route "
                                 "and method");
    for (size_t route = 0; ok && route < ODM_METRICS_MAX_ROUTES; route++)
        for (size_t method = 0; ok && method < ODM_METRICS_METHODS; method++)
            ok = write_histogram(m, out, route, method);
    return ok;
}

static bool write_gauges(odm_metrics_t *m, odm_buf_t *out)
{
    long long in_flight = atomic_load_explicit(&m->in_flight, memory_order_relaxed);
    return odm_metrics_family(out, "odmd_http_requests_in_flight", "gauge",
                              "Requests being handled or answered") &&
           odm_metrics_sample_u64(out, "odmd_http_requests_in_flight", NULL,
                                  in_flight > 0 ? (uint64_t)in_flight : 0) &&
           odm_metrics_family(out, "odmd_model_reloads_total", "counter",
                              "Model reloads (SIGHUP), by result") &&
           odm_metrics_sample_u64(out, "odmd_model_reloads_total", "result=\"success\"",
                                  get(&m->reloads[1])) &&
           odm_metrics_sample_u64(out, "odmd_model_reloads_total", "result=\"failure\"",
                                  get(&m->reloads[0])) &&
           odm_metrics_family(out, "odmd_build_info", "gauge",
                              "Always 1; the labels say which odmd this is") &&
           odm_buf_puts(out, "odmd_build_info{version=") && put_label_value(out, m->version) &&
           odm_buf_puts(out, "} 1\n");
}

bool odm_metrics_write(odm_metrics_t *m, odm_buf_t *out)
{
    return write_requests(m, out) && write_latency(m, out) && write_gauges(m, out) &&
           odm_metrics_write_process(out);
}
