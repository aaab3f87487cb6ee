/* The keyword table: every draft 2020-12 keyword odmd evaluates, with its vocabulary, the
 * instance types it applies to, and its compile and validate functions. Table order is
 * evaluation order: assertions first, applicators next, unevaluated* last. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "odmd/text.h"
#include "schema/keywords.h"

#define T_ANY SCHEMA_T_ANY
#define T_OBJ SCHEMA_T_OBJECT
#define T_ARR SCHEMA_T_ARRAY
#define T_NUM SCHEMA_T_NUMBER
#define T_STR SCHEMA_T_STRING
#define V_CORE SCHEMA_V_CORE
#define V_APPL SCHEMA_V_APPLICATOR
#define V_UNEV SCHEMA_V_UNEVALUATED
#define V_VAL SCHEMA_V_VALIDATION
#define V_FMT (SCHEMA_V_FORMAT_ANNOTATION | SCHEMA_V_FORMAT_ASSERTION)

#define KW(name, vocab, types, fn)                                                                 \
    {                                                                                              \
        name, sizeof(name) - 1, vocab, types, schema__kc_##fn, schema__kv_##fn, false, NULL        \
    }
#define KWC(name, vocab, types, c, fn)                                                             \
    {                                                                                              \
        name, sizeof(name) - 1, vocab, types, schema__kc_##c, schema__kv_##fn, false, NULL         \
    }
#define KW_SHAPE(name, vocab, c)                                                                   \
    {                                                                                              \
        name, sizeof(name) - 1, vocab, 0, schema__kc_##c, NULL, false, NULL                        \
    }
/* A value keyword that can also judge a string given as bytes (for property names). */
#define KW_STR(name, vocab, types, c, fn)                                                          \
    {                                                                                              \
        name, sizeof(name) - 1, vocab, types, schema__kc_##c, schema__kv_##fn, false,              \
            schema__ks_##fn                                                                        \
    }
/* An object keyword that walks the instance's members. */
#define KW_WALK(name, vocab, c, fn)                                                                \
    {                                                                                              \
        name, sizeof(name) - 1, vocab, T_OBJ, schema__kc_##c, schema__kv_##fn, true, NULL          \
    }

const schema__kwdef_t schema__keywords[] = {
    KW_STR("type", V_VAL, T_ANY, type, type),
    KW_STR("const", V_VAL, T_ANY, const, const),
    KW_STR("enum", V_VAL, T_ANY, enum, enum),
    KW("multipleOf", V_VAL, T_NUM, multiple_of),
    KWC("maximum", V_VAL, T_NUM, number, maximum),
    KWC("exclusiveMaximum", V_VAL, T_NUM, number, exclusive_maximum),
    KWC("minimum", V_VAL, T_NUM, number, minimum),
    KWC("exclusiveMinimum", V_VAL, T_NUM, number, exclusive_minimum),
    KW_STR("maxLength", V_VAL, T_STR, count, max_length),
    KW_STR("minLength", V_VAL, T_STR, count, min_length),
    KW_STR("pattern", V_VAL, T_STR, pattern, pattern),
    KW_STR("format", V_FMT, T_STR, format, format),
    KWC("maxItems", V_VAL, T_ARR, count, max_items),
    KWC("minItems", V_VAL, T_ARR, count, min_items),
    KW("uniqueItems", V_VAL, T_ARR, unique_items),
    KWC("maxProperties", V_VAL, T_OBJ, count, max_properties),
    KWC("minProperties", V_VAL, T_OBJ, count, min_properties),
    KW("required", V_VAL, T_OBJ, required),
    KW("dependentRequired", V_VAL, T_OBJ, dependent_required),
    KW_SHAPE("maxContains", V_VAL, count),
    KW_SHAPE("minContains", V_VAL, count),
    KW("$ref", V_CORE, T_ANY, ref),
    KW("$dynamicRef", V_CORE, T_ANY, dynamic_ref),
    KWC("allOf", V_APPL, T_ANY, schema_list, all_of),
    KWC("anyOf", V_APPL, T_ANY, schema_list, any_of),
    KWC("oneOf", V_APPL, T_ANY, schema_list, one_of),
    KWC("not", V_APPL, T_ANY, one, not ),
    KW_SHAPE("then", V_APPL, is_schema),
    KW_SHAPE("else", V_APPL, is_schema),
    KW("if", V_APPL, T_ANY, if),
    KW("dependentSchemas", V_APPL, T_OBJ, dependent_schemas),
    KW_WALK("properties", V_APPL, properties, properties),
    KW_WALK("patternProperties", V_APPL, pattern_properties, pattern_properties),
    KW_WALK("additionalProperties", V_APPL, additional_properties, additional_properties),
    KW_WALK("propertyNames", V_APPL, one, property_names),
    KWC("prefixItems", V_APPL, T_ARR, schema_list, prefix_items),
    KW("items", V_APPL, T_ARR, items),
    KW("contains", V_APPL, T_ARR, contains),
    KWC("unevaluatedItems", V_UNEV, T_ARR, one, unevaluated_items),
    KW_WALK("unevaluatedProperties", V_UNEV, one, unevaluated_properties),
};

const size_t schema__keyword_count = sizeof(schema__keywords) / sizeof(schema__keywords[0]);

/* Where subschemas live, for finding "$id" and anchors (including keywords only annotated). */
static const struct {
    const char *name;
    schema__sub_t kind;
} subschema_keywords[] = {
    {"$defs", SCHEMA_SUB_MAP},
    {"properties", SCHEMA_SUB_MAP},
    {"patternProperties", SCHEMA_SUB_MAP},
    {"dependentSchemas", SCHEMA_SUB_MAP},
    {"allOf", SCHEMA_SUB_ARRAY},
    {"anyOf", SCHEMA_SUB_ARRAY},
    {"oneOf", SCHEMA_SUB_ARRAY},
    {"prefixItems", SCHEMA_SUB_ARRAY},
    {"not", SCHEMA_SUB_ONE},
    {"if", SCHEMA_SUB_ONE},
    {"then", SCHEMA_SUB_ONE},
    {"else", SCHEMA_SUB_ONE},
    {"items", SCHEMA_SUB_ONE},
    {"contains", SCHEMA_SUB_ONE},
    {"additionalProperties", SCHEMA_SUB_ONE},
    {"propertyNames", SCHEMA_SUB_ONE},
    {"unevaluatedItems", SCHEMA_SUB_ONE},
    {"unevaluatedProperties", SCHEMA_SUB_ONE},
    {"contentSchema", SCHEMA_SUB_ONE},
};

schema__sub_t schema__keyword_subschemas(const char *name)
{
    for (size_t i = 0; i < sizeof(subschema_keywords) / sizeof(subschema_keywords[0]); i++)
        if (strcmp(name, subschema_keywords[i].name) == 0)
            return subschema_keywords[i].kind;
    return SCHEMA_SUB_NONE;
}

schema__node_t *schema__kw_subschema(schema__cctx_t *c, schema__node_t *node, const char *kw,
                                     const json_t *value)
{
    if (!json_is_object(value) && !json_is_boolean(value)) {
        schema__compile_fail(c, node, kw, NULL, "expected a schema (an object or a boolean)");
        return NULL;
    }
    return schema__compile_sub(c, node, kw, NULL, value);
}

bool schema__kw_count_value(const json_t *value, size_t *out)
{
    if (!json_is_number(value))
        return false;
    if (json_is_integer(value)) {
        json_int_t i = json_integer_value(value);
        *out = (size_t)i;
        return i >= 0;
    }
    double x = json_real_value(value);
    if (!(x >= 0) || !schema__is_integral(x))
        return false;
    *out = x >= 1.8e19 ? SIZE_MAX : (size_t)x;
    return true;
}

void schema__kw_number_text(const json_t *n, char *buf, size_t cap)
{
    char text[ODM_TEXT_DOUBLE_MAX > ODM_TEXT_INT_MAX ? ODM_TEXT_DOUBLE_MAX : ODM_TEXT_INT_MAX];
    size_t len = json_is_integer(n) ? odm_text_int(json_integer_value(n), text)
                                    : odm_text_double(json_real_value(n), text);
    if (len >= cap)
        len = cap - 1;
    memcpy(buf, text, len);
    buf[len] = '\0';
}
