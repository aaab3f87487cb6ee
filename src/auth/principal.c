/* Principals: a caller's name and scopes, and the one check of a scope against a model. */
#include <string.h>

#include "odmd/auth.h"

#define MODEL_NAME_MAX 255 /* a file name's length: the loader has no other cap */

static bool printable(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* Copies the words of `scopes` into out (cap bytes), single spaces between them. */
static bool join_words(const char *scopes, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        if (scopes[i] == ' ') {
            i++;
            continue;
        }
        size_t w = 0;
        while (i + w < len && scopes[i + w] != ' ')
            w++;
        if (n + (n > 0) + w + 1 > cap)
            return false;
        if (n > 0)
            out[n++] = ' ';
        memcpy(out + n, scopes + i, w);
        n += w;
        i += w;
    }
    out[n] = '\0';
    return true;
}

bool odm_principal_set(odm_principal_t *p, const char *name, size_t name_len, const char *scopes,
                       size_t scopes_len, odm_error_t *err)
{
    if (name_len == 0 || name_len >= sizeof p->name || !printable(name, name_len))
        return odm_error_set(err, ODM_ERR_UNAUTHORIZED,
                             "the caller's name is empty, longer than %zu bytes or not printable",
                             sizeof p->name - 1);
    if (!printable(scopes, scopes_len) ||
        !join_words(scopes, scopes_len, p->scopes, sizeof p->scopes))
        return odm_error_set(err, ODM_ERR_UNAUTHORIZED,
                             "the caller's scopes are longer than %zu bytes or not printable",
                             sizeof p->scopes - 1);
    memcpy(p->name, name, name_len);
    p->name[name_len] = '\0';
    return true;
}

/* Whether the space-separated list `scopes` holds the word `want` (want_len bytes). */
static bool has_word(const char *scopes, const char *want, size_t want_len)
{
    for (const char *w = scopes; *w != '\0';) {
        size_t n = strcspn(w, " ");
        if (n == want_len && memcmp(w, want, n) == 0)
            return true;
        w += n + (w[n] == ' ');
    }
    return false;
}

bool odm_principal_is_admin(const odm_principal_t *p)
{
    return has_word(p->scopes, "admin", 5);
}

bool odm_principal_allows(const odm_principal_t *p, odm_access_t access, const char *model)
{
    const char *verb = access == ODM_ACCESS_READ ? "read:" : "write:";
    size_t vlen = strlen(verb), mlen = strlen(model);
    char want[sizeof "write:" + MODEL_NAME_MAX];
    if (odm_principal_is_admin(p))
        return true;
    memcpy(want, verb, vlen);
    want[vlen] = '*';
    if (has_word(p->scopes, want, vlen + 1))
        return true;
    if (mlen > MODEL_NAME_MAX)
        return false;
    memcpy(want + vlen, model, mlen);
    return has_word(p->scopes, want, vlen + mlen);
}

static bool model_name(const char *s, size_t len)
{
    if (len == 0 || len > MODEL_NAME_MAX || s[0] < 'a' || s[0] > 'z')
        return false;
    for (size_t i = 1; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

bool odm_auth_scope_valid(const char *scope, size_t len)
{
    static const char *const verbs[] = {"read:", "write:"};
    if (len == 5 && memcmp(scope, "admin", 5) == 0)
        return true;
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
        size_t n = strlen(verbs[i]);
        if (len <= n || memcmp(scope, verbs[i], n) != 0)
            continue;
        return (len == n + 1 && scope[n] == '*') || model_name(scope + n, len - n);
    }
    return false;
}
