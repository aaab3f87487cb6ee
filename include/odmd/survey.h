/* Surveys of a database as it stands, for models written after the data: a draft model
 * inferred from sampled documents. */
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

/* ---- commands (cli.c) ---- */

/* `odmd schema infer --mongo-uri URI [--db NAME] COLLECTION [--sample N] [--out FILE]`, argv[0]
 * being "schema". Returns the exit status: 0 written, 1 database unreachable or no documents,
 * 2 usage or a collection no model can describe. */
int odm_survey_cli_schema(int argc, char **argv);

#endif
