/* Interim JSON Schema module: registry and a minimal validator (boolean schemas, type, required,
 * properties) so that dependent modules link; replaced by the full compiler and validator. */
#include <stdlib.h>
#include <string.h>

#include "odmd/schema.h"

struct odm_schema_registry {
    json_t *docs; /* uri -> document */
};

struct odm_schema {
    json_t *root;
};

odm_schema_registry_t *odm_schema_registry_new(void)
{
    odm_schema_registry_t *reg = calloc(1, sizeof(*reg));
    if (reg == NULL)
        return NULL;
    reg->docs = json_object();
    if (reg->docs == NULL) {
        free(reg);
        return NULL;
    }
    return reg;
}

void odm_schema_registry_free(odm_schema_registry_t *reg)
{
    if (reg == NULL)
        return;
    json_decref(reg->docs);
    free(reg);
}

bool odm_schema_registry_add(odm_schema_registry_t *reg, const char *uri, json_t *doc,
                             const char *source, odm_error_t *err)
{
    if (json_object_get(reg->docs, uri) != NULL)
        return odm_error_set(err, ODM_ERR_SCHEMA, "uri '%s' is already registered", uri);
    if (json_object_set(reg->docs, uri, doc) != 0)
        return odm_error_set(err, ODM_ERR_INTERNAL, "out of memory");
    return true;
}

bool odm_schema_registry_map(odm_schema_registry_t *reg, const char *prefix, const char *dir,
                             odm_error_t *err)
{
    return true;
}

odm_schema_t *odm_schema_compile(odm_schema_registry_t *reg, const char *uri,
                                 odm_format_mode_t formats, odm_error_t *err)
{
    json_t *doc = json_object_get(reg->docs, uri);
    if (doc == NULL) {
        odm_error_set(err, ODM_ERR_SCHEMA, "unknown schema '%s'", uri);
        return NULL;
    }
    if (!json_is_object(doc) && !json_is_boolean(doc)) {
        odm_error_set(err, ODM_ERR_SCHEMA, ": expected an object or a boolean");
        return NULL;
    }
    odm_schema_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        odm_error_set(err, ODM_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    s->root = json_incref(doc);
    return s;
}

void odm_schema_free(odm_schema_t *schema)
{
    if (schema == NULL)
        return;
    json_decref(schema->root);
    free(schema);
}

static bool type_ok(const char *t, const json_t *v)
{
    static const struct {
        const char *name;
        int type;
    } types[] = {{"object", JSON_OBJECT}, {"array", JSON_ARRAY},   {"string", JSON_STRING},
                 {"boolean", JSON_TRUE},  {"boolean", JSON_FALSE}, {"null", JSON_NULL},
                 {"number", JSON_INTEGER}, {"number", JSON_REAL},  {"integer", JSON_INTEGER}};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(t, types[i].name) == 0 && json_typeof(v) == (json_type)types[i].type)
            return true;
    return false;
}

static void add_error(json_t *errors, size_t max, const char *msg)
{
    if (errors != NULL && json_array_size(errors) < max)
        json_array_append_new(errors, json_pack("{s:s,s:s,s:s}", "instanceLocation", "",
                                                "keywordLocation", "", "error", msg));
}

static bool check(const json_t *s, const json_t *v, json_t *errors, size_t max)
{
    if (json_is_boolean(s)) {
        if (!json_is_true(s))
            add_error(errors, max, "no value is allowed here");
        return json_is_true(s);
    }
    bool ok = true;
    const char *t = json_string_value(json_object_get(s, "type"));
    if (t != NULL && !type_ok(t, v)) {
        add_error(errors, max, "wrong type");
        ok = false;
    }
    size_t i;
    json_t *name;
    json_array_foreach(json_object_get(s, "required"), i, name)
    {
        if (json_is_object(v) && json_object_get(v, json_string_value(name)) == NULL) {
            add_error(errors, max, "missing required property");
            ok = false;
        }
    }
    const char *key;
    json_t *sub;
    json_object_foreach(json_object_get(s, "properties"), key, sub)
    {
        const json_t *pv = json_is_object(v) ? json_object_get(v, key) : NULL;
        if (pv != NULL && !check(sub, pv, errors, max))
            ok = false;
    }
    return ok;
}

bool odm_schema_validate(const odm_schema_t *schema, const json_t *instance, json_t **errors,
                         size_t max_errors)
{
    json_t *list = errors ? json_array() : NULL;
    bool ok = check(schema->root, instance, list, max_errors);
    if (ok || errors == NULL)
        json_decref(list);
    else
        *errors = list;
    return ok;
}
