/* JWT verification: base64url, the header's algorithm against the one key, HMAC or EVP
 * signature checks, then the claims (exp, nbf, iss, aud, sub, scope). */
#include "odmd/jwt.h"
#include "odmd/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#define SIG_MAX 1024     /* bytes of a decoded signature (RSA up to 8192 bits) */
#define ES256_HALF 32    /* bytes of r and of s in an ES256 signature */
#define NUMERIC_MAX 1e15 /* NumericDate values beyond this (30 million years) are refused */

/* What a token yields fits a principal (odm_jwt_identify). */
_Static_assert(ODM_JWT_CLAIM_MAX < ODM_PRINCIPAL_NAME_MAX, "sub fits a principal's name");
_Static_assert(ODM_JWT_SCOPE_MAX < ODM_PRINCIPAL_SCOPES_MAX, "scopes fit a principal's");
_Static_assert(ODM_JWT_TOKEN_MAX >= ODM_AUTH_KEY_MAX, "every credential odm_auth passes is read");

typedef enum { ALG_HS256, ALG_RS256, ALG_ES256 } alg_t;

static const char *const alg_names[] = {
    [ALG_HS256] = "HS256", [ALG_RS256] = "RS256", [ALG_ES256] = "ES256"};

struct odm_jwt_verifier {
    alg_t alg;
    char *secret; /* HS256 */
    size_t secret_len;
    EVP_PKEY *key; /* RS256, ES256 */
    char *issuer;
    char *audience;
    int64_t leeway_s;
};

/* A token cut at its dots: header.payload.signature, each base64url text. */
typedef struct {
    const char *part[3];
    size_t len[3];
} segments_t;

static bool refuse(odm_error_t *err, const char *why)
{
    return odm_error_set(err, ODM_ERR_UNAUTHORIZED, "%s", why);
}

/* ---- base64url (RFC 4648 5, without padding, as RFC 7515 2 asks) ---- */

bool odm_jwt_is_token(const char *value, size_t len)
{
    size_t dots = 0, run = 0;
    for (size_t i = 0; i < len; i++) {
        if (value[i] == '.') {
            if (run == 0 || dots == 2)
                return false;
            dots++;
            run = 0;
        } else if (odm_text_b64url_digit((unsigned char)value[i]) < 0) {
            return false;
        } else {
            run++;
        }
    }
    return dots == 2; /* the signature may be empty: alg none is refused by name */
}

static bool split(const char *token, size_t len, segments_t *s)
{
    if (!odm_jwt_is_token(token, len))
        return false;
    const char *p = token, *end = token + len;
    for (int i = 0; i < 3; i++) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        const char *stop = dot != NULL ? dot : end;
        s->part[i] = p;
        s->len[i] = (size_t)(stop - p);
        p = stop + 1;
    }
    return true;
}

/* A segment decoded and parsed as a JSON object (duplicate names refused: RFC 7515 5.2).
 * Returns: a new object, or NULL. */
static json_t *decode_object(const char *text, size_t len)
{
    unsigned char buf[ODM_JWT_TOKEN_MAX];
    size_t n;
    if (!odm_text_b64url_decode(text, len, buf, sizeof buf, &n))
        return NULL;
    json_error_t jerr;
    json_t *v = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, &jerr);
    if (v != NULL && !json_is_object(v)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

/* ---- the header: the algorithm must be the verifier's ---- */

static bool check_header(const odm_jwt_verifier_t *v, const segments_t *s, odm_error_t *err)
{
    json_t *h = decode_object(s->part[0], s->len[0]);
    if (h == NULL)
        return refuse(err, "malformed token header");
    const char *alg = json_string_value(json_object_get(h, "alg"));
    bool ok = false;
    if (alg == NULL)
        refuse(err, "token header has no alg");
    else if (strcmp(alg, "none") == 0)
        refuse(err, "unsigned tokens (alg none) are not accepted");
    else if (strcmp(alg, alg_names[v->alg]) != 0)
        odm_error_set(err, ODM_ERR_UNAUTHORIZED, "token algorithm is not %s, the one configured",
                      alg_names[v->alg]);
    else if (json_object_get(h, "crit") != NULL)
        refuse(err, "token header has crit: no extension is understood");
    else
        ok = true;
    json_decref(h);
    return ok;
}

/* ---- signatures ---- */

static bool verify_hmac(const odm_jwt_verifier_t *v, const unsigned char *data, size_t len,
                        const unsigned char *sig, size_t sig_len)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (HMAC(EVP_sha256(), v->secret, (int)v->secret_len, data, len, mac, &mac_len) == NULL)
        return false;
    return sig_len == mac_len && CRYPTO_memcmp(mac, sig, mac_len) == 0;
}

/* ES256's r || s (RFC 7518 3.4) as the DER ECDSA-Sig-Value that EVP verifies.
 * Returns: the DER length in *der (new: OPENSSL_free), or 0. */
static int es256_to_der(const unsigned char *sig, size_t sig_len, unsigned char **der)
{
    if (sig_len != 2 * ES256_HALF)
        return 0;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, ES256_HALF, NULL);
    BIGNUM *s = BN_bin2bn(sig + ES256_HALF, ES256_HALF, NULL);
    int n = 0;
    if (es != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(es, r, s) == 1) {
        r = s = NULL; /* owned by es now */
        *der = NULL;
        n = i2d_ECDSA_SIG(es, der);
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return n > 0 ? n : 0;
}

static bool verify_evp(const odm_jwt_verifier_t *v, const unsigned char *data, size_t len,
                       const unsigned char *sig, size_t sig_len)
{
    unsigned char *der = NULL;
    if (v->alg == ALG_ES256) {
        int n = es256_to_der(sig, sig_len, &der);
        if (n == 0)
            return false;
        sig = der;
        sig_len = (size_t)n;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, v->key) == 1 &&
              EVP_DigestVerify(ctx, sig, sig_len, data, len) == 1;
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    return ok;
}

static bool check_signature(const odm_jwt_verifier_t *v, const segments_t *s, odm_error_t *err)
{
    unsigned char sig[SIG_MAX];
    size_t sig_len;
    if (!odm_text_b64url_decode(s->part[2], s->len[2], sig, sizeof sig, &sig_len))
        return refuse(err, "malformed token signature");
    const unsigned char *signed_part = (const unsigned char *)s->part[0];
    size_t signed_len = s->len[0] + 1 + s->len[1]; /* header.payload, as sent */
    bool ok = v->alg == ALG_HS256 ? verify_hmac(v, signed_part, signed_len, sig, sig_len)
                                  : verify_evp(v, signed_part, signed_len, sig, sig_len);
    return ok || refuse(err, "token signature does not verify");
}

/* ---- claims ---- */

/* A NumericDate claim (RFC 7519 2): absent (*present false), or a number in range. */
static bool numeric_date(const json_t *claims, const char *name, bool *present, int64_t *out)
{
    const json_t *c = json_object_get(claims, name);
    *present = c != NULL;
    if (c == NULL)
        return true;
    if (!json_is_number(c))
        return false;
    double d = json_number_value(c);
    if (!(d > -NUMERIC_MAX && d < NUMERIC_MAX))
        return false;
    *out = (int64_t)d;
    return true;
}

static bool check_times(const odm_jwt_verifier_t *v, const json_t *claims, int64_t now,
                        odm_jwt_claims_t *out, odm_error_t *err)
{
    bool has_exp, has_nbf;
    int64_t exp = 0, nbf = 0;
    if (!numeric_date(claims, "exp", &has_exp, &exp) ||
        !numeric_date(claims, "nbf", &has_nbf, &nbf))
        return refuse(err, "token exp or nbf is not a date in seconds");
    if (!has_exp)
        return refuse(err, "token has no exp");
    if (now - v->leeway_s >= exp)
        return refuse(err, "token has expired");
    if (has_nbf && now + v->leeway_s < nbf)
        return refuse(err, "token is not valid yet");
    out->expires = exp;
    return true;
}

/* A string claim within ODM_JWT_CLAIM_MAX bytes, without control characters. */
static const char *short_text(const json_t *c)
{
    const char *s = json_string_value(c);
    if (s == NULL || json_string_length(c) > ODM_JWT_CLAIM_MAX ||
        strlen(s) != json_string_length(c))
        return NULL;
    for (const char *p = s; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return NULL;
    return s;
}

static bool names_audience(const json_t *aud, const char *want)
{
    if (json_is_string(aud)) {
        const char *s = short_text(aud);
        return s != NULL && strcmp(s, want) == 0;
    }
    if (!json_is_array(aud) || json_array_size(aud) > ODM_JWT_AUD_MAX)
        return false;
    size_t i;
    const json_t *one;
    json_array_foreach(aud, i, one)
    {
        const char *s = short_text(one);
        if (s != NULL && strcmp(s, want) == 0)
            return true;
    }
    return false;
}

static bool check_parties(const odm_jwt_verifier_t *v, const json_t *claims, odm_jwt_claims_t *out,
                          odm_error_t *err)
{
    const json_t *aud = json_object_get(claims, "aud");
    if (v->issuer != NULL) {
        const char *iss = short_text(json_object_get(claims, "iss"));
        if (iss == NULL || strcmp(iss, v->issuer) != 0)
            return refuse(err, "token issuer is not the one configured");
    }
    if (v->audience == NULL && aud != NULL)
        return refuse(err, "token names an audience and none is configured");
    if (v->audience != NULL && !names_audience(aud, v->audience))
        return refuse(err, "token audience does not name this service");
    const char *sub = short_text(json_object_get(claims, "sub"));
    if (sub == NULL || sub[0] == '\0')
        return refuse(err, "token has no sub, or a malformed one");
    memcpy(out->subject, sub, strlen(sub) + 1);
    return true;
}

/* RFC 6749 3.3's scope-token, without '"' and '\' (it may be quoted in a header): printable
 * ASCII, no space. */
static bool scope_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* Appends one scope (len bytes) to out->scope. */
static bool add_scope(const char *s, size_t len, odm_jwt_claims_t *out)
{
    size_t used = strlen(out->scope);
    size_t need = (used ? 1 : 0) + len;
    if (len == 0 || len > ODM_JWT_SCOPE_TOKEN_MAX || out->n_scopes >= ODM_JWT_SCOPES_MAX ||
        used + need > ODM_JWT_SCOPE_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!scope_char((unsigned char)s[i]))
            return false;
    if (used)
        out->scope[used++] = ' ';
    memcpy(out->scope + used, s, len);
    out->scope[used + len] = '\0';
    out->n_scopes++;
    return true;
}

/* `scope`: scopes separated by spaces (RFC 8693 4.2, RFC 9068 2.2.3). */
static bool scopes_from_string(const json_t *c, odm_jwt_claims_t *out)
{
    const char *s = json_string_value(c);
    if (s == NULL || strlen(s) != json_string_length(c) ||
        json_string_length(c) > ODM_JWT_SCOPE_MAX)
        return false;
    for (s += strspn(s, " "); *s != '\0'; s += strspn(s, " ")) {
        size_t n = strcspn(s, " ");
        if (!add_scope(s, n, out))
            return false;
        s += n;
    }
    return true;
}

/* `scp`: an array of scope strings (the form some identity providers issue). */
static bool scopes_from_array(const json_t *c, odm_jwt_claims_t *out)
{
    if (!json_is_array(c) || json_array_size(c) > ODM_JWT_SCOPES_MAX)
        return false;
    size_t i;
    const json_t *one;
    json_array_foreach(c, i, one)
    {
        const char *s = json_string_value(one);
        if (s == NULL || strlen(s) != json_string_length(one) || !add_scope(s, strlen(s), out))
            return false;
    }
    return true;
}

static bool read_scopes(const json_t *claims, odm_jwt_claims_t *out, odm_error_t *err)
{
    const json_t *scope = json_object_get(claims, "scope");
    const json_t *scp = json_object_get(claims, "scp");
    bool ok = scope != NULL ? scopes_from_string(scope, out)
              : scp != NULL ? scopes_from_array(scp, out)
                            : true;
    return ok || refuse(err, "token scope is malformed or too long");
}

static bool check_claims(const odm_jwt_verifier_t *v, const segments_t *s, int64_t now,
                         odm_jwt_claims_t *out, odm_error_t *err)
{
    json_t *claims = decode_object(s->part[1], s->len[1]);
    if (claims == NULL)
        return refuse(err, "malformed token claims");
    bool ok = check_times(v, claims, now, out, err) && check_parties(v, claims, out, err) &&
              read_scopes(claims, out, err);
    json_decref(claims);
    return ok;
}

bool odm_jwt_verify(const odm_jwt_verifier_t *v, const char *token, size_t len, int64_t now,
                    odm_jwt_claims_t *out, odm_error_t *err)
{
    segments_t s;
    memset(out, 0, sizeof *out);
    bool ok = false;
    if (len > ODM_JWT_TOKEN_MAX)
        refuse(err, "token is too long");
    else if (!split(token, len, &s))
        refuse(err, "malformed token: not three base64url parts");
    else
        ok = check_header(v, &s, err) && check_signature(v, &s, err) &&
             check_claims(v, &s, now, out, err);
    if (!ok)
        memset(out, 0, sizeof *out);
    return ok;
}

bool odm_jwt_identify(void *verifier, const char *token, size_t len, odm_principal_t *out,
                      odm_error_t *err)
{
    odm_jwt_claims_t claims;
    if (!odm_jwt_verify(verifier, token, len, (int64_t)time(NULL), &claims, err))
        return false;
    return odm_principal_set(out, claims.subject, strlen(claims.subject), claims.scope,
                             strlen(claims.scope), err);
}

/* ---- the verifier ---- */

/* The public key in `path`, checked for an accepted type and size; sets v->alg. */
static bool load_key(odm_jwt_verifier_t *v, const char *path, odm_error_t *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return odm_error_set(err, ODM_ERR_IO, "cannot read the JWT public key '%s'", path);
    v->key = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    if (v->key == NULL)
        return odm_error_set(err, ODM_ERR_CONFIG, "'%s' holds no PEM public key", path);
    char group[64] = "";
    size_t glen = 0;
    if (EVP_PKEY_get_base_id(v->key) == EVP_PKEY_RSA) {
        v->alg = ALG_RS256;
        if (EVP_PKEY_get_bits(v->key) < ODM_JWT_RSA_BITS_MIN)
            return odm_error_set(err, ODM_ERR_CONFIG, "'%s': RSA key shorter than %d bits", path,
                                 ODM_JWT_RSA_BITS_MIN);
        return true;
    }
    if (EVP_PKEY_get_base_id(v->key) == EVP_PKEY_EC &&
        EVP_PKEY_get_group_name(v->key, group, sizeof group, &glen) == 1 &&
        strcmp(group, "prime256v1") == 0) {
        v->alg = ALG_ES256;
        return true;
    }
    return odm_error_set(err, ODM_ERR_CONFIG,
                         "'%s': not an RSA key (RS256) or an EC P-256 key (ES256)", path);
}

static bool copy_text(char **slot, const char *value, odm_error_t *err)
{
    if (value == NULL)
        return true;
    *slot = strdup(value);
    return *slot != NULL || odm_error_set(err, ODM_ERR_CONFIG, "out of memory");
}

static bool check_options(const odm_jwt_options_t *o, odm_error_t *err)
{
    bool secret = o->secret != NULL, file = o->public_key_file != NULL;
    if (secret == file)
        return odm_error_set(err, ODM_ERR_CONFIG,
                             "JWT needs exactly one of --jwt-secret and --jwt-public-key");
    if (secret &&
        (strlen(o->secret) < ODM_JWT_SECRET_MIN || strlen(o->secret) > ODM_JWT_SECRET_MAX))
        return odm_error_set(err, ODM_ERR_CONFIG, "JWT secret is not %d to %d bytes",
                             ODM_JWT_SECRET_MIN, ODM_JWT_SECRET_MAX);
    if ((o->issuer != NULL && strlen(o->issuer) > ODM_JWT_CLAIM_MAX) ||
        (o->audience != NULL && strlen(o->audience) > ODM_JWT_CLAIM_MAX))
        return odm_error_set(err, ODM_ERR_CONFIG, "JWT issuer or audience longer than %d bytes",
                             ODM_JWT_CLAIM_MAX);
    if (o->leeway_s < 0 || o->leeway_s > ODM_JWT_LEEWAY_MAX)
        return odm_error_set(err, ODM_ERR_CONFIG, "JWT leeway is not 0 to %d seconds",
                             ODM_JWT_LEEWAY_MAX);
    return true;
}

odm_jwt_verifier_t *odm_jwt_verifier_new(const odm_jwt_options_t *opts, odm_error_t *err)
{
    if (!check_options(opts, err))
        return NULL;
    odm_jwt_verifier_t *v = calloc(1, sizeof *v);
    if (v == NULL) {
        odm_error_set(err, ODM_ERR_CONFIG, "out of memory");
        return NULL;
    }
    v->leeway_s = opts->leeway_s;
    bool ok =
        copy_text(&v->issuer, opts->issuer, err) && copy_text(&v->audience, opts->audience, err);
    if (ok && opts->secret != NULL) {
        v->alg = ALG_HS256;
        v->secret_len = strlen(opts->secret);
        ok = copy_text(&v->secret, opts->secret, err);
    } else if (ok) {
        ok = load_key(v, opts->public_key_file, err);
    }
    if (!ok) {
        odm_jwt_verifier_free(v);
        return NULL;
    }
    return v;
}

void odm_jwt_verifier_free(odm_jwt_verifier_t *v)
{
    if (v == NULL)
        return;
    if (v->secret != NULL)
        OPENSSL_cleanse(v->secret, v->secret_len);
    free(v->secret);
    EVP_PKEY_free(v->key);
    free(v->issuer);
    free(v->audience);
    free(v);
}

const char *odm_jwt_verifier_alg(const odm_jwt_verifier_t *v)
{
    return alg_names[v->alg];
}
