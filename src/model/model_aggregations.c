/* Named aggregations of a model file (x-aggregations) and the stage allow-list every pipeline
 * odmd runs is held to, named or sent by a client. */
#include "model/model_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 64
#define OBJECT_ID_PATTERNS                                                                         \
    {                                                                                              \
        "^[0-9a-fA-F]{24}$", "^[0-9a-f]{24}$", "^[a-fA-F0-9]{24}$", NULL                           \
    }

/* ---- the allow-list ---- */

/* A stage's check beyond its name (NULL: none). */
typedef bool (*stage_fn)(const odm_models_t *models, const json_t *value, const json_t *params,
                         odm_pointer_t *ptr, int depth, odm_error_t *err);

static bool check_facet(const odm_models_t *models, const json_t *value, const json_t *params,
                        odm_pointer_t *ptr, int depth, odm_error_t *err);
static bool check_lookup(const odm_models_t *models, const json_t *value, const json_t *params,
                         odm_pointer_t *ptr, int depth, odm_error_t *err);

static const struct {
    const char *name;
    stage_fn check;
} stages[] = {
    {"$match", NULL},  {"$project", NULL},     {"$addFields", NULL},      {"$set", NULL},
    {"$unset", NULL},  {"$group", NULL},       {"$sort", NULL},           {"$limit", NULL},
    {"$skip", NULL},   {"$unwind", NULL},      {"$count", NULL},          {"$facet", check_facet},
    {"$bucket", NULL}, {"$sortByCount", NULL}, {"$lookup", check_lookup},
};

/* Keys refused wherever they stand: stages that write or run code, and code in expressions. */
static const char *const forbidden_keys[] = {"$where", "$function", "$accumulator",
                                             "$out",   "$merge",    NULL};

static bool fail_at(odm_error_t *err, const odm_pointer_t *ptr, const char *fmt, const char *arg)
{
    odm_error_set(err, ODM_ERR_BAD_QUERY, fmt, arg);
    odm_error_prefix(err, "%s", ptr->len ? ptr->buf : "/");
    return false;
}

static bool in_list(const char *const *list, const char *key)
{
    for (; *list; list++)
        if (strcmp(*list, key) == 0)
            return true;
    return false;
}

/* {"$param": "P"}: P must be a declared parameter. */
static bool check_param(const json_t *obj, const json_t *params, odm_pointer_t *ptr,
                        odm_error_t *err)
{
    const json_t *name = json_object_get(obj, "$param");
    if (params == NULL)
        return fail_at(err, ptr, "'%s' is only for the parameters of named aggregations", "$param");
    if (json_object_size(obj) != 1 || !json_is_string(name))
        return fail_at(err, ptr, "%s must be {\"$param\": \"NAME\"}", "a parameter");
    if (json_object_get(params, json_string_value(name)) == NULL)
        return fail_at(err, ptr, "'%s' is not a declared parameter (params)",
                       json_string_value(name));
    return true;
}

/* Every key at any depth: no forbidden one, every $param declared. */
static bool check_values(const json_t *v, const json_t *params, odm_pointer_t *ptr, int depth,
                         odm_error_t *err)
{
    if (depth > ODM_AGG_MAX_DEPTH)
        return fail_at(err, ptr, "%s", "nested too deeply");
    if (json_is_array(v)) {
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item)
        {
            size_t mark = odm_pointer_push_index(ptr, i);
            if (!check_values(item, params, ptr, depth + 1, err))
                return false;
            odm_pointer_pop(ptr, mark);
        }
        return true;
    }
    if (!json_is_object(v))
        return true;
    if (json_object_get(v, "$param") != NULL)
        return check_param(v, params, ptr, err);
    const char *key;
    const json_t *member;
    json_object_foreach((json_t *)v, key, member)
    {
        size_t mark = odm_pointer_push(ptr, key, strlen(key));
        if (in_list(forbidden_keys, key))
            return fail_at(err, ptr, "'%s' is not allowed", key);
        if (!check_values(member, params, ptr, depth + 1, err))
            return false;
        odm_pointer_pop(ptr, mark);
    }
    return true;
}

static bool check_stages(const odm_models_t *models, const json_t *pipeline, const json_t *params,
                         odm_pointer_t *ptr, int depth, odm_error_t *err);

static bool check_stage(const odm_models_t *models, const json_t *stage, const json_t *params,
                        odm_pointer_t *ptr, int depth, odm_error_t *err)
{
    if (!json_is_object(stage) || json_object_size(stage) != 1)
        return fail_at(err, ptr, "%s must be an object with exactly one member", "a stage");
    const char *name = json_object_iter_key(json_object_iter((json_t *)stage));
    const json_t *value = json_object_iter_value(json_object_iter((json_t *)stage));
    size_t mark = odm_pointer_push(ptr, name, strlen(name));
    for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++) {
        if (strcmp(stages[i].name, name) != 0)
            continue;
        if (!check_values(value, params, ptr, depth + 1, err))
            return false;
        if (stages[i].check != NULL && !stages[i].check(models, value, params, ptr, depth, err))
            return false;
        odm_pointer_pop(ptr, mark);
        return true;
    }
    return fail_at(err, ptr,
                   "stage '%s' is not allowed ($match, $project, $addFields, $set, $unset, $group, "
                   "$sort, $limit, $skip, $unwind, $count, $facet, $bucket, $sortByCount, $lookup)",
                   name);
}

static bool check_stages(const odm_models_t *models, const json_t *pipeline, const json_t *params,
                         odm_pointer_t *ptr, int depth, odm_error_t *err)
{
    if (!json_is_array(pipeline))
        return fail_at(err, ptr, "%s must be an array of stages", "a pipeline");
    if (json_array_size(pipeline) > ODM_AGG_MAX_STAGES)
        return fail_at(err, ptr, "%s has too many stages (at most 64)", "a pipeline");
    if (depth > ODM_AGG_MAX_DEPTH)
        return fail_at(err, ptr, "%s", "nested too deeply");
    size_t i;
    const json_t *stage;
    json_array_foreach(pipeline, i, stage)
    {
        size_t mark = odm_pointer_push_index(ptr, i);
        if (!check_stage(models, stage, params, ptr, depth + 1, err))
            return false;
        odm_pointer_pop(ptr, mark);
    }
    return true;
}

/* $facet: {NAME: pipeline, ...}, each checked (no $facet within, as MongoDB has it). */
static bool check_facet(const odm_models_t *models, const json_t *value, const json_t *params,
                        odm_pointer_t *ptr, int depth, odm_error_t *err)
{
    if (!json_is_object(value) || json_object_size(value) == 0)
        return fail_at(err, ptr, "%s must be a non-empty object of pipelines", "$facet");
    const char *key;
    const json_t *sub;
    json_object_foreach((json_t *)value, key, sub)
    {
        size_t mark = odm_pointer_push(ptr, key, strlen(key));
        size_t i;
        const json_t *stage;
        json_array_foreach(sub, i, stage)
        {
            if (json_object_get(stage, "$facet") != NULL)
                return fail_at(err, ptr, "'%s' is not allowed within $facet", "$facet");
        }
        if (!check_stages(models, sub, params, ptr, depth + 1, err))
            return false;
        odm_pointer_pop(ptr, mark);
    }
    return true;
}

/* Whether any field of the tree is writeOnly. */
static bool has_write_only(const odm_field_t *field)
{
    if (field->write_only)
        return true;
    for (size_t i = 0; i < field->n_children; i++)
        if (has_write_only(&field->children[i]))
            return true;
    return field->items != NULL && has_write_only(field->items);
}

/* The model whose collection is `collection`, or NULL. */
static const odm_model_t *model_of_collection(const odm_models_t *models, const char *collection)
{
    for (size_t i = 0; models != NULL && i < models->n; i++)
        if (strcmp(models->items[i]->collection, collection) == 0)
            return models->items[i];
    return NULL;
}

/* $lookup: "from" a modelled collection whose rules hold without odmd (no owner, no soft
 * delete, nothing writeOnly: a joined document is shown as stored); its pipeline checked. */
static bool check_lookup(const odm_models_t *models, const json_t *value, const json_t *params,
                         odm_pointer_t *ptr, int depth, odm_error_t *err)
{
    const json_t *from = json_object_get(value, "from");
    if (!json_is_object(value) || !json_is_string(from))
        return fail_at(err, ptr, "%s needs \"from\": the collection of a model", "$lookup");
    size_t mark = odm_pointer_push(ptr, "from", 4);
    const odm_model_t *target = model_of_collection(models, json_string_value(from));
    if (target == NULL)
        return fail_at(err, ptr, "'%s' is not the collection of a model", json_string_value(from));
    if (target->owner != NULL || target->deleted_at != NULL)
        return fail_at(err, ptr,
                       "$lookup into '%s' is refused: its x-owner or x-softDelete would not "
                       "apply to joined documents",
                       json_string_value(from));
    if (target->schema != NULL && has_write_only(&target->root))
        return fail_at(err, ptr,
                       "$lookup into '%s' is refused: joined documents would show its "
                       "writeOnly fields",
                       json_string_value(from));
    odm_pointer_pop(ptr, mark);
    const json_t *sub = json_object_get(value, "pipeline");
    if (sub == NULL)
        return true;
    mark = odm_pointer_push(ptr, "pipeline", 8);
    if (!check_stages(models, sub, params, ptr, depth + 1, err))
        return false;
    odm_pointer_pop(ptr, mark);
    return true;
}

bool odm_model_check_pipeline(const odm_models_t *models, const json_t *pipeline,
                              const json_t *params, odm_error_t *err)
{
    odm_pointer_t ptr;
    odm_pointer_init(&ptr);
    return check_stages(models, pipeline, params, &ptr, 0, err);
}

/* ---- the keyword's shape (model_keywords.c's row) ---- */

static bool name_ok(const char *s, bool param)
{
    size_t n = strlen(s);
    if (n == 0 || n > NAME_MAX_LEN || (param && s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || (!param && c == '-');
        if (!ok)
            return false;
    }
    return true;
}

static bool shape_fail(odm_error_t *err, const char *fmt, const char *arg)
{
    odm_error_set(err, ODM_ERR_CONFIG, fmt, arg);
    return false;
}

static bool check_params_shape(const json_t *params, odm_pointer_t *ptr, odm_error_t *err)
{
    if (!json_is_object(params) || json_object_size(params) > ODM_AGG_MAX_PARAMS)
        return shape_fail(err, "'%s' must be an object of at most 32 parameter schemas", "params");
    const char *p;
    const json_t *schema;
    json_object_foreach((json_t *)params, p, schema)
    {
        size_t mark = odm_pointer_push(ptr, p, strlen(p));
        if (!name_ok(p, true))
            return shape_fail(err, "parameter '%s' must match [A-Za-z_][A-Za-z0-9_]{0,63}", p);
        if (!json_is_object(schema))
            return shape_fail(err, "the schema of '%s' must be an object", p);
        const char *type = json_string_value(json_object_get(schema, "type"));
        if (json_object_get(schema, "type") != NULL &&
            (type == NULL || !(strcmp(type, "string") == 0 || strcmp(type, "integer") == 0 ||
                               strcmp(type, "number") == 0 || strcmp(type, "boolean") == 0)))
            return shape_fail(err, "'%s' must have one type: string, integer, number or boolean",
                              p);
        odm_pointer_pop(ptr, mark);
    }
    return true;
}

static bool check_one_shape(const char *name, const json_t *agg, odm_pointer_t *ptr,
                            odm_error_t *err)
{
    if (!name_ok(name, false))
        return shape_fail(err, "aggregation name '%s' must match [A-Za-z0-9_-]{1,64}", name);
    if (!json_is_object(agg) || !json_is_array(json_object_get(agg, "pipeline")))
        return shape_fail(err, "'%s' must be {\"pipeline\": [...], \"params\": {...}}", name);
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)agg, key, v)
    {
        size_t mark = odm_pointer_push(ptr, key, strlen(key));
        if (strcmp(key, "params") == 0) {
            if (!check_params_shape(v, ptr, err))
                return false;
        } else if (strcmp(key, "description") == 0) {
            if (!json_is_string(v))
                return shape_fail(err, "'%s' must be a string", key);
        } else if (strcmp(key, "pipeline") != 0) {
            return shape_fail(err, "unknown member '%s' (pipeline, params, description)", key);
        }
        odm_pointer_pop(ptr, mark);
    }
    return true;
}

bool model__check_aggregations_shape(const json_t *value, odm_pointer_t *ptr, odm_error_t *err)
{
    if (!json_is_object(value))
        return shape_fail(err, "'%s' must be an object of named pipelines", "x-aggregations");
    const char *name;
    const json_t *agg;
    json_object_foreach((json_t *)value, name, agg)
    {
        size_t mark = odm_pointer_push(ptr, name, strlen(name));
        if (!check_one_shape(name, agg, ptr, err))
            return false;
        odm_pointer_pop(ptr, mark);
    }
    return true;
}

/* ---- building the model's aggregations once every model is loaded ---- */

static bool is_object_id_pattern(const json_t *schema)
{
    static const char *const patterns[] = OBJECT_ID_PATTERNS;
    const char *p = json_string_value(json_object_get(schema, "pattern"));
    return p != NULL && in_list(patterns, p);
}

static void type_param(odm_agg_param_t *p)
{
    const char *type = json_string_value(json_object_get(p->schema, "type"));
    const char *format = json_string_value(json_object_get(p->schema, "format"));
    const char *x_bson = json_string_value(json_object_get(p->schema, "x-bson"));
    p->type = type != NULL ? type : "string";
    p->bson = ODM_BSON_AUTO;
    if (x_bson != NULL)
        p->bson = model__bson_of(x_bson);
    else if (format != NULL && strcmp(format, "date-time") == 0)
        p->bson = ODM_BSON_DATE;
    else if (is_object_id_pattern(p->schema))
        p->bson = ODM_BSON_OBJECTID;
    p->default_value = json_object_get(p->schema, "default");
}

static bool add_params(odm_model_t *model, odm_aggregation_t *a, const json_t *params,
                       odm_schema_registry_t *registry, const char *uri, odm_error_t *err)
{
    a->n_params = 0;
    a->params = calloc(json_object_size(params) + 1, sizeof *a->params);
    if (a->params == NULL)
        return odm_error_set(err, ODM_ERR_CONFIG, "%s: out of memory", model->path);
    const char *p;
    const json_t *schema;
    json_object_foreach((json_t *)params, p, schema)
    {
        odm_agg_param_t *param = &a->params[a->n_params++];
        param->name = p;
        param->schema = schema;
        type_param(param);
        char at[MODEL__MAX_URI + 256];
        int n = snprintf(at, sizeof at, "%s#/x-aggregations/%s/params/%s", uri, a->name, p);
        if (n < 0 || (size_t)n >= sizeof at)
            return odm_error_set(err, ODM_ERR_CONFIG, "%s: URI too long", model->path);
        param->compiled = odm_schema_compile(registry, at, ODM_FORMAT_ASSERT, err);
        if (param->compiled == NULL) {
            odm_error_prefix(err, "%s: /x-aggregations/%s/params/%s", model->path, a->name, p);
            err->kind = ODM_ERR_CONFIG;
            return false;
        }
    }
    return true;
}

bool model__add_aggregations(const odm_models_t *models, odm_model_t *model,
                             odm_schema_registry_t *registry, const char *uri, odm_error_t *err)
{
    const json_t *aggs = json_object_get(model->doc, "x-aggregations");
    if (aggs == NULL)
        return true;
    model->aggregations = calloc(json_object_size(aggs) + 1, sizeof *model->aggregations);
    if (model->aggregations == NULL)
        return odm_error_set(err, ODM_ERR_CONFIG, "%s: out of memory", model->path);
    const char *name;
    const json_t *agg;
    json_object_foreach((json_t *)aggs, name, agg)
    {
        odm_aggregation_t *a = &model->aggregations[model->n_aggregations++];
        a->name = name;
        a->pipeline = json_object_get(agg, "pipeline");
        a->description = json_string_value(json_object_get(agg, "description"));
        json_t *params = json_incref(json_object_get(agg, "params"));
        if (params == NULL && (params = json_object()) == NULL) /* none declared */
            return odm_error_set(err, ODM_ERR_CONFIG, "%s: out of memory", model->path);
        odm_pointer_t ptr;
        odm_pointer_init(&ptr);
        odm_pointer_push(&ptr, "x-aggregations", strlen("x-aggregations"));
        odm_pointer_push(&ptr, name, strlen(name));
        odm_pointer_push(&ptr, "pipeline", strlen("pipeline"));
        bool ok = check_stages(models, a->pipeline, params, &ptr, 0, err);
        if (!ok) {
            odm_error_prefix(err, "%s", model->path);
            err->kind = ODM_ERR_CONFIG;
        }
        ok = ok && add_params(model, a, params, registry, uri, err);
        json_decref(params);
        if (!ok)
            return false;
    }
    return true;
}

void model__aggregations_release(odm_model_t *model)
{
    for (size_t i = 0; i < model->n_aggregations; i++) {
        odm_aggregation_t *a = &model->aggregations[i];
        for (size_t j = 0; j < a->n_params; j++)
            odm_schema_free(a->params[j].compiled);
        free(a->params);
    }
    free(model->aggregations);
    model->aggregations = NULL;
    model->n_aggregations = 0;
}

const odm_aggregation_t *odm_model_aggregation(const odm_model_t *model, const char *name,
                                               size_t len)
{
    for (size_t i = 0; i < model->n_aggregations; i++) {
        const char *n = model->aggregations[i].name;
        if (strlen(n) == len && memcmp(n, name, len) == 0)
            return &model->aggregations[i];
    }
    return NULL;
}
