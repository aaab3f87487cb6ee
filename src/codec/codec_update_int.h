/* Shared by the files of the update-operator engine (codec_update.c, codec_update_match.c). */
#ifndef ODMD_CODEC_UPDATE_INT_H
#define ODMD_CODEC_UPDATE_INT_H

#include <stdbool.h>

#include <jansson.h>

#include "odmd/error.h"
#include "odmd/model.h"
#include "odmd/pointer.h"

/* BSON's order between values of different kinds, with a string at a date or objectId field of
 * the model taken as a date or an ObjectId when it reads as one. `field` may be NULL (untyped);
 * `v` NULL is a missing value (sorts as null). Returns: <0, 0, >0. */
int codec__update_compare(const json_t *a, const json_t *b, const odm_field_t *field);

/* Whether two values are equal as MongoDB compares them (numbers by value, objects field by
 * field in order, arrays element by element). */
bool codec__update_equal(const json_t *a, const json_t *b, const odm_field_t *field);

/* Checks a $pull condition: operators outside the allowed set, operands of the wrong shape.
 * `where` holds the condition's pointer. Returns: false with err set (ODM_ERR_BAD_REQUEST). */
bool codec__update_check_condition(const json_t *cond, odm_pointer_t *where, odm_error_t *err);

/* Whether `elem` (an element of an array whose items are `items`, may be NULL) is one a $pull
 * with `cond` (checked) removes. */
bool codec__update_pull_matches(const json_t *cond, const json_t *elem, const odm_field_t *items);

/* Checks a $push $sort argument: 1, -1, or an object of non-empty fields each 1 or -1. */
bool codec__update_check_sort(const json_t *spec);

/* Sorts `array` in place (stably) by `spec` (checked). Returns: false on out of memory. */
bool codec__update_sort(json_t *array, const json_t *spec, const odm_field_t *items);

#endif
