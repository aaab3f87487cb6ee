/* Object keywords: properties, patternProperties, additionalProperties, propertyNames,
 * unevaluatedProperties, required, dependentRequired, min/maxProperties. Object applicators
 * walk the instance's members once each, marking evaluated ones by ordinal. */
#include <stdio.h>
#include <string.h>

#include "odmd/text.h"
#include "schema/keywords.h"

/* Counts the names of "properties" (an object) and "required" (an array), for sizing. */
static size_t names_count(const json_t *props, const json_t *required)
{
    return (json_is_object(props) ? json_object_size(props) : 0) +
           (json_is_array(required) ? json_array_size(required) : 0);
}

/* Returns the entry for `name`, adding it when new. */
static schema__prop_t *names_put(schema__props_t *t, const char *name, size_t len)
{
    uint64_t hash = schema__name_hash(name, len);
    size_t i = hash & (t->cap - 1);
    for (; t->slots[i].name != NULL; i = (i + 1) & (t->cap - 1))
        if (t->slots[i].len == len && memcmp(t->slots[i].name, name, len) == 0)
            return &t->slots[i];
    t->slots[i] = (schema__prop_t){name, len, hash, NULL, 0};
    return &t->slots[i];
}

bool schema__compile_props(schema__cctx_t *c, schema__node_t *node)
{
    const json_t *props = json_object_get(node->json, "properties");
    const json_t *required = json_object_get(node->json, "required");
    size_t n = names_count(props, required), cap = 4;
    if (!json_is_object(props) && !json_is_array(required))
        return true;
    while (cap < n * 2)
        cap *= 2;
    schema__props_t *t = schema__compile_alloc(c, sizeof(*t));
    t->slots = t ? schema__compile_alloc(c, cap * sizeof(*t->slots)) : NULL;
    if (t == NULL || t->slots == NULL)
        return false;
    t->cap = cap;
    for (void *it = json_object_iter((json_t *)props); it != NULL;
         it = json_object_iter_next((json_t *)props, it))
        names_put(t, json_object_iter_key(it), json_object_iter_key_len(it));
    size_t n_required = json_array_size(required);
    for (size_t i = 0; i < n_required; i++) {
        const json_t *name = json_array_get(required, i);
        if (json_is_string(name) && i < 64)
            names_put(t, json_string_value(name), json_string_length(name))->required |= (uint64_t)1
                                                                                         << i;
    }
    t->n_names = n;
    t->all_required = n_required <= 64;
    t->required = n_required >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << n_required) - 1;
    node->props = t;
    return true;
}

SCHEMA_KC(properties)
{
    if (!json_is_object(value))
        return schema__compile_fail(c, node, "properties", NULL, "expected an object");
    schema__props_t *t = node->props;
    t->order = schema__compile_alloc(c, json_object_size(value) * sizeof(*t->order) + 1);
    if (t->order == NULL)
        return false;
    for (void *it = json_object_iter((json_t *)value); it != NULL;
         it = json_object_iter_next((json_t *)value, it)) {
        const char *name = json_object_iter_key(it);
        const json_t *sub = json_object_iter_value(it);
        if (!json_is_object(sub) && !json_is_boolean(sub))
            return schema__compile_fail(c, node, "properties", name,
                                        "expected a schema (an object or a boolean)");
        schema__prop_t *p = names_put(t, name, json_object_iter_key_len(it));
        p->node = schema__compile_sub(c, node, "properties", name, sub);
        if (p->node == NULL)
            return false;
        t->order[t->n_props++] = p;
    }
    return true;
}

/* Validates member `key` (ordinal i) against `sub`, reached through keyword path kseg. */
static bool member(const schema__vctx_t *v, const schema__node_t *sub, const json_t *val,
                   const schema__seg_t *kseg, const char *key, size_t len)
{
    schema__seg_t iseg = {v->ipath, key, len};
    return schema__eval_value(v, sub, val, kseg, &iseg);
}

/* Whether a member has a "properties" subschema in its node. */
static inline bool is_property(const schema__member_t *m)
{
    return m->prop != NULL && m->prop->node != NULL;
}

/* properties when the node looks members up by name (verdict only: first failure stops). */
static bool properties_by_name(const schema__vctx_t *v, const schema__props_t *t,
                               const json_t *inst, const schema__seg_t *k1)
{
    for (size_t i = 0; i < t->n_props; i++) {
        const schema__prop_t *p = t->order[i];
        const json_t *val = json_object_getn(inst, p->name, p->len);
        schema__seg_t k2 = {k1, p->name, p->len};
        if (val != NULL && !member(v, p->node, val, &k2, p->name, p->len))
            return false;
    }
    return true;
}

SCHEMA_KV(properties)
{
    schema__seg_t k1 = {v->kpath, "properties", 10};
    if (v->members == NULL)
        return properties_by_name(v, v->node->props, inst, &k1);
    bool ok = true;
    schema__walk_t w;
    for (schema__walk_init(&w, v); schema__walk_next(&w);) {
        const schema__member_t *m = w.m;
        if (!is_property(m))
            continue;
        schema__eval_mark(ev, w.i);
        schema__seg_t k2 = {&k1, m->key, m->len};
        if (!member(v, m->prop->node, m->value, &k2, m->key, m->len)) {
            ok = false;
            if (schema__stop(v))
                break;
        }
    }
    return ok;
}

SCHEMA_KC(pattern_properties)
{
    if (!json_is_object(value))
        return schema__compile_fail(c, node, "patternProperties", NULL, "expected an object");
    size_t n = json_object_size(value);
    schema__patterns_t *p = schema__compile_alloc(c, sizeof(*p));
    p->codes = p ? schema__compile_alloc(c, n * sizeof(*p->codes) + 1) : NULL;
    p->sources = p ? schema__compile_alloc(c, n * sizeof(*p->sources) + 1) : NULL;
    p->nodes = p ? schema__compile_alloc(c, n * sizeof(*p->nodes) + 1) : NULL;
    if (p == NULL || p->codes == NULL || p->sources == NULL || p->nodes == NULL)
        return false;
    const char *name;
    json_t *sub;
    json_object_foreach((json_t *)value, name, sub)
    {
        if (!json_is_object(sub) && !json_is_boolean(sub))
            return schema__compile_fail(c, node, "patternProperties", name,
                                        "expected a schema (an object or a boolean)");
        p->sources[p->n] = name;
        p->codes[p->n] =
            schema__compile_regex(c, node, "patternProperties", name, name, strlen(name));
        p->nodes[p->n] = schema__compile_sub(c, node, "patternProperties", name, sub);
        if (p->codes[p->n] == NULL || p->nodes[p->n++] == NULL)
            return false;
    }
    kw->data = p;
    return true;
}

SCHEMA_KV(pattern_properties)
{
    const schema__patterns_t *p = kw->data;
    schema__seg_t k1 = {v->kpath, "patternProperties", 17};
    bool ok = true;
    schema__walk_t w;
    for (schema__walk_init(&w, v); schema__walk_next(&w);) {
        const schema__member_t *mb = w.m;
        for (size_t j = 0; j < p->n; j++) {
            int m = schema__patterns_match(v, p, j, mb->key, mb->len);
            if (m < 0) {
                schema__seg_t iseg = {v->ipath, mb->key, mb->len};
                schema__vctx_t at = *v;
                at.ipath = &iseg;
                ok = schema__report(&at, "patternProperties", p->sources[j],
                                    "pattern '%s' exceeded its match limit", p->sources[j]);
            } else if (m > 0) {
                schema__eval_mark(ev, w.i);
                schema__seg_t k2 = {&k1, p->sources[j], strlen(p->sources[j])};
                ok &= member(v, p->nodes[j], mb->value, &k2, mb->key, mb->len);
            }
            if (!ok && schema__stop(v))
                return false;
        }
    }
    return ok;
}

typedef struct {
    schema__node_t *node;
    const schema__patterns_t *patterns;
} additional_t;

SCHEMA_KC(additional_properties)
{
    additional_t *a = schema__compile_alloc(c, sizeof(*a));
    if (a == NULL)
        return false;
    a->node = schema__kw_subschema(c, node, "additionalProperties", value);
    const schema__kw_t *patterns = schema__node_keyword(node, "patternProperties");
    a->patterns = patterns ? patterns->data : NULL;
    kw->data = a;
    return a->node != NULL;
}

static bool is_additional(const schema__vctx_t *v, const additional_t *a, const schema__member_t *m)
{
    if (is_property(m))
        return false;
    for (size_t j = 0; a->patterns != NULL && j < a->patterns->n; j++)
        if (schema__patterns_match(v, a->patterns, j, m->key, m->len) != 0)
            return false;
    return true;
}

/* A member that a "false" schema forbids gets a message naming it. */
static bool forbidden(const schema__vctx_t *v, const char *kw, const char *key, size_t len)
{
    schema__seg_t iseg = {v->ipath, key, len};
    schema__vctx_t at = *v;
    at.ipath = &iseg;
    return schema__report(&at, kw, NULL, "property '%.*s' is not allowed", (int)len, key);
}

static bool check_member(const schema__vctx_t *v, const schema__kw_t *kw, const schema__node_t *sub,
                         const schema__member_t *m)
{
    if (sub->boolean == 0)
        return forbidden(v, kw->def->name, m->key, m->len);
    schema__seg_t k1 = {v->kpath, kw->def->name, kw->def->name_len};
    return member(v, sub, m->value, &k1, m->key, m->len);
}

/* Whether every member is named by "properties", told from the members looked up. */
static bool all_named(schema__members_t *ms)
{
    while (schema__members_fill(ms))
        ;
    return schema__members_complete(ms) && ms->others == 0;
}

SCHEMA_KV(additional_properties)
{
    const additional_t *a = kw->data;
    if (all_named(v->members))
        return true;
    bool ok = true;
    schema__walk_t w;
    for (schema__walk_init(&w, v); schema__walk_next(&w);) {
        if (!is_additional(v, a, w.m))
            continue;
        schema__eval_mark(ev, w.i);
        if (!check_member(v, kw, a->node, w.m)) {
            ok = false;
            if (schema__stop(v))
                break;
        }
    }
    return ok;
}

SCHEMA_KV(unevaluated_properties)
{
    bool ok = true;
    schema__walk_t w;
    for (schema__walk_init(&w, v); schema__walk_next(&w);) {
        if (ev != NULL && schema__eval_has(ev, w.i))
            continue;
        if (!check_member(v, kw, kw->data, w.m)) {
            ok = false;
            if (schema__stop(v))
                break;
        }
    }
    if (ok)
        schema__eval_mark_all(ev);
    return ok;
}

#define STRING_HOPS 4

/* The node that can judge names as bytes: the subschema, past a few "$ref"-only nodes, when
 * all its keywords can and the depth those would take still fits; NULL when names must be made
 * into strings and evaluated. */
static const schema__node_t *string_judge(const schema__vctx_t *v, const schema__node_t *node)
{
    unsigned hops = 0;
    while (node->ref_only != NULL && hops < STRING_HOPS) {
        node = node->ref_only;
        hops++;
    }
    bool fits = v->depth + hops + 1 <= SCHEMA_MAX_DEPTH;
    return fits && node->boolean < 0 && node->ref_only == NULL && node->on_strings ? node : NULL;
}

/* A name made into a string and evaluated, for the errors of a name that fails. */
static bool evaluate_name(const schema__vctx_t *v, const schema__kw_t *kw,
                          const schema__member_t *m)
{
    json_t *name = json_stringn_nocheck(m->key, m->len);
    if (name == NULL)
        return schema__report(v, "propertyNames", NULL, "out of memory");
    schema__seg_t k1 = {v->kpath, "propertyNames", 13};
    schema__seg_t iseg = {v->ipath, m->key, m->len};
    bool ok = schema__eval(v, kw->data, name, &k1, &iseg, NULL);
    json_decref(name);
    return ok;
}

/* Names are judged as bytes where the subschema allows it (no allocation); a name that fails
 * is evaluated again as a string when its errors are wanted. */
SCHEMA_KV(property_names)
{
    const schema__node_t *judge = string_judge(v, kw->data);
    bool ok = true;
    schema__walk_t w;
    for (schema__walk_init(&w, v); schema__walk_next(&w);) {
        if (judge != NULL && schema__string_ok(v->schema, judge, w.m->key, w.m->len))
            continue;
        if (judge != NULL && !schema__collecting(v))
            return false;
        ok &= evaluate_name(v, kw, w.m);
        if (!ok && schema__stop(v))
            break;
    }
    return ok;
}

SCHEMA_KC(required)
{
    if (!json_is_array(value))
        return schema__compile_fail(c, node, kw->def->name, NULL, "expected an array of strings");
    for (size_t i = 0; i < json_array_size(value); i++) {
        if (!json_is_string(json_array_get(value, i))) {
            char num[ODM_TEXT_INT_MAX];
            odm_text_uint(i, num);
            return schema__compile_fail(c, node, kw->def->name, num, "expected a string");
        }
    }
    kw->data = (void *)value;
    return true;
}

/* Reports every name of `names` missing from the object. */
static bool all_present(const schema__vctx_t *v, const char *kw, const char *sub,
                        const json_t *names, const json_t *inst)
{
    bool ok = true;
    for (size_t i = 0; i < json_array_size(names); i++) {
        const json_t *name = json_array_get(names, i);
        if (json_object_getn(inst, json_string_value(name), json_string_length(name)) != NULL)
            continue;
        ok = schema__report(v, kw, sub, "missing required property '%s'", json_string_value(name));
        if (schema__stop(v))
            break;
    }
    return ok;
}

/* Whether the node's members hold every required name (1) or not (0), looking up as few as it
 * takes; -1 when the looked-up members cannot tell (no members kept, or too many to keep). */
static int required_by_bits(const schema__vctx_t *v)
{
    const schema__props_t *t = v->node->props;
    schema__members_t *ms = v->members;
    if (ms == NULL || !t->all_required)
        return -1;
    while ((ms->required & t->required) != t->required)
        if (!schema__members_fill(ms))
            return schema__members_complete(ms) ? 0 : -1;
    return 1;
}

/* Reports the entries of "required" (`names`) whose bits are in `missing`, in order. */
static bool report_missing(const schema__vctx_t *v, const json_t *names, uint64_t missing)
{
    for (; missing != 0 && schema__collecting(v); missing &= missing - 1) {
        const json_t *name = json_array_get(names, (size_t)__builtin_ctzll(missing));
        schema__report(v, "required", NULL, "missing required property '%s'",
                       json_string_value(name));
    }
    return false;
}

SCHEMA_KV(required)
{
    int by_bits = required_by_bits(v);
    if (by_bits == 1 || (by_bits == 0 && !schema__collecting(v)))
        return by_bits == 1;
    if (by_bits == 0) /* every member looked up: the bits they lack are the names missing */
        return report_missing(v, kw->data, v->node->props->required & ~v->members->required);
    return all_present(v, "required", NULL, kw->data, inst);
}

SCHEMA_KC(dependent_required)
{
    if (!json_is_object(value))
        return schema__compile_fail(c, node, "dependentRequired", NULL, "expected an object");
    const char *name;
    json_t *names;
    json_object_foreach((json_t *)value, name, names)
    {
        for (size_t i = 0; i < json_array_size(names); i++)
            if (!json_is_string(json_array_get(names, i)))
                names = NULL;
        if (!json_is_array(names))
            return schema__compile_fail(c, node, "dependentRequired", name,
                                        "expected an array of strings");
    }
    kw->data = (void *)value;
    return true;
}

SCHEMA_KV(dependent_required)
{
    bool ok = true;
    const char *name;
    json_t *names;
    json_object_foreach((json_t *)kw->data, name, names)
    {
        if (json_object_get(inst, name) != NULL &&
            !all_present(v, "dependentRequired", name, names, inst)) {
            ok = false;
            if (schema__stop(v))
                break;
        }
    }
    return ok;
}

SCHEMA_KC(count)
{
    size_t n;
    if (!schema__kw_count_value(value, &n))
        return schema__compile_fail(c, node, kw->def->name, NULL,
                                    "expected a non-negative integer");
    kw->data = (void *)(uintptr_t)n;
    return true;
}

SCHEMA_KV(max_properties)
{
    size_t max = (size_t)(uintptr_t)kw->data;
    if (json_object_size(inst) <= max)
        return true;
    return schema__report(v, "maxProperties", NULL,
                          "object has %zu properties, at most %zu allowed", json_object_size(inst),
                          max);
}

SCHEMA_KV(min_properties)
{
    size_t min = (size_t)(uintptr_t)kw->data;
    if (json_object_size(inst) >= min)
        return true;
    return schema__report(v, "minProperties", NULL,
                          "object has %zu properties, at least %zu required",
                          json_object_size(inst), min);
}
