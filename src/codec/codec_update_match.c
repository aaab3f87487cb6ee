/* The comparisons of the update operators: BSON's order across kinds of values (typed by the
 * model where a string stands for a date or an ObjectId), equality, $pull's conditions and
 * $push's $sort. */
#include "codec/codec_int.h"
#include "codec/codec_update_int.h"
#include "odmd/codec.h"

#include <stdlib.h>
#include <string.h>

/* BSON's canonical order of kinds (MongoDB's canonicalizeBSONType). */
typedef enum {
    KIND_NULL = 5, /* and a missing value */
    KIND_NUMBER = 10,
    KIND_STRING = 15,
    KIND_OBJECT = 20,
    KIND_ARRAY = 25,
    KIND_OID = 35,
    KIND_BOOL = 40,
    KIND_DATE = 45,
} kind_t;

typedef struct {
    kind_t kind;
    int64_t ms;     /* KIND_DATE */
    bson_oid_t oid; /* KIND_OID */
} typed_t;

static typed_t typed(const json_t *v, const odm_field_t *field)
{
    typed_t t = {.kind = KIND_NULL};
    if (v == NULL || json_is_null(v))
        return t;
    if (json_is_number(v))
        t.kind = KIND_NUMBER;
    else if (json_is_boolean(v))
        t.kind = KIND_BOOL;
    else if (json_is_object(v))
        t.kind = KIND_OBJECT;
    else if (json_is_array(v))
        t.kind = KIND_ARRAY;
    else {
        const char *s = json_string_value(v), *why;
        size_t n = json_string_length(v);
        t.kind = KIND_STRING;
        if (field != NULL && field->bson == ODM_BSON_DATE && codec__parse_date(s, n, &t.ms, &why))
            t.kind = KIND_DATE;
        else if (field != NULL && field->bson == ODM_BSON_OBJECTID &&
                 codec__parse_oid(s, n, &t.oid))
            t.kind = KIND_OID;
    }
    return t;
}

static int sign(long double d)
{
    return d < 0 ? -1 : d > 0;
}

static int compare_numbers(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t x = json_integer_value(a), y = json_integer_value(b);
        return x < y ? -1 : x > y;
    }
    long double x = json_is_integer(a) ? (long double)json_integer_value(a) : json_real_value(a);
    long double y = json_is_integer(b) ? (long double)json_integer_value(b) : json_real_value(b);
    return sign(x - y);
}

static int compare_strings(const json_t *a, const json_t *b)
{
    size_t n = json_string_length(a), m = json_string_length(b);
    int c = memcmp(json_string_value(a), json_string_value(b), n < m ? n : m);
    return c != 0 ? c : (n > m) - (n < m);
}

/* Objects as BSON compares them: member by member in order, each by kind, then name, then
 * value; the shorter first when one is a prefix of the other. */
static int compare_objects(const json_t *a, const json_t *b, const odm_field_t *field)
{
    void *i = json_object_iter((json_t *)a), *j = json_object_iter((json_t *)b);
    for (; i != NULL && j != NULL;
         i = json_object_iter_next((json_t *)a, i), j = json_object_iter_next((json_t *)b, j)) {
        const char *ka = json_object_iter_key(i), *kb = json_object_iter_key(j);
        const json_t *va = json_object_iter_value(i), *vb = json_object_iter_value(j);
        const odm_field_t *fa = odm_field_child(field, ka, strlen(ka));
        const odm_field_t *fb = odm_field_child(field, kb, strlen(kb));
        int c = (int)typed(va, fa).kind - (int)typed(vb, fb).kind;
        if (c == 0)
            c = strcmp(ka, kb);
        if (c == 0)
            c = codec__update_compare(va, vb, fa);
        if (c != 0)
            return c;
    }
    return (i != NULL) - (j != NULL);
}

static int compare_arrays(const json_t *a, const json_t *b, const odm_field_t *field)
{
    size_t n = json_array_size(a), m = json_array_size(b);
    const odm_field_t *items = field ? field->items : NULL;
    for (size_t i = 0; i < n && i < m; i++) {
        int c = codec__update_compare(json_array_get(a, i), json_array_get(b, i), items);
        if (c != 0)
            return c;
    }
    return (n > m) - (n < m);
}

static int compare_oids(const bson_oid_t *a, const bson_oid_t *b)
{
    return memcmp(a->bytes, b->bytes, sizeof a->bytes);
}

int codec__update_compare(const json_t *a, const json_t *b, const odm_field_t *field)
{
    typed_t ta = typed(a, field), tb = typed(b, field);
    if (ta.kind != tb.kind)
        return ta.kind < tb.kind ? -1 : 1;
    switch (ta.kind) {
    case KIND_NULL:
        return 0;
    case KIND_NUMBER:
        return compare_numbers(a, b);
    case KIND_STRING:
        return compare_strings(a, b);
    case KIND_OBJECT:
        return compare_objects(a, b, field);
    case KIND_ARRAY:
        return compare_arrays(a, b, field);
    case KIND_OID:
        return compare_oids(&ta.oid, &tb.oid);
    case KIND_BOOL:
        return json_is_true(a) - json_is_true(b);
    case KIND_DATE:
        return ta.ms < tb.ms ? -1 : ta.ms > tb.ms;
    }
    return 0;
}

bool codec__update_equal(const json_t *a, const json_t *b, const odm_field_t *field)
{
    return codec__update_compare(a, b, field) == 0;
}

/* ---- $pull conditions ---- */

typedef enum {
    OP_EQ,
    OP_NE,
    OP_GT,
    OP_GTE,
    OP_LT,
    OP_LTE,
    OP_IN,
    OP_NIN,
    OP_EXISTS,
    OP_NOT,
    OP_ELEM_MATCH
} cond_op_t;

typedef enum { ARG_ANY, ARG_ARRAY, ARG_OPS, ARG_OBJECT } cond_arg_t;

static const struct {
    const char *name;
    cond_op_t op;
    cond_arg_t arg;
} cond_ops[] = {
    {"$eq", OP_EQ, ARG_ANY},
    {"$ne", OP_NE, ARG_ANY},
    {"$gt", OP_GT, ARG_ANY},
    {"$gte", OP_GTE, ARG_ANY},
    {"$lt", OP_LT, ARG_ANY},
    {"$lte", OP_LTE, ARG_ANY},
    {"$in", OP_IN, ARG_ARRAY},
    {"$nin", OP_NIN, ARG_ARRAY},
    {"$exists", OP_EXISTS, ARG_ANY},
    {"$not", OP_NOT, ARG_OPS},
    {"$elemMatch", OP_ELEM_MATCH, ARG_OBJECT},
};

static const char *const logical_ops[] = {"$and", "$or", "$nor"};

static int find_cond_op(const char *name)
{
    for (size_t i = 0; i < sizeof cond_ops / sizeof cond_ops[0]; i++)
        if (strcmp(cond_ops[i].name, name) == 0)
            return (int)i;
    return -1;
}

static bool is_logical(const char *name)
{
    for (size_t i = 0; i < sizeof logical_ops / sizeof logical_ops[0]; i++)
        if (strcmp(logical_ops[i], name) == 0)
            return true;
    return false;
}

/* Whether an object is an operator expression ({"$gte": 6}): its first member is an operator
 * other than $and/$or/$nor (those start a query). */
static bool is_expression(const json_t *v)
{
    void *it = json_is_object(v) ? json_object_iter((json_t *)v) : NULL;
    const char *first = it ? json_object_iter_key(it) : NULL;
    return first != NULL && first[0] == '$' && !is_logical(first);
}

/* Fails a condition: "POINTER: what", or "POINTER: 'name' what" when `name` is not NULL. */
static bool refuse(odm_pointer_t *where, odm_error_t *err, const char *what, const char *name)
{
    char at[CODEC__QUOTE_MAX], shown[CODEC__QUOTE_MAX];
    codec__quote(where->buf, where->len, at);
    if (name == NULL)
        return odm_error_set(err, ODM_ERR_BAD_REQUEST, "%s: %s", at, what);
    return odm_error_set(err, ODM_ERR_BAD_REQUEST, "%s: '%s' %s", at,
                         codec__quote(name, strlen(name), shown), what);
}

static bool check_query(const json_t *q, odm_pointer_t *where, odm_error_t *err, int depth);
static bool check_expression(const json_t *e, odm_pointer_t *where, odm_error_t *err, int depth);

static bool check_operand(int op, const json_t *v, odm_pointer_t *where, odm_error_t *err,
                          int depth)
{
    switch (cond_ops[op].arg) {
    case ARG_ARRAY:
        return json_is_array(v) || refuse(where, err, "needs an array", cond_ops[op].name);
    case ARG_OPS:
        if (!is_expression(v))
            return refuse(where, err, "needs an object of operators", cond_ops[op].name);
        return check_expression(v, where, err, depth + 1);
    case ARG_OBJECT:
        if (!json_is_object(v))
            return refuse(where, err, "needs an object", cond_ops[op].name);
        return is_expression(v) ? check_expression(v, where, err, depth + 1)
                                : check_query(v, where, err, depth + 1);
    case ARG_ANY:
        return true;
    }
    return true;
}

static bool check_expression(const json_t *e, odm_pointer_t *where, odm_error_t *err, int depth)
{
    const char *key;
    const json_t *v;
    if (depth > ODM_JSON_MAX_DEPTH)
        return refuse(where, err, "condition nested too deep", NULL);
    json_object_foreach((json_t *)e, key, v)
    {
        size_t mark = odm_pointer_push(where, key, strlen(key));
        int op = find_cond_op(key);
        if (op < 0)
            return refuse(where, err, "is not allowed in a $pull condition", key);
        if (!check_operand(op, v, where, err, depth))
            return false;
        odm_pointer_pop(where, mark);
    }
    return true;
}

static bool check_logical(const json_t *v, odm_pointer_t *where, odm_error_t *err, int depth)
{
    size_t i;
    const json_t *q;
    if (!json_is_array(v) || json_array_size(v) == 0)
        return refuse(where, err, "needs a non-empty array of conditions", NULL);
    json_array_foreach(v, i, q)
    {
        size_t mark = odm_pointer_push_index(where, i);
        if (!json_is_object(q))
            return refuse(where, err, "needs an array of objects", NULL);
        if (!check_query(q, where, err, depth + 1))
            return false;
        odm_pointer_pop(where, mark);
    }
    return true;
}

static bool check_query(const json_t *q, odm_pointer_t *where, odm_error_t *err, int depth)
{
    const char *key;
    const json_t *v;
    if (depth > ODM_JSON_MAX_DEPTH)
        return refuse(where, err, "condition nested too deep", NULL);
    json_object_foreach((json_t *)q, key, v)
    {
        size_t mark = odm_pointer_push(where, key, strlen(key));
        bool ok = true;
        if (is_logical(key))
            ok = check_logical(v, where, err, depth);
        else if (key[0] == '$')
            return refuse(where, err, "is not allowed in a $pull condition", key);
        else if (is_expression(v))
            ok = check_expression(v, where, err, depth);
        if (!ok)
            return false;
        odm_pointer_pop(where, mark);
    }
    return true;
}

bool codec__update_check_condition(const json_t *cond, odm_pointer_t *where, odm_error_t *err)
{
    if (is_expression(cond))
        return check_expression(cond, where, err, 0);
    if (json_is_object(cond))
        return check_query(cond, where, err, 0);
    return true;
}

static bool match_query(const json_t *q, const json_t *doc, const odm_field_t *field);
static bool match_expression(const json_t *e, const json_t *v, const odm_field_t *field);

/* Equality as a query sees it: a missing value equals null; an array equals a value one of its
 * elements equals, or the same array. */
static bool match_eq(const json_t *v, const json_t *want, const odm_field_t *field)
{
    if (v == NULL)
        return json_is_null(want);
    if (codec__update_equal(v, want, field))
        return true;
    size_t i;
    const json_t *e;
    if (json_is_array(v))
        json_array_foreach(
            v, i, e) if (codec__update_equal(e, want, field ? field->items : NULL)) return true;
    return false;
}

/* $gt and the like: only between values of one kind (MongoDB's type bracketing); an array
 * matches when one of its elements does. */
static bool match_order(const json_t *v, const json_t *want, cond_op_t op, const odm_field_t *field)
{
    if (v == NULL)
        return json_is_null(want) && (op == OP_GTE || op == OP_LTE);
    size_t i;
    const json_t *e;
    if (json_is_array(v) && !json_is_array(want)) {
        json_array_foreach(
            v, i, e) if (match_order(e, want, op, field ? field->items : NULL)) return true;
        return false;
    }
    if (typed(v, field).kind != typed(want, field).kind)
        return false;
    int c = codec__update_compare(v, want, field);
    return op == OP_GT ? c > 0 : op == OP_GTE ? c >= 0 : op == OP_LT ? c < 0 : c <= 0;
}

static bool match_in(const json_t *v, const json_t *list, const odm_field_t *field)
{
    size_t i;
    const json_t *want;
    json_array_foreach(list, i, want) if (match_eq(v, want, field)) return true;
    return false;
}

static bool match_elem(const json_t *v, const json_t *spec, const odm_field_t *field)
{
    size_t i;
    const json_t *e;
    const odm_field_t *items = field ? field->items : NULL;
    if (!json_is_array(v))
        return false;
    json_array_foreach(v, i, e)
    {
        if (is_expression(spec) ? match_expression(spec, e, items)
                                : json_is_object(e) && match_query(spec, e, items))
            return true;
    }
    return false;
}

static bool match_one(cond_op_t op, const json_t *arg, const json_t *v, const odm_field_t *field)
{
    switch (op) {
    case OP_EQ:
        return match_eq(v, arg, field);
    case OP_NE:
        return !match_eq(v, arg, field);
    case OP_GT:
    case OP_GTE:
    case OP_LT:
    case OP_LTE:
        return match_order(v, arg, op, field);
    case OP_IN:
        return match_in(v, arg, field);
    case OP_NIN:
        return !match_in(v, arg, field);
    case OP_EXISTS:
        return (v != NULL) ==
               (json_is_true(arg) || (json_is_number(arg) && json_number_value(arg) != 0));
    case OP_NOT:
        return !match_expression(arg, v, field);
    case OP_ELEM_MATCH:
        return match_elem(v, arg, field);
    }
    return false;
}

static bool match_expression(const json_t *e, const json_t *v, const odm_field_t *field)
{
    const char *key;
    const json_t *arg;
    json_object_foreach((json_t *)e, key, arg)
    {
        int op = find_cond_op(key);
        if (op < 0 || !match_one(cond_ops[op].op, arg, v, field))
            return false;
    }
    return true;
}

/* The value at a dotted path of `doc` (NULL when missing), numeric components indexing arrays;
 * *field follows the model. */
static const json_t *lookup(const json_t *doc, const char *path, const odm_field_t **field)
{
    const json_t *v = doc;
    const char *p = path;
    while (v != NULL) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (json_is_object(v)) {
            v = json_object_getn(v, p, n);
            *field = odm_field_child(*field, p, n);
        } else if (json_is_array(v) && n > 0 && n < 10 && strspn(p, "0123456789") >= n) {
            v = json_array_get(v, strtoul(p, NULL, 10));
            *field = *field ? (*field)->items : NULL;
        } else
            v = NULL;
        if (dot == NULL)
            break;
        p = dot + 1;
    }
    return v;
}

static bool match_logical(const char *op, const json_t *list, const json_t *doc,
                          const odm_field_t *field)
{
    size_t i;
    const json_t *q;
    bool any = false, all = true;
    json_array_foreach(list, i, q)
    {
        bool m = match_query(q, doc, field);
        any = any || m;
        all = all && m;
    }
    return strcmp(op, "$and") == 0 ? all : strcmp(op, "$or") == 0 ? any : !any;
}

static bool match_query(const json_t *q, const json_t *doc, const odm_field_t *field)
{
    const char *key;
    const json_t *want;
    json_object_foreach((json_t *)q, key, want)
    {
        if (is_logical(key)) {
            if (!match_logical(key, want, doc, field))
                return false;
            continue;
        }
        const odm_field_t *at = field;
        const json_t *v = lookup(doc, key, &at);
        if (!(is_expression(want) ? match_expression(want, v, at) : match_eq(v, want, at)))
            return false;
    }
    return true;
}

bool codec__update_pull_matches(const json_t *cond, const json_t *elem, const odm_field_t *items)
{
    if (is_expression(cond))
        return match_expression(cond, elem, items);
    if (json_is_object(cond))
        return json_is_object(elem) && match_query(cond, elem, items);
    return codec__update_equal(elem, cond, items);
}

/* ---- $push's $sort ---- */

static bool is_direction(const json_t *v)
{
    return json_is_integer(v) && (json_integer_value(v) == 1 || json_integer_value(v) == -1);
}

bool codec__update_check_sort(const json_t *spec)
{
    const char *key;
    const json_t *v;
    if (is_direction(spec))
        return true;
    if (!json_is_object(spec) || json_object_size(spec) == 0)
        return false;
    json_object_foreach((json_t *)spec, key,
                        v) if (key[0] == '\0' || key[0] == '$' || !is_direction(v)) return false;
    return true;
}

typedef struct {
    json_t *v;
    size_t at;
} sort_item_t;

typedef struct {
    const json_t *spec;
    const odm_field_t *items;
} sort_ctx_t;

static int compare_items(const void *x, const void *y, void *arg)
{
    const sort_item_t *a = x, *b = y;
    const sort_ctx_t *ctx = arg;
    int c = 0;
    if (json_is_integer(ctx->spec)) {
        c = codec__update_compare(a->v, b->v, ctx->items) * (int)json_integer_value(ctx->spec);
    } else {
        const char *key;
        const json_t *dir;
        json_object_foreach((json_t *)ctx->spec, key, dir)
        {
            const odm_field_t *fa = ctx->items, *fb = ctx->items;
            const json_t *va = json_is_object(a->v) ? lookup(a->v, key, &fa) : NULL;
            const json_t *vb = json_is_object(b->v) ? lookup(b->v, key, &fb) : NULL;
            c = codec__update_compare(va, vb, fa) * (int)json_integer_value(dir);
            if (c != 0)
                break;
        }
    }
    return c != 0 ? c : (a->at > b->at) - (a->at < b->at); /* stable */
}

bool codec__update_sort(json_t *array, const json_t *spec, const odm_field_t *items)
{
    size_t n = json_array_size(array);
    sort_item_t *tmp = calloc(n ? n : 1, sizeof *tmp);
    if (tmp == NULL)
        return false;
    for (size_t i = 0; i < n; i++)
        tmp[i] = (sort_item_t){json_incref(json_array_get(array, i)), i};
    sort_ctx_t ctx = {spec, items};
    qsort_r(tmp, n, sizeof *tmp, compare_items, &ctx);
    bool ok = true;
    for (size_t i = 0; i < n; i++)
        ok = json_array_set_new(array, i, tmp[i].v) == 0 && ok;
    free(tmp);
    return ok;
}
