/* Unit tests for src/auth/jwt.c: tokens made outside odmd (openssl keys, tests/support/
 * jwt_mint.py) accepted or refused by HS256, RS256 and ES256 verifiers, each refusal for its own
 * reason; the verifier's startup checks; the token's shape; verification from several threads. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "odmd/jwt.h"
#include "support/jwtmint.h"

#define SECRET "0123456789abcdef0123456789abcdef-hs256"
#define OTHER_SECRET "fedcba9876543210fedcba9876543210-hs256"
#define ISSUER "https://issuer.example"
#define AUDIENCE "odmd-test"
#define LEEWAY 30
#define THREADS 4
#define ROUNDS 200

static odm_test_jwtmint_t mint;
static int64_t now;
static json_t *specs;  /* what jwt_mint.py signs */
static json_t *tokens; /* its answer: name -> token */

static const char *path(const char *file)
{
    static char buf[8][512];
    static int next;
    next = (next + 1) % 8;
    return odm_test_jwtmint_path(&mint, file, buf[next], sizeof buf[next]);
}

/* ---- specs ---- */

/* Claims every HS case starts from: valid for ten minutes, the configured iss and aud. */
static json_t *good_claims(void)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "sub", "alice", "iss", ISSUER, "aud",
                     AUDIENCE, "iat", (json_int_t)now, "exp", (json_int_t)(now + 600), "scope",
                     "read:books write:books");
}

/* A spec with header {"alg": alg, "typ": "JWT"} and `claims` (stolen), signed by `sign` with
 * the secret `key` or the private key named `key` ("rsa": rsa.pem). */
static json_t *spec(const char *name, const char *alg, json_t *claims, const char *sign,
                    const char *key)
{
    json_t *s = json_pack("{s:s, s:{s:s, s:s}, s:o, s:s}", "name", name, "header", "alg", alg,
                          "typ", "JWT", "claims", claims, "sign", sign);
    if (strcmp(sign, "HS256") == 0)
        json_object_set_new(s, "secret", json_string(key));
    else if (strcmp(sign, "none") != 0) {
        char file[64];
        snprintf(file, sizeof file, "%s.pem", key);
        json_object_set_new(s, "key_file", json_string(path(file)));
    }
    json_array_append_new(specs, s);
    return s;
}

static void hs(const char *name, json_t *claims)
{
    spec(name, "HS256", claims, "HS256", SECRET);
}

/* good_claims() with `key` set to `value` (stolen; NULL removes it). */
static json_t *with(const char *key, json_t *value)
{
    json_t *c = good_claims();
    if (value == NULL)
        json_object_del(c, key);
    else
        json_object_set_new(c, key, value);
    return c;
}

static json_t *long_string(size_t n, char fill)
{
    char *buf = malloc(n + 1);
    memset(buf, fill, n);
    buf[n] = '\0';
    json_t *s = json_string(buf);
    free(buf);
    return s;
}

static json_t *many_scopes(int n)
{
    char buf[4096] = "";
    size_t len = 0;
    for (int i = 0; i < n && len + 16 < sizeof buf; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%sread:m%d", i ? " " : "", i);
    return json_string(buf);
}

static void hs_specs(void)
{
    hs("hs_ok", good_claims());
    hs("hs_other_sub", with("sub", json_string("mallory")));
    hs("hs_aud_array", with("aud", json_pack("[s, s]", "other", AUDIENCE)));
    hs("hs_aud_array_without", with("aud", json_pack("[s, s]", "other", "third")));
    hs("hs_aud_wrong", with("aud", json_string("someone-else")));
    hs("hs_aud_absent", with("aud", NULL));
    hs("hs_aud_number", with("aud", json_integer(7)));
    hs("hs_iss_wrong", with("iss", json_string("https://evil.example")));
    hs("hs_iss_absent", with("iss", NULL));
    hs("hs_expired", with("exp", json_integer(now - 3600)));
    hs("hs_expired_in_leeway", with("exp", json_integer(now - LEEWAY + 5)));
    hs("hs_expired_past_leeway", with("exp", json_integer(now - LEEWAY - 5)));
    hs("hs_exp_absent", with("exp", NULL));
    hs("hs_exp_string", with("exp", json_string("2100-01-01")));
    hs("hs_exp_real", with("exp", json_real((double)(now + 600) + 0.5)));
    hs("hs_nbf_future", with("nbf", json_integer(now + 3600)));
    hs("hs_nbf_in_leeway", with("nbf", json_integer(now + LEEWAY - 5)));
    hs("hs_nbf_past_leeway", with("nbf", json_integer(now + LEEWAY + 5)));
    hs("hs_nbf_past", with("nbf", json_integer(now - 60)));
    hs("hs_sub_absent", with("sub", NULL));
    hs("hs_sub_empty", with("sub", json_string("")));
    hs("hs_sub_number", with("sub", json_integer(42)));
    hs("hs_sub_long", with("sub", long_string(ODM_JWT_CLAIM_MAX + 1, 's')));
    hs("hs_sub_control", with("sub", json_string("ali\nce")));
    hs("hs_scope_absent", with("scope", NULL));
    hs("hs_scope_spaces", with("scope", json_string("  read:a   write:b ")));
    hs("hs_scope_quote", with("scope", json_string("read:\"a")));
    hs("hs_scope_number", with("scope", json_integer(1)));
    hs("hs_scope_many", with("scope", many_scopes(ODM_JWT_SCOPES_MAX + 1)));
    hs("hs_scope_max", with("scope", many_scopes(ODM_JWT_SCOPES_MAX)));
    json_t *scp = with("scope", NULL);
    json_object_set_new(scp, "scp", json_pack("[s, s]", "read:*", "admin"));
    hs("hs_scp", scp);
    hs("hs_scp_bad", with("scp", json_pack("[s, i]", "read:*", 1))); /* scope wins: ignored */
    hs("hs_padded", with("pad", long_string(2500, 'p')));
    hs("hs_too_long", with("pad", long_string(ODM_JWT_TOKEN_MAX, 'p')));
    spec("hs_wrong_secret", "HS256", good_claims(), "HS256", OTHER_SECRET);
    spec("hs_none", "none", good_claims(), "none", NULL);
    spec("hs_none_signed", "none", good_claims(), "HS256", SECRET);
    spec("hs_None", "None", good_claims(), "HS256", SECRET);
    spec("hs_hs512", "HS512", good_claims(), "HS256", SECRET);
    spec("hs_as_rs", "RS256", good_claims(), "RS256", "rsa");
    json_t *crit = spec("hs_crit", "HS256", good_claims(), "HS256", SECRET);
    json_object_set_new(json_object_get(crit, "header"), "crit", json_pack("[s]", "exp"));
    json_t *noalg = spec("hs_no_alg", "HS256", good_claims(), "HS256", SECRET);
    json_object_del(json_object_get(noalg, "header"), "alg");
    json_t *dup = spec("hs_dup_sub", "HS256", json_object(), "HS256", SECRET);
    char raw[512];
    snprintf(raw, sizeof raw,
             "{\"sub\":\"alice\",\"sub\":\"root\",\"iss\":\"%s\",\"aud\":\"%s\",\"exp\":%lld}",
             ISSUER, AUDIENCE, (long long)now + 600);
    json_object_set_new(dup, "payload", json_string(raw));
    json_t *arr = spec("hs_claims_array", "HS256", json_object(), "HS256", SECRET);
    json_object_set_new(arr, "payload", json_string("[1,2]"));
    json_t *text = spec("hs_claims_text", "HS256", json_object(), "HS256", SECRET);
    json_object_set_new(text, "payload", json_string("not json"));
}

/* Claims for the key-pair verifiers: no iss or aud configured there. */
static json_t *plain_claims(void)
{
    return json_pack("{s:s, s:I, s:s}", "sub", "bob", "exp", (json_int_t)(now + 600), "scope",
                     "read:*");
}

static void pair_specs(void)
{
    spec("rs_ok", "RS256", plain_claims(), "RS256", "rsa");
    spec("rs_other_key", "RS256", plain_claims(), "RS256", "rsa2");
    json_t *aud = plain_claims();
    json_object_set_new(aud, "aud", json_string("anyone"));
    spec("rs_with_aud", "RS256", aud, "RS256", "rsa");
    spec("rs_expired", "RS256", json_pack("{s:s, s:I}", "sub", "bob", "exp", (json_int_t)now - 600),
         "RS256", "rsa");
    json_t *conf = spec("rs_hs_confusion", "HS256", plain_claims(), "HS256", "x");
    json_object_del(conf, "secret");
    json_object_set_new(conf, "secret_file", json_string(path("rsa.pub")));
    spec("rs_as_es", "ES256", plain_claims(), "ES256", "ec");
    spec("rs_none", "none", plain_claims(), "none", NULL);
    spec("es_ok", "ES256", plain_claims(), "ES256", "ec");
    spec("es_other_key", "ES256", plain_claims(), "ES256", "ec2");
    spec("es_der", "ES256", plain_claims(), "ES256-DER", "ec");
    spec("es_as_rs", "RS256", plain_claims(), "RS256", "rsa");
    json_t *conf2 = spec("es_hs_confusion", "HS256", plain_claims(), "HS256", "x");
    json_object_del(conf2, "secret");
    json_object_set_new(conf2, "secret_file", json_string(path("ec.pub")));
}

/* ---- verifiers and cases ---- */

static odm_jwt_verifier_t *hs_verifier, *rs_verifier, *es_verifier;

static odm_jwt_verifier_t *make(const char *secret, const char *file, const char *iss,
                                const char *aud)
{
    odm_jwt_options_t o = {secret, file, iss, aud, LEEWAY};
    odm_error_t err;
    odm_jwt_verifier_t *v = odm_jwt_verifier_new(&o, &err);
    CHECK_MSG(v != NULL, "verifier: %s", err.message);
    return v;
}

static const char *token(const char *name)
{
    const char *t = json_string_value(json_object_get(tokens, name));
    CHECK_MSG(t != NULL, "no token '%s'", name);
    return t != NULL ? t : "";
}

/* `text` verified by v at `now`: accepted when `why` is NULL, else refused with a message
 * containing `why`. */
static void expect_text(const char *label, odm_jwt_verifier_t *v, const char *text, const char *why,
                        odm_jwt_claims_t *out)
{
    odm_error_t err;
    odm_error_clear(&err);
    bool ok = odm_jwt_verify(v, text, strlen(text), now, out, &err);
    if (why == NULL) {
        CHECK_MSG(ok, "%s: refused: %s", label, err.message);
        return;
    }
    CHECK_MSG(!ok, "%s: accepted, want refused for '%s'", label, why);
    CHECK_MSG(ok || (err.kind == ODM_ERR_UNAUTHORIZED && strstr(err.message, why) != NULL),
              "%s: refused with '%s', want '%s'", label, err.message, why);
    CHECK_MSG(ok || (strchr(err.message, '"') == NULL && strchr(err.message, '\\') == NULL),
              "%s: message '%s' cannot go in a quoted header value", label, err.message);
    CHECK_MSG(ok || out->subject[0] == '\0', "%s: claims left filled", label);
}

static void expect(odm_jwt_verifier_t *v, const char *name, const char *why)
{
    odm_jwt_claims_t out;
    expect_text(name, v, token(name), why, &out);
}

static const struct {
    const char *name;
    const char *why; /* NULL: accepted */
} hs_cases[] = {
    {"hs_ok", NULL},
    {"hs_aud_array", NULL},
    {"hs_aud_array_without", "audience"},
    {"hs_aud_wrong", "audience"},
    {"hs_aud_absent", "audience"},
    {"hs_aud_number", "audience"},
    {"hs_iss_wrong", "issuer"},
    {"hs_iss_absent", "issuer"},
    {"hs_expired", "expired"},
    {"hs_expired_in_leeway", NULL},
    {"hs_expired_past_leeway", "expired"},
    {"hs_exp_absent", "no exp"},
    {"hs_exp_string", "not a date"},
    {"hs_exp_real", NULL},
    {"hs_nbf_future", "not valid yet"},
    {"hs_nbf_in_leeway", NULL},
    {"hs_nbf_past_leeway", "not valid yet"},
    {"hs_nbf_past", NULL},
    {"hs_sub_absent", "sub"},
    {"hs_sub_empty", "sub"},
    {"hs_sub_number", "sub"},
    {"hs_sub_long", "sub"},
    {"hs_sub_control", "sub"},
    {"hs_scope_absent", NULL},
    {"hs_scope_spaces", NULL},
    {"hs_scope_quote", "scope"},
    {"hs_scope_number", "scope"},
    {"hs_scope_many", "scope"},
    {"hs_scope_max", NULL},
    {"hs_scp", NULL},
    {"hs_scp_bad", NULL},
    {"hs_padded", NULL},
    {"hs_too_long", "too long"},
    {"hs_wrong_secret", "signature"},
    {"hs_none", "alg none"},
    {"hs_none_signed", "alg none"},
    {"hs_None", "not HS256"},
    {"hs_hs512", "not HS256"},
    {"hs_as_rs", "not HS256"},
    {"hs_crit", "crit"},
    {"hs_no_alg", "no alg"},
    {"hs_dup_sub", "malformed token claims"},
    {"hs_claims_array", "malformed token claims"},
    {"hs_claims_text", "malformed token claims"},
};

static const struct {
    const char *name;
    int verifier; /* 0: RS256, 1: ES256 */
    const char *why;
} pair_cases[] = {
    {"rs_ok", 0, NULL},
    {"rs_other_key", 0, "signature"},
    {"rs_with_aud", 0, "audience"},
    {"rs_expired", 0, "expired"},
    {"rs_hs_confusion", 0, "not RS256"},
    {"rs_as_es", 0, "not RS256"},
    {"rs_none", 0, "alg none"},
    {"es_ok", 1, NULL},
    {"es_other_key", 1, "signature"},
    {"es_der", 1, "signature"},
    {"es_as_rs", 1, "not ES256"},
    {"es_hs_confusion", 1, "not ES256"},
    {"rs_none", 1, "alg none"},
};

static void test_hs_cases(void)
{
    for (size_t i = 0; i < sizeof hs_cases / sizeof hs_cases[0]; i++)
        expect(hs_verifier, hs_cases[i].name, hs_cases[i].why);
}

static void test_pair_cases(void)
{
    for (size_t i = 0; i < sizeof pair_cases / sizeof pair_cases[0]; i++)
        expect(pair_cases[i].verifier ? es_verifier : rs_verifier, pair_cases[i].name,
               pair_cases[i].why);
}

/* What an accepted token yields. */
static void test_claims(void)
{
    odm_jwt_claims_t out;
    expect_text("hs_ok", hs_verifier, token("hs_ok"), NULL, &out);
    CHECK_STR(out.subject, "alice");
    CHECK_STR(out.scope, "read:books write:books");
    CHECK_INT(out.n_scopes, 2);
    CHECK_INT(out.expires, now + 600);
    expect_text("hs_scp", hs_verifier, token("hs_scp"), NULL, &out);
    CHECK_STR(out.scope, "read:* admin");
    CHECK_INT(out.n_scopes, 2);
    expect_text("hs_scope_spaces", hs_verifier, token("hs_scope_spaces"), NULL, &out);
    CHECK_STR(out.scope, "read:a write:b");
    CHECK_INT(out.n_scopes, 2);
    expect_text("hs_scope_absent", hs_verifier, token("hs_scope_absent"), NULL, &out);
    CHECK_STR(out.scope, "");
    CHECK_INT(out.n_scopes, 0);
    expect_text("hs_scope_max", hs_verifier, token("hs_scope_max"), NULL, &out);
    CHECK_INT(out.n_scopes, ODM_JWT_SCOPES_MAX);
    expect_text("es_ok", es_verifier, token("es_ok"), NULL, &out);
    CHECK_STR(out.subject, "bob");
    CHECK_STR(out.scope, "read:*");
    expect_text("rs_ok", rs_verifier, token("rs_ok"), NULL, &out);
    CHECK_STR(out.subject, "bob");
}

/* The seam odm_auth calls: the principal is named after sub, with the token's scopes. */
static void test_identify(void)
{
    odm_principal_t p;
    odm_error_t err;
    const char *t = token("hs_ok");
    CHECK(odm_jwt_identify(hs_verifier, t, strlen(t), &p, &err));
    CHECK_STR(p.name, "alice");
    CHECK_STR(p.scopes, "read:books write:books");
    CHECK(odm_principal_allows(&p, ODM_ACCESS_WRITE, "books"));
    CHECK(!odm_principal_allows(&p, ODM_ACCESS_READ, "users"));
    t = token("es_ok");
    CHECK(odm_jwt_identify(es_verifier, t, strlen(t), &p, &err));
    CHECK_STR(p.name, "bob");
    CHECK(odm_principal_allows(&p, ODM_ACCESS_READ, "users"));
    CHECK(!odm_principal_allows(&p, ODM_ACCESS_WRITE, "users"));
    t = token("hs_expired");
    CHECK(!odm_jwt_identify(hs_verifier, t, strlen(t), &p, &err));
    CHECK_INT(err.kind, ODM_ERR_UNAUTHORIZED);
    CHECK_STR(err.message, "token has expired");
    t = token("hs_as_rs");
    CHECK(!odm_jwt_identify(hs_verifier, t, strlen(t), &p, &err));
    CHECK_STR(err.message, "token algorithm is not HS256, the one configured");
}

/* A copy of token `name` with segment `seg` (0..2) replaced by that of token `from`. */
static char *splice(const char *name, int seg, const char *from)
{
    const char *a = token(name), *b = token(from);
    const char *a_dot[2] = {strchr(a, '.'), strrchr(a, '.')};
    const char *b_dot[2] = {strchr(b, '.'), strrchr(b, '.')};
    const char *a_start[3] = {a, a_dot[0] + 1, a_dot[1] + 1};
    const char *a_end[3] = {a_dot[0], a_dot[1], a + strlen(a)};
    const char *b_start[3] = {b, b_dot[0] + 1, b_dot[1] + 1};
    const char *b_end[3] = {b_dot[0], b_dot[1], b + strlen(b)};
    char *out = calloc(1, strlen(a) + strlen(b) + 1);
    size_t n = 0;
    for (int i = 0; i < 3; i++) {
        const char *s = i == seg ? b_start[i] : a_start[i];
        size_t len = (size_t)((i == seg ? b_end[i] : a_end[i]) - s);
        memcpy(out + n, s, len);
        n += len;
        if (i < 2)
            out[n++] = '.';
    }
    return out;
}

/* Texts made from good tokens by hand: tampering, broken base64url, wrong shapes. */
static void test_tampered(void)
{
    odm_jwt_claims_t out;
    char *t = splice("hs_ok", 1, "hs_other_sub"); /* alice's signature, mallory's claims */
    expect_text("payload swapped", hs_verifier, t, "signature", &out);
    free(t);
    t = splice("es_ok", 1, "hs_ok");
    expect_text("es payload swapped", es_verifier, t, "signature", &out);
    free(t);
    t = splice("rs_ok", 2, "es_ok"); /* an ES signature on an RS header */
    expect_text("rs with es signature", rs_verifier, t, "signature", &out);
    free(t);
    t = strdup(token("hs_ok"));
    t[3] = '*';
    expect_text("not base64url", hs_verifier, t, "malformed", &out);
    free(t);
    size_t n = strlen(token("hs_ok"));
    t = malloc(n + 2);
    memcpy(t, token("hs_ok"), n);
    memcpy(t + n, "=", 2); /* padding */
    expect_text("padded", hs_verifier, t, "malformed", &out);
    /* the last of 43 characters carries 2 bits and 4 zero bits: set one of those */
    t[n] = '\0';
    t[n - 1] = t[n - 1] == 'A' ? 'B' : (char)(t[n - 1] ^ 1);
    expect_text("stray signature bits", hs_verifier, t, "malformed token signature", &out);
    t[n - 2] = '\0'; /* 41 characters: 1 mod 4 */
    expect_text("signature cut", hs_verifier, t, "malformed token signature", &out);
    free(t);
    static const char *const shapes[] = {"",     "a",    "a.b",     "a.b.c.d",
                                         ".b.c", "a..c", "a b.c.d", "eyJhbGciOiJIUzI1NiJ9.e30.%%%"};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        expect_text(shapes[i], hs_verifier, shapes[i], "malformed", &out);
}

static void test_is_token(void)
{
    CHECK(odm_jwt_is_token("a.b.c", 5));
    CHECK(odm_jwt_is_token("a.b.", 4));
    CHECK(odm_jwt_is_token(token("hs_ok"), strlen(token("hs_ok"))));
    CHECK(!odm_jwt_is_token("", 0));
    CHECK(!odm_jwt_is_token("abc", 3));
    CHECK(!odm_jwt_is_token("a.b", 3));
    CHECK(!odm_jwt_is_token("a.b.c.d", 7));
    CHECK(!odm_jwt_is_token(".b.c", 4));
    CHECK(!odm_jwt_is_token("a..c", 4));
    CHECK(!odm_jwt_is_token("a+b.c.d", 7));
    CHECK(!odm_jwt_is_token("a.b.c=", 6));
}

/* ---- startup checks ---- */

static void expect_refused(const char *label, odm_jwt_options_t o, odm_error_kind_t kind,
                           const char *why)
{
    odm_error_t err;
    odm_error_clear(&err);
    odm_jwt_verifier_t *v = odm_jwt_verifier_new(&o, &err);
    CHECK_MSG(v == NULL, "%s: accepted", label);
    CHECK_MSG(v != NULL || (err.kind == kind && strstr(err.message, why) != NULL),
              "%s: '%s', want '%s'", label, err.message, why);
    CHECK_MSG(strstr(err.message, "0123456789") == NULL, "%s: the secret is quoted", label);
    odm_jwt_verifier_free(v);
}

static void test_verifier_new(void)
{
    odm_jwt_options_t none = {NULL, NULL, NULL, NULL, 0};
    expect_refused("no key", none, ODM_ERR_CONFIG, "exactly one");
    expect_refused("both", (odm_jwt_options_t){SECRET, path("rsa.pub"), NULL, NULL, 0},
                   ODM_ERR_CONFIG, "exactly one");
    expect_refused("short secret",
                   (odm_jwt_options_t){"0123456789abcdef0123456789abcde", NULL, NULL, NULL, 0},
                   ODM_ERR_CONFIG, "32");
    expect_refused("leeway", (odm_jwt_options_t){SECRET, NULL, NULL, NULL, ODM_JWT_LEEWAY_MAX + 1},
                   ODM_ERR_CONFIG, "leeway");
    expect_refused("negative leeway", (odm_jwt_options_t){SECRET, NULL, NULL, NULL, -1},
                   ODM_ERR_CONFIG, "leeway");
    expect_refused("no file", (odm_jwt_options_t){NULL, path("absent.pub"), NULL, NULL, 0},
                   ODM_ERR_IO, "cannot read");
    expect_refused("private key", (odm_jwt_options_t){NULL, path("rsa.pem"), NULL, NULL, 0},
                   ODM_ERR_CONFIG, "no PEM public key");
    expect_refused("specs file", (odm_jwt_options_t){NULL, path("specs.json"), NULL, NULL, 0},
                   ODM_ERR_CONFIG, "no PEM public key");
    expect_refused("rsa 1024", (odm_jwt_options_t){NULL, path("rsa1024.pub"), NULL, NULL, 0},
                   ODM_ERR_CONFIG, "2048");
    expect_refused("p-384", (odm_jwt_options_t){NULL, path("p384.pub"), NULL, NULL, 0},
                   ODM_ERR_CONFIG, "P-256");
    expect_refused("ed25519", (odm_jwt_options_t){NULL, path("ed25519.pub"), NULL, NULL, 0},
                   ODM_ERR_CONFIG, "P-256");
    CHECK_STR(odm_jwt_verifier_alg(hs_verifier), "HS256");
    CHECK_STR(odm_jwt_verifier_alg(rs_verifier), "RS256");
    CHECK_STR(odm_jwt_verifier_alg(es_verifier), "ES256");
    odm_jwt_verifier_free(NULL);
}

/* ---- several threads, one verifier ---- */

static void *verify_many(void *arg)
{
    long bad = 0;
    const char *names[] = {"rs_ok", "es_ok", "es_other_key"};
    for (int i = 0; i < ROUNDS; i++) {
        const char *name = names[i % 3];
        const char *t = json_string_value(json_object_get(tokens, name));
        odm_jwt_verifier_t *v = name[0] == 'r' ? rs_verifier : es_verifier;
        odm_jwt_claims_t out;
        odm_error_t err;
        bool ok = t != NULL && odm_jwt_verify(v, t, strlen(t), now, &out, &err);
        bad += ok != (i % 3 != 2);
    }
    *(long *)arg = bad;
    return NULL;
}

static void test_threads(void)
{
    pthread_t th[THREADS];
    long bad[THREADS] = {0};
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_create(&th[i], NULL, verify_many, &bad[i]) == 0);
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(bad[i], 0);
    }
}

static bool make_keys(void)
{
    static const char *const keys[][2] = {
        {"rsa", "-algorithm RSA -pkeyopt rsa_keygen_bits:2048"},
        {"rsa2", "-algorithm RSA -pkeyopt rsa_keygen_bits:2048"},
        {"rsa1024", "-algorithm RSA -pkeyopt rsa_keygen_bits:1024"},
        {"ec", "-algorithm EC -pkeyopt ec_paramgen_curve:P-256"},
        {"ec2", "-algorithm EC -pkeyopt ec_paramgen_curve:P-256"},
        {"p384", "-algorithm EC -pkeyopt ec_paramgen_curve:P-384"},
        {"ed25519", "-algorithm ED25519"},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!odm_test_jwtmint_key(&mint, keys[i][0], keys[i][1]))
            return false;
    return true;
}

int main(void)
{
    if (!odm_test_jwtmint_init(&mint, ODMD_SOURCE_DIR)) {
        if (!odm_test_jwtmint_in_ci())
            return 77;
        CHECK_MSG(false, "CI=true: the JWT tests must run");
        return check_done("test_jwt");
    }
    now = (int64_t)time(NULL);
    specs = json_array();
    bool ready = make_keys();
    CHECK(ready);
    if (ready) {
        hs_specs();
        pair_specs();
        tokens = odm_test_jwtmint_run(&mint, specs);
        CHECK(tokens != NULL);
    }
    if (tokens != NULL) {
        hs_verifier = make(SECRET, NULL, ISSUER, AUDIENCE);
        rs_verifier = make(NULL, path("rsa.pub"), NULL, NULL);
        es_verifier = make(NULL, path("ec.pub"), NULL, NULL);
    }
    if (hs_verifier != NULL && rs_verifier != NULL && es_verifier != NULL) {
        test_hs_cases();
        test_pair_cases();
        test_claims();
        test_tampered();
        test_is_token();
        test_identify();
        test_verifier_new();
        test_threads();
    }
    odm_jwt_verifier_free(hs_verifier);
    odm_jwt_verifier_free(rs_verifier);
    odm_jwt_verifier_free(es_verifier);
    json_decref(tokens);
    json_decref(specs);
    odm_test_jwtmint_cleanup(&mint);
    return check_done("test_jwt");
}
