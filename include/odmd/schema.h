/* JSON Schema draft 2020-12: compile once, validate many (pure: jansson in, verdicts out).
 *
 * A registry holds schema documents by URI (the built-in 2020-12 meta-schemas, model files, and
 * documents loaded on demand from mapped folders). Compiling resolves every reference once; a
 * compiled schema is immutable and may be validated from many threads at once. */
#ifndef ODMD_SCHEMA_H
#define ODMD_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "odmd/error.h"

typedef struct odm_schema_registry odm_schema_registry_t;
typedef struct odm_schema odm_schema_t;

typedef enum {
    ODM_FORMAT_ANNOTATE, /* the spec's default: "format" never fails validation */
    ODM_FORMAT_ASSERT,   /* odmd's models: known formats are checked per their RFCs */
} odm_format_mode_t;

#define ODM_SCHEMA_MAX_ERRORS 100

/* Returns: a new registry holding the built-in 2020-12 meta-schemas. */
odm_schema_registry_t *odm_schema_registry_new(void);
void odm_schema_registry_free(odm_schema_registry_t *reg);

/* Adds `doc` (borrowed; the registry takes its own reference) under `uri`; a "$id" in the
 * document takes precedence for its own resources. `source` names the file for messages (may
 * be NULL). Returns false with ODM_ERR_SCHEMA when the URI is already taken. */
bool odm_schema_registry_add(odm_schema_registry_t *reg, const char *uri, json_t *doc,
                             const char *source, odm_error_t *err);

/* References whose URI starts with `prefix` are loaded from files under `dir` (offline). */
bool odm_schema_registry_map(odm_schema_registry_t *reg, const char *prefix, const char *dir,
                             odm_error_t *err);

/* Compiles the schema registered at `uri` (fragment allowed). The registry must outlive the
 * result. Returns: a new compiled schema, or NULL with ODM_ERR_SCHEMA and a message of the form
 * "POINTER: reason" (the JSON Pointer of the offending keyword within its document). */
odm_schema_t *odm_schema_compile(odm_schema_registry_t *reg, const char *uri,
                                 odm_format_mode_t formats, odm_error_t *err);
void odm_schema_free(odm_schema_t *schema);

/* Validates `instance` (borrowed). Returns true when valid. When `errors` is not NULL and the
 * instance is invalid, *errors is set to a new JSON array of at most `max_errors` objects
 * {"instanceLocation", "keywordLocation", ["absoluteKeywordLocation",] "error"} (the spec's
 * "basic" output units); when `errors` is NULL validation stops at the first failure.
 * Does not allocate for a valid instance in the common case. Thread-safe. */
bool odm_schema_validate(const odm_schema_t *schema, const json_t *instance, json_t **errors,
                         size_t max_errors);

#endif
