/* Driver errors to odmd's kinds: one table of server codes, the domains of error API 2, and the
 * duplicate-key message naming the index and its fields. */
#include "store_int.h"

#include <stdio.h>
#include <string.h>

/* Server error codes with a kind of their own (MongoDB's error_codes.yml); any other server
 * code is ODM_ERR_INTERNAL. Only meaningful in the domains that carry server codes. */
static const struct {
    uint32_t code;
    odm_error_kind_t kind;
} server_codes[] = {
    {11000, ODM_ERR_CONFLICT},    /* DuplicateKey */
    {11001, ODM_ERR_CONFLICT},    /* legacy duplicate key on update */
    {12582, ODM_ERR_CONFLICT},    /* legacy duplicate key on insert */
    {50, ODM_ERR_TIMEOUT},        /* MaxTimeMSExpired */
    {262, ODM_ERR_TIMEOUT},       /* ExceededTimeLimit */
    {6, ODM_ERR_UNAVAILABLE},     /* HostUnreachable */
    {7, ODM_ERR_UNAVAILABLE},     /* HostNotFound */
    {89, ODM_ERR_UNAVAILABLE},    /* NetworkTimeout */
    {91, ODM_ERR_UNAVAILABLE},    /* ShutdownInProgress */
    {189, ODM_ERR_UNAVAILABLE},   /* PrimarySteppedDown */
    {9001, ODM_ERR_UNAVAILABLE},  /* SocketException */
    {10107, ODM_ERR_UNAVAILABLE}, /* NotWritablePrimary */
    {11600, ODM_ERR_UNAVAILABLE}, /* InterruptedAtShutdown */
    {11602, ODM_ERR_UNAVAILABLE}, /* InterruptedDueToReplStateChange */
    {13435, ODM_ERR_UNAVAILABLE}, /* NotPrimaryNoSecondaryOk */
    {13436, ODM_ERR_UNAVAILABLE}, /* NotPrimaryOrSecondary */
};

static odm_error_kind_t kind_of(const bson_error_t *error)
{
    switch (error->domain) {
    case MONGOC_ERROR_SERVER_SELECTION:
    case MONGOC_ERROR_STREAM:
        return ODM_ERR_UNAVAILABLE;
    case MONGOC_ERROR_SERVER:        /* a command's or a write's error (error API 2) */
    case MONGOC_ERROR_WRITE_CONCERN: /* carries the server's code too */
        for (size_t i = 0; i < sizeof server_codes / sizeof server_codes[0]; i++) {
            if (server_codes[i].code == error->code)
                return server_codes[i].kind;
        }
        return ODM_ERR_INTERNAL;
    default: /* client-side: bad arguments, BSON, authentication, protocol */
        return ODM_ERR_INTERNAL;
    }
}

void store__redact(char *msg, size_t size, const char *secret)
{
    static const char mask[] = "***";
    const size_t m = sizeof mask - 1;
    size_t n = secret ? strlen(secret) : 0;
    if (n == 0 || size == 0)
        return;
    char *from = msg;
    char *hit;
    while ((hit = strstr(from, secret)) != NULL) {
        size_t at = (size_t)(hit - msg);
        if (at + m >= size) { /* no room for the mask: cut the message there */
            *hit = '\0';
            return;
        }
        size_t tail = strlen(hit + n) + 1; /* with the NUL */
        if (at + m + tail > size)
            tail = size - at - m; /* a short secret grows the line: cut its end */
        memmove(hit + m, hit + n, tail);
        memcpy(hit, mask, m);
        msg[size - 1] = '\0';
        from = hit + m; /* past the mask, which may itself contain the secret */
    }
}

/* The index name in a duplicate-key message ("... index: email_1 dup key: { ... }"). */
static bool index_name(const char *message, char *out, size_t size)
{
    const char *p = strstr(message, "index: ");
    if (p == NULL)
        return false;
    p += strlen("index: ");
    size_t n = strcspn(p, " ");
    if (n == 0 || n >= size)
        return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

/* The fields of the violated index from the write error's keyPattern (MongoDB 4.4 and later
 * send it; values are never copied: they are the client's data). Empty when absent. */
static void index_fields(const bson_t *reply, char *out, size_t size)
{
    out[0] = '\0';
    bson_iter_t it, pattern;
    if (reply == NULL || !bson_iter_init(&it, reply) ||
        !(bson_iter_find_descendant(&it, "writeErrors.0.keyPattern", &pattern) ||
          (bson_iter_init(&it, reply) && bson_iter_find_descendant(&it, "keyPattern", &pattern))) ||
        !BSON_ITER_HOLDS_DOCUMENT(&pattern) || !bson_iter_recurse(&pattern, &it))
        return;
    size_t len = 0;
    while (bson_iter_next(&it) && len < size) {
        int n = snprintf(out + len, size - len, "%s'%s'", len ? ", " : "", bson_iter_key(&it));
        if (n < 0 || (size_t)n >= size - len) {
            out[len] = '\0';
            return;
        }
        len += (size_t)n;
    }
}

static void duplicate_detail(const bson_error_t *error, const bson_t *reply, char *out, size_t size)
{
    char index[128], fields[256];
    bool named = index_name(error->message, index, sizeof index);
    index_fields(reply, fields, sizeof fields);
    if (named && fields[0])
        snprintf(out, size, "duplicate key for %s (index '%s')", fields, index);
    else if (named)
        snprintf(out, size, "duplicate key (index '%s')", index);
    else if (fields[0])
        snprintf(out, size, "duplicate key for %s", fields);
    else
        snprintf(out, size, "duplicate key");
}

bool store__fail(odm_store_t *store, const store__op_t *op, const bson_error_t *error,
                 const bson_t *reply, odm_error_t *err)
{
    odm_error_kind_t kind = kind_of(error);
    atomic_fetch_add_explicit(&store->errors[kind], 1, memory_order_relaxed);
    const char *prefix = kind == ODM_ERR_UNAVAILABLE ? "database unavailable: "
                         : kind == ODM_ERR_TIMEOUT   ? "database time limit exceeded: "
                                                     : "";
    char detail[sizeof error->message];
    if (kind == ODM_ERR_CONFLICT)
        duplicate_detail(error, reply, detail, sizeof detail);
    else
        memcpy(detail, error->message, sizeof detail);
    detail[sizeof detail - 1] = '\0';
    store__redact(detail, sizeof detail, store->password);
    if (op->collection != NULL)
        return odm_error_set(err, kind, "%s '%s': %s%s", op->what, op->collection, prefix, detail);
    return odm_error_set(err, kind, "%s: %s%s", op->what, prefix, detail);
}

void store__write_error(odm_store_t *store, const store__op_t *op, const bson_t *write_error,
                        odm_error_t *err)
{
    bson_error_t error = {.domain = MONGOC_ERROR_SERVER};
    bson_iter_t it;
    if (bson_iter_init_find(&it, write_error, "code") && BSON_ITER_HOLDS_NUMBER(&it))
        error.code = (uint32_t)bson_iter_as_int64(&it);
    if (bson_iter_init_find(&it, write_error, "errmsg") && BSON_ITER_HOLDS_UTF8(&it))
        bson_strncpy(error.message, bson_iter_utf8(&it, NULL), sizeof error.message);
    store__fail(store, op, &error, write_error, err);
}
