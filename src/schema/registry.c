/* The schema registry: documents by URI, the resources ($id) and anchors found in them, and
 * folders mapped to URI prefixes from which referenced documents are loaded on demand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "odmd/text.h"
#include "schema/internal.h"

#define MAX_MAPPINGS 64

typedef struct {
    char *prefix;
    char *dir;
} mapping_t;

/* A growable array of owned pointers. */
typedef struct {
    void **items;
    size_t n, cap;
} list_t;

struct odm_schema_registry {
    schema__map_t by_uri;  /* resource URI (no fragment) -> resource */
    schema__map_t by_root; /* json_t * -> resource whose root it is */
    schema__map_t anchors; /* "uri#name" -> anchor */
    list_t docs;           /* json_t *, one reference each */
    list_t sources;        /* char * */
    list_t resources;      /* schema__resource_t * */
    list_t anchor_list;    /* schema__anchor_t * */
    list_t numbers;        /* odm_schema_numbers_t *: exact texts of the documents' numbers */
    mapping_t maps[MAX_MAPPINGS];
    size_t n_maps;
};

static bool list_push(list_t *l, void *p)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        void **items = realloc(l->items, cap * sizeof(*items));
        if (items == NULL)
            return false;
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n++] = p;
    return true;
}

static void resource_free(schema__resource_t *r)
{
    free(r->uri);
    free(r->doc_ptr);
    free(r->dynamic);
    free(r);
}

static void anchor_free(schema__anchor_t *a)
{
    free(a->name);
    free(a->pointer);
    free(a);
}

void odm_schema_registry_free(odm_schema_registry_t *reg)
{
    if (reg == NULL)
        return;
    schema__map_release(&reg->by_uri);
    schema__map_release(&reg->by_root);
    schema__map_release(&reg->anchors);
    for (size_t i = 0; i < reg->docs.n; i++)
        json_decref(reg->docs.items[i]);
    for (size_t i = 0; i < reg->sources.n; i++)
        free(reg->sources.items[i]);
    for (size_t i = 0; i < reg->resources.n; i++)
        resource_free(reg->resources.items[i]);
    for (size_t i = 0; i < reg->anchor_list.n; i++)
        anchor_free(reg->anchor_list.items[i]);
    free(reg->docs.items);
    free(reg->sources.items);
    free(reg->resources.items);
    free(reg->anchor_list.items);
    for (size_t i = 0; i < reg->numbers.n; i++)
        odm_schema_numbers_free(reg->numbers.items[i]);
    free(reg->numbers.items);
    for (size_t i = 0; i < reg->n_maps; i++) {
        free(reg->maps[i].prefix);
        free(reg->maps[i].dir);
    }
    free(reg);
}

static bool add_builtins(odm_schema_registry_t *reg)
{
    for (size_t i = 0; i < schema__builtin_count; i++) {
        json_error_t jerr;
        json_t *doc = json_loads(schema__builtins[i].json, JSON_REJECT_DUPLICATES, &jerr);
        odm_error_t err;
        bool ok = doc != NULL &&
                  odm_schema_registry_add(reg, schema__builtins[i].uri, doc, "built-in", &err);
        json_decref(doc);
        if (!ok)
            return false;
    }
    return true;
}

odm_schema_registry_t *odm_schema_registry_new(void)
{
    odm_schema_registry_t *reg = calloc(1, sizeof(*reg));
    if (reg == NULL)
        return NULL;
    if (!add_builtins(reg)) {
        odm_schema_registry_free(reg);
        return NULL;
    }
    return reg;
}

/* ---- indexing a document: resources and anchors, committed only when all is well ---- */

typedef struct {
    odm_schema_registry_t *reg;
    const char *source;
    list_t resources; /* new ones, owned until committed */
    list_t anchors;
    schema__map_t pending; /* URIs and anchor keys claimed by this document */
    char ptr[SCHEMA_MAX_URI];
    odm_error_t *err;
} indexer_t;

static bool claim(indexer_t *ix, const char *key, void *what)
{
    size_t n = strlen(key);
    if (schema__map_get(&ix->reg->by_uri, key, n) != NULL ||
        schema__map_get(&ix->reg->anchors, key, n) != NULL ||
        schema__map_get(&ix->pending, key, n) != NULL)
        return odm_error_set(ix->err, ODM_ERR_SCHEMA, "%s: uri '%s' is already registered",
                             ix->ptr[0] ? ix->ptr : "/", key);
    if (!schema__map_put(&ix->pending, key, n, what))
        return odm_error_set(ix->err, ODM_ERR_INTERNAL, "out of memory");
    return true;
}

static schema__resource_t *new_resource(indexer_t *ix, const char *uri, json_t *root,
                                        schema__resource_t *parent)
{
    schema__resource_t *r = calloc(1, sizeof(*r));
    if (r == NULL || !list_push(&ix->resources, r)) {
        free(r);
        odm_error_set(ix->err, ODM_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    r->uri = strndup(uri, schema__uri_base_len(uri));
    r->doc_ptr = strdup(ix->ptr);
    r->root = root;
    r->parent = parent;
    r->source = ix->source;
    if (r->uri == NULL || r->doc_ptr == NULL) {
        odm_error_set(ix->err, ODM_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    return claim(ix, r->uri, r) ? r : NULL;
}

static bool add_anchor(indexer_t *ix, schema__resource_t *res, json_t *node, const char *name,
                       bool dynamic)
{
    char key[SCHEMA_MAX_URI];
    if ((size_t)snprintf(key, sizeof(key), "%s#%s", res->uri, name) >= sizeof(key))
        return odm_error_set(ix->err, ODM_ERR_SCHEMA, "%s: anchor too long", ix->ptr);
    schema__anchor_t *a = calloc(1, sizeof(*a));
    if (a == NULL || !list_push(&ix->anchors, a)) {
        free(a);
        return odm_error_set(ix->err, ODM_ERR_INTERNAL, "out of memory");
    }
    a->name = strdup(name);
    a->pointer = strdup(ix->ptr + strlen(res->doc_ptr));
    a->node = node;
    a->res = res;
    if (a->name == NULL || a->pointer == NULL)
        return odm_error_set(ix->err, ODM_ERR_INTERNAL, "out of memory");
    if (dynamic) {
        schema__anchor_t **d = realloc(res->dynamic, (res->n_dynamic + 1) * sizeof(*d));
        if (d == NULL)
            return odm_error_set(ix->err, ODM_ERR_INTERNAL, "out of memory");
        res->dynamic = d;
        d[res->n_dynamic++] = a;
    }
    /* "$anchor" and "$dynamicAnchor" of the same name in one resource name the same place */
    schema__anchor_t *prior = schema__map_get(&ix->pending, key, strlen(key));
    if (prior != NULL && prior->node == node)
        return true;
    return claim(ix, key, a);
}

static bool walk(indexer_t *ix, json_t *node, schema__resource_t *res, bool is_root);

static bool walk_child(indexer_t *ix, json_t *child, schema__resource_t *res, const char *a,
                       size_t alen, const char *b, size_t blen)
{
    size_t saved = strlen(ix->ptr);
    bool ok = schema__pointer_append(ix->ptr, sizeof(ix->ptr), a, alen) &&
              (b == NULL || schema__pointer_append(ix->ptr, sizeof(ix->ptr), b, blen));
    if (!ok)
        return odm_error_set(ix->err, ODM_ERR_SCHEMA, "%s: schema nested too deeply", ix->ptr);
    ok = walk(ix, child, res, false);
    ix->ptr[saved] = '\0';
    return ok;
}

static bool walk_keyword(indexer_t *ix, const char *kw, json_t *value, schema__resource_t *res)
{
    size_t kwlen = strlen(kw);
    switch (schema__keyword_subschemas(kw)) {
    case SCHEMA_SUB_ONE:
        return walk_child(ix, value, res, kw, kwlen, NULL, 0);
    case SCHEMA_SUB_ARRAY: {
        size_t i;
        json_t *item;
        json_array_foreach(value, i, item)
        {
            char num[ODM_TEXT_INT_MAX];
            size_t n = odm_text_uint(i, num);
            if (!walk_child(ix, item, res, kw, kwlen, num, n))
                return false;
        }
        return true;
    }
    case SCHEMA_SUB_MAP: {
        const char *name;
        json_t *item;
        json_object_foreach(value, name, item)
        {
            if (!walk_child(ix, item, res, kw, kwlen, name, strlen(name)))
                return false;
        }
        return true;
    }
    default:
        return true;
    }
}

static bool walk(indexer_t *ix, json_t *node, schema__resource_t *res, bool is_root)
{
    if (!json_is_object(node))
        return true;
    const char *id = json_string_value(json_object_get(node, "$id"));
    if (id != NULL && !is_root) {
        char *uri = schema__uri_resolve(res->uri, id);
        if (uri == NULL)
            return odm_error_set(ix->err, ODM_ERR_SCHEMA, "%s/$id: invalid uri", ix->ptr);
        res = new_resource(ix, uri, node, res);
        free(uri);
        if (res == NULL)
            return false;
    }
    const char *anchor = json_string_value(json_object_get(node, "$anchor"));
    if (anchor != NULL && !add_anchor(ix, res, node, anchor, false))
        return false;
    const char *dyn = json_string_value(json_object_get(node, "$dynamicAnchor"));
    if (dyn != NULL && !add_anchor(ix, res, node, dyn, true))
        return false;
    const char *kw;
    json_t *value;
    json_object_foreach(node, kw, value)
    {
        if (!walk_keyword(ix, kw, value, res))
            return false;
    }
    return true;
}

static void indexer_discard(indexer_t *ix)
{
    for (size_t i = 0; i < ix->resources.n; i++)
        resource_free(ix->resources.items[i]);
    for (size_t i = 0; i < ix->anchors.n; i++)
        anchor_free(ix->anchors.items[i]);
    free(ix->resources.items);
    free(ix->anchors.items);
    schema__map_release(&ix->pending);
}

/* Moves the indexed resources and anchors into the registry: ownership first, then the maps
 * from the claimed keys (URIs, aliases and "uri#anchor"). */
static bool indexer_commit(indexer_t *ix)
{
    odm_schema_registry_t *reg = ix->reg;
    bool ok = true;
    for (size_t i = 0; i < ix->resources.n; i++) {
        schema__resource_t *r = ix->resources.items[i];
        if (!list_push(&reg->resources, r)) {
            resource_free(r);
            ok = false;
        } else {
            ok = ok && schema__map_put_ptr(&reg->by_root, r->root, r);
        }
    }
    for (size_t i = 0; i < ix->anchors.n; i++) {
        if (!list_push(&reg->anchor_list, ix->anchors.items[i])) {
            anchor_free(ix->anchors.items[i]);
            ok = false;
        }
    }
    for (size_t i = 0; ok && i < ix->pending.cap; i++) {
        schema__slot_t *s = &ix->pending.slots[i];
        if (s->key != NULL)
            ok = schema__map_put(strchr(s->key, '#') ? &reg->anchors : &reg->by_uri, s->key, s->len,
                                 s->value);
    }
    ix->resources.n = 0;
    ix->anchors.n = 0;
    indexer_discard(ix);
    return ok ? true : odm_error_set(ix->err, ODM_ERR_INTERNAL, "out of memory");
}

/* Indexes `doc` registered at `uri`: its root resource (its "$id" wins), an alias for `uri`
 * when that differs, and everything embedded. */
static bool index_document(odm_schema_registry_t *reg, const char *uri, json_t *doc,
                           const char *source, odm_error_t *err)
{
    indexer_t ix = {.reg = reg, .source = source, .err = err};
    schema__map_init(&ix.pending);
    const char *id = json_is_object(doc) ? json_string_value(json_object_get(doc, "$id")) : NULL;
    char *root_uri = id != NULL ? schema__uri_resolve(uri, id) : strdup(uri);
    schema__resource_t *root = root_uri ? new_resource(&ix, root_uri, doc, NULL) : NULL;
    bool ok = root != NULL && walk(&ix, doc, root, true);
    size_t n = schema__uri_base_len(uri);
    if (ok && (strlen(root->uri) != n || strncmp(root->uri, uri, n) != 0)) {
        char *alias = strndup(uri, n);
        ok = alias != NULL && claim(&ix, alias, root);
        free(alias);
    }
    free(root_uri);
    if (!ok) {
        if (err != NULL && err->kind == ODM_ERR_NONE)
            odm_error_set(err, ODM_ERR_SCHEMA, "invalid uri '%s'", uri);
        indexer_discard(&ix);
        return false;
    }
    return indexer_commit(&ix);
}

bool odm_schema_registry_add_numbers(odm_schema_registry_t *reg, odm_schema_numbers_t *numbers,
                                     odm_error_t *err)
{
    if (numbers == NULL)
        return true;
    if (list_push(&reg->numbers, numbers))
        return true;
    odm_schema_numbers_free(numbers);
    return odm_error_set(err, ODM_ERR_INTERNAL, "out of memory");
}

const char *schema__registry_number_text(const odm_schema_registry_t *reg, const json_t *value)
{
    for (size_t i = 0; i < reg->numbers.n; i++) {
        const char *text = schema__numbers_text(reg->numbers.items[i], value);
        if (text != NULL)
            return text;
    }
    return NULL;
}

bool odm_schema_registry_add(odm_schema_registry_t *reg, const char *uri, json_t *doc,
                             const char *source, odm_error_t *err)
{
    size_t n = schema__uri_base_len(uri);
    if (schema__map_get(&reg->by_uri, uri, n) != NULL)
        return odm_error_set(err, ODM_ERR_SCHEMA, "uri '%s' is already registered", uri);
    if (!json_is_object(doc) && !json_is_boolean(doc))
        return odm_error_set(err, ODM_ERR_SCHEMA, "/: expected an object or a boolean");
    char *src = NULL;
    if (source != NULL && ((src = strdup(source)) == NULL || !list_push(&reg->sources, src))) {
        free(src);
        return odm_error_set(err, ODM_ERR_INTERNAL, "out of memory");
    }
    if (!list_push(&reg->docs, json_incref(doc))) {
        json_decref(doc);
        odm_error_set(err, ODM_ERR_INTERNAL, "out of memory");
        goto fail_source;
    }
    if (err != NULL)
        odm_error_clear(err);
    if (!index_document(reg, uri, doc, src, err))
        goto fail_doc;
    return true;

fail_doc:
    reg->docs.n--;
    json_decref(doc);
fail_source:
    if (src != NULL) {
        reg->sources.n--;
        free(src);
    }
    return false;
}

bool odm_schema_registry_map(odm_schema_registry_t *reg, const char *prefix, const char *dir,
                             odm_error_t *err)
{
    if (reg->n_maps == MAX_MAPPINGS)
        return odm_error_set(err, ODM_ERR_SCHEMA, "too many mapped folders (at most %d)",
                             MAX_MAPPINGS);
    mapping_t *m = &reg->maps[reg->n_maps];
    m->prefix = strdup(prefix);
    m->dir = strdup(dir);
    if (m->prefix == NULL || m->dir == NULL) {
        free(m->prefix);
        free(m->dir);
        return odm_error_set(err, ODM_ERR_INTERNAL, "out of memory");
    }
    reg->n_maps++;
    return true;
}

/* ---- lookups ---- */

/* Whether a relative path stays inside its folder: no empty, "." or ".." segments. */
static bool safe_path(const char *rest)
{
    const char *p = rest;
    while (*p != '\0') {
        size_t n = strcspn(p, "/");
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        p += n;
        if (*p == '/')
            p++;
    }
    return rest[0] != '\0' && strpbrk(rest, "?\\") == NULL;
}

/* Returns: the JSON document in the file at `path` (new) with its inexact numbers' text in
 * *numbers (new, or NULL), or NULL (with err set when the file exists but is not JSON). */
static json_t *load_file(const char *path, odm_schema_numbers_t **numbers, odm_error_t *err)
{
    struct stat st;
    *numbers = NULL;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return NULL;
    if (st.st_size > (off_t)SCHEMA_MAX_FILE) {
        odm_error_set(err, ODM_ERR_SCHEMA, "'%s' is larger than %u bytes", path, SCHEMA_MAX_FILE);
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    char *text = f != NULL ? malloc((size_t)st.st_size + 1) : NULL;
    size_t len = text != NULL ? fread(text, 1, (size_t)st.st_size, f) : 0;
    if (f != NULL)
        fclose(f);
    json_error_t jerr = {.line = 0, .column = 0, .text = "cannot read the file"};
    json_t *doc = text != NULL ? odm_schema_json_loadb(text, len, 0, numbers, &jerr) : NULL;
    free(text);
    if (doc == NULL)
        odm_error_set(err, ODM_ERR_SCHEMA, "'%s': %d:%d: %s", path, jerr.line, jerr.column,
                      jerr.text);
    return doc;
}

/* Loads the document for `uri` from a mapped folder; false when none applies or it fails. */
static bool load_mapped(odm_schema_registry_t *reg, const char *uri, odm_error_t *err)
{
    for (size_t i = 0; i < reg->n_maps; i++) {
        const mapping_t *m = &reg->maps[i];
        size_t plen = strlen(m->prefix);
        if (strncmp(uri, m->prefix, plen) != 0 || !safe_path(uri + plen))
            continue;
        char path[SCHEMA_MAX_URI];
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", m->dir, uri + plen) >= sizeof(path))
            continue;
        odm_schema_numbers_t *numbers;
        json_t *doc = load_file(path, &numbers, err);
        if (doc == NULL)
            continue;
        bool ok = odm_schema_registry_add(reg, uri, doc, path, err);
        json_decref(doc);
        if (!ok)
            odm_schema_numbers_free(numbers);
        return ok && odm_schema_registry_add_numbers(reg, numbers, err);
    }
    return false;
}

schema__resource_t *schema__registry_find(odm_schema_registry_t *reg, const char *uri,
                                          odm_error_t *err)
{
    size_t n = schema__uri_base_len(uri);
    schema__resource_t *r = schema__map_get(&reg->by_uri, uri, n);
    if (r != NULL)
        return r;
    char base[SCHEMA_MAX_URI];
    if (n >= sizeof(base))
        return NULL;
    memcpy(base, uri, n);
    base[n] = '\0';
    if (!load_mapped(reg, base, err))
        return NULL;
    return schema__map_get(&reg->by_uri, base, n);
}

schema__resource_t *schema__registry_resource_at(odm_schema_registry_t *reg, const json_t *node)
{
    return schema__map_get_ptr(&reg->by_root, node);
}

typedef struct {
    odm_schema_registry_t *reg;
    schema__resource_t *res;
    size_t res_start; /* where the pointer within res begins */
} nav_t;

static void nav_step(void *arg, json_t *node, const char *ptr, size_t ptr_len)
{
    nav_t *nav = arg;
    schema__resource_t *r = schema__map_get_ptr(&nav->reg->by_root, node);
    if (r != NULL) {
        nav->res = r;
        nav->res_start = ptr_len;
    }
}

bool schema__registry_resolve(odm_schema_registry_t *reg, const char *uri, schema__target_t *out,
                              odm_error_t *err)
{
    odm_error_t load_err = {0};
    schema__resource_t *res = schema__registry_find(reg, uri, &load_err);
    if (res == NULL) {
        if (load_err.kind != ODM_ERR_NONE)
            return odm_error_set(err, ODM_ERR_SCHEMA, "cannot load '%s': %s", uri,
                                 load_err.message);
        return odm_error_set(err, ODM_ERR_SCHEMA, "cannot resolve '%s'", uri);
    }
    const char *hash = strchr(uri, '#');
    char frag[SCHEMA_MAX_URI];
    if (!schema__uri_unescape(hash ? hash + 1 : "", hash ? strlen(hash + 1) : 0, frag, sizeof(frag),
                              NULL))
        return odm_error_set(err, ODM_ERR_SCHEMA, "malformed fragment in '%s'", uri);
    if (frag[0] == '\0' || frag[0] == '/') {
        nav_t nav = {reg, res, 0};
        out->node = schema__pointer_get(res->root, frag, nav_step, &nav);
        out->res = nav.res;
        out->pointer = strdup(frag + nav.res_start);
    } else {
        char key[SCHEMA_MAX_URI];
        int n = snprintf(key, sizeof(key), "%s#%s", res->uri, frag);
        schema__anchor_t *a = n > 0 && (size_t)n < sizeof(key)
                                  ? schema__map_get(&reg->anchors, key, (size_t)n)
                                  : NULL;
        out->node = a ? a->node : NULL;
        out->res = a ? a->res : NULL;
        out->pointer = a ? strdup(a->pointer) : NULL;
    }
    if (out->node == NULL) {
        free(out->pointer);
        out->pointer = NULL;
        return odm_error_set(err, ODM_ERR_SCHEMA, "cannot resolve '%s'", uri);
    }
    if (out->pointer == NULL)
        return odm_error_set(err, ODM_ERR_INTERNAL, "out of memory");
    return true;
}
