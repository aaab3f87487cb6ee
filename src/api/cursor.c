/* Keyset cursors for lists: the total sort order, the signed after= token, the range filter
 * that starts a page after it, and the Link header to the next page. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "api/cursor.h"
#include "api/internal.h"
#include "odmd/text.h"
#include "odmd/text.h"

#define TOKEN_VERSION 1
#define MAC_LEN 32    /* HMAC-SHA256 */
#define DIGEST_LEN 32 /* SHA-256 of the model name, filter and sort */
#define TOKEN_MAX_BYTES (1 + ODM_API_MAX_CURSOR + MAC_LEN)
#define TOKEN_MAX_TEXT ((TOKEN_MAX_BYTES * 4 + 2) / 3)
#define TOKEN_MIN_BYTES (1 + 5 + MAC_LEN) /* version, an empty BSON document, the MAC */
#define MAX_KEYS 64                       /* sort keys: the codec allows 32, then _id */

struct api_cursor {
    unsigned char digest[DIGEST_LEN]; /* what the tokens of this list are bound to */
    bool narrowed;                    /* `after` was given: page_filter holds the range */
    bson_t page_filter;
    bson_t added;  /* sort keys added to the projection, {key: 1, ...}: never shown */
    int64_t limit; /* documents shown per page */
    int64_t seen;  /* documents of the page query so far */
    bool more;     /* one came past the limit */
    bool has_last;
    bson_t last;   /* the last document shown, as the database sent it */
    bson_t *shown; /* the last document written without the added keys, or NULL */
};

/* MongoDB's order across BSON types (a rank per type); `alias` is the $type name a range uses
 * for the rank, once per rank ("number" covers int, long, double and decimal: FerretDB knows no
 * "decimal"), NULL for types a range never names (undefined and symbol, deprecated; arrays,
 * which sort by their elements). Rank 0: a type that has no place in a keyset (code, minKey...). */
enum { RANK_NULL = 1, RANK_OBJECT = 4, RANK_ARRAY = 5, RANK_REGEX = 11 };

static const struct {
    bson_type_t type;
    int rank;
    const char *alias;
} ranks[] = {
    {BSON_TYPE_NULL, RANK_NULL, NULL},
    {BSON_TYPE_UNDEFINED, RANK_NULL, NULL},
    {BSON_TYPE_INT32, 2, "number"},
    {BSON_TYPE_INT64, 2, NULL},
    {BSON_TYPE_DOUBLE, 2, NULL},
    {BSON_TYPE_DECIMAL128, 2, NULL},
    {BSON_TYPE_UTF8, 3, "string"},
    {BSON_TYPE_SYMBOL, 3, NULL},
    {BSON_TYPE_DOCUMENT, RANK_OBJECT, "object"},
    {BSON_TYPE_ARRAY, RANK_ARRAY, NULL},
    {BSON_TYPE_BINARY, 6, "binData"},
    {BSON_TYPE_OID, 7, "objectId"},
    {BSON_TYPE_BOOL, 8, "bool"},
    {BSON_TYPE_DATE_TIME, 9, "date"},
    {BSON_TYPE_TIMESTAMP, 10, "timestamp"},
    {BSON_TYPE_REGEX, RANK_REGEX, "regex"},
};

#define RANK_COUNT (sizeof ranks / sizeof ranks[0])

static int rank_of(bson_type_t type)
{
    for (size_t i = 0; i < RANK_COUNT; i++)
        if (ranks[i].type == type)
            return ranks[i].rank;
    return 0;
}

/* A value a token can hold: one that sorts as itself (not an array, object or regex). */
static bool keyset_value(bson_type_t type)
{
    int r = rank_of(type);
    return r != 0 && r != RANK_OBJECT && r != RANK_ARRAY && r != RANK_REGEX;
}

bool odm_api_cursor_key_random(unsigned char *out, size_t n, odm_error_t *err)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = getrandom(out + got, n - got, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return odm_error_set(err, ODM_ERR_CONFIG, "no random cursor key: getrandom: %s",
                                 strerror(errno));
        got += (size_t)k;
    }
    return true;
}

/* ---- the sort ------------------------------------------------------------------------------ */

/* A sort key needs one value per document: no array on the path, no object at its end. */
static bool sortable(const odm_model_t *model, const char *key, odm_error_t *err)
{
    size_t n = strlen(key);
    for (size_t i = 1; i <= n; i++) {
        if (i < n && key[i] != '.')
            continue;
        const odm_field_t *f = odm_model_field(model, key, i);
        if (f != NULL && f->items != NULL)
            return odm_error_set(err, ODM_ERR_BAD_QUERY,
                                 "cannot sort by '%s': '%.*s' is an array (a sort key needs one "
                                 "value per document)",
                                 key, (int)i, key);
        if (f != NULL && i == n && f->n_children > 0)
            return odm_error_set(err, ODM_ERR_BAD_QUERY,
                                 "cannot sort by '%s': it is an object, sort by its fields", key);
    }
    return true;
}

/* Rewrites list->sort as the client's keys up to an _id, then _id if it was not there. */
static bool total_sort(const odm_model_t *model, api_list_t *list, odm_error_t *err)
{
    bson_t sort = BSON_INITIALIZER;
    bson_iter_t it;
    bool ok = true, has_id = false;
    if (bson_iter_init(&it, &list->sort))
        while (ok && !has_id && bson_iter_next(&it)) {
            const char *key = bson_iter_key(&it);
            has_id = strcmp(key, "_id") == 0;
            ok = sortable(model, key, err) &&
                 (bson_append_int32(&sort, key, -1, bson_iter_int32(&it)) ||
                  odm_error_set(err, ODM_ERR_BAD_QUERY, "sort too large"));
        }
    if (ok && !has_id && !bson_append_int32(&sort, "_id", 3, 1))
        ok = odm_error_set(err, ODM_ERR_BAD_QUERY, "sort too large");
    if (ok) {
        bson_destroy(&list->sort);
        bson_copy_to(&sort, &list->sort);
    }
    bson_destroy(&sort);
    return ok;
}

/* Whether a projection returns `key`: it names the key or a path above it. */
static bool projected(const bson_t *projection, const char *key)
{
    bson_iter_t it;
    if (!bson_iter_init(&it, projection))
        return false;
    while (bson_iter_next(&it)) {
        const char *p = bson_iter_key(&it);
        size_t n = strlen(p);
        if (strncmp(key, p, n) == 0 && (key[n] == '\0' || key[n] == '.'))
            return true;
    }
    return false;
}

/* The next token needs the last document's sort values: a projection (fields=) gets the sort
 * keys it leaves out, and they are taken out again before the document is written. */
static bool project_sort_keys(api_list_t *list, api_cursor_t *c, odm_error_t *err)
{
    bson_iter_t it;
    if (bson_empty(&list->projection) || !bson_iter_init(&it, &list->sort))
        return true;
    while (bson_iter_next(&it)) {
        const char *key = bson_iter_key(&it);
        if (strcmp(key, "_id") == 0 || projected(&list->projection, key))
            continue;
        if (!bson_append_int32(&list->projection, key, -1, 1) ||
            !bson_append_int32(&c->added, key, -1, 1))
            return odm_error_set(err, ODM_ERR_BAD_QUERY, "fields too large");
    }
    return true;
}

/* ---- the token ----------------------------------------------------------------------------- */

static bool digest_list(const char *model_name, const api_list_t *list, unsigned char *out)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned len = 0;
    bool ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
              EVP_DigestUpdate(md, model_name, strlen(model_name) + 1) == 1 &&
              EVP_DigestUpdate(md, bson_get_data(&list->filter), list->filter.len) == 1 &&
              EVP_DigestUpdate(md, bson_get_data(&list->sort), list->sort.len) == 1 &&
              EVP_DigestFinal_ex(md, out, &len) == 1 && len == DIGEST_LEN;
    EVP_MD_CTX_free(md);
    return ok;
}

/* HMAC-SHA256 of the version, the list's digest and the sort values. */
static bool sign(const odm_app_t *app, const api_cursor_t *c, const uint8_t *values, size_t n,
                 unsigned char *mac)
{
    unsigned char data[1 + DIGEST_LEN + ODM_API_MAX_CURSOR];
    unsigned len = 0;
    if (n > ODM_API_MAX_CURSOR || app->cursor_key == NULL || app->cursor_key_len == 0)
        return false;
    data[0] = TOKEN_VERSION;
    memcpy(data + 1, c->digest, DIGEST_LEN);
    memcpy(data + 1 + DIGEST_LEN, values, n);
    return HMAC(EVP_sha256(), app->cursor_key, (int)app->cursor_key_len, data, 1 + DIGEST_LEN + n,
                mac, &len) != NULL &&
           len == MAC_LEN;
}

/* Checks `text` against the list's digest; `values` (static over raw) gets the sort values. */
static bool read_token(const odm_app_t *app, const api_cursor_t *c, const char *text,
                       unsigned char *raw, bson_t *values, odm_error_t *err)
{
    size_t n = strlen(text), len = 0;
    unsigned char mac[MAC_LEN];
    if (n > TOKEN_MAX_TEXT || !odm_text_b64url_decode(text, n, raw, TOKEN_MAX_BYTES, &len) ||
        len < TOKEN_MIN_BYTES || raw[0] != TOKEN_VERSION)
        return odm_error_set(err, ODM_ERR_BAD_QUERY, "'after' is not a cursor token of odmd");
    size_t n_values = len - 1 - MAC_LEN;
    if (!sign(app, c, raw + 1, n_values, mac) ||
        CRYPTO_memcmp(mac, raw + 1 + n_values, MAC_LEN) != 0)
        return odm_error_set(err, ODM_ERR_BAD_QUERY,
                             "'after' belongs to another filter or sort, or was altered: "
                             "follow the Link of a page of this list");
    if (!bson_init_static(values, raw + 1, n_values) ||
        !bson_validate(values, BSON_VALIDATE_NONE, NULL))
        return odm_error_set(err, ODM_ERR_BAD_QUERY, "'after' is not a cursor token of odmd");
    return true;
}

/* ---- the range ----------------------------------------------------------------------------- */

typedef struct {
    const char *key;
    int direction;
    bson_iter_t value;
} sort_key_t;

/* Whether ranks[i] is a type a range names past `rank`: above it ascending (direction 1), below
 * it descending (-1); null is never named (descending ranges match it with {key: null}). */
static bool past(size_t i, int rank, int direction)
{
    int r = ranks[i].rank;
    return ranks[i].alias != NULL && r != RANK_NULL && (direction > 0 ? r > rank : r < rank);
}

static bool has_types_past(int rank, int direction)
{
    for (size_t i = 0; i < RANK_COUNT; i++)
        if (past(i, rank, direction))
            return true;
    return false;
}

/* {$type: [the names of the types past `rank`]}. */
static bool append_types_past(bson_t *out, int rank, int direction)
{
    bson_t list;
    unsigned n = 0;
    if (!bson_append_array_begin(out, "$type", 5, &list))
        return false;
    for (size_t i = 0; i < RANK_COUNT; i++) {
        char buf[16];
        const char *k;
        if (!past(i, rank, direction))
            continue;
        size_t kn = bson_uint32_to_string(n++, &k, buf, sizeof buf);
        if (!bson_append_utf8(&list, k, (int)kn, ranks[i].alias, -1))
            return false;
    }
    return bson_append_array_end(out, &list);
}

/* Appends to `term` what places a document after `k` on its key alone, in MongoDB's order
 * (null and missing first, then numbers, strings, ... by rank; ranges compare within a rank):
 * ascending from null: {key: {$ne: null}}; otherwise $or: [{key: {$gt|$lt: v}}, {key: {$type:
 * [the ranks past v's]}}, and descending {key: null}]. */
static bool append_after(bson_t *term, const sort_key_t *k)
{
    int rank = rank_of(bson_iter_type(&k->value));
    bson_t ops, alts, alt, sub;
    if (rank == RANK_NULL) /* ascending only: nothing sorts before null */
        return bson_append_document_begin(term, k->key, -1, &ops) &&
               bson_append_null(&ops, "$ne", 3) && bson_append_document_end(term, &ops);
    bool ok = bson_append_array_begin(term, "$or", 3, &alts) &&
              bson_append_document_begin(&alts, "0", 1, &alt) &&
              bson_append_document_begin(&alt, k->key, -1, &sub) &&
              bson_append_iter(&sub, k->direction > 0 ? "$gt" : "$lt", 3, &k->value) &&
              bson_append_document_end(&alt, &sub) && bson_append_document_end(&alts, &alt);
    const char *next = "1";
    if (ok && has_types_past(rank, k->direction)) {
        ok = bson_append_document_begin(&alts, next, 1, &alt) &&
             bson_append_document_begin(&alt, k->key, -1, &sub) &&
             append_types_past(&sub, rank, k->direction) && bson_append_document_end(&alt, &sub) &&
             bson_append_document_end(&alts, &alt);
        next = "2";
    }
    if (ok && k->direction < 0)
        ok = bson_append_document_begin(&alts, next, 1, &alt) &&
             bson_append_null(&alt, k->key, -1) && bson_append_document_end(&alts, &alt);
    return ok && bson_append_array_end(term, &alts);
}

/* Term i: keys before i equal to the token's values, key i after its value. */
static bool append_term(bson_t *terms, uint32_t index, const sort_key_t *keys, size_t i)
{
    char buf[16];
    const char *k;
    size_t kn = bson_uint32_to_string(index, &k, buf, sizeof buf);
    bson_t term;
    bool ok = bson_append_document_begin(terms, k, (int)kn, &term);
    for (size_t j = 0; ok && j < i; j++)
        ok = rank_of(bson_iter_type(&keys[j].value)) == RANK_NULL
                 ? bson_append_null(&term, keys[j].key, -1) /* null or missing */
                 : bson_append_iter(&term, keys[j].key, -1, &keys[j].value);
    ok = ok && append_after(&term, &keys[i]);
    return bson_append_document_end(terms, &term) && ok;
}

/* {$or: [term 0, ...]}: the documents after the token's, in the sort's order. */
static bool append_range(bson_t *out, const sort_key_t *keys, size_t n)
{
    bson_t terms;
    uint32_t index = 0;
    bool ok = bson_append_array_begin(out, "$or", 3, &terms);
    for (size_t i = 0; ok && i < n; i++) {
        bool nothing_before =
            keys[i].direction < 0 && rank_of(bson_iter_type(&keys[i].value)) == RANK_NULL;
        if (!nothing_before)
            ok = append_term(&terms, index++, keys, i);
    }
    return bson_append_array_end(out, &terms) && ok;
}

/* Pairs the sort's keys with the token's values. */
static bool pair_keys(const api_list_t *list, const bson_t *values, sort_key_t *keys, size_t *n,
                      odm_error_t *err)
{
    bson_iter_t s, v;
    size_t i = 0;
    bool more_s = bson_iter_init(&s, &list->sort) && bson_iter_next(&s);
    bool more_v = bson_iter_init(&v, values) && bson_iter_next(&v);
    for (; more_s && more_v && i < MAX_KEYS; i++) {
        if (!keyset_value(bson_iter_type(&v)))
            break;
        keys[i] = (sort_key_t){bson_iter_key(&s), bson_iter_int32(&s), v};
        more_s = bson_iter_next(&s);
        more_v = bson_iter_next(&v);
    }
    if (more_s || more_v)
        return odm_error_set(err, ODM_ERR_BAD_QUERY, "'after' does not fit this list's sort");
    *n = i;
    return true;
}

static bool narrow(api_list_t *list, api_cursor_t *c, const bson_t *values, odm_error_t *err)
{
    sort_key_t keys[MAX_KEYS];
    size_t n = 0;
    bson_t both, item;
    if (!pair_keys(list, values, keys, &n, err))
        return false;
    bool ok;
    if (bson_empty(&list->filter))
        ok = append_range(&c->page_filter, keys, n);
    else
        ok = bson_append_array_begin(&c->page_filter, "$and", 4, &both) &&
             bson_append_document(&both, "0", 1, &list->filter) &&
             bson_append_document_begin(&both, "1", 1, &item) && append_range(&item, keys, n) &&
             bson_append_document_end(&both, &item) &&
             bson_append_array_end(&c->page_filter, &both);
    c->narrowed = true;
    return ok || odm_error_set(err, ODM_ERR_BAD_QUERY, "filter too large with after");
}

/* ---- the hooks ----------------------------------------------------------------------------- */

static api_cursor_t *cursor_new(void)
{
    api_cursor_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    bson_init(&c->page_filter);
    bson_init(&c->added);
    bson_init(&c->last);
    return c;
}

void api__cursor_free(api_cursor_t *c)
{
    if (c == NULL)
        return;
    bson_destroy(&c->page_filter);
    bson_destroy(&c->added);
    bson_destroy(&c->last);
    bson_destroy(c->shown);
    free(c);
}

bool api__cursor_refuse(api_call_t *call)
{
    api_list_t *list = call->list;
    odm_error_t err;
    api_cursor_t *c = list->cursor = cursor_new();
    if (c == NULL)
        return api__failf(call->req, ODM_ERR_INTERNAL, "out of memory");
    c->limit = list->limit;
    if (!total_sort(call->model, list, &err) || !project_sort_keys(list, c, &err))
        return api__fail(call->req, &err, NULL);
    if (!digest_list(call->model->name, list, c->digest))
        return api__failf(call->req, ODM_ERR_INTERNAL, "cannot digest the list's query");
    const char *after = odm_request_query(call->req, "after");
    if (after == NULL)
        return false;
    unsigned char raw[TOKEN_MAX_BYTES];
    bson_t values;
    if (!read_token(call->app, c, after, raw, &values, &err) || !narrow(list, c, &values, &err))
        return api__fail(call->req, &err, NULL);
    return false;
}

const bson_t *api__cursor_filter(const api_list_t *list)
{
    return list->cursor->narrowed ? &list->cursor->page_filter : &list->filter;
}

int64_t api__cursor_limit(const api_list_t *list)
{
    return list->limit + 1;
}

/* `src` without the dotted `path`; an object left empty by it goes too. */
static bool copy_without(const bson_t *src, const char *path, bson_t *dst)
{
    const char *dot = strchr(path, '.');
    size_t head = dot ? (size_t)(dot - path) : strlen(path);
    bson_iter_t it;
    bool ok = bson_iter_init(&it, src);
    while (ok && bson_iter_next(&it)) {
        const char *key = bson_iter_key(&it);
        bool match = strlen(key) == head && memcmp(key, path, head) == 0;
        if (match && dot == NULL)
            continue;
        if (match && BSON_ITER_HOLDS_DOCUMENT(&it)) {
            const uint8_t *data;
            uint32_t len;
            bson_t sub, kept = BSON_INITIALIZER;
            bson_iter_document(&it, &len, &data);
            ok = bson_init_static(&sub, data, len) && copy_without(&sub, dot + 1, &kept) &&
                 (bson_empty(&kept) || bson_append_document(dst, key, -1, &kept));
            bson_destroy(&kept);
            continue;
        }
        ok = bson_append_iter(dst, key, -1, &it);
    }
    return ok;
}

const bson_t *api__cursor_shown(api_list_t *list, const bson_t *doc)
{
    api_cursor_t *c = list->cursor;
    if (++c->seen > c->limit) {
        c->more = true;
        return NULL;
    }
    if (c->seen == c->limit) {
        bson_destroy(&c->last);
        bson_copy_to(doc, &c->last);
        c->has_last = true;
    }
    bson_iter_t it;
    if (bson_empty(&c->added) || !bson_iter_init(&it, &c->added))
        return doc;
    const bson_t *from = doc;
    bson_t *kept = NULL;
    while (bson_iter_next(&it)) {
        bson_t *next = bson_new();
        copy_without(from, bson_iter_key(&it), next);
        bson_destroy(kept);
        from = kept = next;
    }
    bson_destroy(c->shown);
    c->shown = kept;
    return kept != NULL ? kept : doc;
}

/* The token of the last document shown: its sort values, signed. */
static bool make_token(const api_call_t *call, char *out, odm_error_t *err)
{
    api_list_t *list = call->list;
    api_cursor_t *c = list->cursor;
    bson_t values = BSON_INITIALIZER;
    bson_iter_t s, it, v;
    uint32_t n = 0;
    bool ok = bson_iter_init(&s, &list->sort);
    while (ok && bson_iter_next(&s)) {
        char buf[16];
        const char *k;
        size_t kn = bson_uint32_to_string(n++, &k, buf, sizeof buf);
        bool found =
            bson_iter_init(&it, &c->last) && bson_iter_find_descendant(&it, bson_iter_key(&s), &v);
        bson_type_t type = found ? bson_iter_type(&v) : BSON_TYPE_NULL;
        if (!keyset_value(type)) {
            bson_destroy(&values);
            return odm_error_set(err, ODM_ERR_BAD_QUERY,
                                 "cannot page on from a document whose '%s' is an array, object "
                                 "or pattern: sort by fields of one plain value",
                                 bson_iter_key(&s));
        }
        ok = rank_of(type) == RANK_NULL ? bson_append_null(&values, k, (int)kn)
                                        : bson_append_iter(&values, k, (int)kn, &v);
    }
    unsigned char raw[TOKEN_MAX_BYTES];
    if (ok && values.len > ODM_API_MAX_CURSOR)
        ok = !odm_error_set(err, ODM_ERR_BAD_QUERY,
                            "the sort values of the page's last document take more than %d "
                            "bytes: sort by shorter fields",
                            ODM_API_MAX_CURSOR);
    else if (!ok || !sign(call->app, c, bson_get_data(&values), values.len, raw + 1 + values.len))
        ok = !odm_error_set(err, ODM_ERR_INTERNAL, "cannot sign the cursor token");
    if (ok) {
        raw[0] = TOKEN_VERSION;
        memcpy(raw + 1, bson_get_data(&values), values.len);
        odm_text_b64url_encode(raw, 1 + values.len + MAC_LEN, out);
    }
    bson_destroy(&values);
    return ok;
}

static bool put_encoded(odm_buf_t *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    bool ok = true;
    for (; ok && *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            strchr("-._~", ch) != NULL)
            ok = odm_buf_putc(b, (char)ch);
        else
            ok = odm_buf_putc(b, '%') && odm_buf_putc(b, hex[ch >> 4]) &&
                 odm_buf_putc(b, hex[ch & 15]);
    }
    return ok;
}

/* The next URL repeats every parameter of this one but skip and after. */
static bool put_param(const char *key, const char *value, void *arg)
{
    odm_buf_t *b = arg;
    if (strcmp(key, "after") == 0 || strcmp(key, "skip") == 0)
        return true;
    return put_encoded(b, key) &&
           (value == NULL || (odm_buf_putc(b, '=') && put_encoded(b, value))) &&
           odm_buf_putc(b, '&');
}

bool api__cursor_link(api_list_t *list, odm_error_t *err)
{
    api_call_t *call = list->call;
    api_cursor_t *c = list->cursor;
    char token[TOKEN_MAX_TEXT + 1];
    if (!c->more || !c->has_last)
        return true;
    if (!make_token(call, token, err))
        return false;
    odm_buf_t link;
    odm_buf_init(&link, ODM_API_MAX_LINK);
    bool ok = odm_buf_puts(&link, "</api/") && odm_buf_puts(&link, call->model->name) &&
              odm_buf_putc(&link, '?') && odm_request_each_query(call->req, put_param, &link) &&
              odm_buf_puts(&link, "after=") && odm_buf_puts(&link, token) &&
              odm_buf_puts(&link, ">; rel=\"next\"");
    if (ok)
        odm_request_add_header(call->req, "Link", odm_buf_cstr(&link));
    odm_buf_release(&link);
    return ok || odm_error_set(err, ODM_ERR_BAD_QUERY,
                               "the next page's link would be longer than %d bytes: shorten the "
                               "filter",
                               ODM_API_MAX_LINK);
}
