/* The model's property tree: built from the schema (following local $refs and allOf), its
 * indexes, and lookups by name and dotted path. */
#include "model/model_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "odmd/pointer.h"

#define MAX_SET 16 /* schema objects that together describe one field */

/* The schema objects that describe one field: the property's schema, the targets of its local
 * $refs and the members of its allOf, each at most once. */
typedef struct {
    const json_t *items[MAX_SET];
    size_t n;
} schema_set_t;

typedef struct {
    odm_model_t *model;
    odm_error_t *err;
    const schema_set_t *ancestors[MODEL__MAX_FIELD_DEPTH + 1];
    size_t depth;
    char path[MODEL__MAX_PATH]; /* dotted path of the field being built */
} build_t;

/* Resolves a local reference "#/a/b" (JSON Pointer, ~0 ~1 unescaped) in `root`. */
static const json_t *resolve_local(const json_t *root, const char *ref)
{
    if (ref[0] != '#')
        return NULL;
    const json_t *node = root;
    const char *p = ref + 1;
    while (*p == '/' && node != NULL) {
        char seg[256];
        size_t n = 0, raw = strcspn(++p, "/");
        if (!odm_pointer_unescape(p, raw, seg, sizeof seg, &n))
            return NULL;
        p += raw;
        if (json_is_array(node)) {
            char *end;
            unsigned long i = strtoul(seg, &end, 10);
            node = (*end == '\0' && n > 0) ? json_array_get(node, i) : NULL;
        } else {
            node = json_object_get(node, seg);
        }
    }
    return *p == '\0' ? node : NULL;
}

static bool set_has(const schema_set_t *set, const json_t *node)
{
    for (size_t i = 0; i < set->n; i++)
        if (set->items[i] == node)
            return true;
    return false;
}

static void collect(schema_set_t *set, const json_t *root, const json_t *node, int depth)
{
    if (!json_is_object(node) || set_has(set, node) || set->n == MAX_SET || depth > MAX_SET)
        return;
    set->items[set->n++] = node;
    const json_t *ref = json_object_get(node, "$ref");
    if (json_is_string(ref))
        collect(set, root, resolve_local(root, json_string_value(ref)), depth + 1);
    size_t i;
    const json_t *member;
    json_array_foreach(json_object_get(node, "allOf"), i, member)
        collect(set, root, member, depth + 1);
}

static bool is_true(const json_t *node, const char *key)
{
    return json_is_true(json_object_get(node, key));
}

static bool is_type(const json_t *node, const char *type)
{
    const json_t *t = json_object_get(node, "type");
    if (json_is_string(t))
        return strcmp(json_string_value(t), type) == 0;
    size_t i;
    const json_t *each;
    json_array_foreach(t, i, each) if (json_is_string(each) &&
                                       strcmp(json_string_value(each), type) == 0) return true;
    return false;
}

odm_bson_type_t model__bson_of(const char *x_bson)
{
    static const struct {
        const char *name;
        odm_bson_type_t type;
    } table[] = {
        {"objectId", ODM_BSON_OBJECTID},
        {"date", ODM_BSON_DATE},
        {"long", ODM_BSON_INT64},
        {"double", ODM_BSON_DOUBLE},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].name, x_bson) == 0)
            return table[i].type;
    return ODM_BSON_AUTO;
}

static bool add_index(odm_model_t *model, const char *name, json_t *keys, bool unique,
                      odm_error_t *err)
{
    for (size_t i = 0; i < model->n_indexes; i++)
        if (strcmp(model->indexes[i].name, name) == 0) {
            json_decref(keys);
            return odm_error_set(err, ODM_ERR_CONFIG, "%s: duplicate index name '%s'", model->path,
                                 name);
        }
    odm_index_t *grown = NULL;
    char *copy = strdup(name);
    if (model->n_indexes < MODEL__MAX_INDEXES && copy != NULL && keys != NULL)
        grown = realloc(model->indexes, (model->n_indexes + 1) * sizeof *grown);
    if (grown == NULL) {
        free(copy);
        json_decref(keys);
        return odm_error_set(err, ODM_ERR_CONFIG, "%s: cannot add index '%s'", model->path, name);
    }
    model->indexes = grown;
    grown[model->n_indexes++] = (odm_index_t){.name = copy, .keys = keys, .unique = unique};
    return true;
}

/* Scalars of one field: BSON type, flags, default, x-unique. */
static bool read_attributes(build_t *b, odm_field_t *field, const schema_set_t *set)
{
    bool unique = false, date_time = false;
    const char *x_bson = NULL;
    for (size_t i = 0; i < set->n; i++) {
        const json_t *node = set->items[i];
        const json_t *v = json_object_get(node, "x-bson");
        if (json_is_string(v) && x_bson == NULL)
            x_bson = json_string_value(v);
        v = json_object_get(node, "x-ref");
        if (json_is_string(v) && field->ref == NULL)
            field->ref = json_string_value(v);
        v = json_object_get(node, "format");
        date_time |= json_is_string(v) && strcmp(json_string_value(v), "date-time") == 0;
        field->read_only |= is_true(node, "readOnly");
        field->write_only |= is_true(node, "writeOnly");
        unique |= is_true(node, "x-unique");
        if (field->default_value == NULL)
            field->default_value = json_object_get(node, "default");
        v = json_object_get(node, "additionalProperties");
        if (json_is_false(v) || json_is_false(json_object_get(node, "unevaluatedProperties")))
            field->any_children = false;
    }
    field->bson = x_bson ? model__bson_of(x_bson) : date_time ? ODM_BSON_DATE : ODM_BSON_AUTO;
    field->bson_keyword = x_bson ? "x-bson" : date_time ? "format" : NULL;
    if (!unique || b->path[0] == '\0')
        return true;
    char name[MODEL__MAX_PATH + 3];
    snprintf(name, sizeof name, "%s_1", b->path);
    return add_index(b->model, name, json_pack("{s:i}", b->path, 1), true, b->err);
}

static bool build_field(build_t *b, odm_field_t *field, const char *name, const schema_set_t *set);

/* Whether `set` shares a schema object with a field above it (a recursive schema). */
static bool recursive(const build_t *b, const schema_set_t *set)
{
    for (size_t d = 0; d < b->depth; d++)
        for (size_t i = 0; i < set->n; i++)
            if (set_has(b->ancestors[d], set->items[i]))
                return true;
    return false;
}

static bool build_children(build_t *b, odm_field_t *field, const schema_set_t *set)
{
    size_t total = 0;
    for (size_t i = 0; i < set->n; i++)
        total += json_object_size(json_object_get(set->items[i], "properties"));
    if (total == 0)
        return true;
    field->children = calloc(total, sizeof *field->children);
    if (field->children == NULL)
        return odm_error_set(b->err, ODM_ERR_CONFIG, "%s: out of memory", b->model->path);
    for (size_t i = 0; i < set->n; i++) {
        const char *name;
        const json_t *sub;
        json_object_foreach(json_object_get(set->items[i], "properties"), name, sub)
        {
            if (odm_field_child(field, name, strlen(name)) != NULL)
                continue; /* declared by an earlier member: merged below */
            schema_set_t child_set = {.n = 0};
            for (size_t j = i; j < set->n; j++) {
                const json_t *props = json_object_get(set->items[j], "properties");
                collect(&child_set, b->model->doc, json_object_get(props, name), 0);
            }
            odm_field_t *child = &field->children[field->n_children++];
            if (!build_field(b, child, name, &child_set))
                return false;
        }
    }
    return true;
}

static bool build_items(build_t *b, odm_field_t *field, const schema_set_t *set)
{
    schema_set_t item_set = {.n = 0};
    bool array = false;
    for (size_t i = 0; i < set->n; i++) {
        const json_t *items = json_object_get(set->items[i], "items");
        array |= items != NULL || json_object_get(set->items[i], "prefixItems") != NULL ||
                 is_type(set->items[i], "array");
        collect(&item_set, b->model->doc, items, 0);
    }
    if (!array)
        return true;
    field->items = calloc(1, sizeof *field->items);
    if (field->items == NULL)
        return odm_error_set(b->err, ODM_ERR_CONFIG, "%s: out of memory", b->model->path);
    return build_field(b, field->items, "[]", &item_set);
}

static bool build_field(build_t *b, odm_field_t *field, const char *name, const schema_set_t *set)
{
    field->name = strdup(name);
    field->name_len = strlen(name);
    field->any_children = true;
    if (field->name == NULL)
        return odm_error_set(b->err, ODM_ERR_CONFIG, "%s: out of memory", b->model->path);
    size_t path_len = strlen(b->path);
    bool item = strcmp(name, "[]") == 0;
    if (!item && b->depth > 0) {
        int n = snprintf(b->path + path_len, sizeof b->path - path_len, "%s%s", path_len ? "." : "",
                         name);
        if (n < 0 || (size_t)n >= sizeof b->path - path_len)
            return odm_error_set(b->err, ODM_ERR_CONFIG, "%s: property path '%s' too long",
                                 b->model->path, b->path);
    }
    bool ok = read_attributes(b, field, set);
    if (ok && b->depth < MODEL__MAX_FIELD_DEPTH && !recursive(b, set)) {
        b->ancestors[b->depth++] = set;
        ok = build_children(b, field, set) && build_items(b, field, set);
        b->depth--;
    }
    b->path[path_len] = '\0';
    return ok;
}

/* A writeOnly object hides everything under it: its descendants are writeOnly too. */
static void inherit_write_only(odm_field_t *field, bool parent_write_only)
{
    field->write_only |= parent_write_only;
    for (size_t i = 0; i < field->n_children; i++)
        inherit_write_only(&field->children[i], field->write_only);
    if (field->items)
        inherit_write_only(field->items, field->write_only);
}

static void index_name(const json_t *keys, char *out, size_t size)
{
    size_t len = 0;
    const char *field;
    const json_t *dir;
    out[0] = '\0';
    json_object_foreach((json_t *)keys, field, dir)
    {
        int n = snprintf(out + len, size - len, "%s%s_%d", len ? "_" : "", field,
                         (int)json_integer_value(dir));
        if (n < 0 || (size_t)n >= size - len)
            return;
        len += (size_t)n;
    }
}

static bool add_declared_indexes(odm_model_t *model, odm_error_t *err)
{
    size_t i;
    const json_t *index;
    json_array_foreach(json_object_get(model->doc, "x-indexes"), i, index)
    {
        const json_t *keys = json_object_get(index, "keys");
        const char *field;
        const json_t *dir;
        json_object_foreach((json_t *)keys, field, dir)
        {
            if (odm_model_field(model, field, strlen(field)) == NULL)
                return odm_error_set(err, ODM_ERR_CONFIG,
                                     "%s: /x-indexes/%zu/keys: unknown field '%s'", model->path, i,
                                     field);
        }
        char name[MODEL__MAX_PATH];
        const json_t *given = json_object_get(index, "name");
        if (json_is_string(given))
            snprintf(name, sizeof name, "%s", json_string_value(given));
        else
            index_name(keys, name, sizeof name);
        if (!add_index(model, name, json_deep_copy(keys), is_true(index, "unique"), err))
            return false;
    }
    return true;
}

bool model__build(odm_model_t *model, odm_error_t *err)
{
    build_t b = {.model = model, .err = err};
    schema_set_t root = {.n = 0};
    collect(&root, model->doc, model->doc, 0);
    if (!build_field(&b, &model->root, "", &root))
        return false;
    inherit_write_only(&model->root, false);
    const odm_field_t *id = odm_field_child(&model->root, "_id", 3);
    const json_t *id_schema = json_object_get(json_object_get(model->doc, "properties"), "_id");
    if (id == NULL || id->bson == ODM_BSON_OBJECTID)
        model->id_kind = ODM_ID_OBJECTID;
    else if (id->bson == ODM_BSON_INT64 || is_type(id_schema, "integer"))
        model->id_kind = ODM_ID_INT;
    else
        model->id_kind = ODM_ID_STRING;
    return add_declared_indexes(model, err);
}

void model__field_release(odm_field_t *field)
{
    for (size_t i = 0; i < field->n_children; i++)
        model__field_release(&field->children[i]);
    free(field->children);
    if (field->items) {
        model__field_release(field->items);
        free(field->items);
    }
    free(field->name);
}

const odm_field_t *odm_field_child(const odm_field_t *parent, const char *name, size_t len)
{
    if (parent == NULL)
        return NULL;
    for (size_t i = 0; i < parent->n_children; i++) {
        const odm_field_t *child = &parent->children[i];
        if (child->name_len == len && memcmp(child->name, name, len) == 0)
            return child;
    }
    return NULL;
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return n > 0;
}

const odm_field_t *odm_model_field(const odm_model_t *model, const char *dotted, size_t len)
{
    const odm_field_t *field = &model->root;
    size_t start = 0;
    if (len == 0)
        return NULL;
    while (field != NULL && start <= len) {
        const char *seg = dotted + start;
        const char *dot = memchr(seg, '.', len - start);
        size_t n = dot ? (size_t)(dot - seg) : len - start;
        if (n == 0)
            return NULL;
        const odm_field_t *child = odm_field_child(field, seg, n);
        if (child == NULL && field->items != NULL && all_digits(seg, n)) {
            child = field->items; /* "items.0.sku": a position in the array */
        } else if (child == NULL) {
            while (field->items != NULL)
                field = field->items; /* "items.sku": look through the array */
            child = odm_field_child(field, seg, n);
        }
        field = child;
        start += n + 1;
    }
    return field;
}
