/* Declarations shared by the files of src/model (not part of the module's contract). */
#ifndef ODMD_MODEL_INT_H
#define ODMD_MODEL_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "odmd/error.h"
#include "odmd/model.h"
#include "odmd/pointer.h"

#define MODEL__MAX_FIELD_DEPTH 32 /* nesting of the property tree built from a schema */
#define MODEL__MAX_PATH 512       /* dotted paths of indexed fields, JSON Pointers in messages */
#define MODEL__MAX_INDEXES 64     /* indexes per model */
#define MODEL__MAX_URI 8192       /* a model's URI with a fragment */

/* What the root's x- keywords give the loader (borrowed from the document). */
typedef struct {
    const char *collection;   /* x-collection, or NULL */
    bool require_if_match;    /* x-requireIfMatch */
    const json_t *timestamps; /* x-timestamps (true, false or {createdAt, updatedAt}), or NULL */
    bool soft_delete;         /* x-softDelete */
    const char *owner;        /* x-owner: the owner field's name, or NULL */
} model__keywords_t;

/* Checks every x- keyword of `doc` (the model file `path`) against the one table of them in
 * model_keywords.c: names (an unknown x- keyword is an error), places and values. Fills *out,
 * and appends {"pointer", "model"} for every x-ref to `refs` (borrowed array), checked once
 * all models are loaded. Returns false with ODM_ERR_CONFIG "FILE: POINTER: reason". */
bool model__check_keywords(const json_t *doc, const char *path, json_t *refs,
                           model__keywords_t *out, odm_error_t *err);

/* Builds model->root from model->doc and collects model->indexes (x-unique fields, then
 * x-indexes). Returns false with ODM_ERR_CONFIG "FILE: POINTER: reason". */
bool model__build(odm_model_t *model, odm_error_t *err);

/* The _id rule, once the model is built (`uri`: where `registry` holds the model). A readOnly
 * _id becomes an ObjectId odmd generates (the field's bson and model->id_kind set so), and is
 * refused when its schema cannot accept an ObjectId's hex or its x-bson type cannot hold one.
 * A client-supplied _id must be a string or an integer only (the URL names it); odmd generates
 * one when it is left out if it is an ObjectId, or a string that accepts an ObjectId's hex
 * (model->id_generated). Returns false with ODM_ERR_CONFIG "FILE: /properties/_id: reason". */
bool model__check_id(odm_model_t *model, odm_schema_registry_t *registry, const char *uri,
                     odm_error_t *err);

/* x-timestamps (model_lifecycle.c): sets model->created_at and model->updated_at from
 * `timestamps` (as model__check_keywords accepted it; NULL or false: none) and declares each as
 * {"type": "string", "format": "date-time", "readOnly": true} in the model's properties when
 * absent. A model that declares one itself must declare it so (readOnly, a date-time string).
 * Returns false with ODM_ERR_CONFIG "FILE: POINTER: reason". */
bool model__add_timestamps(odm_model_t *model, const json_t *timestamps, odm_error_t *err);

/* x-softDelete (model_lifecycle.c): when `soft_delete`, sets model->deleted_at to
 * ODM_DELETED_AT_FIELD and declares it as x-timestamps declares its fields (same rule for a
 * model that declares it itself). Returns false with ODM_ERR_CONFIG "FILE: POINTER: reason". */
bool model__add_soft_delete(odm_model_t *model, bool soft_delete, odm_error_t *err);

/* x-softDelete: every unique index (once model__build collected them) not on _id gets
 * deletedAt as its last key and "_deletedAt_1" appended to its name, so that it holds among
 * live documents only (theirs is null; a soft-deleted one's is the time of its deletion).
 * Nothing for other models. Returns false with ODM_ERR_CONFIG on out of memory. */
bool model__soft_delete_indexes(odm_model_t *model, odm_error_t *err);

/* x-owner (model_lifecycle.c): sets model->owner to `owner` (as model__check_keywords accepted
 * it; NULL: none; borrowed from the model document) once the model's properties declare it as
 * a string: {"type": "string"}, without x-bson or format. Returns false with ODM_ERR_CONFIG
 * "FILE: /x-owner: reason". */
bool model__add_owner(odm_model_t *model, const char *owner, odm_error_t *err);

/* x-aggregations (model_aggregations.c), the keyword's value at the root of a model file: an
 * object of NAME ([A-Za-z0-9_-], 1 to 64 bytes) -> {"pipeline": [...], "params": {P: schema},
 * "description": text}, P matching [A-Za-z_][A-Za-z0-9_]* (at most 64 bytes, ODM_AGG_MAX_PARAMS
 * of them). Checks that shape only; the pipelines are checked by model__add_aggregations once
 * every model is loaded. Returns false with err set to the reason (the caller adds where). */
bool model__check_aggregations_shape(const json_t *value, odm_pointer_t *ptr, odm_error_t *err);

/* x-aggregations once every model is registered and compiled: each pipeline checked
 * (odm_model_check_pipeline, with the model's params), each parameter's schema compiled from
 * `registry` at `uri` (the model's) and typed; fills model->aggregations. Returns false with
 * ODM_ERR_CONFIG "FILE: /x-aggregations/NAME/...: reason". */
bool model__add_aggregations(const odm_models_t *models, odm_model_t *model,
                             odm_schema_registry_t *registry, const char *uri, odm_error_t *err);

/* Frees model->aggregations. */
void model__aggregations_release(odm_model_t *model);

/* The BSON type an "x-bson" value names (ODM_BSON_AUTO for an unknown one). */
odm_bson_type_t model__bson_of(const char *x_bson);

/* Frees what a field owns (not the field itself). */
void model__field_release(odm_field_t *field);

#endif
