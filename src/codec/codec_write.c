/* BSON -> plain JSON: written straight into a buffer (the GET hot path) or built as a tree. */
#include "codec/codec_int.h"
#include "odmd/codec.h"

#include <string.h>

#define MAX_OUT_DEPTH 128 /* nesting written out; deeper values (not odmd's own) become null */

/* The field of a member, or NULL when the member is left out (writeOnly, the version). */
static bool member_field(const odm_field_t *parent, bool array, bool top, const char *key,
                         size_t klen, const odm_field_t **field)
{
    *field = NULL;
    if (array) {
        *field = parent ? parent->items : NULL;
    } else {
        bool version =
            klen == sizeof ODM_VERSION_FIELD - 1 && memcmp(key, ODM_VERSION_FIELD, klen) == 0;
        if (top && version)
            return false;
        *field = odm_field_child(parent, key, klen);
    }
    return *field == NULL || !(*field)->write_only;
}

static bool write_members(odm_buf_t *out, bson_iter_t *it, const odm_field_t *field, bool array,
                          bool top, int depth, const odm_codec_subst_t *subst);

static bool write_quoted(odm_buf_t *out, const char *s, size_t n)
{
    return odm_buf_putc(out, '"') && odm_buf_append(out, s, n) && odm_buf_putc(out, '"');
}

static bool write_container(odm_buf_t *out, const bson_iter_t *it, const odm_field_t *field,
                            bool array, int depth, const odm_codec_subst_t *subst)
{
    bson_iter_t child;
    if (depth >= MAX_OUT_DEPTH || !bson_iter_recurse(it, &child))
        return odm_buf_append(out, "null", 4);
    return write_members(out, &child, field, array, false, depth + 1, subst);
}

/* The index of `field` among the substituted fields, or SIZE_MAX. */
static size_t subst_index(const odm_codec_subst_t *subst, const odm_field_t *field)
{
    for (size_t i = 0; subst != NULL && field != NULL && i < subst->n; i++)
        if (subst->fields[i] == field)
            return i;
    return SIZE_MAX;
}

static bool write_value(odm_buf_t *out, const bson_iter_t *it, const odm_field_t *field, int depth,
                        const odm_codec_subst_t *subst)
{
    size_t at = subst_index(subst, field);
    if (at != SIZE_MAX)
        return subst->write(subst->arg, at, it, out);
    char text[CODEC__DATE_MAX + CODEC__DOUBLE_MAX + BSON_DECIMAL128_STRING];
    size_t n;
    switch (bson_iter_type(it)) {
    case BSON_TYPE_UTF8: {
        uint32_t len;
        const char *s = bson_iter_utf8(it, &len);
        return odm_buf_json_string(out, s, len);
    }
    case BSON_TYPE_INT32:
        return odm_buf_append(out, text, odm_text_int(bson_iter_int32(it), text));
    case BSON_TYPE_INT64:
        return odm_buf_append(out, text, odm_text_int(bson_iter_int64(it), text));
    case BSON_TYPE_DOUBLE:
        n = codec__format_double(bson_iter_double(it), text);
        return n ? odm_buf_append(out, text, n) : odm_buf_append(out, "null", 4);
    case BSON_TYPE_BOOL:
        return bson_iter_bool(it) ? odm_buf_append(out, "true", 4)
                                  : odm_buf_append(out, "false", 5);
    case BSON_TYPE_OID:
        bson_oid_to_string(bson_iter_oid(it), text);
        return write_quoted(out, text, 24);
    case BSON_TYPE_DATE_TIME:
        return write_quoted(out, text, codec__format_date(bson_iter_date_time(it), text));
    case BSON_TYPE_DOCUMENT:
        return write_container(out, it, field, false, depth, subst);
    case BSON_TYPE_ARRAY:
        return write_container(out, it, field, true, depth, subst);
    case BSON_TYPE_DECIMAL128: {
        bson_decimal128_t dec;
        bson_iter_decimal128(it, &dec);
        bson_decimal128_to_string(&dec, text);
        return write_quoted(out, text, strlen(text));
    }
    case BSON_TYPE_BINARY: {
        bson_subtype_t subtype;
        uint32_t len;
        const uint8_t *data;
        bson_iter_binary(it, &subtype, &len, &data);
        return codec__base64_string(out, data, len);
    }
    default: /* null, undefined, and types plain JSON has no form for */
        return odm_buf_append(out, "null", 4);
    }
}

static bool write_members(odm_buf_t *out, bson_iter_t *it, const odm_field_t *field, bool array,
                          bool top, int depth, const odm_codec_subst_t *subst)
{
    bool first = true;
    if (!odm_buf_putc(out, array ? '[' : '{'))
        return false;
    while (bson_iter_next(it)) {
        const char *key = bson_iter_key(it);
        size_t klen = bson_iter_key_len(it);
        const odm_field_t *child;
        if (!member_field(field, array, top, key, klen, &child))
            continue;
        if (!first && !odm_buf_putc(out, ','))
            return false;
        first = false;
        if (!array && !(odm_buf_json_string(out, key, klen) && odm_buf_putc(out, ':')))
            return false;
        if (!write_value(out, it, child, depth, subst))
            return false;
    }
    return odm_buf_putc(out, array ? ']' : '}');
}

bool odm_codec_write_json(const odm_model_t *model, const bson_t *doc, odm_buf_t *out,
                          odm_error_t *err)
{
    return odm_codec_write_json_subst(model, doc, NULL, out, err);
}

bool odm_codec_write_json_subst(const odm_model_t *model, const bson_t *doc,
                                const odm_codec_subst_t *subst, odm_buf_t *out, odm_error_t *err)
{
    bson_iter_t it;
    size_t start = out->len;
    if (!bson_iter_init(&it, doc))
        return odm_error_set(err, ODM_ERR_INTERNAL, "corrupt BSON document");
    if (write_members(out, &it, &model->root, false, true, 0, subst))
        return true;
    out->len = start;
    if (out->data)
        out->data[start] = '\0';
    return odm_error_set(err, ODM_ERR_INTERNAL, "response larger than %zu bytes", out->max);
}

/* The walk of odm_codec_each_at: the members the writer would write, looked at, not written. */
static void each_members(bson_iter_t *it, const odm_field_t *field, bool array, bool top, int depth,
                         const odm_codec_subst_t *at, odm_codec_each_fn fn, void *arg)
{
    while (bson_iter_next(it)) {
        const odm_field_t *child;
        if (!member_field(field, array, top, bson_iter_key(it), bson_iter_key_len(it), &child))
            continue;
        size_t i = subst_index(at, child);
        bson_iter_t inner;
        if (i != SIZE_MAX)
            fn(arg, i, it);
        else if ((BSON_ITER_HOLDS_DOCUMENT(it) || BSON_ITER_HOLDS_ARRAY(it)) &&
                 depth < MAX_OUT_DEPTH && bson_iter_recurse(it, &inner))
            each_members(&inner, child, BSON_ITER_HOLDS_ARRAY(it), false, depth + 1, at, fn, arg);
    }
}

void odm_codec_each_at(const odm_model_t *model, const bson_t *doc,
                       const odm_field_t *const *fields, size_t n, odm_codec_each_fn fn, void *arg)
{
    bson_iter_t it;
    odm_codec_subst_t at = {.fields = fields, .n = n};
    if (bson_iter_init(&it, doc))
        each_members(&it, &model->root, false, true, 0, &at, fn, arg);
}

static json_t *tree_members(bson_iter_t *it, const odm_field_t *field, bool array, bool top,
                            int depth);

static json_t *tree_string(const char *s, size_t n)
{
    json_t *v = json_stringn(s, n);
    return v ? v : json_null(); /* not UTF-8: written by another tool */
}

static json_t *tree_container(const bson_iter_t *it, const odm_field_t *field, bool array,
                              int depth)
{
    bson_iter_t child;
    if (depth >= MAX_OUT_DEPTH || !bson_iter_recurse(it, &child))
        return json_null();
    return tree_members(&child, field, array, false, depth + 1);
}

static json_t *tree_binary(const bson_iter_t *it)
{
    bson_subtype_t subtype;
    uint32_t len;
    const uint8_t *data;
    odm_buf_t buf;
    bson_iter_binary(it, &subtype, &len, &data);
    odm_buf_init(&buf, (size_t)len * 2 + 16);
    json_t *v =
        codec__base64_string(&buf, data, len) ? tree_string(buf.data + 1, buf.len - 2) : NULL;
    odm_buf_release(&buf);
    return v;
}

static json_t *tree_value(const bson_iter_t *it, const odm_field_t *field, int depth)
{
    char text[CODEC__DATE_MAX + CODEC__DOUBLE_MAX + BSON_DECIMAL128_STRING];
    switch (bson_iter_type(it)) {
    case BSON_TYPE_UTF8: {
        uint32_t len;
        const char *s = bson_iter_utf8(it, &len);
        return tree_string(s, len);
    }
    case BSON_TYPE_INT32:
        return json_integer(bson_iter_int32(it));
    case BSON_TYPE_INT64:
        return json_integer(bson_iter_int64(it));
    case BSON_TYPE_DOUBLE:
        return codec__format_double(bson_iter_double(it), text) ? json_real(bson_iter_double(it))
                                                                : json_null();
    case BSON_TYPE_BOOL:
        return json_boolean(bson_iter_bool(it));
    case BSON_TYPE_OID:
        bson_oid_to_string(bson_iter_oid(it), text);
        return json_stringn(text, 24);
    case BSON_TYPE_DATE_TIME:
        return json_stringn(text, codec__format_date(bson_iter_date_time(it), text));
    case BSON_TYPE_DOCUMENT:
        return tree_container(it, field, false, depth);
    case BSON_TYPE_ARRAY:
        return tree_container(it, field, true, depth);
    case BSON_TYPE_DECIMAL128: {
        bson_decimal128_t dec;
        bson_iter_decimal128(it, &dec);
        bson_decimal128_to_string(&dec, text);
        return json_string(text);
    }
    case BSON_TYPE_BINARY:
        return tree_binary(it);
    default:
        return json_null();
    }
}

static json_t *tree_members(bson_iter_t *it, const odm_field_t *field, bool array, bool top,
                            int depth)
{
    json_t *container = array ? json_array() : json_object();
    while (container != NULL && bson_iter_next(it)) {
        const char *key = bson_iter_key(it);
        size_t klen = bson_iter_key_len(it);
        const odm_field_t *child;
        if (!member_field(field, array, top, key, klen, &child) && !(child && child->write_only))
            continue; /* the version field: writeOnly fields are kept in trees */
        json_t *v = tree_value(it, child, depth);
        int rc = v == NULL ? -1
                 : array   ? json_array_append_new(container, v)
                           : json_object_setn_new(container, key, klen, v);
        if (rc != 0) {
            json_decref(container);
            container = NULL;
        }
    }
    return container;
}

json_t *odm_codec_to_tree(const odm_model_t *model, const bson_t *doc)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, doc))
        return NULL;
    return tree_members(&it, &model->root, false, true, 0);
}

int64_t odm_codec_version(const bson_t *doc)
{
    bson_iter_t it;
    if (!bson_iter_init_find(&it, doc, ODM_VERSION_FIELD) || !BSON_ITER_HOLDS_NUMBER(&it))
        return 0;
    return bson_iter_as_int64(&it);
}

/* Percent-encodes s (n bytes) as one path segment; "." and ".." too (RFC 3986 5.2.4). */
static bool put_segment(odm_buf_t *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t start = out->len, run = 0;
    if ((n == 1 && s[0] == '.') || (n == 2 && memcmp(s, "..", 2) == 0))
        return odm_buf_append(out, "%2E%2E", 3 * n);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
        if (unreserved)
            continue;
        char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
        if (!odm_buf_append(out, s + run, i - run) || !odm_buf_append(out, esc, 3))
            goto fail_truncate;
        run = i + 1;
    }
    if (odm_buf_append(out, s + run, n - run))
        return true;
fail_truncate:
    out->len = start;
    if (out->data)
        out->data[start] = '\0';
    return false;
}

bool odm_codec_id_segment(const bson_t *doc, odm_buf_t *out)
{
    bson_iter_t it;
    char text[ODM_TEXT_INT_MAX + 25];
    if (!bson_iter_init_find(&it, doc, "_id"))
        return false;
    switch (bson_iter_type(&it)) {
    case BSON_TYPE_OID:
        bson_oid_to_string(bson_iter_oid(&it), text);
        return odm_buf_append(out, text, 24);
    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
        return odm_buf_append(out, text, odm_text_int(bson_iter_as_int64(&it), text));
    case BSON_TYPE_UTF8: {
        uint32_t len;
        const char *s = bson_iter_utf8(&it, &len);
        return put_segment(out, s, len);
    }
    default:
        return false;
    }
}

bool odm_codec_write_value(const odm_field_t *field, const bson_iter_t *it, odm_buf_t *out,
                           odm_error_t *err)
{
    if (write_value(out, it, field, 0, NULL))
        return true;
    return odm_error_set(err, ODM_ERR_TOO_LARGE, "answer larger than %zu bytes", out->max);
}

bool odm_codec_write_values(const odm_field_t *field, const bson_t *values, odm_buf_t *out,
                            odm_error_t *err)
{
    /* distinct looks through arrays: the values of an array field are its items' */
    odm_field_t holder = {.items = (odm_field_t *)(field && field->items ? field->items : field)};
    bson_iter_t it;
    if (!bson_iter_init(&it, values))
        return odm_error_set(err, ODM_ERR_INTERNAL, "corrupt BSON array");
    if (write_members(out, &it, &holder, true, false, 0, NULL))
        return true;
    return odm_error_set(err, ODM_ERR_TOO_LARGE, "answer larger than %zu bytes", out->max);
}
