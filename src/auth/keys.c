/* API keys: the keys file (JSON, each key a SHA-256 hash with a name and scopes), its parser,
 * and the constant-time lookup of a presented key. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "odmd/auth.h"
#include "odmd/pointer.h"
#include "odmd/text.h"

#define HASH_BYTES 32

typedef struct {
    unsigned char hash[HASH_BYTES];
    odm_principal_t who;
} key_t_;

struct odm_auth_keys {
    key_t_ *items;
    size_t n;
};

/* The parser's state: where it is (a JSON Pointer for messages) and what it builds. */
typedef struct {
    const char *path;
    odm_pointer_t ptr;
    odm_auth_keys_t *out;
    odm_error_t *err;
} parse_t;

static bool fail(parse_t *p, const char *reason)
{
    odm_error_set(p->err, ODM_ERR_CONFIG, "%s: %s: %s", p->path, p->ptr.len ? p->ptr.buf : "/",
                  reason);
    return false;
}

void odm_auth_key_hash(const char *key, size_t len, char out[ODM_AUTH_HASH_HEX + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(key, len, md, &n, EVP_sha256(), NULL) != 1 || n != HASH_BYTES)
        memset(md, 0, sizeof md); /* never: SHA-256 is always there */
    for (size_t i = 0; i < HASH_BYTES; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[ODM_AUTH_HASH_HEX] = '\0';
}

static bool read_hash(parse_t *p, const json_t *v, unsigned char out[HASH_BYTES])
{
    const char *s = json_string_value(v);
    if (s == NULL || json_string_length(v) != ODM_AUTH_HASH_HEX)
        return fail(p, "must be a SHA-256 as 64 hex digits");
    for (size_t i = 0; i < HASH_BYTES; i++) {
        int hi = odm_text_hex_digit(s[2 * i]), lo = odm_text_hex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return fail(p, "must be a SHA-256 as 64 hex digits");
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return true;
}

/* The scopes array joined by spaces into who->scopes. */
static bool read_scopes(parse_t *p, const json_t *v, odm_principal_t *who)
{
    if (!json_is_array(v))
        return fail(p, "must be an array of scopes");
    size_t i, n = 0;
    const json_t *s;
    json_array_foreach(v, i, s)
    {
        size_t mark = odm_pointer_push_index(&p->ptr, i), len = json_string_length(s);
        if (!json_is_string(s) || !odm_auth_scope_valid(json_string_value(s), len))
            return fail(p, "must be admin, read:*, write:*, read:MODEL or write:MODEL");
        if (n + (n > 0) + len + 1 > sizeof who->scopes)
            return fail(p, "the key's scopes are too long together");
        if (n > 0)
            who->scopes[n++] = ' ';
        memcpy(who->scopes + n, json_string_value(s), len);
        n += len;
        who->scopes[n] = '\0';
        odm_pointer_pop(&p->ptr, mark);
    }
    return true;
}

static bool read_name(parse_t *p, const json_t *v, odm_principal_t *who)
{
    const char *s = json_string_value(v);
    odm_error_t ignored;
    if (s == NULL || !odm_principal_set(who, s, json_string_length(v), "", 0, &ignored) ||
        strlen(s) != json_string_length(v))
        return fail(p, "must be a non-empty printable string of at most 255 bytes");
    return true;
}

/* Whether key i repeats the name or the hash of an earlier key. */
static bool refuse_duplicate(parse_t *p, size_t i)
{
    const key_t_ *k = &p->out->items[i];
    for (size_t j = 0; j < i; j++) {
        if (strcmp(p->out->items[j].who.name, k->who.name) == 0)
            return !fail(p, "a second key with this name");
        if (memcmp(p->out->items[j].hash, k->hash, HASH_BYTES) == 0)
            return !fail(p, "the same hash as an earlier key");
    }
    return false;
}

static bool read_key(parse_t *p, const json_t *v, size_t i)
{
    key_t_ *k = &p->out->items[i];
    if (!json_is_object(v))
        return fail(p, "must be an object {name, sha256, scopes}");
    static const char *const members[] = {"name", "sha256", "scopes"};
    for (size_t m = 0; m < sizeof members / sizeof members[0]; m++)
        if (json_object_get(v, members[m]) == NULL)
            return fail(p, m == 0   ? "a key needs 'name'"
                           : m == 1 ? "a key needs 'sha256'"
                                    : "a key needs 'scopes'");
    const char *name;
    const json_t *value;
    json_object_foreach((json_t *)v, name, value)
    {
        size_t mark = odm_pointer_push(&p->ptr, name, strlen(name));
        bool ok = strcmp(name, "name") == 0     ? read_name(p, value, &k->who)
                  : strcmp(name, "sha256") == 0 ? read_hash(p, value, k->hash)
                  : strcmp(name, "scopes") == 0 ? true
                                                : fail(p, "unknown member");
        if (!ok)
            return false;
        odm_pointer_pop(&p->ptr, mark);
    }
    size_t mark = odm_pointer_push(&p->ptr, "scopes", 6);
    if (!read_scopes(p, json_object_get(v, "scopes"), &k->who))
        return false;
    odm_pointer_pop(&p->ptr, mark);
    return !refuse_duplicate(p, i);
}

static bool read_keys(parse_t *p, const json_t *root)
{
    if (!json_is_object(root))
        return fail(p, "must be an object {\"keys\": [...]}");
    const char *name;
    const json_t *value;
    json_object_foreach((json_t *)root, name, value) if (strcmp(name, "keys") != 0) return fail(
        p, "unknown member (only \"keys\")");
    const json_t *keys = json_object_get(root, "keys");
    odm_pointer_push(&p->ptr, "keys", 4);
    if (!json_is_array(keys))
        return fail(p, "must be an array of keys");
    if (json_array_size(keys) > ODM_AUTH_KEYS_MAX)
        return fail(p, "more keys than 10000");
    p->out->items = calloc(json_array_size(keys) + 1, sizeof *p->out->items);
    if (p->out->items == NULL)
        return fail(p, "out of memory");
    size_t i;
    json_array_foreach(keys, i, value)
    {
        size_t mark = odm_pointer_push_index(&p->ptr, i);
        if (!read_key(p, value, i))
            return false;
        p->out->n++;
        odm_pointer_pop(&p->ptr, mark);
    }
    return true;
}

static int by_hash(const void *a, const void *b)
{
    return memcmp(((const key_t_ *)a)->hash, ((const key_t_ *)b)->hash, HASH_BYTES);
}

odm_auth_keys_t *odm_auth_keys_parse(const char *text, size_t len, const char *path,
                                     odm_error_t *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        odm_error_set(err, ODM_ERR_CONFIG, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    parse_t p = {.path = path, .err = err, .out = calloc(1, sizeof(odm_auth_keys_t))};
    odm_pointer_init(&p.ptr);
    bool ok = p.out != NULL ? read_keys(&p, root) : fail(&p, "out of memory");
    json_decref(root);
    if (!ok) {
        odm_auth_keys_free(p.out);
        return NULL;
    }
    qsort(p.out->items, p.out->n, sizeof *p.out->items, by_hash); /* for odm_auth_keys_find */
    return p.out;
}

odm_auth_keys_t *odm_auth_keys_load(const char *path, odm_error_t *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        odm_error_set(err, ODM_ERR_CONFIG, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    char *text = malloc(ODM_AUTH_KEYS_FILE_MAX + 1);
    size_t len = text ? fread(text, 1, ODM_AUTH_KEYS_FILE_MAX + 1, f) : 0;
    bool failed = text == NULL || ferror(f);
    fclose(f);
    odm_auth_keys_t *keys = NULL;
    if (failed)
        odm_error_set(err, ODM_ERR_CONFIG, "%s: cannot read", path);
    else if (len > ODM_AUTH_KEYS_FILE_MAX)
        odm_error_set(err, ODM_ERR_CONFIG, "%s: larger than %u bytes", path,
                      ODM_AUTH_KEYS_FILE_MAX);
    else
        keys = odm_auth_keys_parse(text, len, path, err);
    free(text);
    return keys;
}

size_t odm_auth_keys_count(const odm_auth_keys_t *keys)
{
    return keys != NULL ? keys->n : 0;
}

/* A binary search over the hashes (sorted at parse), so that a request costs log2(n)
 * comparisons on the polling thread, not one per key: what its timing can reveal is where the
 * SHA-256 of the presented value falls among the stored hashes, which says nothing of a key
 * (finding a value whose hash lands near a stored one is a preimage search). The candidate is
 * then compared in full, in constant time. */
bool odm_auth_keys_find(const odm_auth_keys_t *keys, const char *key, size_t len,
                        odm_principal_t *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (keys == NULL || keys->n == 0 || EVP_Digest(key, len, md, &n, EVP_sha256(), NULL) != 1 ||
        n != HASH_BYTES)
        return false;
    size_t lo = 0, hi = keys->n - 1; /* the candidate is in [lo, hi] */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(keys->items[mid].hash, md, HASH_BYTES) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (CRYPTO_memcmp(keys->items[lo].hash, md, HASH_BYTES) != 0)
        return false;
    *out = keys->items[lo].who;
    return true;
}

void odm_auth_keys_free(odm_auth_keys_t *keys)
{
    if (keys == NULL)
        return;
    free(keys->items);
    free(keys);
}
