/* Idempotency-Key on POST /api/NAME (the IETF httpapi idempotency-key draft): the first request
 * with a key claims it in the collection ODM_API_IDEMPOTENCY_COLLECTION (an insert, so the
 * unique _id decides across processes), runs, and records its response there; a retry with the
 * same key and the same request gets that response again. With authentication, each caller's
 * keys are its own: another caller's same key is another key. Worker threads only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "api/internal.h"
#include "odmd/clock.h"
#include "odmd/log.h"

#define KEY_MAX 255
#define FP_HEX 64  /* SHA-256 in hex */
#define ID_MAX 640 /* "MODEL:CALLER:KEY": a longer model name is refused (500) */

typedef struct {
    char id[ID_MAX]; /* "MODEL:KEY", or "MODEL:CALLER:KEY" with authentication */
    char fp[FP_HEX + 1];
    int64_t takeover_at; /* our pending document's: the compare-and-set guard */
} claim_t;

/* The key: an sf-string ("...") or a bare token, 1..255 printable ASCII characters. */
static bool parse_key(const char *h, char *out)
{
    size_t n = strlen(h);
    bool quoted = n >= 2 && h[0] == '"' && h[n - 1] == '"';
    if (quoted) {
        h++;
        n -= 2;
    }
    if (n == 0 || n > KEY_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c < 0x21 || c > 0x7e || c == '"' || c == '\\')
            if (!(quoted && c == ' '))
                return false;
    }
    memcpy(out, h, n);
    out[n] = '\0';
    return true;
}

/* SHA-256 over the method, the path and the body, in hex. */
static bool fingerprint(odm_request_t *req, char *out)
{
    size_t len;
    const char *body = odm_request_body(req, &len);
    const char *path = odm_request_raw_path(req);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
              EVP_DigestUpdate(ctx, "POST\n", 5) == 1 &&
              EVP_DigestUpdate(ctx, path, strlen(path) + 1) == 1 &&
              EVP_DigestUpdate(ctx, body, len) == 1 && EVP_DigestFinal_ex(ctx, md, &md_len) == 1;
    EVP_MD_CTX_free(ctx);
    for (unsigned i = 0; ok && i < md_len && i < FP_HEX / 2; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return ok;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A pending document; it may be taken over once takeoverAt (twice the request's time) passed,
 * its request then surely over. */
static void build_pending(odm_request_t *req, claim_t *c, bson_t *doc)
{
    int64_t now = wall_ms();
    int64_t left = odm_request_deadline_ms(req) - odm_now_ms();
    c->takeover_at = now + 2 * (left > 0 ? left : 0) + 1000;
    bson_init(doc);
    BSON_APPEND_UTF8(doc, "_id", c->id);
    BSON_APPEND_UTF8(doc, "fingerprint", c->fp);
    BSON_APPEND_UTF8(doc, "state", "pending");
    BSON_APPEND_DATE_TIME(doc, "createdAt", now);
    BSON_APPEND_DATE_TIME(doc, "takeoverAt", c->takeover_at);
}

static void filter_pending(const claim_t *c, int64_t takeover_at, bson_t *f)
{
    bson_init(f);
    BSON_APPEND_UTF8(f, "_id", c->id);
    BSON_APPEND_UTF8(f, "state", "pending");
    BSON_APPEND_DATE_TIME(f, "takeoverAt", takeover_at);
}

static const char *iter_utf8(const bson_t *doc, const char *key)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it))
        return bson_iter_utf8(&it, NULL);
    return NULL;
}

/* The stored response again, with Idempotency-Replayed: true. */
static bool replay(odm_request_t *req, const bson_t *doc)
{
    static const char *const types[] = {"application/json", "application/problem+json"};
    const char *type = iter_utf8(doc, "contentType");
    const char *ctype = NULL;
    for (size_t i = 0; type != NULL && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(type, types[i]) == 0)
            ctype = types[i];
    bson_iter_t it;
    uint32_t len = 0;
    const uint8_t *data = NULL;
    bson_subtype_t sub;
    if (bson_iter_init_find(&it, doc, "body") && BSON_ITER_HOLDS_BINARY(&it))
        bson_iter_binary(&it, &sub, &len, &data);
    int status = bson_iter_init_find(&it, doc, "status") ? bson_iter_as_int64(&it) : 0;
    if (status < 200 || status > 499)
        return api__failf(req, ODM_ERR_INTERNAL, "idempotency record '%s' has no status",
                          iter_utf8(doc, "_id"));
    char *body = len ? malloc(len) : NULL;
    if (len && body == NULL)
        return api__failf(req, ODM_ERR_INTERNAL, "out of memory");
    if (len)
        memcpy(body, data, len);
    static const char *const headers[] = {"Location", "ETag"};
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        const char *v = iter_utf8(doc, headers[i]);
        if (v != NULL)
            odm_request_add_header(req, headers[i], v);
    }
    odm_request_add_header(req, "Idempotency-Replayed", "true");
    odm_request_reply(req, status, ctype, body, len);
    return true;
}

typedef enum { CLAIM_OWNED, CLAIM_ANSWERED } claim_result_t;

/* The key exists: replay, refuse, or take over an abandoned pending claim. */
static claim_result_t existing(api_call_t *call, claim_t *c, const bson_t *doc, bool *retry)
{
    odm_request_t *req = call->req;
    const char *fp = iter_utf8(doc, "fingerprint");
    if (fp == NULL || strcmp(fp, c->fp) != 0) {
        api__failf(req, ODM_ERR_VALIDATION,
                   "Idempotency-Key was already used for a different request (method, path "
                   "or body)");
        return CLAIM_ANSWERED;
    }
    const char *state = iter_utf8(doc, "state");
    if (state != NULL && strcmp(state, "done") == 0) {
        replay(req, doc);
        return CLAIM_ANSWERED;
    }
    bson_iter_t it;
    int64_t takeover_at =
        bson_iter_init_find(&it, doc, "takeoverAt") && BSON_ITER_HOLDS_DATE_TIME(&it)
            ? bson_iter_date_time(&it)
            : INT64_MAX;
    if (wall_ms() < takeover_at) {
        api__failf(req, ODM_ERR_CONFLICT,
                   "a request with this Idempotency-Key is still being handled; retry later");
        return CLAIM_ANSWERED;
    }
    bson_t f, mine;
    filter_pending(c, takeover_at, &f);
    build_pending(req, c, &mine);
    int64_t matched = 0;
    odm_error_t err;
    bool ok = odm_store_replace(call->app->store, ODM_API_IDEMPOTENCY_COLLECTION, &f, &mine,
                                &matched, odm_request_deadline_ms(req), &err);
    bson_destroy(&f);
    bson_destroy(&mine);
    if (!ok) {
        api__fail(req, &err, NULL);
        return CLAIM_ANSWERED;
    }
    if (matched == 1)
        return CLAIM_OWNED;
    *retry = true; /* another took it over, or it completed meanwhile: read again */
    return CLAIM_ANSWERED;
}

/* Inserts the pending claim; on a duplicate key reads the one there. */
static claim_result_t claim(api_call_t *call, claim_t *c)
{
    odm_request_t *req = call->req;
    odm_store_t *store = call->app->store;
    for (int attempt = 0; attempt < 3; attempt++) {
        bson_t doc;
        build_pending(req, c, &doc);
        odm_error_t err;
        bool ok = odm_store_insert(store, ODM_API_IDEMPOTENCY_COLLECTION, &doc,
                                   odm_request_deadline_ms(req), &err);
        bson_destroy(&doc);
        if (ok)
            return CLAIM_OWNED;
        if (err.kind != ODM_ERR_CONFLICT) {
            api__fail(req, &err, NULL);
            return CLAIM_ANSWERED;
        }
        bson_t f, found_doc;
        bson_init(&f);
        BSON_APPEND_UTF8(&f, "_id", c->id);
        bool found = false;
        ok = odm_store_find_one(store, ODM_API_IDEMPOTENCY_COLLECTION, &f, NULL, &found_doc, &found,
                                odm_request_deadline_ms(req), &err);
        bson_destroy(&f);
        bool retry = !found;
        claim_result_t r = CLAIM_ANSWERED;
        if (!ok)
            api__fail(req, &err, NULL);
        else if (found)
            r = existing(call, c, &found_doc, &retry);
        bson_destroy(&found_doc);
        if (!ok || !retry)
            return r;
    }
    api__failf(req, ODM_ERR_CONFLICT,
               "a request with this Idempotency-Key is still being handled; retry later");
    return CLAIM_ANSWERED;
}

/* After the run: a 5xx (or no answer) frees the key for a retry; any other answer is kept. */
static void record(api_call_t *call, const claim_t *c)
{
    odm_request_t *req = call->req;
    const char *ctype, *body;
    size_t len;
    int status = odm_request_response(req, &ctype, &body, &len);
    bson_t f;
    filter_pending(c, c->takeover_at, &f);
    odm_error_t err;
    int64_t n = 0;
    bool ok;
    if (status < 200 || status > 499) {
        ok = odm_store_delete(call->app->store, ODM_API_IDEMPOTENCY_COLLECTION, &f, &n,
                              odm_request_deadline_ms(req), &err);
    } else {
        bson_t doc;
        bson_init(&doc);
        BSON_APPEND_UTF8(&doc, "_id", c->id);
        BSON_APPEND_UTF8(&doc, "fingerprint", c->fp);
        BSON_APPEND_UTF8(&doc, "state", "done");
        BSON_APPEND_DATE_TIME(&doc, "createdAt", wall_ms());
        BSON_APPEND_INT32(&doc, "status", status);
        if (ctype != NULL)
            BSON_APPEND_UTF8(&doc, "contentType", ctype);
        BSON_APPEND_BINARY(&doc, "body", BSON_SUBTYPE_BINARY, (const uint8_t *)(body ? body : ""),
                           (uint32_t)len);
        static const char *const headers[] = {"Location", "ETag"};
        for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
            const char *v = odm_request_response_header(req, headers[i]);
            if (v != NULL)
                BSON_APPEND_UTF8(&doc, headers[i], v);
        }
        ok = odm_store_replace(call->app->store, ODM_API_IDEMPOTENCY_COLLECTION, &f, &doc, &n,
                               odm_request_deadline_ms(req), &err);
        bson_destroy(&doc);
    }
    bson_destroy(&f);
    if (!ok)
        odm_warn("request %s: Idempotency-Key '%s' not recorded: %s", odm_request_id(req), c->id,
                 err.message);
}

bool api__idempotent(api_call_t *call, bool (*work)(api_call_t *call))
{
    odm_request_t *req = call->req;
    const char *h = odm_request_header(req, "Idempotency-Key");
    if (h == NULL)
        return work(call);
    char key[KEY_MAX + 1];
    if (!parse_key(h, key))
        return api__failf(req, ODM_ERR_BAD_REQUEST,
                          "Idempotency-Key must be a string of 1 to %d printable characters",
                          KEY_MAX);
    claim_t c;
    /* each caller has its own keys: CALLER is the SHA-256 of its name (a fixed length) */
    char caller[ODM_AUTH_HASH_HEX + 2] = "";
    if (odm_auth_enabled(call->app->auth)) {
        odm_auth_key_hash(call->caller.name, strlen(call->caller.name), caller);
        caller[ODM_AUTH_HASH_HEX] = ':';
        caller[ODM_AUTH_HASH_HEX + 1] = '\0';
    }
    int n = snprintf(c.id, sizeof c.id, "%s:%s%s", call->model->name, caller, key);
    if (n < 0 || (size_t)n >= sizeof c.id || !fingerprint(req, c.fp))
        return api__failf(req, ODM_ERR_INTERNAL, "Idempotency-Key cannot be fingerprinted");
    if (claim(call, &c) == CLAIM_ANSWERED)
        return true;
    bool answered = work(call);
    record(call, &c);
    return answered;
}
