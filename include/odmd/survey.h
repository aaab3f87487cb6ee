/* Surveys of a database as it stands, for models written after the data: a draft model
 * inferred from sampled documents, and the indexes models declare compared with the indexes a
 * database holds. */
#ifndef ODMD_SURVEY_H
#define ODMD_SURVEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bson/bson.h>
#include <jansson.h>

#include "odmd/error.h"
#include "odmd/model.h"
#include "odmd/store.h"

/* ---- inference (infer.c): pure, documents in, a model document out ---- */

typedef struct odm_survey_infer odm_survey_infer_t;

/* Returns: a new, empty inference (NULL on out of memory). */
odm_survey_infer_t *odm_survey_infer_new(void);
void odm_survey_infer_free(odm_survey_infer_t *inf);

/* Adds one document (borrowed) to what the inference has seen. Fails (ODM_ERR_INTERNAL) only
 * on out of memory or a malformed document. */
bool odm_survey_infer_add(odm_survey_infer_t *inf, const bson_t *doc, odm_error_t *err);

/* Documents added so far. */
size_t odm_survey_infer_count(const odm_survey_infer_t *inf);

/* Returns: a new draft 2020-12 model document for the collection (x-collection set) that every
 * added document satisfies, as docs/models.md ("Inferring a model") describes; NULL with
 * ODM_ERR_CONFIG when no document was added or the _id values differ in type. */
json_t *odm_survey_infer_model(const odm_survey_infer_t *inf, const char *collection,
                               odm_error_t *err);

/* ---- the index report (indexes.c) ---- */

typedef enum {
    ODM_SURVEY_INDEX_PRESENT,    /* declared and in the database */
    ODM_SURVEY_INDEX_MISSING,    /* declared, not in the database, can be built */
    ODM_SURVEY_INDEX_WOULD_FAIL, /* declared, not in the database, cannot be built: unique
                                    over repeated values, or its name taken by other keys */
    ODM_SURVEY_INDEX_UNDECLARED, /* in the database, declared by no model (information) */
} odm_survey_index_state_t;

typedef struct {
    const char *collection;
    const char *name; /* the declared name, or the database's for an undeclared index */
    const char *keys; /* the key document as JSON text ({"a":1,"b":-1}) */
    bool unique;
    odm_survey_index_state_t state;
    const char *detail; /* WOULD_FAIL: why ("duplicate values V (N documents), ...", "its name
                           is taken by an index on {...}"); else "" */
} odm_survey_index_t;

/* Called once per index (every pointer borrowed, valid during the call). */
typedef void (*odm_survey_index_fn)(const odm_survey_index_t *index, void *arg);

/* Compares every model's declared indexes (x-unique, x-indexes) with the indexes of its
 * collection, in model order, then the database's undeclared indexes of those collections
 * (the _id index aside). A declared index that is missing would fail when an index of its name
 * holds other keys, or, for a unique one, when values repeat (a $group over its keys, the first
 * few groups with more than one document). Reads
 * only: creates nothing. Each database operation must finish within timeout_ms.
 * Returns false (ODM_ERR_UNAVAILABLE, ...) when the database could not be read; indexes
 * already reported stay reported. */
bool odm_survey_indexes(const odm_models_t *models, odm_store_t *store, int timeout_ms,
                        odm_survey_index_fn each, void *arg, odm_error_t *err);

/* Writes the report as log lines: warn for missing and failing indexes, info for undeclared
 * ones, debug for present ones. An odm_survey_index_fn; arg is unused. */
void odm_survey_index_log(const odm_survey_index_t *index, void *arg);

/* ---- commands (cli.c) ---- */

/* `odmd schema infer --mongo-uri URI [--db NAME] COLLECTION [--sample N] [--out FILE]`, argv[0]
 * being "schema". Returns the exit status: 0 written, 1 database unreachable or no documents,
 * 2 usage or a collection no model can describe. */
int odm_survey_cli_schema(int argc, char **argv);

/* True when `odmd check` arguments ask for the database (--mongo-uri among them). */
bool odm_survey_cli_wants_db(int argc, char **argv);

/* `odmd check --mongo-uri URI [--db NAME] [DIR]`, argv[0] being "check": checks the models as
 * plain `odmd check` does, then prints the index report. Returns 0 when every declared index
 * exists or can be built, 2 for a bad model or an index that would fail, 1 when the database
 * cannot be read. */
int odm_survey_cli_check(int argc, char **argv);

#endif
