/* Evaluation: runs a compiled node's keywords over an instance, tracks the dynamic scope, the
 * locations for output, the evaluated properties and items for unevaluated*, and ref loops. */
#include <stdlib.h>
#include <string.h>

#include "schema/internal.h"

bool schema__eval_init(schema__eval_t *ev, const json_t *instance)
{
    size_t n = json_is_object(instance) ? json_object_size(instance) : json_array_size(instance);
    size_t words = (n + 63) / 64;
    ev->n = n;
    memset(ev->inline_bits, 0, sizeof(ev->inline_bits));
    ev->bits = words <= SCHEMA_EVAL_INLINE ? ev->inline_bits : calloc(words, sizeof(uint64_t));
    return ev->bits != NULL;
}

void schema__eval_release(schema__eval_t *ev)
{
    if (ev->bits != ev->inline_bits)
        free(ev->bits);
    ev->bits = NULL;
}

void schema__eval_merge(schema__eval_t *into, const schema__eval_t *from)
{
    size_t words = (into->n + 63) / 64;
    for (size_t i = 0; i < words && into->n == from->n; i++)
        into->bits[i] |= from->bits[i];
}

void schema__eval_mark_all(schema__eval_t *ev)
{
    if (ev == NULL)
        return;
    for (size_t i = 0; i < ev->n; i++)
        schema__eval_mark(ev, i);
}

/* Runs the keywords of an object schema; `ev` collects when the caller or a keyword needs it. */
static inline __attribute__((always_inline)) bool run_keywords(const schema__vctx_t *v,
                                                               const schema__node_t *node,
                                                               const json_t *instance,
                                                               schema__eval_t *ev)
{
    schema__eval_t local;
    bool own = node->collects && (v->types & (SCHEMA_T_OBJECT | SCHEMA_T_ARRAY));
    if (own && !schema__eval_init(&local, instance))
        return schema__report(v, NULL, NULL, "out of memory");
    schema__eval_t *use = own ? &local : ev;
    bool ok = true;
    /* a "type" that holds is checked here rather than through its keyword */
    size_t first = node->type_mask != 0 && (v->types & node->type_mask) ? 1 : 0;
    const schema__kw_t *kws = v->errors != NULL ? node->kws : node->verdict_kws;
    size_t n = v->errors != NULL ? node->n_kws : node->n_verdict_kws;
    for (size_t i = first; i < n; i++) {
        const schema__kw_t *kw = &kws[i];
        if ((kw->types & v->types) && !kw->validate(v, kw, instance, use)) {
            ok = false;
            if (schema__stop(v))
                break;
        }
    }
    if (own) {
        if (ok && ev != NULL)
            schema__eval_merge(ev, &local);
        schema__eval_release(&local);
    }
    return ok;
}

void schema__members_init(schema__members_t *ms, const schema__props_t *props, const json_t *obj)
{
    ms->obj = obj;
    ms->props = props;
    ms->next = json_object_iter((json_t *)obj);
    ms->n = 0;
    ms->required = 0;
    ms->others = 0;
}

/* run_keywords for an object whose members the node's keywords walk (out of line: only
 * these frames hold the members). */
__attribute__((noinline)) static bool run_object_keywords(schema__vctx_t *v,
                                                          const schema__node_t *node,
                                                          const json_t *obj, schema__eval_t *ev)
{
    schema__members_t members;
    schema__members_init(&members, node->props, obj);
    v->members = &members;
    bool ok = run_keywords(v, node, obj, ev);
    v->members = NULL;
    return ok;
}

/* Whether a node's "properties" may look the object's members up by name instead of walking
 * them: cheaper when it names fewer than the object holds, and allowed when neither errors nor
 * evaluated members are wanted (the order in which members are visited is then invisible). */
static bool by_name(const schema__vctx_t *v, const schema__node_t *node, const json_t *obj,
                    const schema__eval_t *ev)
{
    return node->by_name && v->errors == NULL && ev == NULL &&
           node->props->n_names < json_object_size(obj);
}

/* The type bits of a number whose text was kept: an integer when its decimal has no fraction
 * (a double near 1e20 is integral whatever the digits it lost). */
static unsigned exact_types(const schema__vctx_t *v, const json_t *instance)
{
    const char *text = schema__numbers_text(v->numbers, instance);
    if (text == NULL)
        return v->types;
    return schema__text_is_integral(text) ? SCHEMA_T_NUMBER | SCHEMA_T_INTEGER : SCHEMA_T_NUMBER;
}

/* Runs `node` over `instance` in `sub`, the caller's copy of its context already pointed at
 * the locations of the node. */
static inline __attribute__((always_inline)) bool run_node(schema__vctx_t *sub,
                                                           const schema__node_t *node,
                                                           const json_t *instance,
                                                           schema__eval_t *ev)
{
    sub->node = node;
    sub->members = NULL;
    if (node->boolean >= 0)
        return node->boolean ? true : schema__report(sub, NULL, NULL, "no value is allowed here");
    if (++sub->depth > SCHEMA_MAX_DEPTH)
        return schema__report(sub, NULL, NULL, "schema evaluation nested deeper than %d",
                              SCHEMA_MAX_DEPTH);
    sub->types = schema__json_types(instance);
    if (sub->numbers != NULL && (sub->types & SCHEMA_T_NUMBER))
        sub->types = exact_types(sub, instance);
    if ((node->kw_types & sub->types) == 0)
        return true;
    schema__scope_t scope = {sub->scope, node->cres};
    if (sub->scope == NULL || sub->scope->cres != node->cres)
        sub->scope = &scope;
    bool ok = node->walks && (sub->types & SCHEMA_T_OBJECT) && !by_name(sub, node, instance, ev)
                  ? run_object_keywords(sub, node, instance, ev)
                  : run_keywords(sub, node, instance, ev);
    sub->scope = scope.up;
    return ok;
}

/* Follows the reference of a node whose only keyword is "$ref" to a node of the same resource
 * without running the node itself, when no error (hence no location) is wanted: the depth it
 * would have taken is counted, and the dynamic scope is the same either way. */
static bool run_ref_only(schema__vctx_t *sub, const schema__node_t *node, const json_t *instance,
                         schema__eval_t *ev)
{
    const schema__node_t *target = node->ref_only;
    for (const schema__visit_t *p = sub->visits; p != NULL; p = p->up)
        if (p->node == target && p->instance == instance)
            return false;
    schema__visit_t visit = {sub->visits, target, instance};
    sub->visits = &visit;
    sub->via_ref = true;
    if (++sub->depth > SCHEMA_MAX_DEPTH)
        return false;
    return run_node(sub, target, instance, ev);
}

bool schema__eval(const schema__vctx_t *v, const schema__node_t *node, const json_t *instance,
                  const schema__seg_t *kseg, const schema__seg_t *iseg, schema__eval_t *ev)
{
    schema__vctx_t sub = *v;
    if (kseg != NULL)
        sub.kpath = kseg;
    if (iseg != NULL)
        sub.ipath = iseg;
    if (node->ref_only != NULL && v->errors == NULL)
        return run_ref_only(&sub, node, instance, ev);
    return run_node(&sub, node, instance, ev);
}

bool schema__eval_ref(const schema__vctx_t *v, const schema__node_t *target, const json_t *instance,
                      const schema__seg_t *kseg, schema__eval_t *ev)
{
    for (const schema__visit_t *p = v->visits; p != NULL; p = p->up)
        if (p->node == target && p->instance == instance)
            return schema__report(v, kseg->name, NULL, "reference loop on the same value");
    schema__visit_t visit = {v->visits, target, instance};
    schema__vctx_t sub = *v;
    sub.visits = &visit;
    sub.via_ref = true;
    sub.kpath = kseg;
    return run_node(&sub, target, instance, ev);
}

bool schema__string_ok(const odm_schema_t *schema, const schema__node_t *node, const char *s,
                       size_t len)
{
    for (size_t i = 0; i < node->n_kws; i++)
        if (!node->kws[i].def->on_string(schema, &node->kws[i], s, len))
            return false;
    return true;
}

bool odm_schema_validate(const odm_schema_t *schema, const json_t *instance,
                         odm_schema_errors_t *errors)
{
    return odm_schema_validate_numbers(schema, instance, NULL, errors);
}

bool odm_schema_validate_numbers(const odm_schema_t *schema, const json_t *instance,
                                 const odm_schema_numbers_t *numbers, odm_schema_errors_t *errors)
{
    if (errors != NULL)
        schema__errors_reset(errors);
    schema__vctx_t v = {.schema = schema, .numbers = numbers, .errors = errors};
    return schema__eval(&v, schema->root, instance, NULL, NULL, NULL);
}
