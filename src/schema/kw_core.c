/* Core keywords: "$ref" (resolved to a compiled node once) and "$dynamicRef" (resolved through
 * the dynamic scope when its static target carries a matching "$dynamicAnchor"). */
#include <stdlib.h>
#include <string.h>

#include "schema/keywords.h"

SCHEMA_KC(ref)
{
    if (!json_is_string(value))
        return schema__compile_fail(c, node, "$ref", NULL, "expected a string");
    kw->data = schema__compile_ref(c, node, "$ref", json_string_value(value), NULL);
    return kw->data != NULL;
}

SCHEMA_KV(ref)
{
    schema__seg_t seg = {v->kpath, "$ref", 4};
    return schema__eval_ref(v, kw->data, inst, &seg, ev);
}

typedef struct {
    schema__node_t *target;
    const char *anchor; /* NULL: behaves as "$ref" */
} dynamic_ref_t;

SCHEMA_KC(dynamic_ref)
{
    if (!json_is_string(value))
        return schema__compile_fail(c, node, "$dynamicRef", NULL, "expected a string");
    dynamic_ref_t *d = schema__compile_alloc(c, sizeof(*d));
    if (d == NULL)
        return false;
    const char *ref = json_string_value(value);
    schema__target_t t;
    d->target = schema__compile_ref(c, node, "$dynamicRef", ref, &t);
    free(t.pointer);
    if (d->target == NULL)
        return false;
    const char *hash = strchr(ref, '#');
    const char *anchor = json_string_value(json_object_get(d->target->json, "$dynamicAnchor"));
    if (hash != NULL && hash[1] != '/' && anchor != NULL && strcmp(anchor, hash + 1) == 0)
        d->anchor = anchor;
    kw->data = d;
    return true;
}

/* The outermost resource in the dynamic scope that defines the anchor, or NULL. */
static const schema__node_t *dynamic_target(const schema__scope_t *scope, const char *anchor)
{
    const schema__node_t *found = NULL;
    for (; scope != NULL; scope = scope->up) {
        const schema__cres_t *cr = scope->cres;
        for (size_t i = 0; i < cr->n_dyn; i++)
            if (strcmp(cr->dyn_names[i], anchor) == 0)
                found = cr->dyn_nodes[i];
    }
    return found;
}

SCHEMA_KV(dynamic_ref)
{
    const dynamic_ref_t *d = kw->data;
    const schema__node_t *target = d->anchor ? dynamic_target(v->scope, d->anchor) : NULL;
    schema__seg_t seg = {v->kpath, "$dynamicRef", 11};
    return schema__eval_ref(v, target ? target : d->target, inst, &seg, ev);
}
