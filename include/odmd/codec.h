/* Schema-aware JSON <-> BSON: the only place where types are converted.
 *
 * JSON in: jansson trees parsed strictly, converted to BSON typed by the model (date-time ->
 * BSON date, objectId -> ObjectId, integers exact). JSON out: plain JSON written straight from
 * BSON into a buffer (ObjectId as 24 hex, dates as RFC 3339 UTC with milliseconds, int64 exact,
 * doubles in shortest round-trip form), writeOnly fields and the version field left out.
 * Query parameters (filter, sort, fields, id) are translated here too. */
#ifndef ODMD_CODEC_H
#define ODMD_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bson/bson.h>
#include <jansson.h>

#include "odmd/buf.h"
#include "odmd/error.h"
#include "odmd/model.h"

#define ODM_JSON_MAX_DEPTH 64    /* nesting of objects and arrays in bodies and filters */
#define ODM_REGEX_MAX_LENGTH 256 /* $regex pattern length in filters */

enum {
    ODM_JSON_DOCUMENT = 1 << 0, /* refuse keys that start with '$' or contain '.' (any depth) */
};

/* Parses a request body or a filter: any JSON value (a document's type is the model's to
 * judge). Refuses (ODM_ERR_MALFORMED_JSON, 400): syntax errors
 * ("line L column C: reason"), duplicate keys, nesting deeper than ODM_JSON_MAX_DEPTH, numbers
 * that cannot be stored exactly (integers beyond 64 bits, reals that overflow), invalid UTF-8,
 * \u0000 in a field name (in a string value it is kept: BSON strings carry it);
 * with ODM_JSON_DOCUMENT also '$'-prefixed and dotted keys (the message names the pointer).
 * Returns: a new tree, or NULL. */
json_t *odm_json_parse(const char *buf, size_t len, unsigned flags, odm_error_t *err);

/* Converts a validated document to BSON typed by the model, appending to `out` (initialised
 * by the caller). A value the model's BSON type cannot hold exactly (a leap second, digits
 * beyond milliseconds, a date outside years 0001-9999, a malformed ObjectId, a fractional
 * "long") is refused: returns false with ODM_ERR_VALIDATION and, when `errors` (borrowed
 * array) is not NULL, appends one violation {instanceLocation, keywordLocation, error} per value
 * (keywordLocation ends in "/format" or "/x-bson"). A top-level ODM_VERSION_FIELD, a key
 * starting with '$' or containing '.', and a string _id holding NUL (no URL names it) are
 * violations too. ODM_ERR_TOO_LARGE when BSON's size limit is
 * passed. On failure `out` holds a partial document: discard it. */
bool odm_codec_to_bson(const odm_model_t *model, const json_t *doc, bson_t *out, json_t *errors,
                       odm_error_t *err);

/* Writes `doc` as plain JSON to `out`, leaving out writeOnly fields and ODM_VERSION_FIELD.
 * Returns false when `out` passes its cap (ODM_ERR_INTERNAL). */
bool odm_codec_write_json(const odm_model_t *model, const bson_t *doc, odm_buf_t *out,
                          odm_error_t *err);

/* Substitutions made while writing (expanded references): the value at any of fields[0..n)
 * (fields of the model's tree: a field reached through an array is its items' field) is not
 * written; write(arg, i, value, out) writes what stands in its place, returning false when
 * `out` passes its cap. Borrowed for the call. */
typedef struct {
    const odm_field_t *const *fields;
    size_t n;
    bool (*write)(void *arg, size_t i, const bson_iter_t *value, odm_buf_t *out);
    void *arg;
} odm_codec_subst_t;

/* odm_codec_write_json with substitutions (`subst` may be NULL: none). The values substituted
 * are the ones odm_codec_each_at visits for the same fields. */
bool odm_codec_write_json_subst(const odm_model_t *model, const bson_t *doc,
                                const odm_codec_subst_t *subst, odm_buf_t *out, odm_error_t *err);

/* Called with each value found at fields[i] (borrowed iterator, valid during the call). */
typedef void (*odm_codec_each_fn)(void *arg, size_t i, const bson_iter_t *value);

/* Visits, in document order, every value of `doc` at one of fields[0..n) that
 * odm_codec_write_json would write (writeOnly fields and the version are not visited), looking
 * through arrays and embedded documents but not into a visited value. */
void odm_codec_each_at(const odm_model_t *model, const bson_t *doc,
                       const odm_field_t *const *fields, size_t n, odm_codec_each_fn fn, void *arg);

/* Writes one BSON value (at `it`) of `field` (may be NULL: an undeclared value) as plain JSON,
 * as odm_codec_write_json writes a member's value. Returns false when `out` passes its cap
 * (ODM_ERR_TOO_LARGE). */
bool odm_codec_write_value(const odm_field_t *field, const bson_iter_t *it, odm_buf_t *out,
                           odm_error_t *err);

/* Writes `values` (a BSON array document, such as the distinct command's) as a JSON array, each
 * value typed by `field` (or by its items' field, for an array field: distinct looks through
 * arrays). Returns false when `out` passes its cap (ODM_ERR_TOO_LARGE). */
bool odm_codec_write_values(const odm_field_t *field, const bson_t *values, odm_buf_t *out,
                            odm_error_t *err);

/* Returns: a new jansson tree of `doc` with the same JSON mapping as odm_codec_write_json but
 * keeping writeOnly fields (for PATCH merging and PUT's readOnly keeping); ODM_VERSION_FIELD
 * left out. NULL on out of memory. */
json_t *odm_codec_to_tree(const odm_model_t *model, const bson_t *doc);

/* Returns: the document's version (ODM_VERSION_FIELD as int64), 0 when absent. */
int64_t odm_codec_version(const bson_t *doc);

/* Appends {_id: <id typed for the model>} to `out`. ODM_ERR_BAD_ID when `id` is malformed for
 * the model's _id type (not 24 hex for ObjectId, not an int64 for integer ids, empty). */
bool odm_codec_id_filter(const odm_model_t *model, const char *id, size_t len, bson_t *out,
                         odm_error_t *err);

/* Appends the document's _id as a URL path segment (hex, decimal or the string itself,
 * percent-encoded where needed) to `out`: every byte but ALPHA, DIGIT and "-._~" is encoded,
 * and so are the dots of an id "." or ".." ("%2E", "%2E%2E"), which clients would otherwise
 * collapse as dot-segments (RFC 3986 section 5.2.4). Returns false (out unchanged) when the
 * document has no _id of a type a URL can name, or out passes its cap. */
bool odm_codec_id_segment(const bson_t *doc, odm_buf_t *out);

/* Percent-decodes a URL path segment (`len` bytes, as sent: not decoded before) into a new
 * NUL-terminated string (caller frees). ODM_ERR_BAD_ID for a '%' that does not start a %XX
 * escape and for %00 (an id holds no NUL). */
char *odm_codec_id_decode(const char *segment, size_t len, odm_error_t *err);

/* Sets _id in `doc` (an object, borrowed) for a POST that left it out: a new ObjectId's 24 hex
 * characters when model->id_generated (the codec stores it as an ObjectId or a string, as the
 * model types _id). Otherwise returns false with ODM_ERR_VALIDATION and appends a violation
 * {instanceLocation "", keywordLocation "/properties/_id", error} to `errors` (may be NULL). */
bool odm_codec_new_id(const odm_model_t *model, json_t *doc, json_t *errors, odm_error_t *err);

/* The version a newly inserted document starts at: random in [1, 2^62), so that a document
 * deleted and created again under the same _id does not take up its old versions (and ETags,
 * which must never name two contents of one URL: RFC 9110 section 8.8.1). Thread-safe. */
int64_t odm_codec_first_version(void);

/* Translates a filter (a JSON object, borrowed) to BSON, appending to `out`. Allowed operators:
 * $eq $ne $gt $gte $lt $lte $in $nin $exists $and $or $nor $not $regex $options (flags imsx,
 * pattern at most ODM_REGEX_MAX_LENGTH bytes); anything else at any depth, unknown fields and
 * writeOnly fields give ODM_ERR_BAD_QUERY. Values at date-time and objectId fields are converted
 * as documents are. Embedded-document values ({"address": {"city": ...}}) are refused: use
 * dotted names. $in, $nin, $and, $or and $nor take at most 1000 items. */
bool odm_codec_filter(const odm_model_t *model, const json_t *filter, bson_t *out,
                      odm_error_t *err);

/* Translates "sort=-pages,title" (len bytes) to {pages: -1, title: 1}. ODM_ERR_BAD_QUERY for
 * an empty item, an unknown, writeOnly or repeated field, or more than 32 fields. */
bool odm_codec_sort(const odm_model_t *model, const char *spec, size_t len, bson_t *out,
                    odm_error_t *err);

/* Translates "fields=name,email" to a projection {name: 1, email: 1} (plus the version field,
 * which odmd needs for ETags; _id comes as MongoDB always returns it). ODM_ERR_BAD_QUERY for an
 * unknown, writeOnly or repeated field, overlapping paths ("a" and "a.b"), or more than 32. */
bool odm_codec_projection(const odm_model_t *model, const char *spec, size_t len, bson_t *out,
                          odm_error_t *err);

/* Appends the stages of a named aggregation's pipeline (agg->pipeline, checked at load) to
 * `out`, an array document, at indexes first, first + 1, ...: each {"$param": "P"} replaced by
 * the value of P in `values` (a JSON object, borrowed: every parameter's value, validated
 * against its schema, read from the query string or its default) stored as the parameter's
 * bson type says (a date-time string as a BSON date, an ObjectId string as an ObjectId, an
 * x-bson "long" as int64); every other value as JSON maps to BSON (integers int32 or int64 by
 * size). Returns: false with ODM_ERR_BAD_QUERY (a value its type cannot hold, such as a date
 * outside years 0001-9999, or a parameter without a value) or ODM_ERR_TOO_LARGE (BSON's size
 * limit); `out` then holds a part: discard it. */
bool odm_codec_pipeline(const odm_aggregation_t *agg, const json_t *values, uint32_t first,
                        bson_t *out, odm_error_t *err);

/* Appends the stages of a client's pipeline (a JSON array, borrowed, already checked by
 * odm_model_check_pipeline) to `out`, an array document, at indexes first, first + 1, ...:
 * Extended JSON values become their BSON types ({"$oid": hex} an ObjectId, {"$date": ...} a
 * date, {"$numberLong": text} an int64, {"$numberDecimal": text} a Decimal128, relaxed or
 * canonical), the rest as JSON maps to BSON. Returns: false with ODM_ERR_BAD_QUERY (a malformed
 * Extended JSON value, with libbson's reason) or ODM_ERR_TOO_LARGE; `out` then holds a part. */
bool odm_codec_ejson_pipeline(const json_t *pipeline, uint32_t first, bson_t *out,
                              odm_error_t *err);

#endif
