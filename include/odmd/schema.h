/* JSON Schema draft 2020-12: compile once, validate many (pure: jansson in, verdicts out).
 *
 * A registry holds schema documents by URI (the built-in 2020-12 meta-schemas, model files, and
 * documents loaded on demand from mapped folders). Compiling resolves every reference once; a
 * compiled schema is immutable and may be validated from many threads at once.
 *
 * Threads: the registry functions and odm_schema_compile (which may load mapped documents into
 * the registry) must not run concurrently on one registry; odm_schema_validate may run on any
 * number of threads, also while the registry compiles something else.
 *
 * Dialect: draft 2020-12 only. "$schema" may name the 2020-12 meta-schema or a registered
 * meta-schema whose "$vocabulary" lists only 2020-12 vocabularies (unknown optional ones are
 * ignored); anything else is a compile error. Keywords unknown to 2020-12 (x-* included) are
 * annotations and never affect a verdict. "pattern" follows ECMA-262 through PCRE2 in UTF mode
 * with match and depth limits (a pattern that hits a limit fails the instance). */
#ifndef ODMD_SCHEMA_H
#define ODMD_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "odmd/buf.h"
#include "odmd/error.h"

typedef struct odm_schema_registry odm_schema_registry_t;
typedef struct odm_schema odm_schema_t;
/* The text of the numbers of a JSON document that its jansson tree cannot hold exactly. */
typedef struct odm_schema_numbers odm_schema_numbers_t;

typedef enum {
    ODM_FORMAT_ANNOTATE, /* the spec's default: "format" never fails validation */
    ODM_FORMAT_ASSERT,   /* odmd's models: known formats are checked per their RFCs */
} odm_format_mode_t;

#define ODM_SCHEMA_MAX_ERRORS 100

/* Returns: a new registry holding the built-in 2020-12 meta-schemas. */
odm_schema_registry_t *odm_schema_registry_new(void);
void odm_schema_registry_free(odm_schema_registry_t *reg);

/* Adds `doc` (borrowed; the registry takes its own reference) under `uri`; a "$id" in the
 * document takes precedence for its own resources (the document answers to both). `source`
 * names the file for messages (may be NULL). Returns false with ODM_ERR_SCHEMA when the URI, an
 * embedded "$id" or an anchor is already taken, or `doc` is neither an object nor a boolean;
 * the registry is then unchanged. */
bool odm_schema_registry_add(odm_schema_registry_t *reg, const char *uri, json_t *doc,
                             const char *source, odm_error_t *err);

/* Parses `len` bytes of JSON as json_loadb(text, len, flags | JSON_REJECT_DUPLICATES, jerr)
 * does, also accepting the numbers jansson cannot hold exactly: integers beyond 64 bits and
 * decimals of more than 15 significant digits or beyond a double's range. Each of those is a
 * real in the tree (the nearest double; +-DBL_MAX beyond the range) and its text is kept in
 * *numbers, where the registry (odm_schema_registry_add_numbers) and the validator
 * (odm_schema_validate_numbers) find it: minimum, maximum, exclusiveMinimum,
 * exclusiveMaximum, multipleOf and "type": "integer" then judge the decimal as written.
 * Returns: a new value with *numbers new (odm_schema_numbers_free), or NULL when the document
 * has no such number; NULL with jerr set when the text is not JSON or on out of memory. */
json_t *odm_schema_json_loadb(const char *text, size_t len, size_t flags,
                              odm_schema_numbers_t **numbers, json_error_t *jerr);
void odm_schema_numbers_free(odm_schema_numbers_t *numbers); /* NULL does nothing */

/* Hands the numbers of documents added to the registry (steals `numbers`, also on failure;
 * NULL does nothing) so that the keywords compiled from them compare those numbers exactly.
 * Returns false on out of memory. */
bool odm_schema_registry_add_numbers(odm_schema_registry_t *reg, odm_schema_numbers_t *numbers,
                                     odm_error_t *err);

/* References whose URI starts with `prefix` are loaded from files under `dir` (offline): the
 * rest of the URI is the path below `dir` (no "." or ".." segments; files up to 16 MiB). */
bool odm_schema_registry_map(odm_schema_registry_t *reg, const char *prefix, const char *dir,
                             odm_error_t *err);

/* Writes the file:// URI of the absolute `path` into out (size bytes, NUL-terminated),
 * percent-encoding the bytes outside RFC 3986's pchar and '/': the URI a schema file is
 * registered under. Returns false when it does not fit. */
bool odm_schema_file_uri(const char *path, char *out, size_t size);

/* Compiles the schema registered at `uri` (fragment allowed). The registry must outlive the
 * result. With ODM_FORMAT_ASSERT, "format" checks known formats (include/odmd/format.h) and
 * ignores unknown ones; with ODM_FORMAT_ANNOTATE it only does so under a meta-schema that
 * requires the format-assertion vocabulary.
 * Returns: a new compiled schema, or NULL with ODM_ERR_SCHEMA and a message of the form
 * "POINTER: reason" (the JSON Pointer of the offending keyword within its document, "/" for the
 * document itself); when the offending keyword is in another document reached by a reference,
 * "URI#POINTER: reason" with that document's URI. */
odm_schema_t *odm_schema_compile(odm_schema_registry_t *reg, const char *uri,
                                 odm_format_mode_t formats, odm_error_t *err);
void odm_schema_free(odm_schema_t *schema);

/* The violations of one validation: the spec's "basic" output units {"instanceLocation",
 * "keywordLocation", ["absoluteKeywordLocation",] "error"} (absoluteKeywordLocation only where a
 * $ref or $dynamicRef was crossed; "error" a one-line message), kept as plain records in the
 * list's own arena: the locations as the segments that make them, the message as its template
 * and parameters. Text is made only when the list is written. A list is reused from one
 * validation to the next (each empties it first, keeping its memory), by one thread at a time.
 * The records borrow from the compiled schema and from the instance validated: write or read
 * the list before freeing either. */
typedef struct odm_schema_errors odm_schema_errors_t;

/* Returns: a new empty list that keeps at most `max` units (at least 1), or NULL on out of
 * memory. Nothing else is allocated until the first unit. */
odm_schema_errors_t *odm_schema_errors_new(size_t max);
void odm_schema_errors_free(odm_schema_errors_t *errors); /* NULL does nothing */

/* Returns: how many units the list holds. */
size_t odm_schema_errors_count(const odm_schema_errors_t *errors);

/* Appends the units to `out` as a JSON array, compact, byte for byte what json_dumps writes with
 * JSON_COMPACT for odm_schema_errors_json's array. Returns false when it does not fit (the
 * buffer's cap) or on out of memory; `out` then holds a part of the array. */
bool odm_schema_errors_write(const odm_schema_errors_t *errors, odm_buf_t *out);

/* Returns: a new jansson array of the units (objects, members in the order above), or NULL on
 * out of memory. */
json_t *odm_schema_errors_json(const odm_schema_errors_t *errors);

/* Validates `instance` (borrowed). Returns true when valid. With `errors` NULL validation stops
 * at the first failure. Otherwise `errors` is emptied, then holds the units of an invalid
 * instance (none for a valid one), and evaluation stops once its cap is reached. A reference
 * loop over the same value, or evaluation nested deeper than 512 subschemas, makes the instance
 * invalid. Strings in `instance` must be valid UTF-8, as jansson's parser and checked
 * constructors make them (patterns are matched without a second check). Does not allocate for a
 * valid instance in the common case, with or without `errors` (the exceptions:
 * unevaluatedProperties/Items over more than 256 members, uniqueItems over more than 32 items,
 * and propertyNames whose subschema does more than type, const, enum, length, pattern and
 * format checks); for an invalid one, only when `errors` grows past the memory it kept.
 * Thread-safe (one list per thread). */
bool odm_schema_validate(const odm_schema_t *schema, const json_t *instance,
                         odm_schema_errors_t *errors);

/* odm_schema_validate for an instance read by odm_schema_json_loadb: `numbers` (borrowed, may
 * be NULL) holds the text of its numbers that the tree does not hold exactly. */
bool odm_schema_validate_numbers(const odm_schema_t *schema, const json_t *instance,
                                 const odm_schema_numbers_t *numbers, odm_schema_errors_t *errors);

#endif
