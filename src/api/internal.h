/* Private to src/api: the per-request call state and the helpers the handlers share. */
#ifndef ODMD_API_INTERNAL_H
#define ODMD_API_INTERNAL_H

#include <bson/bson.h>

#include "api/cursor.h"
#include "odmd/api.h"
#include "odmd/buf.h"
#include "odmd/codec.h"

typedef enum {
    API_HEALTHZ,
    API_READYZ,
    API_COLLECTION,
    API_DOCUMENT,
    API_DISTINCT,  /* /api/NAME/_distinct/FIELD: id is the FIELD segment */
    API_RESTORE,   /* /api/NAME/ID/restore of an x-softDelete model: id is the ID segment */
    API_METRICS,   /* /metrics (metrics.c) */
    API_OPENAPI,   /* /openapi.json */
    API_DATAAPI,   /* /data/v1/action/ACTION (dataapi.c): id is the ACTION segment */
    API_AGGREGATE, /* /api/NAME/_agg/AGG: id is the AGG segment (aggregate.c) */
} api_route_kind_t;

/* The label a route kind counts under in the metrics (odm_request_set_metrics_labels). */
#define API_METRICS_ROUTE(kind) ((unsigned)(kind) + 1)

/* Where a path leads (router.c). */
typedef struct {
    api_route_kind_t kind;
    const odm_model_t *model; /* NULL for /healthz and /readyz */
    const char *id;           /* API_DOCUMENT: the id segment as sent (encoded), id_len bytes */
    size_t id_len;
} api_route_t;

/* Matches a path as sent (percent-escapes kept: "%2F" within the id segment is not a
 * separator; the id is decoded afterwards, odm_codec_id_decode) against the routes; false:
 * 404. */
bool api__match_route(const odm_models_t *models, const char *path, api_route_t *r);

/* Whether a body of `content_type` is read for `method`: application/json, and for PATCH
 * application/merge-patch+json, for the others any application/...+json type; a charset
 * parameter is accepted only when it is utf-8. NULL: false. */
bool api__acceptable_media_type(const char *content_type, odm_method_t method);

struct api_call;

/* A list request's state (GET /api/NAME): made by api__list only, so that the calls of every
 * other route stay small (one calloc'd call per request). Freed with its call. */
typedef struct api_list {
    struct api_call *call;
    bson_t filter, sort, projection;
    int64_t skip, limit;
    bool want_count;
    odm_fanout_t fan;
    odm_job_t page_job, count_job;
    odm_buf_t page;
    odm_error_t page_err, count_err;
    bool page_ok, count_ok;
    int64_t total;
    struct api_cursor *cursor; /* keyset paging (cursor.h); made by api__cursor_refuse */
} api_list_t;

/* Everything one request needs between the polling thread and its worker(s). Freed when the
 * request completes (odm_request_set_state). */
typedef struct api_call {
    odm_request_t *req;
    const odm_app_t *app;
    const odm_model_t *model;   /* NULL for /healthz and /readyz */
    odm_model_set_t *set;       /* the reference taken at routing, released with the call */
    const odm_models_t *models; /* the set's models: every model this request may use */
    api_route_kind_t route;
    odm_job_t job;
    /* what job.run does on a worker: returns true when it answered (the request is then
     * resumed), false when it handed the request on (a fan-out answers and resumes it) */
    bool (*work)(struct api_call *call);

    /* documents */
    char *id;         /* the path's id segment, NUL-terminated copy */
    bson_t id_filter; /* {_id: typed id} */
    json_t *body;     /* the parsed body (owned) */
    bool body_ready;  /* parsed (and for POST, validated and converted) on the polling thread */
    bson_t doc;       /* POST: the document to insert */
    bson_t filter;    /* PATCH and DELETE of /api/NAME: the documents they write (bulk.c) */

    api_list_t *list;          /* lists only (owned, may be NULL) */
    struct api_expand *expand; /* ?expand= only (owned, may be NULL) */
    /* set before the call is submitted: its work may run in one database command with the
     * waiting calls like it (coalesce.c) */
    bool coalesce;
    struct api_dataapi *dataapi; /* the Data API's request (dataapi.h; owned, may be NULL) */
    odm_principal_t caller;      /* who sent the request (access.c); /healthz, /readyz: none;
                                  * stays last: a reused call is zeroed up to it (call.c) */
} api_call_t;

/* metrics.c: GET /metrics on the API's listener (404 when the metrics are off or served on
 * their own listener). */
void api__metrics(api_call_t *call);

/* coalesce.c: requests that share one database command. At most this many per command. */
#define ODM_API_COALESCE_MAX 64

/* Whether a GET or HEAD by id may share its find: no expand=. It shares it only with GETs of the
 * same model whose id filters have the same conditions besides the _id (x-softDelete's scope,
 * x-owner's owner). The per-request rules (If-None-Match, If-Match, writeOnly fields) stay each
 * request's. Polling thread. */
bool api__coalescible_get(const api_call_t *call);

/* Whether a POST may share its insert: one document, checked and converted on arrival (the
 * body was small), without an Idempotency-Key. Polling thread. */
bool api__coalescible_create(const api_call_t *call);

/* Worker, from the work of a coalescible GET (or POST): takes the coalescible calls of the same
 * work and model already queued (never waiting for more), runs one find({_id: {$in}}) (or one
 * unordered insertMany) for them all, answers each through api__answer_get (or
 * api__answer_created, or its own error: a 409 for its duplicate key) and resumes every one but
 * `call`. Returns: true when it did (call answered, not resumed), false when nothing was waiting
 * (nothing done: the request runs alone). */
bool api__coalesce_get(api_call_t *call);
bool api__coalesce_create(api_call_t *call);

/* documents.c: answers a GET or HEAD by id from the stored document (borrowed; NULL: 404):
 * preconditions (412, 304), then 200 with the document. Returns: true (answered). */
bool api__answer_get(api_call_t *call, const bson_t *doc);

/* collection.c: answers 201 for call->doc, inserted, with its Location. Returns: true. */
bool api__answer_created(api_call_t *call);

/* idempotency.c: runs work (a POST's) under the request's Idempotency-Key, if any: 400 for a
 * malformed key; a key already used replays its response (same request), or answers 422 (a
 * different request) or 409 (its first request still running); otherwise work runs and its
 * answer is recorded (a 5xx frees the key instead). Worker. Returns: what work returned, or
 * true when it answered without running work. */
bool api__idempotent(api_call_t *call, bool (*work)(api_call_t *call));

/* expand.c: references replaced by the documents they name (?expand=PATH,...). */
typedef struct api_expand api_expand_t;

/* Parses `expand` (borrowed) into call->expand (new, freed with the call): every path is a
 * field with x-ref (or a field inside arrays of objects), dotted paths going on through the
 * referenced model, at most ODM_API_EXPAND_MAX_DEPTH references and ODM_API_EXPAND_MAX_PATHS
 * paths. `fields` (may be NULL) may name fields of expanded documents ("userId.name"): each
 * model gets its share as its own find's projection, the call's model's into `projection`.
 * Returns: true after answering 400 naming the path or field at fault, or 403 when the caller
 * may not read a model a path reaches (api__refuse_scope). Polling thread. */
bool api__refuse_expand(api_call_t *call, const char *expand, const char *fields,
                        bson_t *projection);

/* The expand bounds in force: the app's, or ODM_API_EXPAND_MAX_IDS and _MAX_DOCS. */
size_t api__expand_max_ids(const odm_app_t *app);
size_t api__expand_max_docs(const odm_app_t *app);

/* Keeps a copy of a document to answer (in order: the page). Returns false on out of memory. */
bool api__expand_add(api_expand_t *x, const bson_t *doc, odm_error_t *err);

/* Sets how the answer is made: compose(call) runs, and the request is resumed, on the thread of
 * the last of `others` + 1 arrivals (api__expand_arrive; api__expand_run makes one). */
void api__expand_start(api_expand_t *x, size_t others, void (*compose)(api_call_t *call));

/* Fetches the referenced documents of what api__expand_add kept, one {_id: {$in}} find per
 * path, the paths of one level concurrently on the pool (no worker waits), level after level;
 * then arrives. `fetch_references` false: arrives at once (the main query failed). Worker
 * thread. Side effects: the request may be answered and freed before this returns. */
void api__expand_run(api_expand_t *x, bool fetch_references);

/* One arrival (another sub-job of the answer, such as the count, finished). */
void api__expand_arrive(api_expand_t *x);

/* The error of a failed fetch (a 400 past ODM_API_EXPAND_MAX_IDS or _MAX_DOCS, a database
 * error), or NULL. Borrowed. */
const odm_error_t *api__expand_error(const api_expand_t *x);

/* Writes the kept documents, each reference replaced by what it names (null when missing,
 * writeOnly fields of every model left out): `array` true as a JSON array, else the one
 * document. Returns false (ODM_ERR_INTERNAL) when `out` passes its cap. */
bool api__expand_write(const api_expand_t *x, bool array, odm_buf_t *out, odm_error_t *err);

/* GET /api/NAME/ID?expand=...: checks If-Match on `doc` (borrowed), then fetches and answers
 * 200 without an ETag (the answer joins several documents). Returns: true when it answered
 * (412 or an error), false when the request was handed on (the last fetch answers). */
bool api__expand_document(api_call_t *call, const bson_t *doc);

void api__expand_free(api_expand_t *x);

/* The one convention of src/api: a step that can answer the request returns true when it
 * answered (an error, 304, or the response itself) and false when the request goes on. */

/* Creates the call and attaches it to the request. NULL on out of memory. */
api_call_t *api__call_new(odm_request_t *req, const odm_app_t *app, odm_model_set_t *set,
                          const odm_model_t *model);

/* Suspends the request and queues call->work on the pool; on a full queue answers 503 (with
 * Retry-After) without leaving the request suspended. Polling thread. */
void api__submit(api_call_t *call);

/* The one way src/api fails a request with an error from another module (store, codec, model):
 * answers `err` (borrowed) and its violations (borrowed, may be NULL) as
 * application/problem+json. A 503 or 504 message, which may quote the database, goes to the log
 * with the request id; the client is told to retry later. Returns: true (answered). */
bool api__fail(odm_request_t *req, const odm_error_t *err, const json_t *errors);

/* What api__fail tells the client of `err`: a copy, with the message of a 503 or 504 replaced
 * by advice (the original logged with the request id). */
void api__withhold(odm_request_t *req, const odm_error_t *err, odm_error_t *told);

/* lifecycle.c: x-requireIfMatch. On a model that requires it, a PUT, PATCH or DELETE of
 * /api/NAME/ID without If-Match naming an entity-tag ("*" does not name the version read), or a
 * PATCH or DELETE of /api/NAME?filter= without If-Match (the collection has no ETag: "*" is
 * the one value that goes on), is answered 428; other methods go on. Returns: true after
 * answering. */
bool api__refuse_unconditional(api_call_t *call);

/* Fails a request in odmd's own words: an error of `kind` with a formatted message, sent as is.
 * Returns: true (answered). */
bool api__failf(odm_request_t *req, odm_error_kind_t kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Answers `status` with the document written as JSON, its ETag and, for GET and HEAD, the cache
 * policy. A 304 carries the same headers and Content-Length without the body (RFC 9110 15.4.5,
 * 8.6). Returns: true (answered). */
bool api__reply_document(api_call_t *call, int status, const bson_t *doc);

/* Answers 200 with a list page (stolen, malloc'd JSON) and the cache policy. */
void api__reply_list(odm_request_t *req, char *body, size_t len);

/* Parses the body as JSON into call->body (new), refusing '$'/dotted keys when `document`.
 * Returns: true after answering 400. */
bool api__refuse_body(api_call_t *call, bool document);

/* A refusal kept rather than answered, for a caller that answers it later or reports it among
 * others. */
typedef struct {
    odm_error_t err;
    json_t *errors; /* the violations (owned), may be NULL */
} api_verdict_t;

void api__verdict_release(api_verdict_t *v);

/* The checks below the refuse_ helpers, answering nothing: each returns true when the document
 * passes, false with `v` filled (its errors replaced). api__check_convertible appends the
 * converted document and then the version field `version` to `out`, as
 * api__refuse_unconvertible does. */
bool api__check_valid(const odm_model_t *model, const json_t *doc, api_verdict_t *v);
bool api__check_read_only(const odm_model_t *model, const json_t *body, bool skip_id,
                          api_verdict_t *v);
bool api__check_convertible(const odm_model_t *model, const json_t *doc, int64_t version,
                            bson_t *out, api_verdict_t *v);

/* Validates a document that will be stored against the model. Returns: true after answering
 * 422 with the violations. */
bool api__refuse_invalid(api_call_t *call, const json_t *doc);

/* Refuses the readOnly fields of call->body (an object); `skip_id`: an _id is left to the
 * caller (PUT compares it with the path's). Returns: true after answering 422. */
bool api__refuse_read_only(api_call_t *call, bool skip_id);

/* Converts a validated document to BSON typed by the model, appending to `out` (initialised
 * by the caller, destroyed by the caller in every case), then the version field `version`.
 * Returns: true after answering (422, or 413 past BSON's size limit). */
bool api__refuse_unconvertible(api_call_t *call, const json_t *doc, int64_t version, bson_t *out);

/* ETag header value of a version ("\"N\""), into out (at least 32 bytes). */
void api__etag(int64_t version, char *out, size_t size);

/* Whether an If-Match / If-None-Match header matches the version (`exists` false: no document). */
bool api__if_match(const char *header, bool exists, int64_t version);
bool api__if_none_match(const char *header, int64_t version);

/* RFC 7396: applies `patch` (borrowed) to `target` (stolen). Returns: the new target. */
json_t *api__merge_patch(json_t *target, const json_t *patch);

/* POST: the document to insert built from a body object (stolen): the _id odmd generates
 * when the client left it out and the model allows it, the client's fields, then defaults,
 * then the x-timestamps (both set to now). Returns: a new tree, NULL on out of memory. */
json_t *api__build_create(const odm_model_t *model, json_t *body);

/* The compare-and-set write of one document (documents.c), shared by PUT, PATCH, DELETE and
 * writes of many documents: read the document, check it, build the new one, validate, convert and
 * replace it guarded by the version read (or delete it so guarded); a lost race starts over,
 * up to ODM_API_WRITE_RETRIES times. Nothing of it answers the request. */
typedef enum {
    API_WRITE_DONE,    /* written (or deleted): `written` holds the new document */
    API_WRITE_SAME,    /* skip_same, and the build is the stored document: nothing written */
    API_WRITE_GONE,    /* no document matches id_filter (any more) */
    API_WRITE_REFUSED, /* `verdict` says why: a check, a violation, the store, or 409 after
                          ODM_API_WRITE_RETRIES lost races */
} api_write_status_t;

/* Makes the new document from the stored one (borrowed). Returns: a new tree, or NULL with err
 * set. */
typedef json_t *(*api_build_fn)(api_call_t *call, const bson_t *stored, odm_error_t *err);

typedef struct {
    const bson_t *id_filter; /* {_id: ...} of the document (borrowed) */
    api_build_fn build;      /* NULL: the write is a delete */
    /* checks the stored document before each write (preconditions): false with err set; NULL:
     * none */
    bool (*check)(api_call_t *call, const bson_t *stored, odm_error_t *err);
    bool skip_same;        /* a build equal to the stored document is not written */
    const bson_t *first;   /* the document as already read (borrowed), for the first
                              attempt; NULL: read it */
    api_verdict_t verdict; /* API_WRITE_REFUSED */
    bson_t written;        /* API_WRITE_DONE of a build */
} api_write_t;

void api__write_init(api_write_t *w, const bson_t *id_filter);
void api__write_release(api_write_t *w);

/* Runs the write of `w` (worker thread). */
api_write_status_t api__write_guarded(api_call_t *call, api_write_t *w);

/* The projection of a read that a compare-and-set will rewrite (out: initialised here, the
 * caller destroys it). It leaves nothing out (odmd's ids are never documents), but a server that
 * answers with its live documents copies the answer under its lock, as mongo-java-server's
 * in-memory backend does for any projection: without it an update running meanwhile can tear the
 * answer (a new version beside an old field) and the write built on it passes the version guard.
 * MongoDB answers the same document either way. */
void api__snapshot_projection(bson_t *out);

/* The bound on documents one bulk write handles: --bulk-max, else ODM_API_BULK_MAX (bulk POST,
 * PATCH and DELETE ?filter=, the Data API's insertMany and updateMany). */
size_t api__bulk_max(const api_call_t *call);

/* Documents a filtered write reads before it writes any (bulk PATCH, the Data API's updateOne
 * and updateMany): at most `cap` of them and ODM_API_BULK_MAX_BYTES together, each whole
 * (api__snapshot_projection). */
typedef struct {
    bson_t *docs;
    size_t n, cap, bytes;
} api_matches_t;

/* Reads into m (zeroed) up to `cap` documents of call->model matching `filter` (borrowed), on a
 * worker. Returns: false with err set (the database's failure, or ODM_ERR_BAD_QUERY past the
 * bytes' bound); m is released with api__matches_release either way. */
bool api__read_matches(api_call_t *call, const bson_t *filter, size_t cap, api_matches_t *m,
                       odm_error_t *err);
void api__matches_release(api_matches_t *m);

/* PUT's new document: `body` (borrowed, an object) with the stored document's _id and readOnly
 * values, then defaults. Returns: a new tree, or NULL with err set. */
json_t *api__build_replace(const odm_model_t *model, const json_t *body, const bson_t *stored,
                           odm_error_t *err);

/* PATCH: the RFC 7396 merge of call->body into the stored document. An api_build_fn. */
json_t *api__build_patch(api_call_t *call, const bson_t *stored, odm_error_t *err);

/* The checks of a merge-patch body that need no database: JSON, no '$'/dotted keys, no
 * readOnly field. Returns: true after answering. */
bool api__refuse_patch_body(api_call_t *call);

/* Bulk writes (bulk.c). POST of an array (call->body): the checks of the request as a whole
 * that need no database (ordered=true|false and nothing else, at most --bulk-max items: 400,
 * 413); any thread. Returns: true after answering. */
bool api__refuse_bulk_create(api_call_t *call);

/* Checks and converts one document to insert in call->model (`item`, borrowed) as a POST does:
 * readOnly fields refused, _id made when left out, defaults, x-timestamps, the x-owner stamp,
 * validation, conversion into `out` (appended; the caller's) with a first version; *id: the
 * document's _id (new reference). Any thread. Returns: false with `v` filled. */
bool api__check_create(const api_call_t *call, json_t *item, bson_t *out, json_t **id,
                       api_verdict_t *v);

/* The query of any POST to /api/NAME: ordered=true|false and nothing else (ordered applies to
 * an array; a single document's POST is held to the same query). Returns: true after answering
 * 400. */
bool api__refuse_create_query(api_call_t *call);

/* POST of an array, on a worker once the body is parsed: api__refuse_bulk_create, then each
 * item checked and the valid ones inserted. Returns: true (answered). */
bool api__bulk_create(api_call_t *call);

/* Handlers (polling thread): validate what can be validated without the database, then submit. */
void api__get_document(api_call_t *call);
void api__put_document(api_call_t *call);
void api__patch_document(api_call_t *call);
void api__delete_document(api_call_t *call);
void api__list(api_call_t *call);
void api__create(api_call_t *call);
void api__bulk_patch(api_call_t *call);  /* PATCH /api/NAME?filter=... */
void api__bulk_delete(api_call_t *call); /* DELETE /api/NAME?filter=... */
void api__readyz(api_call_t *call);

/* Exports (export.c): whether a list asks for a stream (a GET whose Accept names
 * application/x-ndjson or text/csv), and the handler that streams it, called by api__list once
 * its query is parsed into call->list (copied: the export outlives the call). */
bool api__export_wanted(const api_call_t *call);
void api__export(api_call_t *call);

/* softdelete.c: x-softDelete. Which documents of a model a request sees. */
typedef enum {
    API_SCOPE_LIVE,    /* those without deletedAt (or with deletedAt null): the default */
    API_SCOPE_ALL,     /* ?deleted=include, and DELETE ?purge=true */
    API_SCOPE_DELETED, /* ?deleted=only, and restore */
} api_scope_t;

/* Parses ?deleted=include|only into *scope (API_SCOPE_LIVE when absent). Returns: true after
 * answering 400 (another value, or a model without x-softDelete). */
bool api__refuse_deleted_param(api_call_t *call, api_scope_t *scope);

/* Narrows `filter` (a query on the collection of `model`) to the documents of `scope`; nothing
 * for a model without x-softDelete or API_SCOPE_ALL. A filter naming deletedAt at its top is
 * wrapped in {$and: [filter, condition]}, otherwise the condition is appended. */
void api__scope_filter(const odm_model_t *model, api_scope_t scope, bson_t *filter);

/* Whether a DELETE removes documents for good: a model without x-softDelete, or ?purge=true. */
bool api__purge_wanted(const api_call_t *call);

/* Soft-deletes (sets deletedAt to now) or, when `restore`, brings back (removes deletedAt) the
 * document of call->id_filter (already scoped) through api__write_guarded with `check` (may be
 * NULL), and answers: 204 for a delete, 200 with the document for a restore, 404 when none
 * matches, the refusal otherwise (a restore that would duplicate a live document's unique value
 * is a 409 from the store). Worker. Returns: true (answered). */
bool api__soft_write(api_call_t *call, bool restore,
                     bool (*check)(api_call_t *call, const bson_t *stored, odm_error_t *err));

/* DELETE /api/NAME?filter= on an x-softDelete model: deletedAt set to now (and the version
 * raised) on every live match of call->filter (already scoped) in one updateMany. Worker.
 * Returns: false with err set; *deleted: how many. */
bool api__soft_delete_many(api_call_t *call, int64_t *deleted, odm_error_t *err);

/* POST /api/NAME/ID/restore (documents.c). */
void api__restore_document(api_call_t *call);

/* GET /api/NAME/_distinct/FIELD (distinct.c); call->id holds FIELD, decoded. */
void api__distinct(api_call_t *call);

/* aggregate.c: GET /api/NAME/_agg/AGG?P=... (call->id holds AGG, decoded): 404 for an
 * aggregation the model does not declare, 400 with a violation per parameter at fault
 * (instanceLocation "/P": unknown, given twice, missing without a default, refused by its
 * schema), then the pipeline after api__aggregate_prefix, capped by api__aggregate_cap, run on a
 * worker: 200 with a JSON array of the results written as the model's documents (writeOnly
 * fields and the version left out), 413 past ODM_API_AGG_MAX_DOCS or ODM_API_AGG_MAX_BYTES. */
void api__aggregate(api_call_t *call);

/* Appends to `pipeline` (an array document) the stage "0": {$match: ...} of call->model's
 * soft-delete (live documents) and owner (the caller's, unless admin) filters when either
 * applies. Returns: the index of the next stage (0 or 1). */
uint32_t api__aggregate_prefix(const api_call_t *call, bson_t *pipeline);

/* Appends at `index` the stage {$project: {PATH: 0, ...}} leaving out every writeOnly field of
 * `model` (dotted paths, through arrays), when it has any, so that no later stage of a
 * client's pipeline can read them (a $project or $group could rename them past the writer).
 * Returns: the index of the next stage. */
uint32_t api__aggregate_hide_write_only(const odm_model_t *model, bson_t *pipeline, uint32_t index);

/* Appends {$limit: ODM_API_AGG_MAX_DOCS + 1} at `index`: the server stops one past the cap. */
void api__aggregate_cap(bson_t *pipeline, uint32_t index);

/* Called with each result document (borrowed) and its index; false stops with err set. */
typedef bool (*api_aggregate_each_fn)(void *arg, const bson_t *doc, size_t i, odm_error_t *err);

/* Worker: runs `pipeline` on call->model's collection (maxTimeMS and the deadline as for every
 * store operation), handing each result to `each`; more than ODM_API_AGG_MAX_DOCS results is
 * ODM_ERR_TOO_LARGE, a pipeline the server refuses ODM_ERR_BAD_QUERY. Returns: false with err. */
bool api__aggregate_run(const api_call_t *call, const bson_t *pipeline, api_aggregate_each_fn each,
                        void *arg, odm_error_t *err);

/* access.c: the caller of a request on an /api/ route, from its Authorization header
 * (app->auth): 401 with WWW-Authenticate: Bearer realm="odmd" when it has no credential, and
 * error="invalid_token" when its credential is refused; then the scope the route needs on
 * r->model (api__refuse_scope). Polling thread. Returns: true after answering; false with *who
 * filled. */
bool api__refuse_caller(const odm_app_t *app, odm_request_t *req, const api_route_t *r,
                        odm_principal_t *who);

/* owner.c: x-owner. Narrows `filter` (a query on the collection of `model`) to the caller's
 * documents ({OWNER: caller's name}; a filter naming the owner field at its top is wrapped in
 * {$and: [filter, condition]}, as api__scope_filter does); nothing for a model without x-owner
 * or an admin caller. The client's filter never decides whose documents it sees. */
void api__owner_filter(const api_call_t *call, const odm_model_t *model, bson_t *filter);

/* A create's document `doc` (an object) of call->model: its owner field set to the caller's
 * name, whatever the client sent; an admin's own value is kept (a document made for another
 * owner), and set to the admin's name when absent. Returns: false on out of memory. */
bool api__owner_stamp(const api_call_t *call, json_t *doc);

/* A write's new document `doc` of call->model: its owner field set back to the one `stored`
 * holds (removed when it holds none), so that no write changes a document's owner. Returns:
 * false on out of memory. */
bool api__owner_keep(const api_call_t *call, const bson_t *stored, json_t *doc);

/* 403 with WWW-Authenticate: Bearer error="insufficient_scope", scope="read:NAME" (or write)
 * when `who` may not do `access` on `model`. Returns: true after answering. */
bool api__refuse_scope(odm_request_t *req, const odm_principal_t *who, odm_access_t access,
                       const odm_model_t *model);

/* openapi.c: the OpenAPI document. A route's description is a function of the router's table
 * (its describe column): it returns a new Operation Object for the route and method of `doc`
 * (and its model), with the answers particular to it; the statuses every route shares (401,
 * 429, 5xx) are added by the caller. */
typedef struct api_doc api_doc_t;
typedef json_t *(*api_describe_fn)(const api_doc_t *doc);

/* router.c: row `i` of the route table (its kind, method, method name and description; the
 * description may be NULL: the route is left out of the document). Returns: false past the
 * last row. */
bool api__route_row(size_t i, api_route_kind_t *kind, odm_method_t *method, const char **name,
                    api_describe_fn *describe);
/* Whether the table has a row for `kind` and `method`. */
bool api__route_allows(api_route_kind_t kind, odm_method_t method);
/* Whether a route checks the credentials (--api-key). */
bool api__route_needs_key(api_route_kind_t kind);

json_t *api__describe_healthz(const api_doc_t *doc);
json_t *api__describe_readyz(const api_doc_t *doc);
json_t *api__describe_openapi(const api_doc_t *doc);
json_t *api__describe_options(const api_doc_t *doc);
json_t *api__describe_metrics(const api_doc_t *doc);
json_t *api__describe_list(const api_doc_t *doc); /* GET and HEAD /api/NAME */
json_t *api__describe_create(const api_doc_t *doc);
json_t *api__describe_bulk_patch(const api_doc_t *doc);
json_t *api__describe_bulk_delete(const api_doc_t *doc);
json_t *api__describe_get(const api_doc_t *doc); /* GET and HEAD /api/NAME/ID */
json_t *api__describe_put(const api_doc_t *doc);
json_t *api__describe_patch(const api_doc_t *doc);
json_t *api__describe_delete(const api_doc_t *doc);
json_t *api__describe_distinct(const api_doc_t *doc);
json_t *api__describe_restore(const api_doc_t *doc);
json_t *api__describe_aggregate(const api_doc_t *doc);
json_t *api__describe_dataapi(const api_doc_t *doc); /* POST /data/v1/action/ACTION */

/* GET and HEAD /openapi.json (polling thread, no database). */
void api__openapi(api_call_t *call);

#endif
