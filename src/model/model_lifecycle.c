/* Lifecycle fields of a model: x-timestamps declared at load and stamped on every write,
 * x-softDelete's deletedAt, and x-owner's owner field. */
#include "model/model_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The name a timestamp takes: the object form's value, else the default. */
static const char *stamp_name(const json_t *timestamps, const char *key)
{
    const json_t *name = json_is_object(timestamps) ? json_object_get(timestamps, key) : NULL;
    return name != NULL ? json_string_value(name) : key;
}

/* A declared timestamp must be what odmd writes: a readOnly date-time string. */
static bool compatible(const json_t *decl)
{
    if (!json_is_object(decl) || !json_is_true(json_object_get(decl, "readOnly")))
        return false;
    const json_t *type = json_object_get(decl, "type");
    const json_t *format = json_object_get(decl, "format");
    const json_t *bson = json_object_get(decl, "x-bson");
    bool is_string =
        type == NULL || (json_is_string(type) && strcmp(json_string_value(type), "string") == 0);
    bool is_date =
        (json_is_string(format) && strcmp(json_string_value(format), "date-time") == 0) ||
        (json_is_string(bson) && strcmp(json_string_value(bson), "date") == 0);
    return is_string && is_date;
}

static bool declare(odm_model_t *model, json_t *props, const char *name, const char *keyword,
                    odm_error_t *err)
{
    const json_t *decl = json_object_get(props, name);
    if (decl != NULL) {
        if (compatible(decl))
            return true;
        return odm_error_set(
            err, ODM_ERR_CONFIG,
            "%s: /properties/%s: %s must be "
            "{\"type\": \"string\", \"format\": \"date-time\", \"readOnly\": true}",
            model->path, name, keyword);
    }
    json_t *field =
        json_pack("{s:s, s:s, s:b}", "type", "string", "format", "date-time", "readOnly", 1);
    if (field == NULL || json_object_set_new(props, name, field) != 0)
        return odm_error_set(err, ODM_ERR_CONFIG, "%s: out of memory", model->path);
    return true;
}

bool model__add_timestamps(odm_model_t *model, const json_t *timestamps, odm_error_t *err)
{
    if (timestamps == NULL || json_is_false(timestamps))
        return true;
    json_t *props = json_object_get(model->doc, "properties");
    if (!json_is_object(props))
        return odm_error_set(err, ODM_ERR_CONFIG, "%s: /properties: must be an object",
                             model->path);
    const char *created = stamp_name(timestamps, "createdAt");
    const char *updated = stamp_name(timestamps, "updatedAt");
    if (!declare(model, props, created, "a timestamp of x-timestamps", err) ||
        !declare(model, props, updated, "a timestamp of x-timestamps", err))
        return false;
    model->created_at = strdup(created);
    model->updated_at = strdup(updated);
    if (model->created_at == NULL || model->updated_at == NULL)
        return odm_error_set(err, ODM_ERR_CONFIG, "%s: out of memory", model->path);
    return true;
}

bool model__add_soft_delete(odm_model_t *model, bool soft_delete, odm_error_t *err)
{
    if (!soft_delete)
        return true;
    json_t *props = json_object_get(model->doc, "properties");
    if (!json_is_object(props))
        return odm_error_set(err, ODM_ERR_CONFIG, "%s: /properties: must be an object",
                             model->path);
    if (!declare(model, props, ODM_DELETED_AT_FIELD, "the field of x-softDelete", err))
        return false;
    model->deleted_at = ODM_DELETED_AT_FIELD;
    return true;
}

bool model__soft_delete_indexes(odm_model_t *model, odm_error_t *err)
{
    for (size_t i = 0; model->deleted_at != NULL && i < model->n_indexes; i++) {
        odm_index_t *index = &model->indexes[i];
        if (!index->unique || json_object_get(index->keys, "_id") != NULL ||
            json_object_get(index->keys, model->deleted_at) != NULL)
            continue;
        char name[MODEL__MAX_PATH];
        int n = snprintf(name, sizeof name, "%s_%s_1", index->name, model->deleted_at);
        char *copy = n > 0 && (size_t)n < sizeof name ? strdup(name) : NULL;
        if (copy == NULL ||
            json_object_set_new(index->keys, model->deleted_at, json_integer(1)) != 0) {
            free(copy);
            return odm_error_set(err, ODM_ERR_CONFIG,
                                 "%s: index '%s': name too long or out of "
                                 "memory",
                                 model->path, index->name);
        }
        free(index->name);
        index->name = copy;
    }
    return true;
}

/* The owner field holds a caller's name: a plain string, stored as one. */
static bool owner_compatible(const json_t *decl)
{
    const json_t *type = json_object_get(decl, "type");
    return json_is_object(decl) && json_is_string(type) &&
           strcmp(json_string_value(type), "string") == 0 &&
           json_object_get(decl, "x-bson") == NULL && json_object_get(decl, "format") == NULL;
}

bool model__add_owner(odm_model_t *model, const char *owner, odm_error_t *err)
{
    if (owner == NULL)
        return true;
    const json_t *decl = json_object_get(json_object_get(model->doc, "properties"), owner);
    if (decl == NULL)
        return odm_error_set(err, ODM_ERR_CONFIG,
                             "%s: /x-owner: '%s' is not a property of the model (declare it in "
                             "/properties)",
                             model->path, owner);
    if (!owner_compatible(decl))
        return odm_error_set(err, ODM_ERR_CONFIG,
                             "%s: /properties/%s: the field of x-owner must be "
                             "{\"type\": \"string\"} (no x-bson, no format)",
                             model->path, owner);
    model->owner = owner;
    return true;
}

int64_t odm_model_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* RFC 3339 UTC with milliseconds ("2026-01-02T03:04:05.678Z"). */
json_t *odm_model_date(int64_t ms)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    if (gmtime_r(&secs, &tm) == NULL)
        return NULL;
    char text[40];
    size_t n = strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
    if (n == 0)
        return NULL;
    snprintf(text + n, sizeof text - n, ".%03dZ", (int)(ms % 1000));
    return json_string(text);
}

void odm_model_stamp(const odm_model_t *model, json_t *doc, int64_t now_ms, bool inserting)
{
    if (model->updated_at == NULL || !json_is_object(doc))
        return;
    json_t *now = odm_model_date(now_ms);
    if (now == NULL)
        return;
    if (inserting)
        json_object_set(doc, model->created_at, now);
    json_object_set(doc, model->updated_at, now);
    json_decref(now);
}
