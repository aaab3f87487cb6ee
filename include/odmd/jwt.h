/* JSON Web Tokens (RFC 7519) in JWS compact form (RFC 7515): one key (an HS256 secret, or an
 * RS256 or ES256 public key), the time, issuer and audience checks, and the identity and scopes
 * a verified token carries. Pure: no HTTP, no database; OpenSSL's libcrypto and jansson. */
#ifndef ODMD_JWT_H
#define ODMD_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "odmd/auth.h"
#include "odmd/error.h"

#define ODM_JWT_TOKEN_MAX                                                                          \
    4096 /* bytes of a whole token (ODM_AUTH_KEY_MAX); longer: refused unread */
#define ODM_JWT_SECRET_MIN 32       /* bytes of an HS256 secret (RFC 7518 3.2: >= the hash) */
#define ODM_JWT_SECRET_MAX 4096     /* bytes of an HS256 secret */
#define ODM_JWT_RSA_BITS_MIN 2048   /* RS256 keys below this are refused at startup */
#define ODM_JWT_LEEWAY_DEFAULT 30   /* seconds of clock skew allowed on exp and nbf */
#define ODM_JWT_LEEWAY_MAX 300      /* seconds: the cap of --jwt-leeway */
#define ODM_JWT_CLAIM_MAX 255       /* bytes of sub, iss, and each aud entry */
#define ODM_JWT_AUD_MAX 16          /* entries of an aud array */
#define ODM_JWT_SCOPE_TOKEN_MAX 128 /* bytes of one scope */
#define ODM_JWT_SCOPES_MAX 64       /* scopes in one token */
#define ODM_JWT_SCOPE_MAX 1023      /* bytes of the joined scopes (odm_jwt_claims_t.scope) */

typedef struct odm_jwt_verifier odm_jwt_verifier_t;

/* How tokens are checked. Exactly one of secret and public_key_file. */
typedef struct {
    const char *secret;          /* HS256: the shared secret (ODM_JWT_SECRET_MIN.._MAX bytes) */
    const char *public_key_file; /* RS256 (an RSA key) or ES256 (an EC P-256 key): a PEM file
                                    holding a SubjectPublicKeyInfo ("BEGIN PUBLIC KEY") */
    const char *issuer;          /* NULL: iss is not checked; else iss must equal it */
    const char *audience;        /* NULL: a token with an aud claim is refused (RFC 7519 4.1.3);
                                    else aud (a string or an array) must name it */
    int64_t leeway_s;            /* 0..ODM_JWT_LEEWAY_MAX: skew allowed on exp and nbf */
} odm_jwt_options_t;

/* What a verified token says. */
typedef struct {
    char subject[ODM_JWT_CLAIM_MAX + 1]; /* sub: never empty, no control characters */
    char scope[ODM_JWT_SCOPE_MAX + 1];   /* the scopes, each printable ASCII without space or
                                            quote or backslash, one space between ("" for none) */
    size_t n_scopes;
    int64_t expires; /* exp, seconds since the epoch */
} odm_jwt_claims_t;

/* Reads the key (the PEM file once, here) and keeps copies of the options' strings.
 * Returns: a new verifier (odm_jwt_verifier_free), or NULL with ODM_ERR_CONFIG when both or
 * neither key is given, the secret is too short or too long, the file cannot be read
 * (ODM_ERR_IO), holds no public key, a key of another type or curve, or an RSA key shorter than
 * ODM_JWT_RSA_BITS_MIN, or the leeway is out of range. Messages never quote the secret. */
odm_jwt_verifier_t *odm_jwt_verifier_new(const odm_jwt_options_t *opts, odm_error_t *err);

/* NULL does nothing. */
void odm_jwt_verifier_free(odm_jwt_verifier_t *v);

/* The one algorithm the verifier accepts: "HS256", "RS256" or "ES256" (static storage). */
const char *odm_jwt_verifier_alg(const odm_jwt_verifier_t *v);

/* True when `value` (len bytes) has the shape of a JWS compact token: three base64url segments
 * joined by two dots, only the last (the signature) possibly empty. Cheap; says nothing of
 * validity (an API key may be told apart by it). */
bool odm_jwt_is_token(const char *value, size_t len);

/* Verifies `token` (len bytes, need not be NUL-terminated) at `now` (seconds since the epoch):
 * the shape and size, a header naming the verifier's one algorithm and no `crit`, the
 * signature, then the claims: exp (required) and nbf (optional) within the leeway, iss and aud
 * as configured, sub (required), and the scopes from `scope` (a space-separated string) or,
 * when `scope` is absent, `scp` (an array of strings). Thread-safe: any number of threads may
 * verify with one verifier at once.
 * Returns: true with *out filled; false with ODM_ERR_UNAUTHORIZED and a message fit for an
 * RFC 6750 error_description (no quote or backslash, never a part of the token), *out then
 * zeroed. */
bool odm_jwt_verify(const odm_jwt_verifier_t *v, const char *token, size_t len, int64_t now,
                    odm_jwt_claims_t *out, odm_error_t *err);

/* The odm_auth_token_fn of odmd (`verifier` is an odm_jwt_verifier_t): odm_jwt_verify at the
 * current time, then *out named after sub with the token's scopes. Returns: as odm_jwt_verify
 * (ODM_ERR_UNAUTHORIZED and the reason). */
bool odm_jwt_identify(void *verifier, const char *token, size_t len, odm_principal_t *out,
                      odm_error_t *err);

#endif
