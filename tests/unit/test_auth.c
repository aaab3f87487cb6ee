/* Unit tests for src/auth: the keys file parser (every refusal names the place), the lookup of
 * a presented key by its SHA-256, the scope check, and odm_auth_identify with keys, --api-key,
 * a token verifier plugged into the seam, and nothing configured. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "odmd/auth.h"

/* SHA-256 of "k-reader", "k-writer", "k-admin" (printf %s KEY | sha256sum). */
static char h_reader[65], h_writer[65], h_admin[65];

static void make_hashes(void)
{
    odm_auth_key_hash("k-reader", 8, h_reader);
    odm_auth_key_hash("k-writer", 8, h_writer);
    odm_auth_key_hash("k-admin", 7, h_admin);
}

static char text[4096];

static const char *keys_text(void)
{
    snprintf(
        text, sizeof text,
        "{\"keys\": ["
        "{\"name\": \"reader\", \"sha256\": \"%s\", \"scopes\": [\"read:books\"]},"
        "{\"name\": \"writer\", \"sha256\": \"%s\", \"scopes\": [\"read:*\", \"write:books\"]},"
        "{\"name\": \"root\", \"sha256\": \"%s\", \"scopes\": [\"admin\"]}]}",
        h_reader, h_writer, h_admin);
    return text;
}

static void test_hash(void)
{
    char hex[65];
    odm_auth_key_hash("secret", 6, hex); /* printf %s secret | sha256sum */
    CHECK_STR(hex, "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b");
}

static void test_parse_and_find(void)
{
    odm_error_t err;
    const char *doc = keys_text();
    odm_auth_keys_t *keys = odm_auth_keys_parse(doc, strlen(doc), "keys.json", &err);
    CHECK_MSG(keys != NULL, "%s", keys ? "" : err.message);
    if (keys == NULL)
        return;
    CHECK_INT(odm_auth_keys_count(keys), 3);
    odm_principal_t p;
    CHECK(odm_auth_keys_find(keys, "k-writer", 8, &p));
    CHECK_STR(p.name, "writer");
    CHECK_STR(p.scopes, "read:* write:books");
    CHECK(odm_auth_keys_find(keys, "k-admin", 7, &p));
    CHECK_STR(p.name, "root");
    CHECK(!odm_auth_keys_find(keys, "k-admi", 6, &p));
    CHECK(!odm_auth_keys_find(keys, "", 0, &p));
    CHECK(!odm_auth_keys_find(keys, h_admin, 64, &p)); /* the hash itself is no key */
    odm_auth_keys_free(keys);

    /* upper-case hex is the same hash; an empty list is allowed */
    char upper[65];
    for (int i = 0; i < 65; i++)
        upper[i] =
            (char)(h_reader[i] >= 'a' && h_reader[i] <= 'f' ? h_reader[i] - 32 : h_reader[i]);
    snprintf(text, sizeof text,
             "{\"keys\": [{\"name\": \"r\", \"sha256\": \"%s\", \"scopes\": []}]}", upper);
    keys = odm_auth_keys_parse(text, strlen(text), "k.json", &err);
    CHECK(keys != NULL && odm_auth_keys_find(keys, "k-reader", 8, &p) && p.scopes[0] == '\0');
    odm_auth_keys_free(keys);
    keys = odm_auth_keys_parse("{\"keys\": []}", 12, "k.json", &err);
    CHECK(keys != NULL && odm_auth_keys_count(keys) == 0);
    odm_auth_keys_free(keys);
}

/* Each bad file is refused with a message holding `want` (the place and the reason), and never
 * the hash. */
/* Many keys: each found under its own name (the lookup is a search over sorted hashes), and
 * values that are no key are not. */
static void test_find_among_many(void)
{
    enum { N = 300 };
    static char doc[N * 160 + 32];
    size_t len = (size_t)snprintf(doc, sizeof doc, "{\"keys\": [");
    for (int i = 0; i < N; i++) {
        char key[16], hex[65];
        int n = snprintf(key, sizeof key, "key-%d", i);
        odm_auth_key_hash(key, (size_t)n, hex);
        len += (size_t)snprintf(doc + len, sizeof doc - len,
                                "%s{\"name\": \"n%d\", \"sha256\": \"%s\", \"scopes\": []}",
                                i ? "," : "", i, hex);
    }
    len += (size_t)snprintf(doc + len, sizeof doc - len, "]}");
    odm_error_t err;
    odm_auth_keys_t *keys = odm_auth_keys_parse(doc, len, "many.json", &err);
    CHECK_MSG(keys != NULL, "%s", keys ? "" : err.message);
    if (keys == NULL)
        return;
    CHECK_INT(odm_auth_keys_count(keys), N);
    for (int i = 0; i < N; i++) {
        char key[16], name[16];
        int n = snprintf(key, sizeof key, "key-%d", i);
        snprintf(name, sizeof name, "n%d", i);
        odm_principal_t p;
        CHECK_MSG(odm_auth_keys_find(keys, key, (size_t)n, &p) && strcmp(p.name, name) == 0, "%s",
                  key);
        n = snprintf(key, sizeof key, "key-%d", i + N);
        CHECK_MSG(!odm_auth_keys_find(keys, key, (size_t)n, &p), "%s", key);
    }
    odm_auth_keys_free(keys);
}

static void test_parse_refusals(void)
{
    static const struct {
        const char *fmt; /* %s: a valid hash (h_reader), at most twice */
        const char *want;
    } cases[] = {
        {"{\"keys\": [", "k.json:1:"},
        {"[]", "k.json: /: must be an object"},
        {"{\"keys\": [], \"extra\": 1}", "k.json: /: unknown member"},
        {"{\"keys\": {}}", "k.json: /keys: must be an array"},
        {"{\"keys\": [1]}", "k.json: /keys/0: must be an object"},
        {"{\"keys\": [{\"sha256\": \"%s\", \"scopes\": []}]}", "/keys/0: a key needs 'name'"},
        {"{\"keys\": [{\"name\": \"a\", \"scopes\": []}]}", "/keys/0: a key needs 'sha256'"},
        {"{\"keys\": [{\"name\": \"a\", \"sha256\": \"%s\"}]}", "/keys/0: a key needs 'scopes'"},
        {"{\"keys\": [{\"name\": \"\", \"sha256\": \"%s\", \"scopes\": []}]}",
         "/keys/0/name: must be a non-empty"},
        {"{\"keys\": [{\"name\": \"a\\u0001\", \"sha256\": \"%s\", \"scopes\": []}]}",
         "/keys/0/name: must be a non-empty"},
        {"{\"keys\": [{\"name\": \"a\", \"sha256\": \"abc\", \"scopes\": []}]}",
         "/keys/0/sha256: must be a SHA-256"},
        {"{\"keys\": [{\"name\": \"a\", \"sha256\": "
         "\"zz00000000000000000000000000000000000000000000000000000000000000\", \"scopes\": []}]}",
         "/keys/0/sha256: must be a SHA-256"},
        {"{\"keys\": [{\"name\": \"a\", \"sha256\": \"%s\", \"scopes\": [\"read\"]}]}",
         "/keys/0/scopes/0: must be admin"},
        {"{\"keys\": [{\"name\": \"a\", \"sha256\": \"%s\", \"scopes\": [\"write:Books\"]}]}",
         "/keys/0/scopes/0: must be admin"},
        {"{\"keys\": [{\"name\": \"a\", \"sha256\": \"%s\", \"scopes\": [\"delete:*\"]}]}",
         "/keys/0/scopes/0: must be admin"},
        {"{\"keys\": [{\"name\": \"a\", \"sha256\": \"%s\", \"scopes\": \"admin\"}]}",
         "/keys/0/scopes: must be an array"},
        {"{\"keys\": [{\"name\": \"a\", \"sha256\": \"%s\", \"scopes\": [], \"x\": 1}]}",
         "/keys/0/x: unknown member"},
        {"{\"keys\": [{\"name\": \"a\", \"sha256\": \"%s\", \"scopes\": []},"
         "{\"name\": \"a\", \"sha256\": \""
         "%.63s0\", \"scopes\": []}]}",
         "/keys/1: a second key with this name"},
        {"{\"keys\": [{\"name\": \"a\", \"sha256\": \"%s\", \"scopes\": []},"
         "{\"name\": \"b\", \"sha256\": \"%s\", \"scopes\": []}]}",
         "/keys/1: the same hash as an earlier key"},
        {"{\"keys\": [], \"keys\": []}", "k.json:1:"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char doc[1024];
        snprintf(doc, sizeof doc, cases[i].fmt, h_reader, h_reader);
        odm_error_t err = {0};
        odm_auth_keys_t *keys = odm_auth_keys_parse(doc, strlen(doc), "k.json", &err);
        CHECK_MSG(keys == NULL, "case %zu accepted", i);
        odm_auth_keys_free(keys);
        CHECK_MSG(err.kind == ODM_ERR_CONFIG && strstr(err.message, cases[i].want) != NULL,
                  "case %zu: '%s' lacks '%s'", i, err.message, cases[i].want);
        CHECK_MSG(strstr(err.message, h_reader) == NULL, "case %zu quotes the hash", i);
    }
}

static void test_scopes(void)
{
    odm_principal_t p;
    odm_error_t err;
    CHECK(odm_principal_set(&p, "a", 1, "  read:books   write:notes ", 27, &err));
    CHECK_STR(p.scopes, "read:books write:notes");
    CHECK(odm_principal_allows(&p, ODM_ACCESS_READ, "books"));
    CHECK(!odm_principal_allows(&p, ODM_ACCESS_WRITE, "books")); /* read is not write */
    CHECK(!odm_principal_allows(&p, ODM_ACCESS_READ, "notes"));  /* nor write read */
    CHECK(odm_principal_allows(&p, ODM_ACCESS_WRITE, "notes"));
    CHECK(!odm_principal_allows(&p, ODM_ACCESS_READ, "book")); /* whole words only */
    CHECK(!odm_principal_allows(&p, ODM_ACCESS_READ, "bookss"));
    CHECK(!odm_principal_is_admin(&p));
    CHECK(odm_principal_set(&p, "a", 1, "read:* administrator", 20, &err));
    CHECK(!odm_principal_is_admin(&p));
    CHECK(odm_principal_allows(&p, ODM_ACCESS_READ, "anything"));
    CHECK(!odm_principal_allows(&p, ODM_ACCESS_WRITE, "anything"));
    CHECK(odm_principal_set(&p, "a", 1, "write:*", 7, &err));
    CHECK(odm_principal_allows(&p, ODM_ACCESS_WRITE, "x") &&
          !odm_principal_allows(&p, ODM_ACCESS_READ, "x"));
    CHECK(odm_principal_set(&p, "a", 1, "admin", 5, &err));
    CHECK(odm_principal_is_admin(&p));
    CHECK(odm_principal_allows(&p, ODM_ACCESS_READ, "x") &&
          odm_principal_allows(&p, ODM_ACCESS_WRITE, "x"));
    CHECK(!odm_principal_set(&p, "", 0, "", 0, &err) && err.kind == ODM_ERR_UNAUTHORIZED);
    CHECK(!odm_principal_set(&p, "a\n", 2, "", 0, &err));
    char long_scopes[ODM_PRINCIPAL_SCOPES_MAX + 8];
    memset(long_scopes, 'x', sizeof long_scopes);
    CHECK(!odm_principal_set(&p, "a", 1, long_scopes, sizeof long_scopes, &err));

    static const char *const valid[] = {"admin", "read:*", "write:*", "read:books", "write:a-b_9"};
    static const char *const invalid[] = {"",        "Admin",   "read:",       "read",
                                          "read:*x", "read:9a", "write:Books", "read:a.b",
                                          "admin ",  "delete:x"};
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++)
        CHECK_MSG(odm_auth_scope_valid(valid[i], strlen(valid[i])), "%s", valid[i]);
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
        CHECK_MSG(!odm_auth_scope_valid(invalid[i], strlen(invalid[i])), "%s", invalid[i]);
}

/* The seam's test double: accepts "a.b.c" as the caller "alice" reading books. */
static int verifier_calls;
static bool fake_verify(void *verifier, const char *token, size_t len, odm_principal_t *out,
                        odm_error_t *err)
{
    (void)verifier;
    verifier_calls++;
    if (len == 5 && memcmp(token, "a.b.c", 5) == 0)
        return odm_principal_set(out, "alice", 5, "read:books", 10, err);
    return odm_error_set(err, ODM_ERR_UNAUTHORIZED, "bad signature");
}

static const char *write_keys_file(const char *dir, const char *content)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/keys.json", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f != NULL) {
        fputs(content, f);
        fclose(f);
    }
    return path;
}

static void test_identify(void)
{
    char dir[] = "/tmp/odmd-auth-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    const char *path = write_keys_file(dir, keys_text());
    odm_error_t err;
    odm_auth_options_t o = {
        .keys_path = path, .api_key = "the-api-key", .verify_token = fake_verify};
    odm_auth_t *auth = odm_auth_new(&o, &err);
    CHECK_MSG(auth != NULL, "%s", auth ? "" : err.message);
    if (auth == NULL)
        return;
    CHECK(odm_auth_enabled(auth));
    odm_principal_t p;
    CHECK_INT(odm_auth_identify(auth, NULL, &p, &err), ODM_AUTH_NONE);
    CHECK_INT(odm_auth_identify(auth, "Basic YTpi", &p, &err), ODM_AUTH_NONE);
    CHECK_INT(odm_auth_identify(auth, "Bearer ", &p, &err), ODM_AUTH_NONE);
    CHECK_INT(odm_auth_identify(auth, "Bearer k-nobody", &p, &err), ODM_AUTH_INVALID);
    CHECK(err.kind == ODM_ERR_UNAUTHORIZED && strstr(err.message, "k-nobody") == NULL);
    CHECK_INT(odm_auth_identify(auth, "bearer   k-reader", &p, &err), ODM_AUTH_OK);
    CHECK_STR(p.name, "reader");
    CHECK_INT(odm_auth_identify(auth, "Bearer the-api-key", &p, &err), ODM_AUTH_OK);
    CHECK_STR(p.name, ODM_AUTH_API_KEY_NAME);
    CHECK(odm_principal_is_admin(&p));
    CHECK_INT(odm_auth_identify(auth, "Bearer the-api-ke", &p, &err), ODM_AUTH_INVALID);
    /* two dots: a token for the verifier; otherwise a key */
    CHECK_INT(odm_auth_identify(auth, "Bearer a.b.c", &p, &err), ODM_AUTH_OK);
    CHECK_STR(p.name, "alice");
    CHECK_INT(odm_auth_identify(auth, "Bearer x.y.z", &p, &err), ODM_AUTH_INVALID);
    CHECK_STR(err.message, "bad signature");
    int calls = verifier_calls;
    CHECK_INT(odm_auth_identify(auth, "Bearer a.b", &p, &err), ODM_AUTH_INVALID);
    CHECK_INT(verifier_calls, calls);

    /* reload: a bad file keeps the keys in force; a good one replaces them */
    size_t n = 99;
    write_keys_file(dir, "{\"keys\": [}");
    CHECK(!odm_auth_reload(auth, &n, &err));
    CHECK(strstr(err.message, "keys.json:1:") != NULL);
    CHECK_INT(odm_auth_identify(auth, "Bearer k-reader", &p, &err), ODM_AUTH_OK);
    snprintf(text, sizeof text,
             "{\"keys\": [{\"name\": \"w2\", \"sha256\": \"%s\", \"scopes\": [\"write:*\"]}]}",
             h_writer);
    write_keys_file(dir, text);
    CHECK(odm_auth_reload(auth, &n, &err));
    CHECK_INT(n, 1);
    CHECK_INT(odm_auth_identify(auth, "Bearer k-reader", &p, &err), ODM_AUTH_INVALID);
    CHECK_INT(odm_auth_identify(auth, "Bearer k-writer", &p, &err), ODM_AUTH_OK);
    CHECK_STR(p.name, "w2");
    odm_auth_free(auth);
    unlink(path);
    rmdir(dir);

    /* a keys file that cannot be read fails startup */
    odm_auth_options_t missing = {.keys_path = "/nonexistent/keys.json"};
    CHECK(odm_auth_new(&missing, &err) == NULL && strstr(err.message, "cannot open") != NULL);

    /* nothing configured: every caller is the anonymous admin */
    odm_auth_options_t none = {0};
    auth = odm_auth_new(&none, &err);
    CHECK(auth != NULL && !odm_auth_enabled(auth));
    CHECK_INT(odm_auth_identify(auth, NULL, &p, &err), ODM_AUTH_OK);
    CHECK_STR(p.name, ODM_AUTH_ANONYMOUS);
    CHECK(odm_principal_is_admin(&p));
    CHECK_INT(odm_auth_identify(NULL, "Bearer whatever", &p, &err), ODM_AUTH_OK);
    odm_auth_free(auth);
}

int main(void)
{
    make_hashes();
    test_hash();
    test_parse_and_find();
    test_find_among_many();
    test_parse_refusals();
    test_scopes();
    test_identify();
    return check_done("test_auth");
}
