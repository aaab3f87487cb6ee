/* Array keywords: prefixItems, items, contains with min/maxContains, unevaluatedItems,
 * min/maxItems and uniqueItems. Evaluated items are marked by index for unevaluatedItems. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema/keywords.h"

/* Validates item i against `sub` through the keyword path kseg. */
static bool item(const schema__vctx_t *v, const schema__node_t *sub, const json_t *inst, size_t i,
                 const schema__seg_t *kseg, schema__eval_t *ev)
{
    schema__eval_mark(ev, i);
    schema__seg_t iseg = {v->ipath, NULL, i};
    if (sub->boolean == 0) {
        schema__vctx_t at = *v;
        at.ipath = &iseg;
        at.kpath = kseg->up;
        return schema__report(&at, kseg->name, NULL, "item %zu is not allowed", i);
    }
    return schema__eval_value(v, sub, json_array_get(inst, i), kseg, &iseg);
}

SCHEMA_KV(prefix_items)
{
    const schema__list_t *l = kw->data;
    schema__seg_t k1 = {v->kpath, "prefixItems", 11};
    size_t n = json_array_size(inst);
    bool ok = true;
    for (size_t i = 0; i < n && i < l->n; i++) {
        schema__seg_t k2 = {&k1, NULL, i};
        schema__eval_mark(ev, i);
        if (!schema__eval(v, l->items[i], json_array_get(inst, i), &k2,
                          &(schema__seg_t){v->ipath, NULL, i}, NULL)) {
            ok = false;
            if (schema__stop(v))
                break;
        }
    }
    return ok;
}

typedef struct {
    schema__node_t *node;
    size_t start; /* the items before it belong to prefixItems */
} items_t;

SCHEMA_KC(items)
{
    items_t *d = schema__compile_alloc(c, sizeof(*d));
    if (d == NULL)
        return false;
    const schema__kw_t *prefix = schema__node_keyword(node, "prefixItems");
    d->start = prefix ? ((const schema__list_t *)prefix->data)->n : 0;
    d->node = schema__kw_subschema(c, node, "items", value);
    kw->data = d;
    return d->node != NULL;
}

/* items and unevaluatedItems: `sub` for every item from `start` not yet evaluated (skip). */
static bool rest(const schema__vctx_t *v, const schema__kw_t *kw, const schema__node_t *sub,
                 const json_t *inst, size_t start, const schema__eval_t *skip, schema__eval_t *ev)
{
    schema__seg_t k1 = {v->kpath, kw->def->name, kw->def->name_len};
    bool ok = true;
    for (size_t i = start; i < json_array_size(inst); i++) {
        if (skip != NULL && schema__eval_has(skip, i))
            continue;
        if (!item(v, sub, inst, i, &k1, ev)) {
            ok = false;
            if (schema__stop(v))
                break;
        }
    }
    return ok;
}

SCHEMA_KV(items)
{
    const items_t *d = kw->data;
    return rest(v, kw, d->node, inst, d->start, NULL, ev);
}

SCHEMA_KV(unevaluated_items)
{
    return rest(v, kw, kw->data, inst, 0, ev, ev);
}

typedef struct {
    schema__node_t *node;
    size_t min, max;
} contains_t;

/* minContains and maxContains (already checked by their own entries in the table). */
static size_t count_of(const schema__node_t *node, const char *name, size_t fallback)
{
    size_t n;
    return schema__kw_count_value(json_object_get(node->json, name), &n) ? n : fallback;
}

SCHEMA_KC(contains)
{
    contains_t *d = schema__compile_alloc(c, sizeof(*d));
    if (d == NULL)
        return false;
    d->node = schema__kw_subschema(c, node, "contains", value);
    d->min = count_of(node, "minContains", 1);
    d->max = count_of(node, "maxContains", SIZE_MAX);
    kw->data = d;
    return d->node != NULL;
}

SCHEMA_KV(contains)
{
    const contains_t *d = kw->data;
    schema__vctx_t q = schema__quiet(v);
    schema__seg_t k1 = {v->kpath, "contains", 8};
    size_t found = 0, n = json_array_size(inst);
    for (size_t i = 0; i < n; i++) {
        if (ev == NULL && d->max == SIZE_MAX && found >= d->min)
            break;
        schema__seg_t iseg = {v->ipath, NULL, i};
        if (schema__eval(&q, d->node, json_array_get(inst, i), &k1, &iseg, NULL)) {
            found++;
            schema__eval_mark(ev, i);
        }
    }
    if (found < d->min)
        return schema__report(v, "contains", NULL,
                              "array has %zu items matching 'contains', at least %zu required",
                              found, d->min);
    if (found > d->max)
        return schema__report(v, "maxContains", NULL,
                              "array has %zu items matching 'contains', at most %zu allowed", found,
                              d->max);
    return true;
}

SCHEMA_KV(max_items)
{
    size_t max = (size_t)(uintptr_t)kw->data;
    if (json_array_size(inst) <= max)
        return true;
    return schema__report(v, "maxItems", NULL, "array has %zu items, at most %zu allowed",
                          json_array_size(inst), max);
}

SCHEMA_KV(min_items)
{
    size_t min = (size_t)(uintptr_t)kw->data;
    if (json_array_size(inst) >= min)
        return true;
    return schema__report(v, "minItems", NULL, "array has %zu items, at least %zu required",
                          json_array_size(inst), min);
}

SCHEMA_KC(unique_items)
{
    if (!json_is_boolean(value))
        return schema__compile_fail(c, node, "uniqueItems", NULL, "expected a boolean");
    kw->data = json_is_true(value) ? (void *)1 : NULL;
    return true;
}

#define UNIQUE_SMALL 32

/* Finds a pair of equal items (i < j); false when all are distinct. */
static bool find_duplicate(const json_t *inst, size_t *pi, size_t *pj)
{
    size_t n = json_array_size(inst);
    if (n <= UNIQUE_SMALL) {
        for (size_t j = 1; j < n; j++)
            for (size_t i = 0; i < j; i++)
                if (schema__json_equal(json_array_get(inst, i), json_array_get(inst, j)))
                    return *pi = i, *pj = j, true;
        return false;
    }
    size_t cap = 64;
    while (cap < n * 2)
        cap *= 2;
    size_t *slots = malloc(cap * sizeof(*slots)); /* index + 1; 0 is empty */
    if (slots == NULL)
        return false;
    memset(slots, 0, cap * sizeof(*slots));
    bool dup = false;
    for (size_t j = 0; j < n && !dup; j++) {
        const json_t *x = json_array_get(inst, j);
        size_t h = (size_t)schema__json_hash(x) & (cap - 1);
        for (; slots[h] != 0 && !dup; h = (h + 1) & (cap - 1))
            if (schema__json_equal(json_array_get(inst, slots[h] - 1), x))
                dup = true, *pi = slots[h] - 1, *pj = j;
        if (!dup)
            slots[h] = j + 1;
    }
    free(slots);
    return dup;
}

SCHEMA_KV(unique_items)
{
    size_t i, j;
    if (kw->data == NULL || !find_duplicate(inst, &i, &j))
        return true;
    return schema__report(v, "uniqueItems", NULL, "items %zu and %zu are equal", i, j);
}
