/* End-to-end: JWT bearer tokens. odmd started with --jwt-secret (HS256, with --jwt-issuer and
 * --jwt-audience), then with --jwt-public-key on an RSA key (RS256) and on an EC P-256 key
 * (ES256); tokens made outside odmd (openssl keys, tests/support/jwt_mint.py). A valid token is
 * the caller (its sub, its scope); an expired, foreign, unsigned or tampered one is 401 with
 * RFC 6750's error="invalid_token"; a read-only token that writes is 403; no token ever
 * reaches odmd's log or an answer. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "harness.h"
#include "support/jwtmint.h"

#define SECRET "e2e-jwt-secret-0123456789abcdef0123456789"
#define ISSUER "https://issuer.e2e.example"
#define AUDIENCE "odmd-e2e"
#define MAX_SENT 64
#define AUTH_HEADER_MAX 4096

static odm_test_jwtmint_t mint;
static e2e_db_t *db;
static json_t *tokens;
static int64_t now;
static const char *sent[MAX_SENT]; /* every token sent to the odmd running: none may be logged */
static size_t n_sent;

static const char *key_path(const char *file)
{
    static char buf[4][512];
    static int next;
    next = (next + 1) % 4;
    return odm_test_jwtmint_path(&mint, file, buf[next], sizeof buf[next]);
}

/* ---- tokens ---- */

static json_t *claims(const char *sub, const char *scope, int64_t exp_in, const char *aud)
{
    json_t *c = json_pack("{s:s, s:s, s:I, s:I}", "sub", sub, "iss", ISSUER, "iat", (json_int_t)now,
                          "exp", (json_int_t)(now + exp_in));
    if (scope != NULL)
        json_object_set_new(c, "scope", json_string(scope));
    if (aud != NULL)
        json_object_set_new(c, "aud", json_string(aud));
    return c;
}

static void add(json_t *specs, const char *name, const char *alg, const char *sign, const char *key,
                json_t *c)
{
    json_t *s = json_pack("{s:s, s:{s:s, s:s}, s:o, s:s}", "name", name, "header", "alg", alg,
                          "typ", "JWT", "claims", c, "sign", sign);
    if (strcmp(sign, "HS256") == 0)
        json_object_set_new(s, "secret", json_string(key));
    else if (strcmp(sign, "none") != 0)
        json_object_set_new(s, "key_file", json_string(key_path(key)));
    json_array_append_new(specs, s);
}

static bool mint_tokens(void)
{
    json_t *specs = json_array();
    const char *rw = "read:users write:users";
    add(specs, "hs_rw", "HS256", "HS256", SECRET, claims("alice", rw, 600, AUDIENCE));
    add(specs, "hs_ro", "HS256", "HS256", SECRET, claims("bob", "read:users", 600, AUDIENCE));
    const char *diaries = "read:diaries write:diaries";
    add(specs, "hs_diary_alice", "HS256", "HS256", SECRET, claims("alice", diaries, 600, AUDIENCE));
    add(specs, "hs_diary_bob", "HS256", "HS256", SECRET, claims("bob", diaries, 600, AUDIENCE));
    add(specs, "hs_expired", "HS256", "HS256", SECRET, claims("alice", rw, -3600, AUDIENCE));
    add(specs, "hs_wrong_aud", "HS256", "HS256", SECRET, claims("alice", rw, 600, "elsewhere"));
    add(specs, "hs_none", "none", "none", NULL, claims("alice", rw, 600, AUDIENCE));
    add(specs, "hs_other_secret", "HS256", "HS256", SECRET "-not",
        claims("alice", rw, 600, AUDIENCE));
    add(specs, "rs_rw", "RS256", "RS256", "rsa.pem", claims("carol", rw, 600, NULL));
    add(specs, "rs_ro", "RS256", "RS256", "rsa.pem", claims("dave", "read:*", 600, NULL));
    add(specs, "rs_expired", "RS256", "RS256", "rsa.pem", claims("carol", rw, -3600, NULL));
    add(specs, "rs_with_aud", "RS256", "RS256", "rsa.pem", claims("carol", rw, 600, "anyone"));
    add(specs, "rs_none", "none", "none", NULL, claims("carol", rw, 600, NULL));
    add(specs, "es_rw", "ES256", "ES256", "ec.pem",
        claims("erin", "write:users read:users", 600, NULL));
    add(specs, "es_ro", "ES256", "ES256", "ec.pem", claims("frank", "read:users", 600, NULL));
    add(specs, "es_expired", "ES256", "ES256", "ec.pem", claims("erin", rw, -3600, NULL));
    add(specs, "es_other_key", "ES256", "ES256", "ec2.pem", claims("erin", rw, 600, NULL));
    /* the public key's PEM bytes as an HMAC secret: the algorithm confusion attack */
    json_t *c = claims("mallory", "admin", 600, NULL);
    add(specs, "es_confused", "HS256", "HS256", "x", c);
    json_t *last = json_array_get(specs, json_array_size(specs) - 1);
    json_object_del(last, "secret");
    json_object_set_new(last, "secret_file", json_string(key_path("ec.pub")));
    tokens = odm_test_jwtmint_run(&mint, specs);
    json_decref(specs);
    return tokens != NULL;
}

static const char *token(const char *name)
{
    const char *t = json_string_value(json_object_get(tokens, name));
    CHECK_MSG(t != NULL, "no token '%s'", name);
    return t != NULL ? t : "missing";
}

/* ---- requests ---- */

/* `method` /api/users (POST with a new user) bearing token `name` (NULL: no Authorization). */
static void call(e2e_client_t *c, e2e_resp_t *r, const char *method, const char *name)
{
    char auth[AUTH_HEADER_MAX];
    const char *headers[3] = {NULL};
    size_t n = 0;
    if (name != NULL) {
        const char *t = token(name);
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", t);
        headers[n++] = auth;
        if (n_sent < MAX_SENT)
            sent[n_sent++] = t;
    }
    static int users;
    const char *body = NULL;
    if (strcmp(method, "POST") == 0) {
        headers[n++] = "Content-Type: application/json";
        body = F("{\"email\":\"jwt%d@example.com\",\"name\":\"J\"}", ++users);
    }
    e2e_request(c, r, method, "/api/users", headers, body, (size_t)-1);
}

/* A 401 for an invalid token: problem+json, WWW-Authenticate: Bearer with
 * error="invalid_token" and an error_description containing `why`. */
static void expect_invalid(e2e_client_t *c, const char *name, const char *why)
{
    e2e_resp_t r = {0};
    call(c, &r, "GET", name);
    CHECK_MSG(e2e_is_problem(&r, 401), "%s: status %ld", name, r.status);
    const char *www = e2e_header(&r, "WWW-Authenticate");
    CHECK_MSG(www != NULL && strncmp(www, "Bearer ", 7) == 0 &&
                  strstr(www, "error=\"invalid_token\"") != NULL &&
                  strstr(www, "error_description=\"") != NULL && strstr(www, why) != NULL,
              "%s: WWW-Authenticate '%s', want invalid_token and '%s'", name, www ? www : "(none)",
              why);
    CHECK_MSG(r.body != NULL && strstr(r.body, why) != NULL, "%s: detail lacks '%s': %s", name, why,
              r.body ? r.body : "");
    e2e_resp_free(&r);
}

/* Read with `ro`, write with `rw`; writing with `ro` is 403. */
static void expect_scopes(e2e_client_t *c, const char *rw, const char *ro)
{
    e2e_resp_t r = {0};
    call(c, &r, "GET", ro);
    EXPECT_STATUS(r, 200);
    call(c, &r, "GET", rw);
    EXPECT_STATUS(r, 200);
    call(c, &r, "POST", rw);
    EXPECT_STATUS(r, 201);
    call(c, &r, "POST", ro);
    EXPECT_PROBLEM(r, 403);
    call(c, &r, "DELETE", ro);
    EXPECT_PROBLEM(r, 403);
    call(c, &r, "GET", NULL); /* no credential at all */
    EXPECT_PROBLEM(r, 401);
    const char *www = e2e_header(&r, "WWW-Authenticate");
    CHECK_MSG(www != NULL && strncmp(www, "Bearer", 6) == 0, "no credential: '%s'",
              www ? www : "(none)");
    e2e_get(c, &r, "/healthz"); /* the probes need no token */
    EXPECT_STATUS(r, 200);
    e2e_resp_free(&r);
}

/* Neither a token nor its signature appears in odmd's log (stderr and stdout). */
static void expect_not_logged(const e2e_odmd_t *o)
{
    char *log = e2e_read_file(o->log_path);
    char *out = e2e_read_file(o->out_path);
    CHECK(log != NULL);
    CHECK_MSG(log == NULL || strstr(log, SECRET) == NULL, "the secret is in the log");
    for (size_t i = 0; i < n_sent; i++) {
        const char *sig = strrchr(sent[i], '.');
        const char *probe = sig != NULL && strlen(sig) > 16 ? sig + 1 : sent[i];
        CHECK_MSG(log == NULL || (strstr(log, sent[i]) == NULL && strstr(log, probe) == NULL),
                  "token %zu is in the log %s", i, o->log_path);
        CHECK_MSG(out == NULL || strstr(out, probe) == NULL, "token %zu is in stdout", i);
    }
    free(log);
    free(out);
    n_sent = 0;
}

/* odmd with `args` on the shared database; runs `body` with a client on it; stops it. */
static void with_odmd(const char *const *args, void (*body)(e2e_client_t *c))
{
    e2e_odmd_t o;
    e2e_odmd_opts_t opts = {.mongo_uri = e2e_db_uri(db), .schemas = e2e_schemas_with_extras()};
    size_t n = 0;
    for (; args[n] != NULL && n + 1 < E2E_MAX_ARGS; n++)
        opts.args[n] = args[n];
    opts.args[n] = NULL;
    if (!e2e_odmd_start(&o, &opts)) {
        CHECK_MSG(false, "odmd did not start with %s", args[0]);
        return;
    }
    /* the indexes odmd makes at startup: an insert racing them may fail */
    CHECK_MSG(e2e_wait_status(o.url, "/readyz", 200, 20000), "odmd never ready");
    e2e_client_t c;
    e2e_client_init(&c, o.url);
    body(&c);
    e2e_client_release(&c);
    CHECK_INT(e2e_odmd_stop(&o, 10000), 0);
    expect_not_logged(&o);
}

/* `method` `path` with `body` (NULL: none) bearing token `name`. */
static void call_as(e2e_client_t *c, e2e_resp_t *r, const char *method, const char *path,
                    const char *body, const char *name)
{
    char auth[AUTH_HEADER_MAX];
    const char *t = token(name);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", t);
    if (n_sent < MAX_SENT)
        sent[n_sent++] = t;
    const char *headers[] = {auth, body ? "Content-Type: application/json" : NULL, NULL};
    e2e_request(c, r, method, path, headers, body, (size_t)-1);
}

/* x-owner: a token's sub owns what it creates; another sub sees none of it. */
static void expect_owner(e2e_client_t *c)
{
    e2e_resp_t r = {0};
    call_as(c, &r, "POST", "/api/diaries", "{\"title\":\"mine\",\"ownerId\":\"bob\"}",
            "hs_diary_alice");
    EXPECT_STATUS(r, 201);
    CHECK_STR(e2e_str(&r, "ownerId"), "alice");
    char path[128];
    snprintf(path, sizeof path, "/api/diaries/%s", e2e_str(&r, "_id") ? e2e_str(&r, "_id") : "x");
    call_as(c, &r, "GET", path, NULL, "hs_diary_alice");
    EXPECT_STATUS(r, 200);
    call_as(c, &r, "GET", path, NULL, "hs_diary_bob");
    EXPECT_PROBLEM(r, 404);
    call_as(c, &r, "GET", "/api/diaries", NULL, "hs_diary_bob");
    EXPECT_STATUS(r, 200);
    CHECK_INT(json_array_size(r.json), 0);
    call_as(c, &r, "GET", "/api/diaries", NULL, "hs_diary_alice");
    CHECK_INT(json_array_size(r.json), 1);
    e2e_resp_free(&r);
}

static void hs256(e2e_client_t *c)
{
    expect_owner(c);
    expect_scopes(c, "hs_rw", "hs_ro");
    expect_invalid(c, "hs_expired", "expired");
    expect_invalid(c, "hs_wrong_aud", "audience");
    expect_invalid(c, "hs_none", "alg none");
    expect_invalid(c, "hs_other_secret", "signature");
    expect_invalid(c, "rs_rw", "not HS256"); /* an RS token where only a secret is configured */
}

static void rs256(e2e_client_t *c)
{
    expect_scopes(c, "rs_rw", "rs_ro");
    expect_invalid(c, "rs_expired", "expired");
    expect_invalid(c, "rs_with_aud", "audience");
    expect_invalid(c, "rs_none", "alg none");
    expect_invalid(c, "hs_rw", "not RS256"); /* HS where a public key is configured */
    expect_invalid(c, "es_rw", "not RS256");
}

static void es256(e2e_client_t *c)
{
    expect_scopes(c, "es_rw", "es_ro");
    expect_invalid(c, "es_expired", "expired");
    expect_invalid(c, "es_other_key", "signature");
    expect_invalid(c, "es_confused", "not ES256");
    expect_invalid(c, "rs_rw", "not ES256");
}

/* A key odmd cannot use stops it at startup, naming the file. */
static void test_bad_key(void)
{
    const char *argv[] = {"--jwt-public-key", key_path("p384.pub"), "--mongo-uri", e2e_db_uri(db),
                          NULL};
    char *out = NULL;
    int rc = e2e_run_odmd(argv, NULL, NULL, 10000, &out);
    CHECK_INT(rc, 2);
    CHECK_MSG(out != NULL && strstr(out, "P-256") != NULL, "output: %s", out ? out : "");
    free(out);
}

int main(void)
{
    e2e_init("jwt");
    if (!odm_test_jwtmint_init(&mint, e2e_source_dir())) {
        if (!odm_test_jwtmint_in_ci())
            return 77;
        CHECK_MSG(false, "CI=true: the JWT tests must run");
        return e2e_finish(check_done("e2e_jwt"));
    }
    now = (int64_t)time(NULL);
    bool keys =
        odm_test_jwtmint_key(&mint, "rsa", "-algorithm RSA -pkeyopt rsa_keygen_bits:2048") &&
        odm_test_jwtmint_key(&mint, "ec", "-algorithm EC -pkeyopt ec_paramgen_curve:P-256") &&
        odm_test_jwtmint_key(&mint, "ec2", "-algorithm EC -pkeyopt ec_paramgen_curve:P-256") &&
        odm_test_jwtmint_key(&mint, "p384", "-algorithm EC -pkeyopt ec_paramgen_curve:P-384");
    CHECK(keys);
    db = keys && mint_tokens() ? e2e_db_start() : NULL;
    CHECK(db != NULL);
    if (db != NULL) {
        const char *hs[] = {"--jwt-secret", SECRET,        "--jwt-issuer", ISSUER, "--jwt-audience",
                            AUDIENCE,       "--log-level", "debug",        NULL};
        with_odmd(hs, hs256);
        const char *rs[] = {"--jwt-public-key", key_path("rsa.pub"), "--log-level", "debug", NULL};
        with_odmd(rs, rs256);
        const char *es[] = {"--jwt-public-key", key_path("ec.pub"), "--log-level", "debug", NULL};
        with_odmd(es, es256);
        test_bad_key();
    }
    e2e_db_stop(db);
    json_decref(tokens);
    odm_test_jwtmint_cleanup(&mint);
    return e2e_finish(check_done("e2e_jwt"));
}
