/* Private to src/api: the Atlas Data API's routes (POST /data/v1/action/ACTION) over odmd's
 * models. The request every action reads, the table of actions, and what an action's handler
 * uses to answer in the Data API's shape.
 *
 * Adding an action: in its own file (src/api/dataapi_NAME.c) write its work, `bool
 * api__dataapi_NAME(api_call_t *call)`, run on a worker: it does the database work and answers
 * through api__dataapi_reply (or fails through api__fail / api__failf, which answer in the Data
 * API's error shape on these routes), returning true; declare it at the end of this header; add
 * one row to the `actions` table of dataapi.c (its name, the scope it needs, the body members
 * it reads, an optional check, its work, its OpenAPI summary and answer schema, its status).
 * Before the work runs, the framework has parsed the body (Extended JSON values unwrapped into
 * the plain JSON the codec types by the model, except in `pipeline`), refused members the
 * action does not read, named the model (call->model, from `collection`), checked `database`
 * and the caller's scope (read:MODEL or write:MODEL), converted `filter` through the REST API's
 * allow-list (scoped to live documents of an x-softDelete model and to the caller's own of an
 * x-owner model), `sort`, `projection`, `limit` and `skip`, and run the row's check. */
#ifndef ODMD_API_DATAAPI_H
#define ODMD_API_DATAAPI_H

#include "api/internal.h"

#define API_DATAAPI_PREFIX "/data/v1/action/"
#define API_DATAAPI_EJSON "application/ejson" /* Accept and Content-Type of Extended JSON */
#define API_DATAAPI_MAX_LIMIT 1000            /* documents one find answers (limit's cap) */

/* The body members an action reads besides dataSource, database and collection (which every
 * action needs). A member the action does not read is refused (400). */
enum {
    API_DATAAPI_FILTER = 1 << 0,
    API_DATAAPI_PROJECTION = 1 << 1,
    API_DATAAPI_SORT = 1 << 2,
    API_DATAAPI_LIMIT = 1 << 3,
    API_DATAAPI_SKIP = 1 << 4,
    API_DATAAPI_DOCUMENT = 1 << 5,
    API_DATAAPI_DOCUMENTS = 1 << 6,
    API_DATAAPI_UPDATE = 1 << 7,
    API_DATAAPI_REPLACEMENT = 1 << 8,
    API_DATAAPI_UPSERT = 1 << 9,
    API_DATAAPI_PIPELINE = 1 << 10,
};

/* The OpenAPI schema of {"matchedCount", "modifiedCount", "upsertedId"?} (replaceOne,
 * updateOne, updateMany: api__dataapi_reply_counts). */
#define API_DATAAPI_COUNTS_SCHEMA                                                                  \
    "{\"type\": \"object\", \"required\": [\"matchedCount\", \"modifiedCount\"], "                 \
    "\"properties\": {\"matchedCount\": {\"type\": \"integer\", \"minimum\": 0}, "                 \
    "\"modifiedCount\": {\"type\": \"integer\", \"minimum\": 0}, \"upsertedId\": {}}}"

/* One row of the action table. */
typedef struct api_dataapi_action {
    const char *name;    /* the ACTION segment: "findOne" */
    odm_access_t access; /* the scope it needs on the model: read:MODEL or write:MODEL */
    unsigned members;    /* API_DATAAPI_* it reads */
    /* more checks that need no database, after the framework's (on the polling thread for a
     * small body, first thing on the worker for a large one): true after answering. It may keep
     * what it made in the request's state (api_dataapi_t's state). NULL: none */
    bool (*check)(api_call_t *call);
    /* the action itself, on a worker: true (answered), or false when the request was handed
     * on (a fan-out answers and resumes it), as api_call_t's work */
    bool (*work)(api_call_t *call);
    const char *summary;       /* OpenAPI: the operation's summary */
    const char *answer;        /* OpenAPI: the 200 (or 201) answer's description */
    const char *answer_schema; /* OpenAPI: its JSON Schema, as JSON text */
    int status;                /* the status of its answer: 200, or 201 for the inserts */
} api_dataapi_action_t;

/* The request of a Data API call (call->dataapi), made by the framework. Every json_t is
 * borrowed from call->body (NULL when the member is absent). */
typedef struct api_dataapi {
    const api_dataapi_action_t *action;
    const char *data_source, *database, *collection;
    const json_t *filter;     /* Extended JSON unwrapped */
    const json_t *projection; /* {"field": 1, ...} */
    const json_t *sort;       /* {"field": 1 | -1, ...} */
    const json_t *document;   /* an object, Extended JSON unwrapped */
    const json_t *documents;  /* an array of objects, unwrapped */
    const json_t *update;     /* an object or an array (a pipeline: the action judges), unwrapped */
    const json_t *replacement; /* an object, unwrapped */
    const json_t *pipeline;    /* an array, as sent (Extended JSON kept) */
    bool upsert;               /* false when absent */
    int64_t limit;             /* 0 when absent; at most API_DATAAPI_MAX_LIMIT */
    bool has_limit;
    int64_t skip;           /* 0 when absent; at most ODM_API_MAX_SKIP */
    bool ejson;             /* the answer in canonical Extended JSON (Accept: application/ejson) */
    bool hide_id;           /* projection {"_id": 0}: documents answered without _id */
    bson_t filter_bson;     /* filter through odm_codec_filter, scoped (soft-delete, owner) */
    bson_t sort_bson;       /* empty when absent */
    bson_t projection_bson; /* empty when absent (with the version field when present) */
    /* an action's own state, made by its check or work, freed with the call */
    void *state;
    void (*state_free)(void *state);
} api_dataapi_t;

/* router.c: POST /data/v1/action/ACTION (polling thread): call->id holds ACTION, decoded. */
void api__dataapi(api_call_t *call);

/* router.c: makes the request's failures take the Data API's shape from now on:
 * {"error": message, "error_code": code, "link": URI[, "errors": violations]} as
 * application/json, with the Data API's statuses (a validation failure is 400). */
void api__dataapi_shape(odm_request_t *req);

/* Frees a request's Data API state (NULL is fine); call.c, with the call. */
void api__dataapi_free(api_dataapi_t *d);

/* The action table, row i (false past the last), for the OpenAPI document. */
bool api__dataapi_action_row(size_t i, const api_dataapi_action_t **row);

/* Replaces, in place at any depth of *v (owned), the Extended JSON values a Data API client
 * sends by the plain JSON odmd's codec types by the model: {"$oid": hex} -> "hex", {"$date":
 * ISO string | {"$numberLong": ms}} -> RFC 3339 UTC string, {"$numberLong" | "$numberInt":
 * digits} -> integer, {"$numberDouble": text} -> real, {"$numberDecimal": text} -> integer when
 * whole and within 64 bits, else real (Decimal128 is not stored: a double keeps ~15 digits).
 * Other '$' keys are left for the filter's allow-list and the codec's checks. Returns: false
 * with ODM_ERR_BAD_REQUEST naming the pointer (a malformed value, an Extended JSON type odmd
 * does not store: $binary, $regularExpression, $timestamp, ...). */
bool api__dataapi_unwrap(json_t **v, odm_error_t *err);

/* Converts a filter (an object, borrowed; NULL: none) of call->model as the REST API's
 * ?filter= is, then scopes it (live documents, the caller's own), appending to `out`; with no
 * filter, `out` gets the scope alone (what an aggregate's pipeline starts with, as a $match).
 * Any thread. Returns: false with ODM_ERR_BAD_QUERY. */
bool api__dataapi_filter(const api_call_t *call, const json_t *filter, bson_t *out,
                         odm_error_t *err);

/* Writes a stored document of call->model (borrowed) as the answer shows it: plain JSON as the
 * REST API writes it, or canonical Extended JSON when asked; writeOnly fields and the version
 * field left out, and _id after a projection {"_id": 0}. Returns: false when `out` passes its
 * cap. */
bool api__dataapi_put_document(const api_call_t *call, const bson_t *doc, odm_buf_t *out,
                               odm_error_t *err);

/* dataapi_ejson.c: writes `doc` (borrowed) of `model` as canonical Extended JSON ($oid, $date
 * {$numberLong}, $numberInt, $numberLong, $numberDouble, $numberDecimal; other BSON types as
 * libbson writes them canonically), writeOnly fields and the version field left out. Returns:
 * false when `out` passes its cap. */
bool api__dataapi_put_ejson(const odm_model_t *model, const bson_t *doc, odm_buf_t *out,
                            odm_error_t *err);

/* One value (at `it`) as canonical Extended JSON, nothing left out. */
bool api__dataapi_put_ejson_value(const bson_iter_t *it, odm_buf_t *out, odm_error_t *err);

/* Writes the _id of `doc` (borrowed) the same way; null when it has none. */
bool api__dataapi_put_id(const api_call_t *call, const bson_t *doc, odm_buf_t *out,
                         odm_error_t *err);

/* Starts an answer: a buffer capped at ODM_API_MAX_RESPONSE. */
void api__dataapi_answer_init(odm_buf_t *out);

/* Answers the action's status with `body` (a JSON object, stolen and released) as
 * application/json, or application/ejson when asked. A body past its cap (err set by the
 * writer that failed, `ok` false) is answered as that error. Returns: true (answered). */
bool api__dataapi_reply(api_call_t *call, odm_buf_t *body, bool ok, const odm_error_t *err);

/* Answers {"matchedCount": n, "modifiedCount": n[, "upsertedId": id of `upserted`]} (the
 * answer of replaceOne, updateOne, updateMany). `upserted` may be NULL. Returns: true. */
bool api__dataapi_reply_counts(api_call_t *call, int64_t matched, int64_t modified,
                               const bson_t *upserted);

/* The actions (dataapi_read.c, dataapi_write.c) and their checks. */
bool api__dataapi_find_one(api_call_t *call);
bool api__dataapi_find(api_call_t *call);
bool api__dataapi_insert_one(api_call_t *call);
bool api__dataapi_insert_many(api_call_t *call);
bool api__dataapi_replace_one(api_call_t *call);
bool api__dataapi_delete_one(api_call_t *call);
bool api__dataapi_delete_many(api_call_t *call);
bool api__dataapi_check_insert_one(api_call_t *call);
bool api__dataapi_check_insert_many(api_call_t *call);
bool api__dataapi_check_replace_one(api_call_t *call);
bool api__dataapi_check_delete(api_call_t *call);

/* dataapi_aggregate.c: the pipeline checked against the stage allow-list (400 naming the stage
 * and its pointer), converted from Extended JSON and put after the model's filters and its
 * writeOnly fields' exclusion into call->doc; then run, answering {"documents": [...]}. */
bool api__dataapi_check_aggregate(api_call_t *call);
bool api__dataapi_aggregate(api_call_t *call);

/* dataapi_update.c: updateOne and updateMany, and their check (the update compiled: 400 naming
 * the pointer of what is refused). */
bool api__dataapi_update_one(api_call_t *call);
bool api__dataapi_update_many(api_call_t *call);
bool api__dataapi_check_update(api_call_t *call);

/* The filter's _id equality, as an upsert takes it ({_id: v}, {_id: {$eq: v}}, either inside
 * $and): *id a new reference, or NULL when the filter has none. Returns: false with err set (400:
 * the filter matches _id twice). */
bool api__dataapi_filter_id(const api_call_t *call, json_t **id, odm_error_t *err);

/* An upsert's new document `doc` (taken) checked and converted as a POST's into `out`: readOnly
 * fields refused (but _id, which MongoDB's upsert takes from the filter), defaults, x-timestamps,
 * the owner stamp, validation, an _id made when it has none, a first version. `id_from_filter`:
 * its _id is the filter's, so a violation there points at /filter/_id. Returns: false with v
 * filled. */
bool api__dataapi_check_upserted(api_call_t *call, json_t *doc, bool id_from_filter, bson_t *out,
                                 api_verdict_t *v);

#endif
