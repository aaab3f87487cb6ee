/* Model inference: a tree of what sampled documents hold at each place (BSON types, keys,
 * formats every string matches), turned into a draft 2020-12 model that accepts every one of
 * them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "odmd/format.h"
#include "odmd/survey.h"

#define INFER_DEPTH_MAX 32 /* deeper values are accepted as they are, untyped */
#define INFER_KEYS_MAX 256 /* distinct keys listed at one place; more: documents disagree */
#define ROOT_ID "_id"

typedef enum {
    KIND_STRING,
    KIND_INT32,
    KIND_INT64,
    KIND_DOUBLE,
    KIND_BOOL,
    KIND_NULL,
    KIND_OID,
    KIND_DATE,
    KIND_OBJECT,
    KIND_ARRAY,
    KIND_OTHER,
    KIND__COUNT
} kind_t;

static const struct {
    bson_type_t bson;
    kind_t kind;
} kind_table[] = {
    {BSON_TYPE_UTF8, KIND_STRING},     {BSON_TYPE_INT32, KIND_INT32},
    {BSON_TYPE_INT64, KIND_INT64},     {BSON_TYPE_DOUBLE, KIND_DOUBLE},
    {BSON_TYPE_BOOL, KIND_BOOL},       {BSON_TYPE_NULL, KIND_NULL},
    {BSON_TYPE_OID, KIND_OID},         {BSON_TYPE_DATE_TIME, KIND_DATE},
    {BSON_TYPE_DOCUMENT, KIND_OBJECT}, {BSON_TYPE_ARRAY, KIND_ARRAY},
};

/* The JSON type each kind is written as (NULL: none fits). */
static const char *const json_type_of[KIND__COUNT] = {
    [KIND_STRING] = "string", [KIND_INT32] = "integer", [KIND_INT64] = "integer",
    [KIND_DOUBLE] = "number", [KIND_BOOL] = "boolean",  [KIND_NULL] = "null",
    [KIND_OID] = "string",    [KIND_DATE] = "string",   [KIND_OBJECT] = "object",
    [KIND_ARRAY] = "array",   [KIND_OTHER] = NULL,
};

/* The formats a string field is given when every one of its values matches (first wins).
 * date-time is not among them: odmd stores a date-time field as a BSON date, and the
 * collection holds these values as strings. */
static const char *const formats[] = {"uuid", "email", "uri"};
#define N_FORMATS (sizeof formats / sizeof *formats)

typedef struct node {
    char *name;
    size_t seen;               /* values seen at this place */
    size_t kinds[KIND__COUNT]; /* of which, per kind */
    unsigned formats;          /* bit i: every string so far matched formats[i] */
    struct node **children;    /* keys of the objects seen here, first seen first */
    size_t n_children, cap;
    bool too_many_keys; /* keys past INFER_KEYS_MAX were not listed */
    struct node *items; /* the elements of the arrays seen here */
} node_t;

struct odm_survey_infer {
    node_t root;
    size_t documents;
};

static void node_release(node_t *n)
{
    for (size_t i = 0; i < n->n_children; i++) {
        node_release(n->children[i]);
        free(n->children[i]);
    }
    free(n->children);
    free(n->name);
    if (n->items != NULL) {
        node_release(n->items);
        free(n->items);
    }
}

static node_t *node_new(const char *name)
{
    node_t *n = calloc(1, sizeof *n);
    if (n == NULL)
        return NULL;
    n->formats = (1u << N_FORMATS) - 1;
    n->name = strdup(name);
    if (n->name == NULL) {
        free(n);
        return NULL;
    }
    return n;
}

odm_survey_infer_t *odm_survey_infer_new(void)
{
    odm_survey_infer_t *inf = calloc(1, sizeof *inf);
    if (inf != NULL)
        inf->root.formats = 0;
    return inf;
}

void odm_survey_infer_free(odm_survey_infer_t *inf)
{
    if (inf == NULL)
        return;
    node_release(&inf->root);
    free(inf);
}

size_t odm_survey_infer_count(const odm_survey_infer_t *inf)
{
    return inf->documents;
}

static kind_t kind_of(bson_type_t type)
{
    for (size_t i = 0; i < sizeof kind_table / sizeof *kind_table; i++)
        if (kind_table[i].bson == type)
            return kind_table[i].kind;
    return KIND_OTHER;
}

/* The child called `key`, made on first sight; NULL when there are too many (then marked) or
 * out of memory (*oom). */
static node_t *child(node_t *n, const char *key, bool *oom)
{
    for (size_t i = 0; i < n->n_children; i++)
        if (strcmp(n->children[i]->name, key) == 0)
            return n->children[i];
    if (n->n_children == INFER_KEYS_MAX) {
        n->too_many_keys = true;
        return NULL;
    }
    if (n->n_children == n->cap) {
        size_t cap = n->cap ? n->cap * 2 : 8;
        node_t **children = realloc(n->children, cap * sizeof *children);
        if (children == NULL)
            return *oom = true, NULL;
        n->children = children;
        n->cap = cap;
    }
    node_t *c = node_new(key);
    if (c == NULL)
        return *oom = true, NULL;
    n->children[n->n_children++] = c;
    return c;
}

static bool add_value(node_t *n, bson_iter_t *it, int depth);

/* Adds the members (of a document) or elements (of an array) under `it`. */
static bool add_container(node_t *n, bson_iter_t *it, bool array, int depth)
{
    bson_iter_t sub;
    if (!bson_iter_recurse(it, &sub))
        return false;
    bool oom = false;
    if (array && n->items == NULL && (n->items = node_new("[]")) == NULL)
        return false;
    while (bson_iter_next(&sub)) {
        node_t *c = array ? n->items : child(n, bson_iter_key(&sub), &oom);
        if (oom)
            return false;
        if (c != NULL && !add_value(c, &sub, depth + 1))
            return false;
    }
    return true;
}

static void check_formats(node_t *n, bson_iter_t *it)
{
    uint32_t len = 0;
    const char *s = bson_iter_utf8(it, &len);
    for (size_t f = 0; f < N_FORMATS; f++)
        if ((n->formats & (1u << f)) && !odm_format_check(formats[f], s, len, NULL))
            n->formats &= ~(1u << f);
}

static bool add_value(node_t *n, bson_iter_t *it, int depth)
{
    kind_t kind = depth > INFER_DEPTH_MAX ? KIND_OTHER : kind_of(bson_iter_type(it));
    n->seen++;
    n->kinds[kind]++;
    if (kind == KIND_STRING)
        check_formats(n, it);
    if (kind == KIND_OBJECT || kind == KIND_ARRAY)
        return add_container(n, it, kind == KIND_ARRAY, depth);
    return true;
}

bool odm_survey_infer_add(odm_survey_infer_t *inf, const bson_t *doc, odm_error_t *err)
{
    bson_iter_t it;
    bool ok = bson_iter_init(&it, doc);
    inf->root.seen++;
    inf->root.kinds[KIND_OBJECT]++;
    bool oom = false;
    while (ok && bson_iter_next(&it)) {
        if (strcmp(bson_iter_key(&it), ODM_VERSION_FIELD) == 0)
            continue; /* odmd's own hidden field */
        node_t *c = child(&inf->root, bson_iter_key(&it), &oom);
        ok = !oom && (c == NULL || add_value(c, &it, 1));
    }
    if (!ok)
        return odm_error_set(err, ODM_ERR_INTERNAL, "document %zu: out of memory or malformed",
                             inf->documents + 1);
    inf->documents++;
    return true;
}

/* ---- the model ---- */

static json_t *schema_of(const node_t *n);

/* "type": one name or an array of the JSON types of the kinds seen (integer folded into
 * number when both occur). */
static json_t *type_of(const node_t *n)
{
    json_t *types = json_array();
    bool number = n->kinds[KIND_DOUBLE] > 0;
    for (int k = 0; k < KIND__COUNT; k++) {
        const char *t = json_type_of[k];
        if (n->kinds[k] == 0 || t == NULL || (number && strcmp(t, "integer") == 0))
            continue;
        bool dup = false;
        for (size_t i = 0; i < json_array_size(types); i++)
            dup |= strcmp(json_string_value(json_array_get(types, i)), t) == 0;
        if (!dup)
            json_array_append_new(types, json_string(t));
    }
    if (json_array_size(types) == 1) {
        json_t *one = json_incref(json_array_get(types, 0));
        json_decref(types);
        return one;
    }
    return types;
}

/* The BSON type odmd must keep: ObjectId or date when those are the field's only strings, a
 * 64-bit integer when any integer was one, a double when every number was. */
static void add_bson_type(json_t *s, const node_t *n)
{
    const size_t *k = n->kinds;
    bool plain = k[KIND_STRING] > 0;
    if (k[KIND_OID] > 0 && !plain && k[KIND_DATE] == 0)
        json_object_set_new(s, "x-bson", json_string("objectId"));
    else if (k[KIND_DATE] > 0 && !plain && k[KIND_OID] == 0)
        json_object_set_new(s, "format", json_string("date-time"));
    if (k[KIND_INT64] > 0 && k[KIND_DOUBLE] == 0)
        json_object_set_new(s, "x-bson", json_string("long"));
    else if (k[KIND_DOUBLE] > 0 && k[KIND_INT32] + k[KIND_INT64] == 0)
        json_object_set_new(s, "x-bson", json_string("double"));
    if (plain && k[KIND_OID] + k[KIND_DATE] == 0)
        for (size_t f = 0; f < N_FORMATS; f++)
            if (n->formats & (1u << f)) {
                json_object_set_new(s, "format", json_string(formats[f]));
                break;
            }
}

/* Documents disagree on an object's keys when more keys were seen than are listed, or when,
 * among at least four keys, most were seen in one object only (keys that are data, as in a
 * map from dates to counts). Then unknown keys stay allowed. */
static bool keys_disagree(const node_t *n)
{
    if (n->too_many_keys)
        return true;
    size_t once = 0;
    for (size_t i = 0; i < n->n_children; i++)
        once += n->children[i]->seen == 1;
    return n->kinds[KIND_OBJECT] > 1 && n->n_children >= 4 && 2 * once > n->n_children;
}

static void add_object(json_t *s, const node_t *n)
{
    json_t *props = json_object(), *required = json_array();
    for (size_t i = 0; i < n->n_children; i++) {
        const node_t *c = n->children[i];
        json_object_set_new(props, c->name, schema_of(c));
        if (c->seen == n->kinds[KIND_OBJECT] && (n->name != NULL || strcmp(c->name, ROOT_ID) != 0))
            json_array_append_new(required, json_string(c->name));
    }
    json_object_set_new(s, "properties", props);
    if (json_array_size(required) > 0)
        json_object_set_new(s, "required", required);
    else
        json_decref(required);
    if (!keys_disagree(n))
        json_object_set_new(s, "additionalProperties", json_false());
}

static json_t *schema_of(const node_t *n)
{
    json_t *s = json_object();
    if (n->kinds[KIND_OTHER] > 0) { /* a BSON type without a JSON form, or too deep */
        json_object_set_new(s, "description",
                            json_string("values of a BSON type odmd does not map, or nested "
                                        "too deep: any value is accepted"));
        return s;
    }
    json_object_set_new(s, "type", type_of(n));
    add_bson_type(s, n);
    if (n->kinds[KIND_OBJECT] > 0)
        add_object(s, n);
    if (n->items != NULL && n->items->seen > 0)
        json_object_set_new(s, "items", schema_of(n->items));
    return s;
}

/* The _id: an ObjectId is odmd's generated one; a string or an integer is client-supplied. */
static json_t *id_schema(const node_t *id, odm_error_t *err)
{
    const size_t *k = id->kinds;
    if (k[KIND_OID] == id->seen)
        return json_pack("{s:s, s:s, s:b}", "type", "string", "x-bson", "objectId", "readOnly", 1);
    if (k[KIND_STRING] == id->seen)
        return json_pack("{s:s}", "type", "string");
    if (k[KIND_INT32] + k[KIND_INT64] == id->seen)
        return json_pack("{s:s}", "type", "integer");
    odm_error_set(err, ODM_ERR_CONFIG,
                  "the _id values are of several types or of one no URL can name (an _id must "
                  "be all ObjectIds, all strings or all integers)");
    return NULL;
}

json_t *odm_survey_infer_model(const odm_survey_infer_t *inf, const char *collection,
                               odm_error_t *err)
{
    if (inf->documents == 0) {
        odm_error_set(err, ODM_ERR_CONFIG, "no documents in '%s'", collection);
        return NULL;
    }
    const node_t *root = &inf->root;
    const node_t *id = NULL;
    for (size_t i = 0; i < root->n_children; i++)
        if (strcmp(root->children[i]->name, ROOT_ID) == 0)
            id = root->children[i];
    json_t *id_s = id ? id_schema(id, err) : NULL;
    if (id != NULL && id_s == NULL)
        return NULL;
    json_t *model =
        json_pack("{s:s, s:s, s:s}", "$schema", "https://json-schema.org/draft/2020-12/schema",
                  "x-collection", collection, "type", "object");
    char what[160];
    snprintf(what, sizeof what, "inferred from %zu documents of '%s'", inf->documents, collection);
    json_object_set_new(model, "description", json_string(what));
    add_object(model, root);
    if (id_s != NULL)
        json_object_set_new(json_object_get(model, "properties"), ROOT_ID, id_s);
    return model;
}
