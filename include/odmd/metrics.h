/* Prometheus metrics: the request counters, latency histograms and gauges odmd keeps, and the
 * writer of the text exposition format 0.0.4 (docs/metrics.md lists every series).
 *
 * Counting never takes a lock: every counter is a relaxed atomic, and every label set is fixed
 * when the metrics are made (routes, methods, statuses) or registered outside the request path
 * (model names, when a model set is loaded). Writing reads the counters one by one: a scrape
 * taken while requests complete may see one counter moved and another not yet. */
#ifndef ODMD_METRICS_H
#define ODMD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "odmd/buf.h"

/* Model labels kept; models registered past this count under model="" with the routes that
 * name no model. A reload that keeps a model's name keeps its label. */
#define ODM_METRICS_MAX_MODELS 256
/* Route labels (index 0: a request matched to no route). */
#define ODM_METRICS_MAX_ROUTES 16
/* Methods: index i is the method whose odm_method_t bit is 1 << i (GET, HEAD, POST, PUT,
 * PATCH, DELETE, other, OPTIONS). */
#define ODM_METRICS_METHODS 8
/* The content type of the exposition format. */
#define ODM_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
/* A /metrics answer larger than this fails (500): about 2,000 bytes per model in use. */
#define ODM_METRICS_MAX_OUTPUT (8u << 20)

typedef struct odm_metrics odm_metrics_t;

/* New metrics, every counter at zero. `routes` (borrowed, static: must outlive the metrics)
 * names the route labels: routes[0] is the label of requests that matched no route; an entry
 * that is NULL, or past n_routes, is written as "other". `version` (borrowed, static) is
 * odmd_build_info's version label. Returns: NULL on out of memory. */
odm_metrics_t *odm_metrics_new(const char *const *routes, size_t n_routes, const char *version);
/* NULL does nothing. After every thread that counts has stopped. */
void odm_metrics_free(odm_metrics_t *m);

/* The label slot of model `name` (copied): the same slot for the same name, a new one the first
 * time. Takes a lock: call while loading models, never on the request path. Returns: the slot
 * (1..ODM_METRICS_MAX_MODELS), or 0 when the table is full or out of memory (the model then
 * counts under model=""). */
unsigned odm_metrics_model(odm_metrics_t *m, const char *name);

/* A request was handed to the application (in flight until odm_metrics_request_done). */
void odm_metrics_request_started(odm_metrics_t *m);

/* What a request's completion counts. */
typedef struct {
    unsigned model;  /* odm_metrics_model's slot, 0: none */
    unsigned route;  /* index into the routes given to odm_metrics_new */
    unsigned method; /* 0..ODM_METRICS_METHODS-1 (see above) */
    int status;      /* the HTTP status answered */
    bool started;    /* counted by odm_metrics_request_started: leaves the in-flight gauge */
    int64_t duration_us;
} odm_metrics_request_t;

/* Counts one answered request: odmd_http_requests_total, the latency histogram, in flight.
 * Out-of-range indices count under 0 (model, route) and "other" (method, status). */
void odm_metrics_request_done(odm_metrics_t *m, const odm_metrics_request_t *r);

/* One model reload, successful (`ok`) or refused. */
void odm_metrics_reload(odm_metrics_t *m, bool ok);

/* Appends every series the metrics keep, then the process_* series read from /proc. Returns:
 * false when `out` reached its cap (or on out of memory). */
bool odm_metrics_write(odm_metrics_t *m, odm_buf_t *out);

/* Appends the process_* series of the calling process, read from /proc (Linux): CPU seconds,
 * resident and virtual memory, open and maximum descriptors, start time. A value that cannot be
 * read is left out. Returns: false when `out` reached its cap. */
bool odm_metrics_write_process(odm_buf_t *out);

/* Helpers for the series other modules report (the work pool, the store): a family's # HELP
 * and # TYPE lines, then its samples. `labels` is the text between the braces (already
 * escaped: `kind="timeout"`), or NULL for none. Return false when `out` reached its cap. */
bool odm_metrics_family(odm_buf_t *out, const char *name, const char *type, const char *help);
bool odm_metrics_sample_u64(odm_buf_t *out, const char *name, const char *labels, uint64_t v);
bool odm_metrics_sample_f64(odm_buf_t *out, const char *name, const char *labels, double v);

#endif
