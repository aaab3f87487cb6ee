/* Declarations shared by the files of src/codec (not part of the module's contract). */
#ifndef ODMD_CODEC_INT_H
#define ODMD_CODEC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bson/bson.h>
#include <jansson.h>

#include "odmd/buf.h"
#include "odmd/model.h"
#include "odmd/pointer.h"
#include "odmd/text.h"

#define CODEC__DATE_MAX 40                    /* bytes for a formatted date, with room to spare */
#define CODEC__DOUBLE_MAX ODM_TEXT_DOUBLE_MAX /* bytes for a formatted double */
#define CODEC__QUOTE_MAX 80                   /* bytes for a client string echoed in a message */
#define CODEC__ARRAY_MAX 1000                 /* elements of $in, $nin, $and, $or, $nor */

/* RFC 3339 date-time -> milliseconds since the epoch (UTC). Refuses leap seconds, digits
 * beyond milliseconds that are not zero, and instants outside years 0001-9999; *why (static)
 * then says why. */
bool codec__parse_date(const char *s, size_t n, int64_t *ms, const char **why);

/* Milliseconds since the epoch -> "YYYY-MM-DDTHH:MM:SS.mmmZ" (an expanded, signed year outside
 * 0000-9999). Returns: the length written to out (CODEC__DATE_MAX bytes), NUL-terminated. */
size_t codec__format_date(int64_t ms, char *out);

/* The shortest decimal that reads back as d (odm_text_double), "-0.0" for -0 (a JSON reader
 * takes "-0" for the integer 0). Returns: its length in out (CODEC__DOUBLE_MAX bytes), or 0 for
 * NaN and infinities (which JSON cannot hold). */
size_t codec__format_double(double d, char *out);

/* Appends `data` as a base64 JSON string literal. */
bool codec__base64_string(odm_buf_t *out, const uint8_t *data, size_t len);

/* A copy of client text fit for a message: at most CODEC__QUOTE_MAX bytes in out, control
 * characters and, when cut or not UTF-8, non-ASCII bytes replaced by '?'. */
const char *codec__quote(const char *s, size_t n, char *out);

/* Strict 24-hex ObjectId. */
bool codec__parse_oid(const char *s, size_t n, bson_oid_t *oid);

/* The fast path of odm_json_parse (codec_parse.c): a new tree equal to what
 * json_loadb(JSON_REJECT_DUPLICATES) builds, for bodies in the subset it is sure of (with
 * `document`, no '$'-prefixed or dotted keys). Returns NULL for anything else (then jansson
 * decides) and on out of memory. */
json_t *codec__parse_fast(const char *buf, size_t len, bool document);

typedef enum {
    CODEC__OK,
    CODEC__REFUSED, /* the value does not fit the type: *why says why */
    CODEC__FULL,    /* the BSON document passed its size limit */
} codec__result_t;

/* Appends a JSON scalar (string, number, boolean, null) typed as `type` under key. Objects
 * and arrays are the caller's; at a typed (non-AUTO) field they are refused. */
codec__result_t codec__append_scalar(bson_t *out, const char *key, int klen, odm_bson_type_t type,
                                     const json_t *v, const char **why);

#endif
