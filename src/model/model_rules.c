/* Model rules on client input: readOnly properties refused, defaults filled, readOnly kept. */
#include "model/model_int.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    json_t *errors;
    odm_pointer_t instance; /* where in the document */
    odm_pointer_t keyword;  /* where in the schema */
    bool found;
} read_only_walk_t;

static void read_only_value(read_only_walk_t *w, const odm_field_t *field, const json_t *value);

static void report_read_only(read_only_walk_t *w, const char *name)
{
    w->found = true;
    size_t mark = odm_pointer_push(&w->keyword, "readOnly", 8);
    char message[160];
    snprintf(message, sizeof message, "'%.120s' is read-only", name);
    json_t *v = json_pack("{s:s, s:s, s:s}", "instanceLocation", w->instance.buf, "keywordLocation",
                          w->keyword.buf, "error", message);
    if (v != NULL && w->errors != NULL)
        json_array_append(w->errors, v);
    json_decref(v);
    odm_pointer_pop(&w->keyword, mark);
}

static void read_only_object(read_only_walk_t *w, const odm_field_t *field, const json_t *obj,
                             bool skip_id)
{
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        size_t klen = strlen(key);
        const odm_field_t *child = odm_field_child(field, key, klen);
        if (child == NULL || (skip_id && strcmp(key, "_id") == 0))
            continue;
        size_t imark = odm_pointer_push(&w->instance, key, klen);
        size_t kmark = odm_pointer_push(&w->keyword, "properties", 10);
        odm_pointer_push(&w->keyword, key, klen);
        if (child->read_only)
            report_read_only(w, key);
        else
            read_only_value(w, child, value);
        odm_pointer_pop(&w->keyword, kmark);
        odm_pointer_pop(&w->instance, imark);
    }
}

static void read_only_value(read_only_walk_t *w, const odm_field_t *field, const json_t *value)
{
    if (json_is_object(value)) {
        read_only_object(w, field, value, false);
        return;
    }
    if (!json_is_array(value) || field->items == NULL)
        return;
    size_t kmark = odm_pointer_push(&w->keyword, "items", 5);
    size_t i;
    const json_t *item;
    json_array_foreach(value, i, item)
    {
        size_t imark = odm_pointer_push_index(&w->instance, i);
        if (field->items->read_only)
            report_read_only(w, w->instance.buf);
        else
            read_only_value(w, field->items, item);
        odm_pointer_pop(&w->instance, imark);
    }
    odm_pointer_pop(&w->keyword, kmark);
}

static bool any_read_only(const odm_field_t *field, const json_t *value, bool skip_id);

/* Whether `obj` holds a read-only field (not `_id` with skip_id): the common answer, no, found
 * without the locations and allocations of the report. */
static bool any_read_only_member(const odm_field_t *field, const json_t *obj, bool skip_id)
{
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        size_t klen = strlen(key);
        const odm_field_t *child = odm_field_child(field, key, klen);
        if (child == NULL || (skip_id && klen == 3 && memcmp(key, "_id", 3) == 0))
            continue;
        if (child->read_only || any_read_only(child, value, false))
            return true;
    }
    return false;
}

static bool any_read_only(const odm_field_t *field, const json_t *value, bool skip_id)
{
    if (json_is_object(value))
        return any_read_only_member(field, value, skip_id);
    if (!json_is_array(value) || field->items == NULL)
        return false;
    if (field->items->read_only)
        return json_array_size(value) > 0;
    size_t i;
    const json_t *item;
    json_array_foreach(value, i, item) if (any_read_only(field->items, item, false)) return true;
    return false;
}

bool odm_model_check_read_only(const odm_model_t *model, const json_t *doc, bool skip_id,
                               json_t *errors)
{
    if (!json_is_object(doc) || !any_read_only_member(&model->root, doc, skip_id))
        return true;
    read_only_walk_t w = {.errors = errors};
    odm_pointer_init(&w.instance);
    odm_pointer_init(&w.keyword);
    if (json_is_object(doc))
        read_only_object(&w, &model->root, doc, skip_id);
    return !w.found;
}

static void defaults_value(const odm_field_t *field, json_t *value, int depth);

static void defaults_object(const odm_field_t *field, json_t *obj, int depth)
{
    for (size_t i = 0; i < field->n_children; i++) {
        const odm_field_t *child = &field->children[i];
        json_t *present = json_object_get(obj, child->name);
        if (present != NULL)
            defaults_value(child, present, depth + 1);
        else if (child->default_value != NULL)
            json_object_set_new(obj, child->name, json_deep_copy(child->default_value));
    }
}

static void defaults_value(const odm_field_t *field, json_t *value, int depth)
{
    if (depth > MODEL__MAX_FIELD_DEPTH)
        return;
    if (json_is_object(value)) {
        defaults_object(field, value, depth);
    } else if (json_is_array(value) && field->items != NULL) {
        size_t i;
        json_t *item;
        json_array_foreach(value, i, item) defaults_value(field->items, item, depth + 1);
    }
}

void odm_model_apply_defaults(const odm_model_t *model, json_t *doc)
{
    defaults_value(&model->root, doc, 0);
}

static void keep_object(const odm_field_t *field, json_t *doc, const json_t *stored, int depth)
{
    if (depth > MODEL__MAX_FIELD_DEPTH || !json_is_object(doc) || !json_is_object(stored))
        return;
    for (size_t i = 0; i < field->n_children; i++) {
        const odm_field_t *child = &field->children[i];
        const json_t *old = json_object_get(stored, child->name);
        if (old == NULL)
            continue;
        if (child->read_only)
            json_object_set_new(doc, child->name, json_deep_copy(old));
        else
            keep_object(child, json_object_get(doc, child->name), old, depth + 1);
    }
}

void odm_model_keep_read_only(const odm_model_t *model, json_t *doc, const json_t *stored)
{
    keep_object(&model->root, doc, stored, 0);
}
