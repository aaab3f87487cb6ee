/* Callers: who sent a request (a principal: a name and scopes) and what it may do. Principals
 * come from API keys (a keys file, --api-key) or, where configured, from a verifier of bearer
 * tokens (JWT) plugged in through odm_auth_options_t. Knows nothing of HTTP or Mongo. */
#ifndef ODMD_AUTH_H
#define ODMD_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "odmd/error.h"

#define ODM_PRINCIPAL_NAME_MAX 256        /* bytes of a name, NUL included */
#define ODM_PRINCIPAL_SCOPES_MAX 1024     /* bytes of the space-separated scopes, NUL included */
#define ODM_AUTH_HASH_HEX 64              /* a SHA-256 in hex */
#define ODM_AUTH_KEYS_MAX 10000           /* keys in a keys file */
#define ODM_AUTH_KEYS_FILE_MAX (4u << 20) /* bytes of a keys file */
#define ODM_AUTH_KEY_MAX 4096             /* bytes of a key presented or hashed */
#define ODM_AUTH_API_KEY_NAME "api-key"   /* the principal of --api-key */
#define ODM_AUTH_ANONYMOUS "anonymous"    /* every caller when no authentication is configured */

/* Who a request comes from. Plain data: copy it freely. */
typedef struct {
    char name[ODM_PRINCIPAL_NAME_MAX]; /* a key's name, or a token's sub */
    /* "read:MODEL", "write:MODEL", "read:*", "write:*", "admin", separated by single spaces (the
     * form of a token's scope claim); other words are kept and grant nothing */
    char scopes[ODM_PRINCIPAL_SCOPES_MAX];
} odm_principal_t;

typedef enum { ODM_ACCESS_READ, ODM_ACCESS_WRITE } odm_access_t;

/* Fills *p with a name (name_len bytes, no NUL needed) and scopes (scopes_len bytes: words
 * separated by spaces; runs of spaces are folded, leading and trailing ones dropped).
 * Returns: false with ODM_ERR_UNAUTHORIZED when the name is empty, either is too long for the
 * principal, or either holds a control character. */
bool odm_principal_set(odm_principal_t *p, const char *name, size_t name_len, const char *scopes,
                       size_t scopes_len, odm_error_t *err);

/* Whether `p` has the scope "admin" (which implies every other). */
bool odm_principal_is_admin(const odm_principal_t *p);

/* Whether `p` may read (GET, HEAD) or write (the rest) the model named `model`: admin,
 * read:* / write:*, or read:MODEL / write:MODEL. Writing does not imply reading. */
bool odm_principal_allows(const odm_principal_t *p, odm_access_t access, const char *model);

/* Whether `scope` (len bytes) is one odmd grants: admin, read:* , write:*, read:NAME or
 * write:NAME with NAME a model name ([a-z][a-z0-9_-]*, at most 255 bytes). */
bool odm_auth_scope_valid(const char *scope, size_t len);

/* The SHA-256 of `key` (len bytes) as 64 lowercase hex digits and a NUL, into out. */
void odm_auth_key_hash(const char *key, size_t len, char out[ODM_AUTH_HASH_HEX + 1]);

/* API keys: an immutable set, each key a SHA-256 hash with a name and scopes. */
typedef struct odm_auth_keys odm_auth_keys_t;

/* Parses a keys file's text (len bytes; `path` names it in messages):
 *   {"keys": [{"name": NAME, "sha256": HEX, "scopes": [SCOPE, ...]}, ...]}
 * NAME a non-empty printable string of at most 255 bytes, unique; HEX 64 hex digits (any case),
 * unique; each SCOPE as odm_auth_scope_valid accepts; no other member anywhere. At most
 * ODM_AUTH_KEYS_MAX keys; an empty list is allowed (every request is then refused).
 * Returns: a new set, or NULL with ODM_ERR_CONFIG and "PATH: POINTER: reason" (no hash is ever
 * quoted). */
odm_auth_keys_t *odm_auth_keys_parse(const char *text, size_t len, const char *path,
                                     odm_error_t *err);

/* Reads the file at `path` (at most ODM_AUTH_KEYS_FILE_MAX bytes) and parses it. Returns: as
 * odm_auth_keys_parse; ODM_ERR_CONFIG "PATH: reason" when it cannot be read. */
odm_auth_keys_t *odm_auth_keys_load(const char *path, odm_error_t *err);

/* How many keys `keys` holds. */
size_t odm_auth_keys_count(const odm_auth_keys_t *keys);

/* Looks `key` (len bytes, as presented) up by its hash, comparing with every stored hash in
 * constant time (the time depends on the number of keys only). Returns: true with *out set to
 * the key's principal, false when no key matches. */
bool odm_auth_keys_find(const odm_auth_keys_t *keys, const char *key, size_t len,
                        odm_principal_t *out);

void odm_auth_keys_free(odm_auth_keys_t *keys);

/* The seam for bearer tokens: verifies `token` (len bytes, a JWT's three dot-separated parts)
 * and fills *out (name: its sub; scopes: its scope claim). Called on the polling thread for
 * every request bearing a token, from any number of threads at once: no blocking, no I/O.
 * Returns: false with ODM_ERR_UNAUTHORIZED and the reason (which must not quote the token). */
typedef bool (*odm_auth_token_fn)(void *verifier, const char *token, size_t len,
                                  odm_principal_t *out, odm_error_t *err);

typedef struct {
    const char *keys_path;          /* --keys: the keys file, NULL: none (borrowed, kept) */
    const char *api_key;            /* --api-key: one key with every scope, NULL: none */
    odm_auth_token_fn verify_token; /* NULL: bearer values are keys only */
    void *verifier;                 /* verify_token's first argument (borrowed) */
} odm_auth_options_t;

/* The credentials in force: the keys file's keys (reloadable), the --api-key, the token
 * verifier. */
typedef struct odm_auth odm_auth_t;

/* Loads the keys file when there is one. Returns: a new odm_auth_t, or NULL with
 * ODM_ERR_CONFIG (the keys file's error, or out of memory). With nothing configured, the
 * result authenticates no one and every caller is ODM_AUTH_ANONYMOUS with "admin". */
odm_auth_t *odm_auth_new(const odm_auth_options_t *opts, odm_error_t *err);

/* Whether any credential is configured (keys file, --api-key or token verifier). NULL: false. */
bool odm_auth_enabled(const odm_auth_t *auth);

/* Reads the keys file again and puts the new keys in force atomically (requests identified
 * from now on use them). Returns: true (and *count, may be NULL, the new number of keys), or
 * false with the file's error, the keys in force kept. True with *count 0 when there is no keys
 * file. One reloading thread at a time. */
bool odm_auth_reload(odm_auth_t *auth, size_t *count, odm_error_t *err);

typedef enum {
    ODM_AUTH_OK,      /* *out is the caller */
    ODM_AUTH_NONE,    /* no credential presented (and one is required) */
    ODM_AUTH_INVALID, /* a credential was presented and refused: err says why */
} odm_auth_result_t;

/* Identifies the caller from the value of the Authorization header (NULL: absent).
 * "Bearer VALUE" (the scheme in any case, spaces before VALUE skipped): VALUE with exactly two
 * dots is a token for verify_token when one is configured; otherwise VALUE is a key, looked up
 * in the keys file's keys, then compared with --api-key (constant time). No credential
 * configured: ODM_AUTH_OK with ODM_AUTH_ANONYMOUS and "admin", whatever the header says.
 * Never blocks (atomic operations only). Returns: the verdict; err (ODM_ERR_UNAUTHORIZED) is
 * set for ODM_AUTH_NONE and ODM_AUTH_INVALID, its message never quoting the credential. */
odm_auth_result_t odm_auth_identify(odm_auth_t *auth, const char *authorization,
                                    odm_principal_t *out, odm_error_t *err);

/* Frees auth and its keys. NULL is fine. No identify may be running. */
void odm_auth_free(odm_auth_t *auth);

#endif
