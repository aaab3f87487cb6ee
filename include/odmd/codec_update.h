/* Update operators (part of the codec module): MongoDB's update documents ({"$set": {...},
 * "$inc": {...}}) compiled once and applied by odmd itself to a document in its wire form.
 *
 * The document is the jansson tree odm_codec_to_tree makes of a stored document (the form PATCH
 * merges into): dates are RFC 3339 strings, ObjectIds 24 hex characters, integers exact. The
 * result goes through the model's validation and odm_codec_to_bson like any other write, so the
 * model's types decide what is stored. Where an operator compares values ($min, $max, $addToSet,
 * $pull, $push's $sort), a string at a field the model types as a date or an ObjectId is
 * compared as one (by instant, by its 12 bytes), and values of different kinds by BSON's order
 * (null < numbers < strings < objects < arrays < ObjectIds < booleans < dates); numbers compare
 * by value whatever their JSON form (1 equals 1.0).
 *
 * What follows from working on the wire form: an integer is an integer, and the codec stores it
 * as an int32 or an int64 by its size (or as the model's x-bson type), so MongoDB's promotion of
 * an overflowing int32 to an int64 holds by itself, and an int64 overflow is refused; a
 * Decimal128 reads as a string, so $inc refuses it; $currentDate writes an RFC 3339 string,
 * stored as a BSON date at a field the model types as a date (anywhere else it stays a string);
 * a result the model's type cannot hold (1.5 at an x-bson "long" field) is the validation's to
 * refuse, where MongoDB would change the field's type.
 *
 * Allowed: $set $unset $inc $mul $min $max $rename $push ($each $slice $position $sort) $pull
 * (a value or a condition of $eq $ne $gt $gte $lt $lte $in $nin $exists $not $elemMatch $and
 * $or $nor) $addToSet ($each) $pop $currentDate (a date; not a timestamp) $setOnInsert (applied
 * only when inserting). Paths are dotted; a numeric component indexes an array. */
#ifndef ODMD_CODEC_UPDATE_H
#define ODMD_CODEC_UPDATE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "odmd/error.h"
#include "odmd/model.h"
#include "odmd/pointer.h"

#define ODM_UPDATE_MAX_PATHS 1000      /* fields one update names, over all its operators */
#define ODM_UPDATE_MAX_INDEX 100000    /* an array index a path may create elements up to */
#define ODM_UPDATE_MAX_EACH 1000       /* items of one $each ($push, $addToSet) */
#define ODM_UPDATE_MAX_COMPONENTS 64   /* components of one dotted path */
#define ODM_UPDATE_MAX_PATH_BYTES 1024 /* bytes of one dotted path */

typedef struct odm_update odm_update_t;

/* Compiles `update` (borrowed; a reference is kept) for documents of `model` (may be NULL: no
 * field is typed). Refused, with ODM_ERR_BAD_REQUEST, a message "POINTER: reason" and the
 * pointer in `where` (may be NULL), the pointer being `base` (the update's place in the request,
 * such as "/update"; NULL: "") followed by the offending part: an update that is not an object
 * (an array is an update pipeline), an empty one, a member that is not an operator (a
 * replacement document), an operator outside the allowed set, an operator's argument of the
 * wrong shape, a $each of more than ODM_UPDATE_MAX_EACH items, an empty, '$'-prefixed (positional)
 * or overlong path component, an _id changed (outside $setOnInsert), a path through a writeOnly
 * field of the model, an operator that reads a writeOnly value (any but $set, $unset, $setOnInsert,
 * $currentDate and a $rename's target), more than ODM_UPDATE_MAX_PATHS paths, and two paths of
 * which one is the other or its prefix ("updating the path 'a.b' would create a conflict at 'a'").
 * Returns: a new compiled update (odm_codec_update_free), or NULL. */
odm_update_t *odm_codec_update_compile(const odm_model_t *model, const json_t *update,
                                       const char *base, odm_pointer_t *where, odm_error_t *err);

void odm_codec_update_free(odm_update_t *u);

/* Whether the update holds $setOnInsert (it changes nothing but an upsert's insert). */
bool odm_codec_update_has_set_on_insert(const odm_update_t *u);

/* Whether the update writes a writeOnly field of the model (or a value holding one): then a
 * caller must not tell whether the write changed the document (a count of modified documents
 * would say whether the value was already the one written). */
bool odm_codec_update_writes_write_only(const odm_update_t *u);

/* Applies the update to `doc` (an object, borrowed, changed in place), $setOnInsert only when
 * `inserting`; $currentDate writes `now_ms`. Refused with ODM_ERR_BAD_REQUEST and "POINTER:
 * reason" (pointer in `where`, may be NULL) as MongoDB refuses: $inc or $mul of a value that is
 * not a number, an integer overflow past 64 bits, $push/$addToSet/$pop/$pull of a value that is
 * not an array, a path through a scalar or a non-numeric component into an array where a field
 * must be created, an array index past ODM_UPDATE_MAX_INDEX, $rename from or into an array
 * element. On failure `doc` may be half changed: apply to a copy. ODM_ERR_INTERNAL on out of
 * memory. Returns: false on failure. */
bool odm_codec_update_apply(const odm_update_t *u, json_t *doc, bool inserting, int64_t now_ms,
                            odm_pointer_t *where, odm_error_t *err);

/* Appends to `errors` (a JSON array, borrowed) one violation {instanceLocation,
 * keywordLocation: ".../readOnly", error} for every readOnly property of `model` whose value
 * differs between `before` and `after` (present in one only, or unequal), objects looked into;
 * in arrays, for every item of `after` that was not an item of `before` (an added or changed
 * one) holding a readOnly value other than the one at its index in `before` (left out passes;
 * a readOnly item: any such item). Returns: true when there was none. */
bool odm_codec_update_check_read_only(const odm_model_t *model, const json_t *before,
                                      const json_t *after, json_t *errors);

#endif
