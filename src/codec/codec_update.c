/* Update operators: an update document compiled into a list of (operator, path, argument),
 * sorted by path as MongoDB orders them, and applied to a document's wire-form tree with
 * MongoDB's semantics (odmd/codec_update.h). */
#include "codec/codec_int.h"
#include "codec/codec_update_int.h"
#include "odmd/codec.h"
#include "odmd/codec_update.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *text; /* dotted, NUL-terminated (owned) */
    size_t len;
    size_t n; /* components */
    size_t off[ODM_UPDATE_MAX_COMPONENTS], clen[ODM_UPDATE_MAX_COMPONENTS];
} path_t;

struct op_def;

typedef struct {
    const struct op_def *def;
    path_t path;
    path_t *to;         /* $rename's target (owned), else NULL */
    const json_t *arg;  /* borrowed from the update */
    const json_t *each; /* $push/$addToSet: the items ($each, or the argument alone) */
    json_t *one;        /* [argument] when there is no $each (owned) */
    bool has_slice, has_position;
    json_int_t slice, position;
    const json_t *sort;       /* $push's $sort, or NULL */
    const odm_field_t *field; /* the model's field at the path, or NULL */
    char *pointer;            /* where the path is in the request (owned) */
} op_t;

struct odm_update {
    json_t *doc; /* the update (a reference) */
    const odm_model_t *model;
    op_t *ops;
    size_t n;
    bool has_set_on_insert;
    bool writes_write_only; /* a path holds a writeOnly field */
};

typedef struct {
    json_t *doc;
    bool inserting;
    int64_t now_ms;
    odm_pointer_t *where;
    odm_error_t *err;
} apply_t;

typedef struct op_def {
    const char *name;
    bool reads; /* it reads the current value (so never a writeOnly one) */
    bool (*compile)(op_t *op, odm_pointer_t *where, odm_error_t *err); /* NULL: any argument */
    bool (*apply)(apply_t *a, const op_t *op);
} op_def_t;

/* ---- errors ---- */

/* Sets p to the pointer text s. */
static void pointer_set(odm_pointer_t *p, const char *s)
{
    size_t n = strlen(s);
    odm_pointer_init(p);
    n = n < sizeof p->buf ? n : sizeof p->buf - 1;
    memcpy(p->buf, s, n);
    p->buf[n] = '\0';
    p->len = n;
}

/* Client text (a path, a name, a pointer) fit for a message: cut, and never cut inside a UTF-8
 * sequence (the message becomes a JSON string). `out` holds CODEC__QUOTE_MAX bytes. */
static const char *q(const char *s, char *out)
{
    return codec__quote(s, strlen(s), out);
}

static bool fail_at(const char *pointer, odm_pointer_t *where, odm_error_t *err, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));

/* Fails with "POINTER: message" and the pointer in `where` (may be NULL). */
static bool fail_at(const char *pointer, odm_pointer_t *where, odm_error_t *err, const char *fmt,
                    ...)
{
    char message[ODM_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    if (where != NULL && where->buf != pointer)
        pointer_set(where, pointer);
    char at[CODEC__QUOTE_MAX];
    return odm_error_set(err, ODM_ERR_BAD_REQUEST, "%s: %s", q(pointer, at), message);
}

static bool out_of_memory(odm_error_t *err)
{
    return odm_error_set(err, ODM_ERR_INTERNAL, "out of memory");
}

/* A client's value as a message quotes it: compact JSON, cut (out: CODEC__QUOTE_MAX bytes). */
static const char *quote_value(const json_t *v, char *out)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    q(s ? s : "?", out);
    free(s);
    return out;
}

static const char *type_name(const json_t *v)
{
    static const char *const names[] = {
        [JSON_OBJECT] = "object", [JSON_ARRAY] = "array", [JSON_STRING] = "string",
        [JSON_INTEGER] = "int",   [JSON_REAL] = "double", [JSON_TRUE] = "bool",
        [JSON_FALSE] = "bool",    [JSON_NULL] = "null",
    };
    return v == NULL ? "missing" : names[json_typeof(v)];
}

/* ---- paths ---- */

static bool is_index(const char *s, size_t n, size_t *index)
{
    if (n == 0 || n > 9 || strspn(s, "0123456789") < n)
        return false;
    size_t i = 0;
    for (size_t k = 0; k < n; k++)
        i = i * 10 + (size_t)(s[k] - '0');
    *index = i;
    return true;
}

static const char *comp(const path_t *p, size_t i, size_t *n)
{
    *n = p->clen[i];
    return p->text + p->off[i];
}

/* Splits `text` (n bytes) into p. Returns: NULL, or why it is refused (static). */
static const char *path_parse(const char *text, size_t n, path_t *p)
{
    memset(p, 0, sizeof *p);
    if (n == 0)
        return "an empty field name";
    if (n > ODM_UPDATE_MAX_PATH_BYTES || memchr(text, '\0', n) != NULL)
        return n > ODM_UPDATE_MAX_PATH_BYTES ? "a path longer than 1024 bytes"
                                             : "a field name holding NUL";
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && text[i] != '.')
            continue;
        if (p->n == ODM_UPDATE_MAX_COMPONENTS)
            return "a path of more than 64 components";
        if (i == start)
            return "an empty field name in a dotted path";
        if (text[start] == '$')
            return "a '$'-prefixed field name (positional operators are not supported)";
        p->off[p->n] = start;
        p->clen[p->n++] = i - start;
        start = i + 1;
    }
    p->text = malloc(n + 1);
    if (p->text == NULL)
        return "out of memory";
    memcpy(p->text, text, n);
    p->text[n] = '\0';
    p->len = n;
    return NULL;
}

/* Whether p's components are the first of q's. */
static bool path_is_prefix(const path_t *p, const path_t *q)
{
    if (p->n > q->n)
        return false;
    for (size_t i = 0; i < p->n; i++) {
        size_t a, b;
        const char *x = comp(p, i, &a), *y = comp(q, i, &b);
        if (a != b || memcmp(x, y, a) != 0)
            return false;
    }
    return true;
}

/* One component against another: numeric names first, by number, then the others by bytes (a
 * total order, so that sorting is sound and a path's extensions follow it). */
static int comp_compare(const char *s, size_t a, const char *t, size_t b)
{
    size_t x, y;
    bool sn = is_index(s, a, &x), tn = is_index(t, b, &y);
    if (sn != tn)
        return sn ? -1 : 1;
    if (sn && x != y)
        return (x > y) - (x < y);
    int c = memcmp(s, t, a < b ? a : b);
    return c != 0 ? c : (a > b) - (a < b);
}

/* MongoDB's order of paths: component by component, numeric names by number; a path before the
 * paths it is a prefix of. */
static int path_compare(const path_t *p, const path_t *q)
{
    for (size_t i = 0; i < p->n && i < q->n; i++) {
        size_t a, b;
        const char *s = comp(p, i, &a), *t = comp(q, i, &b);
        int c = comp_compare(s, a, t, b);
        if (c != 0)
            return c;
    }
    return (p->n > q->n) - (p->n < q->n);
}

/* The member or element named by component i of p in container c, or NULL. */
static json_t *child(json_t *c, const path_t *p, size_t i)
{
    size_t n, index;
    const char *s = comp(p, i, &n);
    if (json_is_object(c))
        return json_object_getn(c, s, n);
    if (json_is_array(c) && is_index(s, n, &index))
        return json_array_get(c, index);
    return NULL;
}

/* Sets component i of p in container c to v (stolen): an object's member, or an array's
 * element (the array padded with nulls up to it). */
static bool put(apply_t *a, const op_t *op, json_t *c, const path_t *p, size_t i, json_t *v)
{
    size_t n, index;
    const char *s = comp(p, i, &n);
    if (v == NULL)
        return out_of_memory(a->err);
    if (json_is_object(c))
        return json_object_setn_new(c, s, n, v) == 0 || out_of_memory(a->err);
    if (!is_index(s, n, &index)) {
        json_decref(v);
        char name[CODEC__QUOTE_MAX];
        return fail_at(op->pointer, a->where, a->err, "cannot create field '%s' in an array",
                       codec__quote(s, n, name));
    }
    if (index >= ODM_UPDATE_MAX_INDEX) {
        json_decref(v);
        return fail_at(op->pointer, a->where, a->err, "array index %zu past the limit of %d", index,
                       ODM_UPDATE_MAX_INDEX);
    }
    while (json_array_size(c) < index)
        if (json_array_append_new(c, json_null()) != 0) {
            json_decref(v);
            return out_of_memory(a->err);
        }
    int rc =
        index < json_array_size(c) ? json_array_set_new(c, index, v) : json_array_append_new(c, v);
    return rc == 0 || out_of_memory(a->err);
}

/* The container of p's last component, created on the way where missing (objects, or array
 * elements by index). Returns: NULL with a->err set (a scalar on the way, a field name into an
 * array). */
static json_t *parent_for_write(apply_t *a, const op_t *op, const path_t *p)
{
    json_t *c = a->doc;
    for (size_t i = 0; i + 1 < p->n; i++) {
        json_t *next = child(c, p, i);
        if (next == NULL) {
            next = json_object();
            if (!put(a, op, c, p, i, next))
                return NULL;
        } else if (!json_is_object(next) && !json_is_array(next)) {
            size_t n, m;
            char name[CODEC__QUOTE_MAX], parent[CODEC__QUOTE_MAX];
            const char *s = comp(p, i + 1, &n), *at = comp(p, i, &m);
            fail_at(op->pointer, a->where, a->err,
                    "cannot create field '%s' in '%s', a value of type %s",
                    codec__quote(s, n, name), codec__quote(at, m, parent), type_name(next));
            return NULL;
        }
        c = next;
    }
    return c;
}

/* The container of p's last component when every step exists, else NULL. *through_array (may be
 * NULL) tells whether one of the steps is an array. */
static json_t *parent_for_read(json_t *doc, const path_t *p, bool *through_array)
{
    json_t *c = doc;
    for (size_t i = 0; c != NULL && i + 1 < p->n; i++) {
        c = child(c, p, i);
        if (c != NULL && !json_is_object(c) && !json_is_array(c))
            c = NULL;
        if (c != NULL && through_array != NULL && json_is_array(c))
            *through_array = true;
    }
    return c;
}

/* The value at p, or NULL. */
static json_t *value_at(json_t *doc, const path_t *p)
{
    json_t *parent = parent_for_read(doc, p, NULL);
    return parent ? child(parent, p, p->n - 1) : NULL;
}

/* ---- the operators ---- */

static bool apply_set(apply_t *a, const op_t *op)
{
    json_t *parent = parent_for_write(a, op, &op->path);
    return parent != NULL && put(a, op, parent, &op->path, op->path.n - 1, json_deep_copy(op->arg));
}

static bool apply_set_on_insert(apply_t *a, const op_t *op)
{
    return !a->inserting || apply_set(a, op);
}

/* $unset: a member removed; an array element set to null (MongoDB keeps the array's length). */
static bool apply_unset(apply_t *a, const op_t *op)
{
    json_t *parent = parent_for_read(a->doc, &op->path, NULL);
    size_t n, index;
    const char *s = comp(&op->path, op->path.n - 1, &n);
    if (json_is_object(parent))
        json_object_deln(parent, s, n);
    else if (json_is_array(parent) && is_index(s, n, &index) && index < json_array_size(parent))
        return json_array_set_new(parent, index, json_null()) == 0 || out_of_memory(a->err);
    return true;
}

/* x + y or x * y of two numbers into *out (new). Returns: false on an overflow past 64 bits
 * or a result that is not finite. */
static bool arith(const json_t *x, const json_t *y, bool multiply, json_t **out)
{
    if (json_is_integer(x) && json_is_integer(y)) {
        long long r;
        bool over = multiply
                        ? __builtin_mul_overflow(json_integer_value(x), json_integer_value(y), &r)
                        : __builtin_add_overflow(json_integer_value(x), json_integer_value(y), &r);
        *out = over ? NULL : json_integer(r);
        return !over;
    }
    double r = multiply ? json_number_value(x) * json_number_value(y)
                        : json_number_value(x) + json_number_value(y);
    *out = isfinite(r) ? json_real(r) : NULL;
    return isfinite(r);
}

static bool apply_arith(apply_t *a, const op_t *op, bool multiply)
{
    json_t *parent = parent_for_write(a, op, &op->path);
    if (parent == NULL)
        return false;
    json_t *cur = child(parent, &op->path, op->path.n - 1), *result;
    const char *name = op->def->name;
    char path[CODEC__QUOTE_MAX];
    if (cur == NULL) /* $inc: the argument; $mul: zero of the argument's type */
        return put(a, op, parent, &op->path, op->path.n - 1,
                   !multiply                  ? json_deep_copy(op->arg)
                   : json_is_integer(op->arg) ? json_integer(0)
                                              : json_real(0.0));
    if (!json_is_number(cur))
        return fail_at(op->pointer, a->where, a->err,
                       "cannot apply %s to a value of non-numeric type: field '%s' is of type %s",
                       name, q(op->path.text, path), type_name(cur));
    if (!arith(cur, op->arg, multiply, &result))
        return fail_at(op->pointer, a->where, a->err,
                       "failed to apply %s to the current value of '%s': the result %s", name,
                       q(op->path.text, path),
                       json_is_integer(cur) && json_is_integer(op->arg)
                           ? "overflows a 64-bit integer"
                           : "is not a finite number");
    return put(a, op, parent, &op->path, op->path.n - 1, result);
}

static bool apply_inc(apply_t *a, const op_t *op)
{
    return apply_arith(a, op, false);
}

static bool apply_mul(apply_t *a, const op_t *op)
{
    return apply_arith(a, op, true);
}

/* $min (sign -1) and $max (sign 1): the argument replaces the value when it sorts before
 * (after) it in BSON's order, or when the field is missing. */
static bool apply_bound(apply_t *a, const op_t *op, int want)
{
    json_t *parent = parent_for_write(a, op, &op->path);
    if (parent == NULL)
        return false;
    json_t *cur = child(parent, &op->path, op->path.n - 1);
    if (cur != NULL && codec__update_compare(op->arg, cur, op->field) * want <= 0)
        return true;
    return put(a, op, parent, &op->path, op->path.n - 1, json_deep_copy(op->arg));
}

static bool apply_min(apply_t *a, const op_t *op)
{
    return apply_bound(a, op, -1);
}

static bool apply_max(apply_t *a, const op_t *op)
{
    return apply_bound(a, op, 1);
}

/* $rename: the value moved (the target overwritten); a missing source changes nothing. */
static bool apply_rename(apply_t *a, const op_t *op)
{
    bool through = false;
    json_t *from = parent_for_read(a->doc, &op->path, &through);
    json_t *v = from ? child(from, &op->path, op->path.n - 1) : NULL;
    if (v == NULL)
        return true;
    if (through || json_is_array(from))
        return fail_at(op->pointer, a->where, a->err,
                       "the source field cannot be an array element");
    bool into = false;
    json_t *to = parent_for_read(a->doc, op->to, &into);
    if (into || json_is_array(to))
        return fail_at(op->pointer, a->where, a->err,
                       "the destination field cannot be an array element");
    size_t n;
    const char *s = comp(&op->path, op->path.n - 1, &n);
    json_incref(v);
    json_object_deln(from, s, n);
    to = parent_for_write(a, op, op->to);
    if (to == NULL) {
        json_decref(v);
        return false;
    }
    return put(a, op, to, op->to, op->to->n - 1, v);
}

/* The array at op's path, made empty when missing. Returns: NULL with a->err set when the value
 * is not an array. */
static json_t *array_for_write(apply_t *a, const op_t *op)
{
    json_t *parent = parent_for_write(a, op, &op->path);
    if (parent == NULL)
        return NULL;
    json_t *cur = child(parent, &op->path, op->path.n - 1);
    if (cur == NULL) {
        cur = json_array();
        return put(a, op, parent, &op->path, op->path.n - 1, cur) ? cur : NULL;
    }
    if (!json_is_array(cur)) {
        char path[CODEC__QUOTE_MAX];
        fail_at(op->pointer, a->where, a->err,
                "cannot apply %s to a non-array field: field '%s' is of type %s", op->def->name,
                q(op->path.text, path), type_name(cur));
        return NULL;
    }
    return cur;
}

/* $slice: n >= 0 keeps the first n, n < 0 the last -n. */
static bool slice(json_t *array, json_int_t n)
{
    size_t keep = n >= 0 ? (size_t)n : (size_t)(-(n + 1)) + 1;
    while (json_array_size(array) > keep)
        if (json_array_remove(array, n >= 0 ? json_array_size(array) - 1 : 0) != 0)
            return false;
    return true;
}

/* Where $position puts the items in an array of `size`: negative counts from the end. */
static size_t position(const op_t *op, size_t size)
{
    if (!op->has_position)
        return size;
    json_int_t p = op->position;
    if (p < 0)
        p = (json_int_t)size + p < 0 ? 0 : (json_int_t)size + p;
    return (size_t)p > size ? size : (size_t)p;
}

static bool apply_push(apply_t *a, const op_t *op)
{
    json_t *array = array_for_write(a, op);
    if (array == NULL)
        return false;
    size_t at = position(op, json_array_size(array)), i;
    json_t *item;
    json_array_foreach(op->each, i, item)
    {
        if (json_array_insert_new(array, at + i, json_deep_copy(item)) != 0)
            return out_of_memory(a->err);
    }
    const odm_field_t *items = op->field ? op->field->items : NULL;
    if (op->sort != NULL && !codec__update_sort(array, op->sort, items))
        return out_of_memory(a->err);
    return !op->has_slice || slice(array, op->slice) || out_of_memory(a->err);
}

static bool contains(const json_t *array, const json_t *v, const odm_field_t *items)
{
    size_t i;
    const json_t *e;
    json_array_foreach(array, i, e) if (codec__update_equal(e, v, items)) return true;
    return false;
}

static bool apply_add_to_set(apply_t *a, const op_t *op)
{
    json_t *array = array_for_write(a, op);
    if (array == NULL)
        return false;
    const odm_field_t *items = op->field ? op->field->items : NULL;
    size_t i;
    json_t *item;
    json_array_foreach(op->each, i, item)
    {
        if (!contains(array, item, items) &&
            json_array_append_new(array, json_deep_copy(item)) != 0)
            return out_of_memory(a->err);
    }
    return true;
}

/* The array at op's path for $pop and $pull: NULL (*ok true) when missing, NULL (*ok false,
 * a->err set) when not an array. */
static json_t *array_for_removal(apply_t *a, const op_t *op, bool *ok)
{
    json_t *cur = value_at(a->doc, &op->path);
    char path[CODEC__QUOTE_MAX];
    *ok = true;
    if (cur == NULL || json_is_array(cur))
        return cur;
    *ok = fail_at(op->pointer, a->where, a->err,
                  "cannot apply %s to a non-array value: field '%s' is of type %s", op->def->name,
                  q(op->path.text, path), type_name(cur));
    return NULL;
}

static bool apply_pop(apply_t *a, const op_t *op)
{
    bool ok;
    json_t *array = array_for_removal(a, op, &ok);
    if (array == NULL || json_array_size(array) == 0)
        return ok;
    size_t at = json_number_value(op->arg) > 0 ? json_array_size(array) - 1 : 0;
    return json_array_remove(array, at) == 0 || out_of_memory(a->err);
}

static bool apply_pull(apply_t *a, const op_t *op)
{
    bool ok;
    json_t *array = array_for_removal(a, op, &ok);
    const odm_field_t *items = op->field ? op->field->items : NULL;
    for (size_t i = json_array_size(array); array != NULL && i-- > 0;)
        if (codec__update_pull_matches(op->arg, json_array_get(array, i), items) &&
            json_array_remove(array, i) != 0)
            return out_of_memory(a->err);
    return ok;
}

static bool apply_current_date(apply_t *a, const op_t *op)
{
    json_t *parent = parent_for_write(a, op, &op->path);
    return parent != NULL &&
           put(a, op, parent, &op->path, op->path.n - 1, odm_model_date(a->now_ms));
}

/* ---- the operators' arguments ---- */

static bool compile_number(op_t *op, odm_pointer_t *where, odm_error_t *err)
{
    char shown[CODEC__QUOTE_MAX];
    if (json_is_number(op->arg))
        return true;
    return fail_at(op->pointer, where, err, "%s needs a number, not %s", op->def->name,
                   quote_value(op->arg, shown));
}

static bool compile_pop(op_t *op, odm_pointer_t *where, odm_error_t *err)
{
    char shown[CODEC__QUOTE_MAX];
    double v = json_is_number(op->arg) ? json_number_value(op->arg) : 0;
    if (v == 1 || v == -1)
        return true;
    return fail_at(op->pointer, where, err, "$pop expects 1 or -1, found: %s",
                   quote_value(op->arg, shown));
}

static bool compile_rename(op_t *op, odm_pointer_t *where, odm_error_t *err)
{
    if (!json_is_string(op->arg))
        return fail_at(op->pointer, where, err, "$rename needs a string naming the new field");
    op->to = malloc(sizeof *op->to);
    if (op->to == NULL)
        return out_of_memory(err);
    const char *why = path_parse(json_string_value(op->arg), json_string_length(op->arg), op->to);
    if (why != NULL)
        return fail_at(op->pointer, where, err, "the target of $rename has %s", why);
    if (op->to->clen[0] == 3 && memcmp(op->to->text, "_id", 3) == 0)
        return fail_at(op->pointer, where, err,
                       "performing an update on the path '_id' would modify the immutable field "
                       "'_id'");
    if (path_is_prefix(&op->path, op->to) || path_is_prefix(op->to, &op->path))
        return fail_at(op->pointer, where, err,
                       path_compare(&op->path, op->to) == 0
                           ? "the source and target field for $rename must differ"
                           : "the source and target field for $rename must not be on the same "
                             "path");
    return true;
}

/* The items of $push or $addToSet: the $each array, or the argument alone. */
static bool take_items(op_t *op, odm_error_t *err)
{
    json_t *each = json_is_object(op->arg) ? json_object_get(op->arg, "$each") : NULL;
    if (each != NULL) {
        op->each = each;
        return true; /* its shape and size are checked by the caller */
    }
    op->one = json_array();
    if (op->one == NULL || json_array_append(op->one, (json_t *)op->arg) != 0)
        return out_of_memory(err);
    op->each = op->one;
    return true;
}

/* $each: an array of at most ODM_UPDATE_MAX_EACH items. */
static bool check_each(const op_t *op, const json_t *each, odm_pointer_t *where, odm_error_t *err)
{
    if (!json_is_array(each))
        return fail_at(op->pointer, where, err, "the argument to $each in %s must be an array",
                       op->def->name);
    if (json_array_size(each) > ODM_UPDATE_MAX_EACH)
        return fail_at(op->pointer, where, err, "more than %d items in $each", ODM_UPDATE_MAX_EACH);
    return true;
}

/* $push's modifiers: $each (an array), $slice and $position (integers), $sort. */
static bool compile_push_modifier(op_t *op, const char *key, const json_t *v, odm_pointer_t *where,
                                  odm_error_t *err)
{
    if (strcmp(key, "$each") == 0)
        return check_each(op, v, where, err);
    if (strcmp(key, "$slice") == 0 || strcmp(key, "$position") == 0) {
        bool is_slice = key[1] == 's';
        if (!json_is_integer(v))
            return fail_at(op->pointer, where, err, "%s in $push must be an integer", key);
        *(is_slice ? &op->has_slice : &op->has_position) = true;
        *(is_slice ? &op->slice : &op->position) = json_integer_value(v);
        return true;
    }
    if (strcmp(key, "$sort") == 0) {
        op->sort = v;
        return codec__update_check_sort(v) ||
               fail_at(op->pointer, where, err,
                       "$sort in $push must be 1, -1 or an object of fields each 1 or -1");
    }
    char name[CODEC__QUOTE_MAX];
    return fail_at(op->pointer, where, err, "unrecognized clause in $push: %s", q(key, name));
}

static bool compile_push(op_t *op, odm_pointer_t *where, odm_error_t *err)
{
    static const char *const modifiers[] = {"$slice", "$sort", "$position"};
    if (!take_items(op, err))
        return false;
    for (size_t i = 0; op->one != NULL && json_is_object(op->arg) && i < 3; i++)
        if (json_object_get(op->arg, modifiers[i]) != NULL)
            return fail_at(op->pointer, where, err, "%s in $push needs $each", modifiers[i]);
    if (op->one != NULL)
        return true;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)op->arg, key, v)
    {
        if (!compile_push_modifier(op, key, v, where, err))
            return false;
    }
    return true;
}

static bool compile_add_to_set(op_t *op, odm_pointer_t *where, odm_error_t *err)
{
    if (!take_items(op, err))
        return false;
    if (op->one != NULL)
        return true;
    if (!check_each(op, op->each, where, err))
        return false;
    if (json_object_size(op->arg) != 1)
        return fail_at(op->pointer, where, err, "found unexpected fields after $each in $addToSet");
    return true;
}

static bool compile_pull(op_t *op, odm_pointer_t *where, odm_error_t *err)
{
    odm_pointer_t at;
    pointer_set(&at, op->pointer);
    if (codec__update_check_condition(op->arg, &at, err))
        return true;
    if (where != NULL)
        *where = at;
    return false;
}

static bool compile_current_date(op_t *op, odm_pointer_t *where, odm_error_t *err)
{
    if (json_is_boolean(op->arg))
        return true;
    const json_t *type = json_is_object(op->arg) ? json_object_get(op->arg, "$type") : NULL;
    if (json_is_string(type) && json_object_size(op->arg) == 1) {
        if (strcmp(json_string_value(type), "date") == 0)
            return true;
        if (strcmp(json_string_value(type), "timestamp") == 0)
            return fail_at(op->pointer, where, err,
                           "$currentDate of $type 'timestamp' is not supported: odmd stores "
                           "dates, never BSON timestamps");
    }
    return fail_at(op->pointer, where, err, "$currentDate needs true or {\"$type\": \"date\"}");
}

static const op_def_t op_defs[] = {
    {"$addToSet", true, compile_add_to_set, apply_add_to_set},
    {"$currentDate", false, compile_current_date, apply_current_date},
    {"$inc", true, compile_number, apply_inc},
    {"$max", true, NULL, apply_max},
    {"$min", true, NULL, apply_min},
    {"$mul", true, compile_number, apply_mul},
    {"$pop", true, compile_pop, apply_pop},
    {"$pull", true, compile_pull, apply_pull},
    {"$push", true, compile_push, apply_push},
    {"$rename", true, compile_rename, apply_rename},
    {"$set", false, NULL, apply_set},
    {"$setOnInsert", false, NULL, apply_set_on_insert},
    {"$unset", false, NULL, apply_unset},
};

static const op_def_t *find_op(const char *name)
{
    for (size_t i = 0; i < sizeof op_defs / sizeof op_defs[0]; i++)
        if (strcmp(op_defs[i].name, name) == 0)
            return &op_defs[i];
    return NULL;
}

/* ---- compiling ---- */

static void op_release(op_t *op)
{
    free(op->path.text);
    if (op->to != NULL)
        free(op->to->text);
    free(op->to);
    json_decref(op->one);
    free(op->pointer);
}

void odm_codec_update_free(odm_update_t *u)
{
    if (u == NULL)
        return;
    for (size_t i = 0; i < u->n; i++)
        op_release(&u->ops[i]);
    free(u->ops);
    json_decref(u->doc);
    free(u);
}

bool odm_codec_update_has_set_on_insert(const odm_update_t *u)
{
    return u->has_set_on_insert;
}

bool odm_codec_update_writes_write_only(const odm_update_t *u)
{
    return u->writes_write_only;
}

/* Whether a field or one of its descendants is writeOnly. */
static bool holds_write_only(const odm_field_t *f, int depth)
{
    if (f == NULL || depth > ODM_UPDATE_MAX_COMPONENTS)
        return false;
    if (f->write_only)
        return true;
    for (size_t i = 0; i < f->n_children; i++)
        if (holds_write_only(&f->children[i], depth + 1))
            return true;
    return holds_write_only(f->items, depth + 1);
}

/* A writeOnly value is never read back, not even through an update's effects (a comparison, a
 * type error, a count of documents modified): an update may only set or unset it as a whole
 * ($set, $unset, $setOnInsert, $currentDate, a $rename's target). Paths of `p` through a
 * writeOnly field, and reading operators on one (or on a value holding one), are refused. */
static bool check_write_only(odm_update_t *u, const op_t *op, const path_t *p, bool reads,
                             odm_pointer_t *where, odm_error_t *err)
{
    char path[CODEC__QUOTE_MAX];
    if (u->model == NULL)
        return true;
    for (size_t i = 0; i + 1 < p->n; i++) {
        const odm_field_t *f = odm_model_field(u->model, p->text, p->off[i] + p->clen[i]);
        if (f != NULL && f->write_only)
            return fail_at(op->pointer, where, err,
                           "'%s' is write-only: an update sets or unsets it as a whole",
                           codec__quote(p->text, p->off[i] + p->clen[i], path));
    }
    const odm_field_t *f = odm_model_field(u->model, p->text, p->len);
    if (!holds_write_only(f, 0))
        return true;
    if (reads)
        return fail_at(op->pointer, where, err,
                       "'%s' is or holds a write-only field, which %s would read: an update "
                       "sets or unsets it as a whole",
                       q(p->text, path), op->def->name);
    u->writes_write_only = true;
    return true;
}

/* Adds the operation of `def` on `key` (its pointer in `where`) with `arg`. */
static bool add_op(odm_update_t *u, const op_def_t *def, const char *key, const json_t *arg,
                   odm_pointer_t *where, odm_error_t *err)
{
    op_t *op = &u->ops[u->n];
    memset(op, 0, sizeof *op);
    op->def = def;
    op->arg = arg;
    op->pointer = strdup(where->buf);
    if (op->pointer == NULL)
        return out_of_memory(err);
    u->n++; /* released with the update from here on */
    char path[CODEC__QUOTE_MAX];
    const char *why = path_parse(key, strlen(key), &op->path);
    if (why != NULL)
        return fail_at(op->pointer, where, err, "%s: the path '%s' has %s", def->name, q(key, path),
                       why);
    bool is_id = op->path.clen[0] == 3 && memcmp(op->path.text, "_id", 3) == 0;
    if (is_id && def->apply != apply_set_on_insert)
        return fail_at(op->pointer, where, err,
                       "performing an update on the path '%s' would modify the immutable "
                       "field '_id'",
                       q(key, path));
    if (u->model != NULL)
        op->field = odm_model_field(u->model, op->path.text, op->path.len);
    if (!(def->compile == NULL || def->compile(op, where, err)))
        return false;
    return check_write_only(u, op, &op->path, def->reads, where, err) &&
           (op->to == NULL || check_write_only(u, op, op->to, false, where, err));
}

/* Compiles one operator's member (`name`: `fields`). */
static bool add_operator(odm_update_t *u, const char *name, const json_t *fields,
                         odm_pointer_t *where, odm_error_t *err)
{
    const op_def_t *def = find_op(name);
    char shown[CODEC__QUOTE_MAX];
    if (def == NULL)
        return fail_at(where->buf, where, err, "update operator '%s' is not supported",
                       q(name, shown));
    if (!json_is_object(fields))
        return fail_at(where->buf, where, err, "%s needs an object of fields, not %s", name,
                       quote_value(fields, shown));
    if (json_object_size(fields) > ODM_UPDATE_MAX_PATHS - u->n)
        return fail_at(where->buf, where, err, "more than %d fields in one update",
                       ODM_UPDATE_MAX_PATHS);
    const char *key;
    const json_t *arg;
    json_object_foreach((json_t *)fields, key, arg)
    {
        size_t mark = odm_pointer_push(where, key, strlen(key));
        if (!add_op(u, def, key, arg, where, err))
            return false;
        odm_pointer_pop(where, mark);
    }
    u->has_set_on_insert =
        u->has_set_on_insert || (def->apply == apply_set_on_insert && json_object_size(fields) > 0);
    return true;
}

/* A path an update names, and the operation that names it. */
typedef struct {
    const path_t *path;
    const op_t *op;
} named_t;

static int compare_named(const void *x, const void *y)
{
    return path_compare(((const named_t *)x)->path, ((const named_t *)y)->path);
}

/* Two paths of which one is the other or its prefix are refused, as MongoDB refuses them, naming
 * the one that comes later in the update. Sorted, a path's extensions follow it: comparing
 * neighbours finds every conflict. */
static bool check_conflicts(const odm_update_t *u, odm_pointer_t *where, odm_error_t *err)
{
    named_t *all = malloc((2 * u->n + 1) * sizeof *all);
    size_t n = 0;
    if (all == NULL)
        return out_of_memory(err);
    for (size_t i = 0; i < u->n; i++) {
        all[n++] = (named_t){&u->ops[i].path, &u->ops[i]};
        if (u->ops[i].to != NULL)
            all[n++] = (named_t){u->ops[i].to, &u->ops[i]};
    }
    qsort(all, n, sizeof *all, compare_named);
    bool ok = true;
    for (size_t k = 1; ok && k < n; k++) {
        const named_t *shorter = &all[k - 1], *later = all[k].op > shorter->op ? &all[k] : shorter;
        char a[CODEC__QUOTE_MAX], b[CODEC__QUOTE_MAX];
        if (path_is_prefix(shorter->path, all[k].path))
            ok = fail_at(later->op->pointer, where, err,
                         "updating the path '%s' would create a conflict at '%s'",
                         q(later->path->text, a), q(shorter->path->text, b));
    }
    free(all);
    return ok;
}

static int compare_ops(const void *x, const void *y)
{
    const op_t *a = x, *b = y;
    return path_compare(&a->path, &b->path);
}

/* Checks the update's shape and compiles each operator into u. */
static bool compile(odm_update_t *u, const json_t *update, odm_pointer_t *where, odm_error_t *err)
{
    if (json_is_array(update))
        return fail_at(where->buf, where, err,
                       "update pipelines are not supported: send an object of update operators");
    if (!json_is_object(update))
        return fail_at(where->buf, where, err, "the update must be an object of update operators");
    if (json_object_size(update) == 0)
        return fail_at(where->buf, where, err, "the update is empty: it needs update operators");
    const char *name;
    const json_t *fields;
    json_object_foreach((json_t *)update, name, fields)
    {
        size_t mark = odm_pointer_push(where, name, strlen(name));
        char shown[CODEC__QUOTE_MAX];
        if (name[0] != '$')
            return fail_at(where->buf, where, err,
                           "'%s' is not an update operator: a replacement document is not an "
                           "update (replaceOne replaces)",
                           q(name, shown));
        if (!add_operator(u, name, fields, where, err))
            return false;
        odm_pointer_pop(where, mark);
    }
    return check_conflicts(u, where, err);
}

odm_update_t *odm_codec_update_compile(const odm_model_t *model, const json_t *update,
                                       const char *base, odm_pointer_t *where, odm_error_t *err)
{
    odm_pointer_t at;
    pointer_set(&at, base ? base : "");
    odm_update_t *u = calloc(1, sizeof *u);
    if (u != NULL)
        u->ops = calloc(ODM_UPDATE_MAX_PATHS, sizeof *u->ops);
    if (u == NULL || u->ops == NULL) {
        odm_codec_update_free(u);
        out_of_memory(err);
        return NULL;
    }
    u->model = model;
    u->doc = json_incref((json_t *)update);
    odm_pointer_t *w = where ? where : &at;
    if (w != &at)
        *w = at;
    if (!compile(u, update, w, err)) {
        odm_codec_update_free(u);
        return NULL;
    }
    qsort(u->ops, u->n, sizeof *u->ops, compare_ops); /* no two paths are equal */
    return u;
}

bool odm_codec_update_apply(const odm_update_t *u, json_t *doc, bool inserting, int64_t now_ms,
                            odm_pointer_t *where, odm_error_t *err)
{
    apply_t a = {.doc = doc, .inserting = inserting, .now_ms = now_ms, .where = where, .err = err};
    if (!json_is_object(doc))
        return odm_error_set(err, ODM_ERR_INTERNAL, "the document to update is not an object");
    for (size_t i = 0; i < u->n; i++)
        if (!u->ops[i].def->apply(&a, &u->ops[i]))
            return false;
    return true;
}

/* ---- readOnly fields ---- */

typedef struct {
    json_t *errors;
    odm_pointer_t instance, keyword;
    bool found;
    int in_items; /* > 0 inside a changed array item: a readOnly value left out passes */
} read_only_walk_t;

/* One violation at the walk's place; an array item is named by its pointer, as PATCH names
 * one (model_rules.c). */
static void report_read_only(read_only_walk_t *w, const odm_field_t *field)
{
    char message[CODEC__QUOTE_MAX + 32], name[CODEC__QUOTE_MAX];
    w->found = true;
    size_t mark = odm_pointer_push(&w->keyword, "readOnly", 8);
    bool item = strcmp(field->name, "[]") == 0;
    snprintf(message, sizeof message, "'%s' is read-only",
             item ? codec__quote(w->instance.buf, strlen(w->instance.buf), name)
                  : codec__quote(field->name, field->name_len, name));
    json_t *v = json_pack("{s:s, s:s, s:s}", "instanceLocation", w->instance.buf, "keywordLocation",
                          w->keyword.buf, "error", message);
    if (v != NULL && w->errors != NULL)
        json_array_append(w->errors, v);
    json_decref(v);
    odm_pointer_pop(&w->keyword, mark);
}

static void walk_value(read_only_walk_t *w, const odm_field_t *field, const json_t *before,
                       const json_t *after, int depth);

/* The readOnly properties of `field`'s children present in `before` or `after` (objects or
 * not): each must be unchanged; the others are looked into. */
static void walk_read_only(read_only_walk_t *w, const odm_field_t *field, const json_t *before,
                           const json_t *after, int depth)
{
    for (size_t i = 0; i < field->n_children; i++) {
        const odm_field_t *c = &field->children[i];
        const json_t *b =
            json_is_object(before) ? json_object_getn(before, c->name, c->name_len) : NULL;
        const json_t *a =
            json_is_object(after) ? json_object_getn(after, c->name, c->name_len) : NULL;
        if (b == a || (b == NULL && a == NULL) || (a == NULL && c->read_only && w->in_items > 0))
            continue;
        size_t imark = odm_pointer_push(&w->instance, c->name, c->name_len);
        size_t kmark = odm_pointer_push(&w->keyword, "properties", 10);
        odm_pointer_push(&w->keyword, c->name, c->name_len);
        if (c->read_only && (b == NULL || a == NULL || !json_equal(b, a)))
            report_read_only(w, c);
        else if (!c->read_only)
            walk_value(w, c, b, a, depth + 1);
        odm_pointer_pop(&w->keyword, kmark);
        odm_pointer_pop(&w->instance, imark);
    }
}

/* Whether `field` (or anything below it) is readOnly. */
static bool holds_read_only(const odm_field_t *field, int depth)
{
    if (field == NULL || depth > ODM_JSON_MAX_DEPTH)
        return false;
    if (field->read_only || holds_read_only(field->items, depth + 1))
        return true;
    for (size_t i = 0; i < field->n_children; i++)
        if (holds_read_only(&field->children[i], depth + 1))
            return true;
    return false;
}

/* Whether `item` is one of `array`'s items (kept, or moved by $pull, $pop, $slice). */
static bool kept_item(const json_t *array, size_t at, const json_t *item)
{
    if (json_equal(json_array_get(array, at), (json_t *)item))
        return true;
    size_t i;
    const json_t *old;
    json_array_foreach(array, i, old) if (json_equal((json_t *)old, (json_t *)item)) return true;
    return false;
}

/* The items of the array `after` whose field holds readOnly values, as PATCH and PUT refuse
 * readOnly values inside array items: an item that was stored (at any place) passes; any other
 * is compared with the item stored at its index (none for an added one), so that an update may
 * change an item's other fields, remove or move items, or leave a readOnly value out of an item
 * (as a PATCH of the array does), but never write one in an item. */
static void walk_items(read_only_walk_t *w, const odm_field_t *items, const json_t *before,
                       const json_t *after, int depth)
{
    size_t kmark = odm_pointer_push(&w->keyword, "items", 5);
    size_t i;
    const json_t *item;
    json_array_foreach((json_t *)after, i, item)
    {
        if (json_is_array(before) && kept_item(before, i, item))
            continue;
        const json_t *old = json_is_array(before) ? json_array_get(before, i) : NULL;
        size_t imark = odm_pointer_push_index(&w->instance, i);
        w->in_items++;
        if (items->read_only)
            report_read_only(w, items);
        else
            walk_value(w, items, old, item, depth + 1);
        w->in_items--;
        odm_pointer_pop(&w->instance, imark);
    }
    odm_pointer_pop(&w->keyword, kmark);
}

/* A value that is not readOnly itself, changed between `before` and `after`. */
static void walk_value(read_only_walk_t *w, const odm_field_t *field, const json_t *before,
                       const json_t *after, int depth)
{
    if (depth > ODM_JSON_MAX_DEPTH)
        return;
    if (field->n_children > 0)
        walk_read_only(w, field, before, after, depth);
    if (json_is_array(after) && holds_read_only(field->items, 0))
        walk_items(w, field->items, before, after, depth);
}

bool odm_codec_update_check_read_only(const odm_model_t *model, const json_t *before,
                                      const json_t *after, json_t *errors)
{
    read_only_walk_t w = {.errors = errors};
    odm_pointer_init(&w.instance);
    odm_pointer_init(&w.keyword);
    walk_read_only(&w, &model->root, before, after, 0);
    return !w.found;
}
