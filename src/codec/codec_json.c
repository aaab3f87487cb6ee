/* Strict parsing of request bodies and filters: jansson plus depth, number and key rules, after
 * the fast path of codec_parse.c declined. */
#include "codec/codec_int.h"
#include "odmd/codec.h"

#include <string.h>

/* Nesting depth of the first place that passes ODM_JSON_MAX_DEPTH, found by counting brackets
 * outside strings before jansson builds anything. Returns its byte offset, or len. */
static size_t too_deep_at(const char *buf, size_t len)
{
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > ODM_JSON_MAX_DEPTH)
                return i;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return len;
}

static void line_column(const char *buf, size_t offset, int *line, int *column)
{
    *line = 1;
    *column = 1;
    for (size_t i = 0; i < offset; i++) {
        if (buf[i] == '\n') {
            (*line)++;
            *column = 1;
        } else if (((unsigned char)buf[i] & 0xc0) != 0x80) {
            (*column)++;
        }
    }
}

/* jansson's "duplicate object key near '"k"'": the key as the client wrote it. */
static bool report_duplicate(const json_error_t *jerr, odm_error_t *err)
{
    const char *near = strstr(jerr->text, "near '\"");
    size_t n = near ? strlen(near + 7) : 0;
    char quoted[CODEC__QUOTE_MAX];
    if (n >= 2 && near[7 + n - 1] == '\'' && near[7 + n - 2] == '"')
        codec__quote(near + 7, n - 2, quoted);
    else
        codec__quote("?", 1, quoted);
    return odm_error_set(err, ODM_ERR_MALFORMED_JSON, "line %d column %d: duplicate key '%s'",
                         jerr->line, jerr->column, quoted);
}

static bool report_syntax(const json_error_t *jerr, odm_error_t *err)
{
    switch (json_error_code(jerr)) {
    case json_error_duplicate_key:
        return report_duplicate(jerr, err);
    case json_error_numeric_overflow:
        return odm_error_set(err, ODM_ERR_MALFORMED_JSON, "%s out of range at line %d column %d",
                             strstr(jerr->text, "real") ? "number" : "integer", jerr->line,
                             jerr->column);
    case json_error_invalid_utf8:
        return odm_error_set(err, ODM_ERR_MALFORMED_JSON, "line %d column %d: invalid UTF-8",
                             jerr->line, jerr->column);
    case json_error_null_byte_in_key: /* BSON field names are NUL-terminated */
        return odm_error_set(err, ODM_ERR_MALFORMED_JSON,
                             "line %d column %d: a field name must not contain \\u0000", jerr->line,
                             jerr->column);
    default: {
        /* jansson quotes the client's bytes "near" the fault, valid UTF-8 or not */
        char text[CODEC__QUOTE_MAX];
        codec__quote(jerr->text, strlen(jerr->text), text);
        return odm_error_set(err, ODM_ERR_MALFORMED_JSON, "line %d column %d: %s", jerr->line,
                             jerr->column, text);
    }
    }
}

/* Refuses keys MongoDB would take for operators or paths, and empty ones (no dotted path names
 * them, and MongoDB-wire servers differ on storing them), at any depth. */
static bool check_keys(const json_t *v, odm_pointer_t *ptr, odm_error_t *err)
{
    if (json_is_array(v)) {
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item)
        {
            size_t mark = odm_pointer_push_index(ptr, i);
            if (!check_keys(item, ptr, err))
                return false;
            odm_pointer_pop(ptr, mark);
        }
        return true;
    }
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)v, key, value)
    {
        size_t klen = strlen(key);
        size_t mark = odm_pointer_push(ptr, key, klen);
        char quoted[CODEC__QUOTE_MAX], at[CODEC__QUOTE_MAX];
        if (klen == 0)
            return odm_error_set(err, ODM_ERR_MALFORMED_JSON,
                                 "field name '' at '%s' must not be empty: no path names it",
                                 codec__quote(ptr->buf, ptr->len, at));
        if (key[0] == '$')
            return odm_error_set(
                err, ODM_ERR_MALFORMED_JSON, "field name '%s' at '%s' must not start with '$'",
                codec__quote(key, klen, quoted), codec__quote(ptr->buf, ptr->len, at));
        if (memchr(key, '.', klen) != NULL)
            return odm_error_set(
                err, ODM_ERR_MALFORMED_JSON, "field name '%s' at '%s' must not contain '.'",
                codec__quote(key, klen, quoted), codec__quote(ptr->buf, ptr->len, at));
        if (!check_keys(value, ptr, err))
            return false;
        odm_pointer_pop(ptr, mark);
    }
    return true;
}

json_t *odm_json_parse(const char *buf, size_t len, unsigned flags, odm_error_t *err)
{
    json_t *fast = codec__parse_fast(buf, len, flags & ODM_JSON_DOCUMENT);
    if (fast != NULL)
        return fast;
    size_t deep = too_deep_at(buf, len);
    if (deep < len) {
        int line, column;
        line_column(buf, deep, &line, &column);
        odm_error_set(err, ODM_ERR_MALFORMED_JSON,
                      "line %d column %d: nesting deeper than %d levels", line, column,
                      ODM_JSON_MAX_DEPTH);
        return NULL;
    }
    json_error_t jerr;
    json_t *root =
        json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (root == NULL) {
        report_syntax(&jerr, err);
        return NULL;
    }
    odm_pointer_t ptr;
    odm_pointer_init(&ptr);
    if ((flags & ODM_JSON_DOCUMENT) && !check_keys(root, &ptr, err)) {
        json_decref(root);
        return NULL;
    }
    return root;
}
