/* In-place applicators: allOf, anyOf, oneOf, not, if/then/else, dependentSchemas. Branches whose
 * outcome is only a condition run quietly; their errors are gathered only when the keyword
 * fails. */
#include <stdio.h>
#include <string.h>

#include "odmd/text.h"
#include "schema/keywords.h"

SCHEMA_KC(schema_list)
{
    const char *name = kw->def->name;
    if (!json_is_array(value) || json_array_size(value) == 0)
        return schema__compile_fail(c, node, name, NULL, "expected a non-empty array of schemas");
    schema__list_t *l = schema__compile_alloc(c, sizeof(*l));
    l->items = l ? schema__compile_alloc(c, json_array_size(value) * sizeof(*l->items)) : NULL;
    if (l == NULL || l->items == NULL)
        return false;
    for (size_t i = 0; i < json_array_size(value); i++) {
        const json_t *item = json_array_get(value, i);
        char num[ODM_TEXT_INT_MAX];
        odm_text_uint(i, num);
        if (!json_is_object(item) && !json_is_boolean(item))
            return schema__compile_fail(c, node, name, num,
                                        "expected a schema (an object or a boolean)");
        l->items[i] = schema__compile_sub(c, node, name, num, item);
        if (l->items[i] == NULL)
            return false;
    }
    l->n = json_array_size(value);
    kw->data = l;
    return true;
}

SCHEMA_KC(one)
{
    kw->data = schema__kw_subschema(c, node, kw->def->name, value);
    return kw->data != NULL;
}

SCHEMA_KC(is_schema)
{
    if (!json_is_object(value) && !json_is_boolean(value))
        return schema__compile_fail(c, node, kw->def->name, NULL,
                                    "expected a schema (an object or a boolean)");
    return true;
}

/* Evaluates branch i of a list keyword. */
static bool branch(const schema__vctx_t *v, const schema__kw_t *kw, size_t i, const json_t *inst,
                   schema__eval_t *ev)
{
    const schema__list_t *l = kw->data;
    schema__seg_t k1 = {v->kpath, kw->def->name, kw->def->name_len};
    schema__seg_t k2 = {&k1, NULL, i};
    return schema__eval(v, l->items[i], inst, &k2, NULL, ev);
}

SCHEMA_KV(all_of)
{
    const schema__list_t *l = kw->data;
    bool ok = true;
    for (size_t i = 0; i < l->n; i++) {
        if (!branch(v, kw, i, inst, ev)) {
            ok = false;
            if (schema__stop(v))
                break;
        }
    }
    return ok;
}

/* Runs branch i quietly; its annotations reach `ev` only when it is valid. */
static bool quiet_branch(const schema__vctx_t *v, const schema__kw_t *kw, size_t i,
                         const json_t *inst, schema__eval_t *ev)
{
    schema__vctx_t q = schema__quiet(v);
    if (ev == NULL)
        return branch(&q, kw, i, inst, NULL);
    schema__eval_t local;
    if (!schema__eval_init(&local, inst))
        return false;
    bool ok = branch(&q, kw, i, inst, &local);
    if (ok)
        schema__eval_merge(ev, &local);
    schema__eval_release(&local);
    return ok;
}

/* After a failed anyOf/oneOf: the errors of every branch, for the reader. */
static void explain_branches(const schema__vctx_t *v, const schema__kw_t *kw, const json_t *inst)
{
    const schema__list_t *l = kw->data;
    for (size_t i = 0; i < l->n && schema__collecting(v); i++)
        branch(v, kw, i, inst, NULL);
}

SCHEMA_KV(any_of)
{
    const schema__list_t *l = kw->data;
    bool any = false;
    for (size_t i = 0; i < l->n && (ev != NULL || !any); i++)
        any |= quiet_branch(v, kw, i, inst, ev);
    if (any)
        return true;
    if (schema__collecting(v)) {
        schema__report(v, "anyOf", NULL, "value does not match any of the schemas in 'anyOf'");
        explain_branches(v, kw, inst);
    }
    return false;
}

SCHEMA_KV(one_of)
{
    const schema__list_t *l = kw->data;
    size_t matched = 0, first = 0;
    for (size_t i = 0; i < l->n && matched < 2; i++) {
        if (quiet_branch(v, kw, i, inst, NULL)) {
            if (matched++ == 0)
                first = i;
        }
    }
    if (matched == 1)
        return ev == NULL || quiet_branch(v, kw, first, inst, ev);
    if (matched > 1)
        return schema__report(v, "oneOf", NULL,
                              "value matches more than one of the schemas in 'oneOf'");
    if (schema__collecting(v)) {
        schema__report(v, "oneOf", NULL, "value does not match any of the schemas in 'oneOf'");
        explain_branches(v, kw, inst);
    }
    return false;
}

SCHEMA_KV(not )
{
    schema__vctx_t q = schema__quiet(v);
    schema__seg_t seg = {v->kpath, "not", 3};
    if (!schema__eval(&q, kw->data, inst, &seg, NULL, NULL))
        return true;
    return schema__report(v, "not", NULL, "value must not match the schema in 'not'");
}

typedef struct {
    schema__node_t *cond, *then, *otherwise;
} if_t;

SCHEMA_KC(if)
{
    if_t *d = schema__compile_alloc(c, sizeof(*d));
    if (d == NULL)
        return false;
    const json_t *then = json_object_get(node->json, "then");
    const json_t *otherwise = json_object_get(node->json, "else");
    d->cond = schema__kw_subschema(c, node, "if", value);
    d->then = then ? schema__kw_subschema(c, node, "then", then) : NULL;
    d->otherwise = otherwise ? schema__kw_subschema(c, node, "else", otherwise) : NULL;
    kw->data = d;
    return d->cond != NULL && (then == NULL || d->then != NULL) &&
           (otherwise == NULL || d->otherwise != NULL);
}

/* Evaluates "if" quietly, keeping its annotations when it holds. */
static bool condition(const schema__vctx_t *v, const if_t *d, const json_t *inst,
                      schema__eval_t *ev)
{
    schema__vctx_t q = schema__quiet(v);
    schema__seg_t seg = {v->kpath, "if", 2};
    if (ev == NULL)
        return schema__eval(&q, d->cond, inst, &seg, NULL, NULL);
    schema__eval_t local;
    if (!schema__eval_init(&local, inst))
        return false;
    bool ok = schema__eval(&q, d->cond, inst, &seg, NULL, &local);
    if (ok)
        schema__eval_merge(ev, &local);
    schema__eval_release(&local);
    return ok;
}

SCHEMA_KV(if)
{
    const if_t *d = kw->data;
    bool holds = condition(v, d, inst, ev);
    const schema__node_t *next = holds ? d->then : d->otherwise;
    if (next == NULL)
        return true;
    schema__seg_t seg = {v->kpath, holds ? "then" : "else", 4};
    return schema__eval(v, next, inst, &seg, NULL, ev);
}

typedef struct {
    size_t n;
    const char **names;
    schema__node_t **nodes;
} dependent_t;

SCHEMA_KC(dependent_schemas)
{
    if (!json_is_object(value))
        return schema__compile_fail(c, node, "dependentSchemas", NULL, "expected an object");
    size_t n = json_object_size(value);
    dependent_t *d = schema__compile_alloc(c, sizeof(*d));
    d->names = d ? schema__compile_alloc(c, n * sizeof(*d->names) + 1) : NULL;
    d->nodes = d ? schema__compile_alloc(c, n * sizeof(*d->nodes) + 1) : NULL;
    if (d == NULL || d->names == NULL || d->nodes == NULL)
        return false;
    const char *name;
    json_t *sub;
    json_object_foreach((json_t *)value, name, sub)
    {
        if (!json_is_object(sub) && !json_is_boolean(sub))
            return schema__compile_fail(c, node, "dependentSchemas", name,
                                        "expected a schema (an object or a boolean)");
        d->names[d->n] = name;
        d->nodes[d->n] = schema__compile_sub(c, node, "dependentSchemas", name, sub);
        if (d->nodes[d->n++] == NULL)
            return false;
    }
    kw->data = d;
    return true;
}

SCHEMA_KV(dependent_schemas)
{
    const dependent_t *d = kw->data;
    bool ok = true;
    schema__seg_t k1 = {v->kpath, "dependentSchemas", 16};
    for (size_t i = 0; i < d->n; i++) {
        if (json_object_get(inst, d->names[i]) == NULL)
            continue;
        schema__seg_t k2 = {&k1, d->names[i], strlen(d->names[i])};
        if (!schema__eval(v, d->nodes[i], inst, &k2, NULL, ev)) {
            ok = false;
            if (schema__stop(v))
                break;
        }
    }
    return ok;
}
