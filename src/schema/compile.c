/* The compiler: turns the registry's schema documents into immutable nodes, each subschema once
 * (a node per JSON value, so references and cycles share nodes), keywords from the table. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/keywords.h"

#define DIALECT_2020_12 "https://json-schema.org/draft/2020-12/schema"
#define VOCAB_PREFIX "https://json-schema.org/draft/2020-12/vocab/"

struct schema__cctx {
    odm_schema_registry_t *reg;
    odm_schema_t *schema;
    const schema__resource_t *root_doc; /* top resource of the compiled document */
    schema__map_t nodes;                /* json_t * -> node */
    schema__map_t cres;                 /* resource * -> compiled resource */
    schema__node_t **queue;             /* nodes whose keywords are still to compile */
    size_t n_queue, cap_queue, n_nodes;
    odm_error_t *err;
};

odm_schema_t *schema__compile_schema(schema__cctx_t *c)
{
    return c->schema;
}

odm_format_mode_t schema__compile_formats(schema__cctx_t *c)
{
    return c->schema->formats;
}

const char *schema__compile_number_text(schema__cctx_t *c, const json_t *value)
{
    return schema__registry_number_text(c->reg, value);
}

void *schema__compile_alloc(schema__cctx_t *c, size_t size)
{
    void *p = schema__arena_alloc(&c->schema->arena, size);
    if (p == NULL)
        odm_error_set(c->err, ODM_ERR_INTERNAL, "out of memory");
    return p;
}

char *schema__compile_strndup(schema__cctx_t *c, const char *s, size_t n)
{
    char *p = schema__arena_strndup(&c->schema->arena, s, n);
    if (p == NULL)
        odm_error_set(c->err, ODM_ERR_INTERNAL, "out of memory");
    return p;
}

static const schema__resource_t *top_resource(const schema__resource_t *r)
{
    while (r->parent != NULL)
        r = r->parent;
    return r;
}

bool schema__compile_fail(schema__cctx_t *c, const schema__node_t *node, const char *kw,
                          const char *sub, const char *fmt, ...)
{
    char where[SCHEMA_MAX_URI];
    const schema__resource_t *res = node->cres->res;
    snprintf(where, sizeof(where), "%s%s", res->doc_ptr, node->pointer);
    if (kw != NULL)
        schema__pointer_append(where, sizeof(where), kw, strlen(kw));
    if (sub != NULL)
        schema__pointer_append(where, sizeof(where), sub, strlen(sub));
    if (where[0] == '\0')
        snprintf(where, sizeof(where), "/");
    char msg[ODM_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    const schema__resource_t *doc = top_resource(res);
    if (doc == c->root_doc)
        return odm_error_set(c->err, ODM_ERR_SCHEMA, "%s: %s", where, msg);
    return odm_error_set(c->err, ODM_ERR_SCHEMA, "%s#%s: %s", doc->uri, where, msg);
}

/* ---- vocabularies: from the meta-schema named by "$schema" ---- */

static const struct {
    const char *name;
    unsigned bit;
} vocab_names[] = {
    {"core", SCHEMA_V_CORE},
    {"applicator", SCHEMA_V_APPLICATOR},
    {"unevaluated", SCHEMA_V_UNEVALUATED},
    {"validation", SCHEMA_V_VALIDATION},
    {"meta-data", SCHEMA_V_META_DATA},
    {"format-annotation", SCHEMA_V_FORMAT_ANNOTATION},
    {"format-assertion", SCHEMA_V_FORMAT_ASSERTION},
    {"content", SCHEMA_V_CONTENT},
};

static unsigned vocab_bit(const char *uri)
{
    size_t plen = strlen(VOCAB_PREFIX);
    if (strncmp(uri, VOCAB_PREFIX, plen) != 0)
        return 0;
    for (size_t i = 0; i < sizeof(vocab_names) / sizeof(vocab_names[0]); i++)
        if (strcmp(uri + plen, vocab_names[i].name) == 0)
            return vocab_names[i].bit;
    return 0;
}

#define DEFAULT_VOCABS (SCHEMA_V_ALL & ~SCHEMA_V_FORMAT_ASSERTION)

/* Reads a meta-schema's "$vocabulary"; false when it requires one odmd does not know. */
static bool meta_vocabs(schema__cctx_t *c, const schema__node_t *at, const json_t *meta,
                        unsigned *out)
{
    const json_t *vocabulary = json_object_get(meta, "$vocabulary");
    if (!json_is_object(vocabulary)) {
        *out = DEFAULT_VOCABS;
        return true;
    }
    *out = SCHEMA_V_CORE;
    const char *uri;
    json_t *required;
    json_object_foreach((json_t *)vocabulary, uri, required)
    {
        unsigned bit = vocab_bit(uri);
        if (bit == 0 && json_is_true(required))
            return schema__compile_fail(c, at, "$schema", NULL,
                                        "meta-schema requires unknown vocabulary '%s'", uri);
        *out |= bit;
    }
    return true;
}

static bool resource_vocabs(schema__cctx_t *c, const schema__node_t *at,
                            const schema__resource_t *res, unsigned *out)
{
    const json_t *dialect =
        json_is_object(res->root) ? json_object_get(res->root, "$schema") : NULL;
    if (dialect == NULL) {
        *out = DEFAULT_VOCABS;
        return res->parent == NULL || resource_vocabs(c, at, res->parent, out);
    }
    const char *uri = json_string_value(dialect);
    if (uri == NULL)
        return schema__compile_fail(c, at, "$schema", NULL, "expected a string");
    if (strncmp(uri, DIALECT_2020_12, strlen(DIALECT_2020_12)) == 0 &&
        (uri[strlen(DIALECT_2020_12)] == '\0' || strcmp(uri + strlen(DIALECT_2020_12), "#") == 0)) {
        *out = DEFAULT_VOCABS;
        return true;
    }
    odm_error_t ignored;
    schema__resource_t *meta = schema__registry_find(c->reg, uri, &ignored);
    if (meta == NULL)
        return schema__compile_fail(c, at, "$schema", NULL, "unsupported meta-schema '%s'", uri);
    return meta_vocabs(c, at, meta->root, out);
}

/* ---- nodes ---- */

static bool enqueue(schema__cctx_t *c, schema__node_t *node)
{
    if (c->n_queue == c->cap_queue) {
        size_t cap = c->cap_queue ? c->cap_queue * 2 : 64;
        schema__node_t **q = realloc(c->queue, cap * sizeof(*q));
        if (q == NULL)
            return odm_error_set(c->err, ODM_ERR_INTERNAL, "out of memory");
        c->queue = q;
        c->cap_queue = cap;
    }
    c->queue[c->n_queue++] = node;
    return true;
}

static schema__node_t *node_for(schema__cctx_t *c, const json_t *json, schema__resource_t *res,
                                const char *pointer);

static schema__cres_t *cres_for(schema__cctx_t *c, schema__resource_t *res, schema__node_t *first)
{
    schema__cres_t *cr = schema__map_get_ptr(&c->cres, res);
    if (cr != NULL)
        return cr;
    cr = schema__compile_alloc(c, sizeof(*cr));
    if (cr == NULL || !schema__map_put_ptr(&c->cres, res, cr))
        return NULL;
    cr->res = res;
    first->cres = cr; /* lets errors about "$schema" name their place */
    if (!resource_vocabs(c, first, res, &cr->vocabs))
        return NULL;
    cr->dyn_names = schema__compile_alloc(c, (res->n_dynamic + 1) * sizeof(*cr->dyn_names));
    cr->dyn_nodes = schema__compile_alloc(c, (res->n_dynamic + 1) * sizeof(*cr->dyn_nodes));
    if (cr->dyn_names == NULL || cr->dyn_nodes == NULL)
        return NULL;
    for (size_t i = 0; i < res->n_dynamic; i++) {
        const schema__anchor_t *a = res->dynamic[i];
        cr->dyn_names[i] = a->name;
        cr->dyn_nodes[i] = node_for(c, a->node, a->res, a->pointer);
        if (cr->dyn_nodes[i] == NULL)
            return NULL;
    }
    cr->n_dyn = res->n_dynamic;
    return cr;
}

static schema__node_t *node_for(schema__cctx_t *c, const json_t *json, schema__resource_t *res,
                                const char *pointer)
{
    schema__node_t *node = schema__map_get_ptr(&c->nodes, json);
    if (node != NULL)
        return node;
    if (++c->n_nodes > SCHEMA_MAX_NODES) {
        odm_error_set(c->err, ODM_ERR_SCHEMA, "%s%s: more than %d subschemas", res->doc_ptr,
                      pointer, SCHEMA_MAX_NODES);
        return NULL;
    }
    node = schema__compile_alloc(c, sizeof(*node));
    if (node == NULL)
        return NULL;
    node->json = json;
    node->pointer = schema__compile_strndup(c, pointer, strlen(pointer));
    node->boolean = json_is_boolean(json) ? json_is_true(json) : -1;
    if (node->pointer == NULL || !schema__map_put_ptr(&c->nodes, json, node)) {
        odm_error_set(c->err, ODM_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    node->cres = cres_for(c, res, node);
    if (node->cres == NULL || !enqueue(c, node))
        return NULL;
    return node;
}

schema__node_t *schema__compile_sub(schema__cctx_t *c, const schema__node_t *node, const char *a,
                                    const char *b, const json_t *json)
{
    schema__resource_t *res = schema__registry_resource_at(c->reg, json);
    if (res != NULL && res != node->cres->res)
        return node_for(c, json, res, "");
    char pointer[SCHEMA_MAX_URI];
    snprintf(pointer, sizeof(pointer), "%s", node->pointer);
    if (!schema__pointer_append(pointer, sizeof(pointer), a, strlen(a)) ||
        (b != NULL && !schema__pointer_append(pointer, sizeof(pointer), b, strlen(b)))) {
        schema__compile_fail(c, node, a, b, "schema nested too deeply");
        return NULL;
    }
    return node_for(c, json, node->cres->res, pointer);
}

schema__node_t *schema__compile_ref(schema__cctx_t *c, const schema__node_t *node, const char *kw,
                                    const char *ref, schema__target_t *where)
{
    if (where != NULL)
        *where = (schema__target_t){0};
    char *uri = schema__uri_resolve(node->cres->res->uri, ref);
    if (uri == NULL) {
        schema__compile_fail(c, node, kw, NULL, "invalid reference '%s'", ref);
        return NULL;
    }
    odm_error_t why;
    schema__target_t t = {0};
    schema__node_t *target = NULL;
    if (!schema__registry_resolve(c->reg, uri, &t, &why))
        schema__compile_fail(c, node, kw, NULL, "%s", why.message);
    else
        target = node_for(c, t.node, t.res, t.pointer);
    free(uri);
    if (where != NULL)
        *where = t;
    else
        free(t.pointer);
    return target;
}

const schema__kw_t *schema__node_keyword(const schema__node_t *node, const char *name)
{
    for (size_t i = 0; i < node->n_kws; i++)
        if (strcmp(node->kws[i].def->name, name) == 0)
            return &node->kws[i];
    return NULL;
}

const schema__regex_t *schema__compile_regex(schema__cctx_t *c, const schema__node_t *node,
                                             const char *kw, const char *sub, const char *pattern,
                                             size_t len)
{
    char msg[256];
    schema__regex_t *re = schema__compile_alloc(c, sizeof(*re));
    if (re == NULL)
        return NULL;
    re->code = schema__regex_compile(pattern, len, msg, sizeof(msg));
    if (re->code == NULL) {
        schema__compile_fail(c, node, kw, sub, "%s", msg);
        return NULL;
    }
    re->next = c->schema->regexes;
    c->schema->regexes = re;
    schema__simple_t simple;
    if (schema__simple_parse(pattern, len, &simple)) {
        schema__simple_t *copy = schema__compile_alloc(c, sizeof(*copy));
        if (copy == NULL)
            return NULL;
        *copy = simple;
        re->simple = copy;
    }
    return re;
}

/* Returns the index of the node's "required" when a keyword that walks the object's members
 * comes after it, else n_kws. */
/* The order in which a verdict alone (no errors wanted) runs the node's keywords. Any order
 * gives the same verdict, and members are looked up once whichever keyword looks first; but
 * "required" looks up members until it has seen every name it lists, so when a member's value
 * fails, running it first looks up the members past that one for nothing. It moves to just
 * after the first keyword that walks the members ("properties" when present), before the
 * others, so that a missing name still stops patternProperties, additionalProperties and
 * unevaluatedProperties from running. */
static bool verdict_order(schema__cctx_t *c, schema__node_t *node)
{
    node->verdict_kws = node->kws;
    node->n_verdict_kws = node->n_kws;
    size_t r = node->n_kws, w = node->n_kws;
    for (size_t i = 0; i < node->n_kws && w == node->n_kws; i++) {
        if (node->kws[i].validate == schema__kv_required)
            r = i;
        else if (r < node->n_kws && node->kws[i].def->walks)
            w = i;
    }
    if (w == node->n_kws)
        return true;
    schema__kw_t *kws = schema__compile_alloc(c, node->n_kws * sizeof(*kws));
    if (kws == NULL)
        return false;
    memcpy(kws, node->kws, node->n_kws * sizeof(*kws));
    memmove(kws + r, kws + r + 1, (w - r) * sizeof(*kws));
    kws[w] = node->kws[r];
    node->verdict_kws = kws;
    return true;
}

/* Compiles the keywords of one node, in table order (which is also evaluation order when
 * errors are wanted; verdict_order gives the order without). */
static bool compile_keywords(schema__cctx_t *c, schema__node_t *node)
{
    if (node->boolean >= 0)
        return true;
    if (!json_is_object(node->json))
        return schema__compile_fail(c, node, NULL, NULL, "expected an object or a boolean");
    if (!schema__compile_props(c, node))
        return false;
    schema__kw_t kws[schema__keyword_count];
    node->kws = kws;
    node->n_kws = 0;
    size_t walkers = 0, strings = 0;
    for (size_t i = 0; i < schema__keyword_count; i++) {
        const schema__kwdef_t *def = &schema__keywords[i];
        const json_t *value = json_object_get(node->json, def->name);
        if (value == NULL || (def->vocab & node->cres->vocabs) == 0)
            continue;
        schema__kw_t *kw = &kws[node->n_kws];
        *kw = (schema__kw_t){def, NULL, def->types, def->validate};
        if (!def->compile(c, node, value, kw))
            return false;
        if (def->validate != NULL) {
            node->n_kws++;
            node->kw_types |= def->types;
            node->collects |= (def->vocab == SCHEMA_V_UNEVALUATED);
            node->walks |= def->walks;
            walkers += def->walks;
            strings += def->on_string != NULL;
        }
    }
    node->by_name = walkers == 1 && schema__node_keyword(node, "properties") != NULL;
    node->on_strings = strings == node->n_kws;
    if (node->n_kws > 0 && kws[0].validate == schema__kv_type)
        node->type_mask = schema__type_mask(&kws[0]);
    if (node->n_kws == 1 && kws[0].validate == schema__kv_ref &&
        ((const schema__node_t *)kws[0].data)->cres == node->cres)
        node->ref_only = kws[0].data;
    node->kws = schema__compile_alloc(c, node->n_kws * sizeof(*kws) + 1);
    if (node->kws == NULL)
        return false;
    memcpy(node->kws, kws, node->n_kws * sizeof(*kws));
    return verdict_order(c, node);
}

static bool compile_all(schema__cctx_t *c, const char *uri)
{
    schema__target_t t;
    if (!schema__registry_resolve(c->reg, uri, &t, c->err))
        return false;
    c->root_doc = top_resource(t.res);
    c->schema->root = node_for(c, t.node, t.res, t.pointer);
    free(t.pointer);
    if (c->schema->root == NULL)
        return false;
    for (size_t i = 0; i < c->n_queue; i++)
        if (!compile_keywords(c, c->queue[i]))
            return false;
    return true;
}

odm_schema_t *odm_schema_compile(odm_schema_registry_t *reg, const char *uri,
                                 odm_format_mode_t formats, odm_error_t *err)
{
    odm_schema_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        odm_error_set(err, ODM_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    s->formats = formats;
    s->mctx = schema__regex_context_new();
    schema__cctx_t c = {.reg = reg, .schema = s, .err = err};
    schema__map_init(&c.nodes);
    schema__map_init(&c.cres);
    bool ok = s->mctx != NULL && compile_all(&c, uri);
    if (s->mctx == NULL)
        odm_error_set(err, ODM_ERR_INTERNAL, "out of memory");
    schema__map_release(&c.nodes);
    schema__map_release(&c.cres);
    free(c.queue);
    if (!ok) {
        odm_schema_free(s);
        return NULL;
    }
    return s;
}

void odm_schema_free(odm_schema_t *schema)
{
    if (schema == NULL)
        return;
    for (schema__regex_t *re = schema->regexes; re != NULL; re = re->next)
        pcre2_code_free(re->code);
    pcre2_match_context_free(schema->mctx);
    schema__arena_release(&schema->arena);
    free(schema);
}
