/* Value keywords: type, const, enum, the numeric bounds, multipleOf, string lengths (in code
 * points), pattern and format. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "odmd/format.h"
#include "schema/keywords.h"

static const struct {
    const char *name;
    unsigned bit;
} type_names[] = {
    {"null", SCHEMA_T_NULL},     {"boolean", SCHEMA_T_BOOLEAN}, {"object", SCHEMA_T_OBJECT},
    {"array", SCHEMA_T_ARRAY},   {"number", SCHEMA_T_NUMBER},   {"integer", SCHEMA_T_INTEGER},
    {"string", SCHEMA_T_STRING},
};

#define N_TYPES (sizeof(type_names) / sizeof(type_names[0]))

static unsigned type_bit(const json_t *name)
{
    for (size_t i = 0; json_is_string(name) && i < N_TYPES; i++)
        if (strcmp(json_string_value(name), type_names[i].name) == 0)
            return type_names[i].bit;
    return 0;
}

typedef struct {
    unsigned mask;
    char want[64]; /* the names for messages: "string or null" */
} type_t;

SCHEMA_KC(type)
{
    unsigned mask = 0;
    if (json_is_string(value)) {
        mask = type_bit(value);
    } else if (json_is_array(value)) {
        for (size_t i = 0; i < json_array_size(value); i++) {
            unsigned bit = type_bit(json_array_get(value, i));
            if (bit == 0 || (mask & bit))
                return schema__compile_fail(c, node, "type", NULL, "expected distinct type names");
            mask |= bit;
        }
    }
    if (mask == 0)
        return schema__compile_fail(c, node, "type", NULL,
                                    "expected a type name or an array of them");
    type_t *t = schema__compile_alloc(c, sizeof(*t));
    if (t == NULL)
        return false;
    t->mask = mask;
    size_t n = 0;
    for (size_t i = 0; i < N_TYPES; i++) {
        if (mask & type_names[i].bit)
            n += (size_t)snprintf(t->want + n, sizeof(t->want) - n, "%s%s", n ? " or " : "",
                                  type_names[i].name);
    }
    kw->data = t;
    return true;
}

unsigned schema__type_mask(const schema__kw_t *kw)
{
    return ((const type_t *)kw->data)->mask;
}

SCHEMA_KS(type)
{
    return ((const type_t *)kw->data)->mask & SCHEMA_T_STRING;
}

SCHEMA_KV(type)
{
    const type_t *t = kw->data;
    if (v->types & t->mask)
        return true;
    return schema__report(v, "type", NULL, "expected %s, got %s", t->want,
                          schema__json_type_name(inst));
}

/* A keyword's value with its text for messages, made once at compile time; a number also as
 * a double when that is exact. */
typedef struct {
    const json_t *value;
    const char *exact_text; /* a number the tree holds inexactly, as written (or NULL) */
    double number;
    bool exact;
    char text[200];
} shown_t;

/* The value as JSON text for a message, cut short when long. */
static void show(const json_t *value, char *buf, size_t cap)
{
    size_t n = json_dumpb(value, buf, cap - 1, JSON_ENCODE_ANY | JSON_COMPACT);
    if (n >= cap - 1) {
        snprintf(buf + cap - 5, 5, "...");
        return;
    }
    buf[n] = '\0';
}

static shown_t *shown_new(schema__cctx_t *c, const json_t *value, size_t cap)
{
    shown_t *s = schema__compile_alloc(c, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->value = value;
    s->exact_text = json_is_number(value) ? schema__compile_number_text(c, value) : NULL;
    s->exact = s->exact_text == NULL &&
               (json_is_real(value) ||
                (json_is_integer(value) && json_integer_value(value) > -9007199254740992LL &&
                 json_integer_value(value) < 9007199254740992LL)); /* 2^53 */
    s->number = json_is_number(value) ? json_number_value(value) : 0;
    if (s->exact_text != NULL && strlen(s->exact_text) < sizeof s->text)
        memcpy(s->text, s->exact_text, strlen(s->exact_text) + 1);
    else if (s->exact_text != NULL) /* cut short, as show() cuts */
        snprintf(s->text, sizeof s->text, "%.*s...", (int)sizeof s->text - 4, s->exact_text);
    else if (json_is_number(value))
        schema__kw_number_text(value, s->text, sizeof(s->text));
    else
        show(value, s->text, cap);
    return s;
}

SCHEMA_KC(const)
{
    kw->data = shown_new(c, value, 120);
    return kw->data != NULL;
}

SCHEMA_KS(const)
{
    const json_t *value = ((const shown_t *)kw->data)->value;
    return json_is_string(value) && json_string_length(value) == len &&
           memcmp(json_string_value(value), s, len) == 0;
}

SCHEMA_KV(const)
{
    const shown_t *s = kw->data;
    if (schema__json_equal(inst, s->value))
        return true;
    return schema__report(v, "const", NULL, "value must be %s", s->text);
}

/* enum: its values, and the string ones apart (a string instance can only equal those). */
typedef struct {
    const char *text;
    size_t len;
} string_t;

typedef struct {
    const shown_t *shown;
    size_t n_strings;
    string_t *strings;
} enum_t;

SCHEMA_KC(enum)
{
    if (!json_is_array(value))
        return schema__compile_fail(c, node, "enum", NULL, "expected an array");
    enum_t *e = schema__compile_alloc(c, sizeof(*e));
    e->strings =
        e ? schema__compile_alloc(c, json_array_size(value) * sizeof(*e->strings) + 1) : NULL;
    if (e == NULL || e->strings == NULL || (e->shown = shown_new(c, value, 200)) == NULL)
        return false;
    for (size_t i = 0; i < json_array_size(value); i++) {
        const json_t *item = json_array_get(value, i);
        if (json_is_string(item))
            e->strings[e->n_strings++] =
                (string_t){json_string_value(item), json_string_length(item)};
    }
    kw->data = e;
    return true;
}

SCHEMA_KS(enum)
{
    const enum_t *e = kw->data;
    for (size_t i = 0; i < e->n_strings; i++)
        if (e->strings[i].len == len && memcmp(e->strings[i].text, s, len) == 0)
            return true;
    return false;
}

SCHEMA_KV(enum)
{
    const enum_t *e = kw->data;
    const json_t *values = e->shown->value;
    if (json_is_string(inst)) {
        if (schema__ks_enum(v->schema, kw, json_string_value(inst), json_string_length(inst)))
            return true;
    } else {
        for (size_t i = 0; i < json_array_size(values); i++)
            if (schema__json_equal(inst, json_array_get(values, i)))
                return true;
    }
    return schema__report(v, "enum", NULL, "value must be one of %s", e->shown->text);
}

SCHEMA_KC(number)
{
    if (!json_is_number(value))
        return schema__compile_fail(c, node, kw->def->name, NULL, "expected a number");
    kw->data = shown_new(c, value, 0);
    return kw->data != NULL;
}

typedef struct {
    shown_t *divisor;
    schema__decimal_t decimal;
} multiple_t;

SCHEMA_KC(multiple_of)
{
    if (!json_is_number(value) || json_number_value(value) <= 0)
        return schema__compile_fail(c, node, "multipleOf", NULL, "expected a number above 0");
    multiple_t *m = schema__compile_alloc(c, sizeof(*m));
    if (m == NULL || (m->divisor = shown_new(c, value, 0)) == NULL)
        return false;
    m->decimal = schema__decimal(value);
    kw->data = m;
    return true;
}

SCHEMA_KV(multiple_of)
{
    const multiple_t *m = kw->data;
    const char *text = schema__numbers_text(v->numbers, inst);
    int exact =
        text != NULL || m->divisor->exact_text != NULL
            ? schema__multiple_of_exact(inst, text, m->divisor->value, m->divisor->exact_text)
            : -1;
    if (exact == 1 || (exact < 0 && schema__multiple_of(inst, m->divisor->value, m->decimal)))
        return true;
    return schema__report(v, "multipleOf", NULL, "must be a multiple of %s", m->divisor->text);
}

/* A bound holds when the comparison's sign is one of the allowed ones. */
static bool bound(const schema__vctx_t *v, const schema__kw_t *kw, const json_t *inst,
                  bool allow_less, bool allow_equal, bool allow_more, const char *phrase)
{
    const shown_t *s = kw->data;
    const char *text = schema__numbers_text(v->numbers, inst);
    int cmp;
    if (text != NULL || s->exact_text != NULL) { /* beyond a double: on the decimals */
        cmp = schema__num_cmp_exact(inst, text, s->value, s->exact_text);
    } else if (json_is_real(inst) &&
               s->exact) { /* a real against a bound that is a double exactly */
        double x = json_real_value(inst);
        cmp = (x > s->number) - (x < s->number);
    } else {
        cmp = schema__num_cmp(inst, s->value);
    }
    if ((cmp < 0 && allow_less) || (cmp == 0 && allow_equal) || (cmp > 0 && allow_more))
        return true;
    return schema__report(v, kw->def->name, NULL, "must be %s %s", phrase, s->text);
}

SCHEMA_KV(maximum)
{
    return bound(v, kw, inst, true, true, false, "at most");
}

SCHEMA_KV(exclusive_maximum)
{
    return bound(v, kw, inst, true, false, false, "less than");
}

SCHEMA_KV(minimum)
{
    return bound(v, kw, inst, false, true, true, "at least");
}

SCHEMA_KV(exclusive_minimum)
{
    return bound(v, kw, inst, false, false, true, "greater than");
}

static size_t length_of(const json_t *s)
{
    return schema__utf8_length(json_string_value(s), json_string_length(s));
}

/* A string of n bytes holds between n / 4 and n code points: the byte count often decides. */
SCHEMA_KS(max_length)
{
    size_t max = (size_t)(uintptr_t)kw->data;
    return len <= max || schema__utf8_length(s, len) <= max;
}

SCHEMA_KV(max_length)
{
    if (schema__ks_max_length(v->schema, kw, json_string_value(inst), json_string_length(inst)))
        return true;
    return schema__report(v, "maxLength", NULL, "string has %zu characters, at most %zu allowed",
                          length_of(inst), (size_t)(uintptr_t)kw->data);
}

SCHEMA_KS(min_length)
{
    size_t min = (size_t)(uintptr_t)kw->data;
    return len / 4 >= min || schema__utf8_length(s, len) >= min;
}

SCHEMA_KV(min_length)
{
    if (schema__ks_min_length(v->schema, kw, json_string_value(inst), json_string_length(inst)))
        return true;
    return schema__report(v, "minLength", NULL, "string has %zu characters, at least %zu required",
                          length_of(inst), (size_t)(uintptr_t)kw->data);
}

typedef struct {
    const schema__regex_t *code;
    const char *source;
} pattern_t;

SCHEMA_KC(pattern)
{
    if (!json_is_string(value))
        return schema__compile_fail(c, node, "pattern", NULL, "expected a string");
    pattern_t *p = schema__compile_alloc(c, sizeof(*p));
    if (p == NULL)
        return false;
    p->source = json_string_value(value);
    p->code = schema__compile_regex(c, node, "pattern", NULL, p->source, json_string_length(value));
    kw->data = p;
    return p->code != NULL;
}

SCHEMA_KS(pattern)
{
    const pattern_t *p = kw->data;
    return schema__regex_match(p->code, schema->mctx, s, len) > 0;
}

SCHEMA_KV(pattern)
{
    const pattern_t *p = kw->data;
    int m = schema__regex_match(p->code, v->schema->mctx, json_string_value(inst),
                                json_string_length(inst));
    if (m > 0)
        return true;
    if (m < 0)
        return schema__report(v, "pattern", NULL, "pattern '%s' exceeded its match limit",
                              p->source);
    return schema__report(v, "pattern", NULL, "does not match the pattern '%s'", p->source);
}

typedef struct {
    const char *name;
    odm_format_fn check; /* NULL: annotation only */
} format_t;

SCHEMA_KC(format)
{
    if (!json_is_string(value))
        return schema__compile_fail(c, node, "format", NULL, "expected a string");
    format_t *f = schema__compile_alloc(c, sizeof(*f));
    if (f == NULL)
        return false;
    f->name = json_string_value(value);
    bool assert = schema__compile_formats(c) == ODM_FORMAT_ASSERT ||
                  (node->cres->vocabs & SCHEMA_V_FORMAT_ASSERTION);
    f->check = assert ? odm_format_lookup(f->name) : NULL;
    kw->data = f;
    return true;
}

SCHEMA_KS(format)
{
    const format_t *f = kw->data;
    return f->check == NULL || f->check(s, len);
}

SCHEMA_KV(format)
{
    const format_t *f = kw->data;
    if (schema__ks_format(v->schema, kw, json_string_value(inst), json_string_length(inst)))
        return true;
    return schema__report(v, "format", NULL, "not a valid %s", f->name);
}
