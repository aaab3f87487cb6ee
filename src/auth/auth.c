/* The credentials in force and the identification of a caller from its Authorization header:
 * keys (the keys file's, swapped atomically on reload, and --api-key) and bearer tokens (handed
 * to the configured verifier). */
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "odmd/auth.h"

/* A keys set with its references: the holder's, and one per identification in progress. */
typedef struct {
    odm_auth_keys_t *keys;
    atomic_size_t refs;
} held_keys_t;

struct odm_auth {
    char *keys_path;                          /* NULL: no keys file */
    char api_key_hash[ODM_AUTH_HASH_HEX + 1]; /* "" without --api-key */
    odm_auth_token_fn verify_token;
    void *verifier;
    _Atomic(held_keys_t *) current; /* NULL without a keys file */
    atomic_size_t acquiring;        /* readers between loading current and retaining it */
};

static held_keys_t *held_new(odm_auth_keys_t *keys)
{
    held_keys_t *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    h->keys = keys;
    atomic_init(&h->refs, 1);
    return h;
}

static void held_release(held_keys_t *h)
{
    if (h == NULL || atomic_fetch_sub(&h->refs, 1) != 1)
        return;
    odm_auth_keys_free(h->keys);
    free(h);
}

/* As odm_api_models_acquire: a swap waits while a reader is between its load and its retain. */
static held_keys_t *held_acquire(odm_auth_t *auth)
{
    atomic_fetch_add(&auth->acquiring, 1);
    held_keys_t *h = atomic_load(&auth->current);
    if (h != NULL)
        atomic_fetch_add(&h->refs, 1);
    atomic_fetch_sub(&auth->acquiring, 1);
    return h;
}

static void held_swap(odm_auth_t *auth, held_keys_t *h)
{
    held_keys_t *old = atomic_exchange(&auth->current, h);
    while (atomic_load(&auth->acquiring) != 0)
        sched_yield();
    held_release(old);
}

odm_auth_t *odm_auth_new(const odm_auth_options_t *opts, odm_error_t *err)
{
    odm_auth_t *auth = calloc(1, sizeof *auth);
    if (auth == NULL)
        goto fail_memory;
    atomic_init(&auth->current, NULL);
    atomic_init(&auth->acquiring, 0);
    auth->verify_token = opts->verify_token;
    auth->verifier = opts->verifier;
    if (opts->api_key != NULL && opts->api_key[0] != '\0')
        odm_auth_key_hash(opts->api_key, strlen(opts->api_key), auth->api_key_hash);
    if (opts->keys_path == NULL)
        return auth;
    auth->keys_path = strdup(opts->keys_path);
    if (auth->keys_path == NULL)
        goto fail_memory;
    if (!odm_auth_reload(auth, NULL, err)) {
        odm_auth_free(auth);
        return NULL;
    }
    return auth;

fail_memory:
    odm_auth_free(auth);
    odm_error_set(err, ODM_ERR_CONFIG, "out of memory");
    return NULL;
}

bool odm_auth_enabled(const odm_auth_t *auth)
{
    return auth != NULL &&
           (auth->keys_path != NULL || auth->api_key_hash[0] != '\0' || auth->verify_token != NULL);
}

bool odm_auth_reload(odm_auth_t *auth, size_t *count, odm_error_t *err)
{
    if (count != NULL)
        *count = 0;
    if (auth->keys_path == NULL)
        return true;
    odm_auth_keys_t *keys = odm_auth_keys_load(auth->keys_path, err);
    if (keys == NULL)
        return false;
    held_keys_t *h = held_new(keys);
    if (h == NULL) {
        odm_auth_keys_free(keys);
        return odm_error_set(err, ODM_ERR_CONFIG, "%s: out of memory", auth->keys_path);
    }
    if (count != NULL)
        *count = odm_auth_keys_count(keys);
    held_swap(auth, h);
    return true;
}

/* The VALUE of "Bearer VALUE", or NULL for another scheme. *len: its length (trailing spaces
 * dropped). */
static const char *bearer_value(const char *authorization, size_t *len)
{
    static const char scheme[] = "Bearer ";
    if (strncasecmp(authorization, scheme, sizeof scheme - 1) != 0)
        return NULL;
    const char *v = authorization + sizeof scheme - 1;
    v += strspn(v, " ");
    size_t n = strlen(v);
    while (n > 0 && v[n - 1] == ' ')
        n--;
    *len = n;
    return v;
}

/* A JWT is three base64url parts joined by two dots. */
static bool looks_like_token(const char *v, size_t len)
{
    size_t dots = 0;
    for (size_t i = 0; i < len; i++)
        dots += v[i] == '.';
    return dots == 2;
}

static bool find_key(odm_auth_t *auth, const char *key, size_t len, odm_principal_t *out)
{
    held_keys_t *h = held_acquire(auth);
    bool found = h != NULL && odm_auth_keys_find(h->keys, key, len, out);
    held_release(h);
    if (found || auth->api_key_hash[0] == '\0')
        return found;
    char hash[ODM_AUTH_HASH_HEX + 1];
    odm_auth_key_hash(key, len, hash);
    if (CRYPTO_memcmp(hash, auth->api_key_hash, ODM_AUTH_HASH_HEX) != 0)
        return false;
    static const char name[] = ODM_AUTH_API_KEY_NAME;
    return odm_principal_set(out, name, sizeof name - 1, "admin", 5, NULL);
}

odm_auth_result_t odm_auth_identify(odm_auth_t *auth, const char *authorization,
                                    odm_principal_t *out, odm_error_t *err)
{
    if (!odm_auth_enabled(auth)) {
        static const char name[] = ODM_AUTH_ANONYMOUS;
        odm_principal_set(out, name, sizeof name - 1, "admin", 5, NULL);
        return ODM_AUTH_OK;
    }
    if (authorization == NULL) {
        odm_error_set(err, ODM_ERR_UNAUTHORIZED, "no credentials: send Authorization: Bearer");
        return ODM_AUTH_NONE;
    }
    size_t len = 0;
    const char *value = bearer_value(authorization, &len);
    if (value == NULL || len == 0) { /* another scheme: no bearer credential was given */
        odm_error_set(err, ODM_ERR_UNAUTHORIZED, "no credentials: send Authorization: Bearer");
        return ODM_AUTH_NONE;
    }
    if (len > ODM_AUTH_KEY_MAX) {
        odm_error_set(err, ODM_ERR_UNAUTHORIZED, "the credential is longer than %d bytes",
                      ODM_AUTH_KEY_MAX);
        return ODM_AUTH_INVALID;
    }
    if (auth->verify_token != NULL && looks_like_token(value, len))
        return auth->verify_token(auth->verifier, value, len, out, err) ? ODM_AUTH_OK
                                                                        : ODM_AUTH_INVALID;
    if (find_key(auth, value, len, out))
        return ODM_AUTH_OK;
    odm_error_set(err, ODM_ERR_UNAUTHORIZED, "unknown key");
    return ODM_AUTH_INVALID;
}

void odm_auth_free(odm_auth_t *auth)
{
    if (auth == NULL)
        return;
    held_release(atomic_load(&auth->current));
    free(auth->keys_path);
    free(auth);
}
