/* Models: schemas/NAME.json files turned into collections, validators, field types and rules.
 *
 * A model is immutable after loading and shared read-only by every thread. */
#ifndef ODMD_MODEL_H
#define ODMD_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "odmd/error.h"
#include "odmd/schema.h"

/* The hidden version field every document odmd writes carries (never accepted, never shown). */
#define ODM_VERSION_FIELD "__v"
#define ODM_DELETED_AT_FIELD "deletedAt" /* x-softDelete: when a document was soft-deleted */

/* How a JSON value at a field is stored in BSON. */
typedef enum {
    ODM_BSON_AUTO =
        0, /* by JSON type: string, int32/int64 by size, double, bool, null, doc, array */
    ODM_BSON_OBJECTID, /* "x-bson": "objectId": 24 hex characters <-> ObjectId */
    ODM_BSON_DATE,     /* "format": "date-time" (or "x-bson": "date") <-> BSON date */
    ODM_BSON_INT64,    /* "x-bson": "long": always int64 */
    ODM_BSON_DOUBLE,   /* "x-bson": "double": always double */
} odm_bson_type_t;

/* A node of the model's property tree (the schema's properties, following local $refs). */
typedef struct odm_field {
    char *name; /* property name ("" for the root, "[]" for array items) */
    size_t name_len;
    odm_bson_type_t bson;
    const char *bson_keyword; /* "x-bson" or "format" (what set bson, for keywordLocation) */
    bool read_only;
    bool write_only;
    const char *ref;            /* "x-ref": the model whose _id the field holds (borrowed from
                                   the model document; checked at load), or NULL */
    json_t *default_value;      /* borrowed from the model document, or NULL */
    struct odm_field *children; /* declared properties of an object */
    size_t n_children;
    struct odm_field *items; /* the items' field, for an array (NULL otherwise) */
    bool any_children;       /* additional properties allowed (unknown keys are AUTO) */
} odm_field_t;

typedef struct {
    char *name;   /* index name */
    json_t *keys; /* {"field": 1 | -1, ...}, owned */
    bool unique;
} odm_index_t;

typedef enum { ODM_ID_OBJECTID, ODM_ID_STRING, ODM_ID_INT } odm_id_kind_t;

#define ODM_AGG_MAX_STAGES 64 /* stages of one pipeline, sub-pipelines counted apart */
#define ODM_AGG_MAX_DEPTH 32  /* nesting of objects and arrays within a pipeline */
#define ODM_AGG_MAX_PARAMS 32 /* parameters of one named aggregation */

/* A parameter of a named aggregation ("x-aggregations": docs/aggregations.md). */
typedef struct {
    const char *name;            /* borrowed from the model document */
    const json_t *schema;        /* its JSON Schema (borrowed) */
    odm_schema_t *compiled;      /* owned: the schema compiled with formats asserted */
    const char *type;            /* what a query-string value is read as: "string",
                                    "integer", "number" or "boolean" */
    odm_bson_type_t bson;        /* how its value is stored: a date-time string a date, an
                                    ObjectId string an ObjectId, "x-bson" as for fields */
    const json_t *default_value; /* borrowed; NULL: the parameter is required */
} odm_agg_param_t;

/* A named aggregation of a model: GET /api/NAME/_agg/AGG?P=... */
typedef struct {
    const char *name;        /* borrowed from the model document */
    const char *description; /* borrowed, or NULL */
    const json_t *pipeline;  /* the stages as written, {"$param": "P"} included (borrowed) */
    odm_agg_param_t *params; /* owned */
    size_t n_params;
} odm_aggregation_t;

typedef struct {
    char *name;           /* NAME of schemas/NAME.json: the URL segment */
    char *collection;     /* "x-collection", else name */
    char *path;           /* the file, for messages */
    json_t *doc;          /* the schema document, owned */
    odm_schema_t *schema; /* compiled with formats asserted */
    odm_field_t root;
    odm_id_kind_t id_kind; /* from properties._id: absent, objectId or readOnly -> ObjectId */
    bool id_generated;     /* a POST without _id gets one: an ObjectId, or its hex for a string
                              _id; otherwise the client must supply _id */
    odm_index_t *indexes;  /* unique indexes to create at startup */
    size_t n_indexes;
    bool require_if_match; /* "x-requireIfMatch": PUT, PATCH and DELETE need If-Match (428) */
    char *created_at;      /* "x-timestamps": the fields odmd stamps (readOnly dates), or NULL */
    char *updated_at;
    const char *deleted_at; /* "x-softDelete": ODM_DELETED_AT_FIELD (a readOnly date set by
                               DELETE), or NULL: a document holding it is soft-deleted */
    const char *owner;      /* "x-owner": the top-level string field that holds the name of
                               the document's owner (borrowed from doc), or NULL */
    unsigned metrics_label; /* its model label in odmd's metrics (0: none); set once, before
                               the models are shared (odm_api_metrics_label) */
    odm_aggregation_t *aggregations; /* "x-aggregations", in the file's order (owned) */
    size_t n_aggregations;
} odm_model_t;

typedef struct {
    odm_model_t **items;
    size_t n;
    odm_schema_registry_t *registry; /* owns every compiled document */
} odm_models_t;

/* Loads every DIR/NAME.json ([a-z][a-z0-9_-]*; other .json names are an error, other files are
 * ignored), sorted by name. A model without properties._id gets {"type": "string", "x-bson":
 * "objectId", "readOnly": true}; a readOnly _id is an ObjectId odmd generates (its schema must
 * accept an ObjectId's 24 hex characters), a client-supplied one must be a string or an integer
 * (docs/models.md). Each is registered under its "$id" when absolute, else under
 * file:///ABSOLUTE/DIR/NAME.json, so models may "$ref": "other.json#/...". Returns: new models,
 * or NULL with ODM_ERR_CONFIG and a message "FILE:LINE:COLUMN: reason" (syntax) or
 * "FILE: POINTER: reason" (schema, unknown x- keyword, bad x- value, x-ref to no model, index
 * on an undeclared field, an _id no URL could name); a directory without model files is an error
 * too. */
odm_models_t *odm_models_load(const char *dir, odm_error_t *err);
void odm_models_free(odm_models_t *models);

/* Returns: the model served at /api/NAME, or NULL. name need not be NUL-terminated. */
const odm_model_t *odm_models_find(const odm_models_t *models, const char *name, size_t len);

/* Returns: the field at a dotted path ("address.city"; array items are looked through, so
 * "tags", "items.sku" and "items.0.sku" work), or NULL when the model does not declare it.
 * Descendants of a writeOnly field are writeOnly too. */
const odm_field_t *odm_model_field(const odm_model_t *model, const char *dotted, size_t len);

/* Returns: the child named `name` of `parent`, or NULL. */
const odm_field_t *odm_field_child(const odm_field_t *parent, const char *name, size_t len);

/* Returns: the named aggregation `name` (len bytes) of the model, or NULL. */
const odm_aggregation_t *odm_model_aggregation(const odm_model_t *model, const char *name,
                                               size_t len);

/* Checks a pipeline (a JSON array of stages, borrowed) against odmd's stage allow-list: $match,
 * $project, $addFields, $set, $unset, $group, $sort, $limit, $skip, $unwind, $count, $facet (its
 * sub-pipelines checked alike), $bucket, $sortByCount, and $lookup whose "from" is the
 * collection of a model in `models` without x-owner, x-softDelete or writeOnly fields (its
 * "pipeline", if any, checked alike). No "$where", "$function", "$accumulator", "$out" or
 * "$merge" key at any depth; at most ODM_AGG_MAX_STAGES stages per pipeline and
 * ODM_AGG_MAX_DEPTH levels of nesting. Every {"$param": "P"} must name a member of `params` (an
 * object, borrowed); with `params` NULL none may appear. Returns: false with ODM_ERR_BAD_QUERY
 * and the message "POINTER: reason", POINTER locating the fault within the pipeline
 * ("/0/$out"). */
bool odm_model_check_pipeline(const odm_models_t *models, const json_t *pipeline,
                              const json_t *params, odm_error_t *err);

/* Model rules on client input (a parsed body, before validation). */

/* Appends to `errors` (a JSON array, borrowed) one violation {instanceLocation,
 * keywordLocation: ".../readOnly", error} for every readOnly property present in `doc`; `_id`
 * is skipped when `skip_id` (PUT, whose _id the caller compares with the path). Returns true
 * when there was none. */
bool odm_model_check_read_only(const odm_model_t *model, const json_t *doc, bool skip_id,
                               json_t *errors);

/* Fills every missing property that declares a "default" (a deep copy), recursing into
 * objects present in `doc`. */
void odm_model_apply_defaults(const odm_model_t *model, json_t *doc);

/* Copies every readOnly value of `stored` (borrowed) into `doc` (PUT keeps stored readOnly
 * values), recursing into objects present in both. */
void odm_model_keep_read_only(const odm_model_t *model, json_t *doc, const json_t *stored);

/* x-timestamps: sets the model's updatedAt field of `doc` (an object) to `now_ms` (Unix time
 * in milliseconds, written as RFC 3339 UTC with milliseconds, stored as a BSON date), and its
 * createdAt field too when `inserting`. Does nothing for a model without x-timestamps. */
void odm_model_stamp(const odm_model_t *model, json_t *doc, int64_t now_ms, bool inserting);

/* A date as odmd writes one: RFC 3339 UTC with milliseconds. Returns: a new string, NULL on
 * out of memory. */
json_t *odm_model_date(int64_t ms);

/* Unix time in milliseconds (the clock of odm_model_stamp). */
int64_t odm_model_wall_ms(void);

#endif
