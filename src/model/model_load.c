/* Loading schemas/NAME.json: file names, parsing, the implicit _id, compilation, x-ref checks. */
#include "model/model_int.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MODELS 1024

static bool valid_name(const char *name, size_t n)
{
    if (n == 0 || name[0] < 'a' || name[0] > 'z')
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* The model names in `dir`, sorted. Returns false on a bad .json name or an unreadable dir. */
static bool list_names(const char *dir, char ***out, size_t *count, odm_error_t *err)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return odm_error_set(err, ODM_ERR_CONFIG, "%s: cannot open the model directory", dir);
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        if (!valid_name(e->d_name, len - 5)) {
            odm_error_set(err, ODM_ERR_CONFIG,
                          "%s/%s: model file names must match [a-z][a-z0-9_-]*.json", dir,
                          e->d_name);
            goto fail_names;
        }
        char **grown = n < MAX_MODELS ? realloc(names, (n + 1) * sizeof *names) : NULL;
        if (grown == NULL) {
            odm_error_set(err, ODM_ERR_CONFIG, "%s: too many model files", dir);
            goto fail_names;
        }
        names = grown;
        if ((names[n] = strndup(e->d_name, len - 5)) == NULL) {
            odm_error_set(err, ODM_ERR_CONFIG, "%s: out of memory", dir);
            goto fail_names;
        }
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof *names, compare_names);
    *out = names;
    *count = n;
    return true;

fail_names:
    free_names(names, n);
    closedir(d);
    return false;
}

static char *join(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
    char *s = malloc(n);
    if (s != NULL)
        snprintf(s, n, "%s%s%s", a, b, c);
    return s;
}

/* file:// URI of DIR/NAME.json (absolute). */
static bool file_uri(const char *abs_dir, const char *name, char *out, size_t size)
{
    char path[PATH_MAX + 300];
    int n = snprintf(path, sizeof path, "%s/%s.json", abs_dir, name);
    return n > 0 && (size_t)n < sizeof path && odm_schema_file_uri(path, out, size);
}

static void model_free(odm_model_t *model)
{
    if (model == NULL)
        return;
    odm_schema_free(model->schema);
    model__field_release(&model->root);
    for (size_t i = 0; i < model->n_indexes; i++) {
        free(model->indexes[i].name);
        json_decref(model->indexes[i].keys);
    }
    free(model->indexes);
    json_decref(model->doc);
    free(model->name);
    free(model->collection);
    free(model->path);
    free(model->created_at);
    free(model->updated_at);
    model__aggregations_release(model);
    free(model);
}

/* Declares _id as an ObjectId odmd generates when the model does not declare it. */
static bool add_implicit_id(odm_model_t *model, odm_error_t *err)
{
    json_t *props = json_object_get(model->doc, "properties");
    if (props == NULL) {
        props = json_object();
        if (props == NULL || json_object_set_new(model->doc, "properties", props) != 0)
            return odm_error_set(err, ODM_ERR_CONFIG, "%s: out of memory", model->path);
    }
    if (!json_is_object(props))
        return odm_error_set(err, ODM_ERR_CONFIG, "%s: /properties: must be an object",
                             model->path);
    if (json_object_get(props, "_id") != NULL)
        return true;
    json_t *id =
        json_pack("{s:s, s:s, s:b}", "type", "string", "x-bson", "objectId", "readOnly", 1);
    if (id == NULL || json_object_set_new(props, "_id", id) != 0)
        return odm_error_set(err, ODM_ERR_CONFIG, "%s: out of memory", model->path);
    return true;
}

/* A schema error about `path` becomes a startup configuration error "FILE: POINTER: reason". */
static void as_config_error(odm_error_t *err, const char *path)
{
    odm_error_prefix(err, "%s", path);
    if (err != NULL)
        err->kind = ODM_ERR_CONFIG;
}

/* Reads, checks and registers DIR/NAME.json. Returns: a new model (not compiled), or NULL. */
static odm_model_t *model_read(odm_models_t *models, const char *dir, const char *abs_dir,
                               const char *name, json_t *refs, char *uri, size_t uri_size,
                               odm_error_t *err)
{
    odm_model_t *model = calloc(1, sizeof *model);
    if (model == NULL || (model->name = strdup(name)) == NULL ||
        (model->path = join(dir, "/", name)) == NULL) {
        odm_error_set(err, ODM_ERR_CONFIG, "%s: out of memory", name);
        goto fail_model;
    }
    char *path = join(model->path, ".json", "");
    if (path == NULL) {
        odm_error_set(err, ODM_ERR_CONFIG, "%s: out of memory", name);
        goto fail_model;
    }
    free(model->path);
    model->path = path;
    json_error_t jerr;
    model->doc = json_load_file(model->path, JSON_REJECT_DUPLICATES, &jerr);
    if (model->doc == NULL) {
        odm_error_set(err, ODM_ERR_CONFIG, "%s:%d:%d: %s", model->path, jerr.line, jerr.column,
                      jerr.text);
        goto fail_model;
    }
    if (!json_is_object(model->doc)) {
        odm_error_set(err, ODM_ERR_CONFIG, "%s: a model must be a schema object", model->path);
        goto fail_model;
    }
    model__keywords_t x;
    if (!model__check_keywords(model->doc, model->path, refs, &x, err) ||
        !add_implicit_id(model, err) || !model__add_timestamps(model, x.timestamps, err) ||
        !model__add_soft_delete(model, x.soft_delete, err) ||
        !model__add_owner(model, x.owner, err))
        goto fail_model;
    model->require_if_match = x.require_if_match;
    model->collection = strdup(x.collection != NULL ? x.collection : name);
    if (model->collection == NULL) {
        odm_error_set(err, ODM_ERR_CONFIG, "%s: out of memory", model->path);
        goto fail_model;
    }
    const json_t *id = json_object_get(model->doc, "$id");
    if (json_is_string(id) && strchr(json_string_value(id), ':') != NULL)
        snprintf(uri, uri_size, "%s", json_string_value(id));
    else if (!file_uri(abs_dir, name, uri, uri_size)) {
        odm_error_set(err, ODM_ERR_CONFIG, "%s: path too long", model->path);
        goto fail_model;
    }
    if (!odm_schema_registry_add(models->registry, uri, model->doc, model->path, err)) {
        as_config_error(err, model->path);
        goto fail_model;
    }
    return model;

fail_model:
    model_free(model);
    return NULL;
}

static bool check_refs(const odm_models_t *models, const odm_model_t *model, const json_t *refs,
                       odm_error_t *err)
{
    size_t i;
    const json_t *ref;
    json_array_foreach(refs, i, ref)
    {
        const char *target = json_string_value(json_object_get(ref, "model"));
        if (odm_models_find(models, target, strlen(target)) == NULL)
            return odm_error_set(err, ODM_ERR_CONFIG, "%s: %s: unknown model '%s'", model->path,
                                 json_string_value(json_object_get(ref, "pointer")), target);
    }
    return true;
}

static bool model_compile(odm_models_t *models, odm_model_t *model, const char *uri,
                          odm_error_t *err)
{
    model->schema = odm_schema_compile(models->registry, uri, ODM_FORMAT_ASSERT, err);
    if (model->schema == NULL) {
        as_config_error(err, model->path);
        return false;
    }
    return model__build(model, err) && model__check_id(model, models->registry, uri, err) &&
           model__soft_delete_indexes(model, err);
}

/* Compiles and builds every model once all are registered, then checks the x-refs. */
static bool models_finish(odm_models_t *models, json_t *uris, json_t *refs, odm_error_t *err)
{
    for (size_t i = 0; i < models->n; i++) {
        const char *uri = json_string_value(json_array_get(uris, i));
        if (!model_compile(models, models->items[i], uri, err))
            return false;
    }
    for (size_t i = 0; i < models->n; i++)
        if (!check_refs(models, models->items[i], json_array_get(refs, i), err))
            return false;
    for (size_t i = 0; i < models->n; i++) {
        const char *uri = json_string_value(json_array_get(uris, i));
        if (!model__add_aggregations(models, models->items[i], models->registry, uri, err))
            return false;
    }
    return true;
}

/* Reads and registers every model; compiled later, once all are registered, since models may
 * $ref each other. Fills `uris` and `refs` (one entry per model). */
static bool models_read(odm_models_t *models, const char *dir, char **names, size_t n, json_t *uris,
                        json_t *refs, odm_error_t *err)
{
    char abs_dir[PATH_MAX], uri[PATH_MAX + 1024];
    if (realpath(dir, abs_dir) == NULL)
        return odm_error_set(err, ODM_ERR_CONFIG, "%s: cannot resolve the model directory", dir);
    for (size_t i = 0; i < n; i++) {
        json_t *model_refs = json_array();
        if (model_refs == NULL || json_array_append_new(refs, model_refs) != 0)
            return odm_error_set(err, ODM_ERR_CONFIG, "%s: out of memory", dir);
        odm_model_t *model =
            model_read(models, dir, abs_dir, names[i], model_refs, uri, sizeof uri, err);
        if (model == NULL)
            return false;
        models->items[models->n++] = model;
        if (json_array_append_new(uris, json_string(uri)) != 0)
            return odm_error_set(err, ODM_ERR_CONFIG, "%s: out of memory", dir);
    }
    return true;
}

odm_models_t *odm_models_load(const char *dir, odm_error_t *err)
{
    char **names = NULL;
    size_t n = 0;
    json_t *uris = json_array(), *refs = json_array();
    odm_models_t *models = calloc(1, sizeof *models);
    if (models == NULL || uris == NULL || refs == NULL) {
        odm_error_set(err, ODM_ERR_CONFIG, "%s: out of memory", dir);
        goto fail_models;
    }
    if (!list_names(dir, &names, &n, err))
        goto fail_models;
    if (n == 0) {
        odm_error_set(err, ODM_ERR_CONFIG, "%s: no model files (NAME.json)", dir);
        goto fail_models;
    }
    models->items = calloc(n, sizeof *models->items);
    models->registry = odm_schema_registry_new();
    if (models->items == NULL || models->registry == NULL) {
        odm_error_set(err, ODM_ERR_CONFIG, "%s: out of memory", dir);
        goto fail_models;
    }
    if (!models_read(models, dir, names, n, uris, refs, err) ||
        !models_finish(models, uris, refs, err))
        goto fail_models;
    free_names(names, n);
    json_decref(uris);
    json_decref(refs);
    return models;

fail_models:
    free_names(names, n);
    json_decref(uris);
    json_decref(refs);
    odm_models_free(models);
    return NULL;
}

void odm_models_free(odm_models_t *models)
{
    if (models == NULL)
        return;
    for (size_t i = 0; i < models->n; i++)
        model_free(models->items[i]);
    free(models->items);
    odm_schema_registry_free(models->registry);
    free(models);
}

const odm_model_t *odm_models_find(const odm_models_t *models, const char *name, size_t len)
{
    size_t lo = 0, hi = models->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *m = models->items[mid]->name;
        size_t mlen = strlen(m);
        int c = memcmp(m, name, mlen < len ? mlen : len);
        if (c == 0)
            c = mlen < len ? -1 : mlen > len ? 1 : 0;
        if (c == 0)
            return models->items[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}
