/* The REST API: routes, the checks in their order of precedence, and the handlers that turn
 * requests into store operations on the worker pool. */
#ifndef ODMD_API_H
#define ODMD_API_H

#include <stdbool.h>
#include <stddef.h>

#include "odmd/auth.h"
#include "odmd/http.h"
#include "odmd/model.h"
#include "odmd/store.h"
#include "odmd/work.h"

#define ODM_API_MAX_LIMIT 1000 /* ?limit= */
#define ODM_API_DEFAULT_LIMIT 20
#define ODM_API_MAX_SKIP 10000LL /* ?skip=; further pages go by ?after= (the Link) */
#define ODM_API_MAX_CURSOR 1024  /* sort values in an after= token: bytes of BSON */
/* The Link header's value; a longer one fails (400). The request and the response headers
 * share libmicrohttpd's 32 KiB per-connection pool (a 13 KiB request with a 13 KiB Link was
 * sent, an 18 KiB one with an 18 KiB Link was not: the connection was closed unanswered). */
#define ODM_API_MAX_LINK 8192
#define ODM_API_CURSOR_KEY_RANDOM 32       /* bytes of the key made without --cursor-key */
#define ODM_API_MAX_RESPONSE (32u << 20)   /* a page that would be larger fails with 500 */
#define ODM_API_EXPAND_MAX_DEPTH 3         /* references one ?expand= path follows */
#define ODM_API_EXPAND_MAX_PATHS 16        /* expanded paths (each level counted) per request */
#define ODM_API_EXPAND_MAX_IDS 1000        /* default of --expand-max-ids: one path's $in */
#define ODM_API_EXPAND_MAX_DOCS 5000       /* default of --expand-max-docs: one answer's */
#define ODM_API_WRITE_RETRIES 32           /* compare-and-set attempts before 409 */
#define ODM_API_CACHE_CONTROL "no-cache"   /* on GET and HEAD answers: revalidate with the ETag */
#define ODM_API_BULK_MAX 1000              /* default of --bulk-max: items per bulk write */
#define ODM_API_BULK_MAX_BYTES (32u << 20) /* the documents a bulk PATCH reads, together */
#define ODM_API_MAX_DISTINCT (16u << 20)   /* distinct values answered: JSON bytes */
#define ODM_API_MERGE_PATCH "application/merge-patch+json" /* RFC 7396 */
#define ODM_API_AGG_MAX_DOCS 1000         /* documents one aggregation answers (more: 413) */
#define ODM_API_AGG_MAX_BYTES (16u << 20) /* its answer in JSON bytes (more: 413) */

typedef struct odm_api_indexes odm_api_indexes_t;

/* The collection of Idempotency-Key records (src/api/idempotency.c), in the models' database. */
#define ODM_API_IDEMPOTENCY_COLLECTION "odmd_idempotency"
#define ODM_API_IDEMPOTENCY_INDEX "createdAt_ttl" /* its TTL index, on createdAt */

/* A loaded model set shared by the requests that use it: immutable, freed (with its models)
 * when its last reference is released, by whichever thread releases it. */
typedef struct odm_model_set odm_model_set_t;
/* The set in force: requests acquire it at routing; a reload swaps in a new one. */
typedef struct odm_api_models odm_api_models_t;

typedef struct {
    odm_store_t *store;              /* borrowed */
    odm_work_pool_t *pool;           /* borrowed */
    size_t inline_body_max;          /* bodies up to this size are parsed and validated on the
                                        polling thread; larger ones on a worker */
    odm_api_indexes_t *indexes;      /* borrowed; /readyz answers 503 until they exist (NULL: their
                                        creation could not start, so 503 for good) */
    const unsigned char *cursor_key; /* borrowed: signs the after= tokens of list pages */
    size_t cursor_key_len;
    size_t bulk_max;          /* documents per bulk POST or PATCH (0: ODM_API_BULK_MAX) */
    size_t expand_max_ids;    /* distinct ids of one expand path in one answer (0: the default) */
    size_t expand_max_docs;   /* referenced documents fetched for one answer (0: the default) */
    size_t max_exports;       /* exports streaming at once (each holds a worker); more: 503 */
    int export_timeout_ms;    /* one export, from its first byte to its last (its cursor's
                                 maxTimeMS too); past it the answer is cut */
    odm_api_models_t *models; /* borrowed: the set in force (swapped by a reload) */
    odm_auth_t *auth;         /* borrowed: keys and tokens (NULL or none configured: every
                                 caller is ODM_AUTH_ANONYMOUS with admin) */
    odm_metrics_t *metrics;   /* borrowed; NULL: no metrics (GET /metrics is 404) */
    bool metrics_elsewhere;   /* /metrics is served on its own listener only (404 here) */
    unsigned rate_limit;      /* --rate-limit in force (the HTTP layer applies it; 0: none):
                                 what /openapi.json says of 429 */
} odm_app_t;

/* A set holding `models` (stolen) with one reference, the caller's. Returns: NULL when out of
 * memory (the models then still belong to the caller). */
odm_model_set_t *odm_model_set_new(odm_models_t *models);
const odm_models_t *odm_model_set_models(const odm_model_set_t *set);
void odm_model_set_retain(odm_model_set_t *set);
/* Drops one reference; the last frees the set and its models. NULL is fine. Any thread. */
void odm_model_set_release(odm_model_set_t *set);

/* A holder whose set in force is `set` (its reference stolen). Returns: NULL when out of memory
 * (the set then still belongs to the caller). */
odm_api_models_t *odm_api_models_new(odm_model_set_t *set);
/* The set in force with one more reference, the caller's to release. Never blocks: atomic
 * operations only (the polling thread calls it for every request). */
odm_model_set_t *odm_api_models_acquire(odm_api_models_t *h);
/* Puts `set` (its reference stolen) in force and drops the holder's reference to the previous
 * one, which lives on until the requests holding it complete. One swapping thread at a time. */
void odm_api_models_swap(odm_api_models_t *h, odm_model_set_t *set);
/* Drops the holder's reference and frees it; NULL is fine. */
void odm_api_models_free(odm_api_models_t *h);

/* Metrics (src/api/metrics.c). odm_api_metrics_new: new metrics labelled with odmd's routes
 * (NULL on out of memory). odm_api_metrics_label: registers each model's label (a lock: at
 * load, before the models are shared). */
odm_metrics_t *odm_api_metrics_new(void);
void odm_api_metrics_label(odm_metrics_t *m, odm_models_t *models);

/* The odm_http_handler_fn of the metrics listener (--metrics-listen; app is an odm_app_t):
 * GET or HEAD /metrics, 404 for any other path, 405 for another method. Polling thread. */
void odm_api_metrics_handle(odm_request_t *req, void *app);

/* Fills out (n bytes) from the kernel's random source (getrandom): the cursor key of a server
 * started without --cursor-key. Returns: false with ODM_ERR_CONFIG when it cannot. */
bool odm_api_cursor_key_random(unsigned char *out, size_t n, odm_error_t *err);

/* Logs a warning for each model with x-owner when `auth` authenticates no one: every caller is
 * then ODM_AUTH_ANONYMOUS with admin, and sees every owner's documents (docs/auth.md). */
void odm_api_warn_owners(const odm_models_t *models, const odm_auth_t *auth);

/* The odm_http_handler_fn of odmd (app is an odm_app_t). Polling thread. */
void odm_api_handle(odm_request_t *req, void *app);

/* The odm_http_options_t preflight of odmd: answers 404, 405 or 401 for a request whose body
 * is too large to read, so that those outrank its 413. Polling thread. */
void odm_api_preflight(odm_request_t *req, void *app);

/* Creates every model's indexes, and the TTL index of ODM_API_IDEMPOTENCY_COLLECTION
 * (idempotency_ttl_s on its createdAt), on a background thread, retrying with backoff until all
 * exist or odm_api_indexes_stop is called; the thread holds a reference to `set` meanwhile.
 * Returns: the running creation, or NULL (logged) when the thread cannot start; /readyz then
 * never answers ready. */
odm_api_indexes_t *odm_api_indexes_start(odm_model_set_t *set, odm_store_t *store,
                                         int request_timeout_ms, int64_t idempotency_ttl_s);
/* A reloaded set's indexes, created next the same way (a set not yet started is superseded by
 * a newer one). Readiness already reached stays. NULL ix is fine. */
void odm_api_indexes_add(odm_api_indexes_t *ix, odm_model_set_t *set);
/* True once every index of a set was created; false for NULL. */
bool odm_api_indexes_done(odm_api_indexes_t *ix);
void odm_api_indexes_stop(odm_api_indexes_t *ix);

/* The OpenAPI 3.1 document of `models` (borrowed) as `app` (borrowed, may be NULL: no options
 * in force) serves them: every route and method, the models as components/schemas, the
 * security scheme when credentials are required (docs/openapi.md). Returns: a new object, NULL
 * on out of memory. */
json_t *odm_api_openapi(const odm_models_t *models, const odm_app_t *app);

#endif
