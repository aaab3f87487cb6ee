/* The keyword implementations behind the table in keywords.c: kc_NAME compiles a keyword's
 * value into its data, kv_NAME validates an instance against it. */
#ifndef ODMD_SCHEMA_KEYWORDS_H
#define ODMD_SCHEMA_KEYWORDS_H

#include "schema/internal.h"

#define SCHEMA_KC(fn)                                                                              \
    bool schema__kc_##fn(schema__cctx_t *c, schema__node_t *node, const json_t *value,             \
                         schema__kw_t *kw)
#define SCHEMA_KS(fn)                                                                              \
    bool schema__ks_##fn(const odm_schema_t *schema, const schema__kw_t *kw, const char *s,        \
                         size_t len)
#define SCHEMA_KV(fn)                                                                              \
    bool schema__kv_##fn(const schema__vctx_t *v, const schema__kw_t *kw, const json_t *inst,      \
                         schema__eval_t *ev)

/* kw_core.c */
SCHEMA_KC(ref);
SCHEMA_KV(ref);
SCHEMA_KC(dynamic_ref);
SCHEMA_KV(dynamic_ref);

/* kw_logic.c */
SCHEMA_KC(schema_list);
SCHEMA_KV(all_of);
SCHEMA_KV(any_of);
SCHEMA_KV(one_of);
SCHEMA_KC(one);
SCHEMA_KV(not );
SCHEMA_KC(if);
SCHEMA_KV(if);
SCHEMA_KC(is_schema);
SCHEMA_KC(dependent_schemas);
SCHEMA_KV(dependent_schemas);

/* kw_object.c */
SCHEMA_KC(properties);
SCHEMA_KV(properties);
SCHEMA_KC(pattern_properties);
SCHEMA_KV(pattern_properties);
SCHEMA_KC(additional_properties);
SCHEMA_KV(additional_properties);
SCHEMA_KV(property_names);
SCHEMA_KV(unevaluated_properties);
SCHEMA_KC(required);
SCHEMA_KV(required);
SCHEMA_KC(dependent_required);
SCHEMA_KV(dependent_required);
SCHEMA_KC(count);
SCHEMA_KV(max_properties);
SCHEMA_KV(min_properties);

/* kw_array.c */
SCHEMA_KV(prefix_items);
SCHEMA_KC(items);
SCHEMA_KV(items);
SCHEMA_KC(contains);
SCHEMA_KV(contains);
SCHEMA_KV(unevaluated_items);
SCHEMA_KV(max_items);
SCHEMA_KV(min_items);
SCHEMA_KC(unique_items);
SCHEMA_KV(unique_items);

/* kw_value.c (SCHEMA_KS: the keyword's verdict on a string given as bytes) */
SCHEMA_KC(type);
SCHEMA_KV(type);
SCHEMA_KS(type);
SCHEMA_KC(enum);
SCHEMA_KV(enum);
SCHEMA_KS(enum);
SCHEMA_KC(const);
SCHEMA_KV(const);
SCHEMA_KS(const);
SCHEMA_KC(multiple_of);
SCHEMA_KV(multiple_of);
SCHEMA_KC(number);
SCHEMA_KV(maximum);
SCHEMA_KV(exclusive_maximum);
SCHEMA_KV(minimum);
SCHEMA_KV(exclusive_minimum);
SCHEMA_KV(max_length);
SCHEMA_KS(max_length);
SCHEMA_KV(min_length);
SCHEMA_KS(min_length);
SCHEMA_KC(pattern);
SCHEMA_KV(pattern);
SCHEMA_KS(pattern);
SCHEMA_KC(format);
SCHEMA_KV(format);
SCHEMA_KS(format);

/* The type bits a compiled "type" keyword allows (kw_value.c). */
unsigned schema__type_mask(const schema__kw_t *kw);

/* Shared helpers (keywords.c). */

/* A keyword whose value is one subschema: returns its node. */
schema__node_t *schema__kw_subschema(schema__cctx_t *c, schema__node_t *node, const char *kw,
                                     const json_t *value);
/* Reads a non-negative integer (1.0 included; huge values become SIZE_MAX); false if not one. */
bool schema__kw_count_value(const json_t *value, size_t *out);
/* Formats a number as written (shortest round trip) into buf. */
void schema__kw_number_text(const json_t *n, char *buf, size_t cap);

/* A subschema list (allOf, anyOf, oneOf, prefixItems). */
typedef struct {
    size_t n;
    schema__node_t **items;
} schema__list_t;

/* patternProperties: compiled patterns with their subschemas. */
typedef struct {
    size_t n;
    const schema__regex_t **codes;
    const char **sources;
    schema__node_t **nodes;
} schema__patterns_t;

/* Returns 1 when `name` matches pattern i, 0 when not, -1 when a match limit was hit. */
static inline int schema__patterns_match(const schema__vctx_t *v, const schema__patterns_t *p,
                                         size_t i, const char *name, size_t len)
{
    return schema__regex_match(p->codes[i], v->schema->mctx, name, len);
}

#endif
