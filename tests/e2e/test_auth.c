/* End-to-end: API keys from a keys file (--keys) and --api-key. 401 without a credential or with
 * an unknown one (WWW-Authenticate with error="invalid_token" then, RFC 6750 3), 403 for a
 * missing scope (error="insufficient_scope" naming it), both as problem+json; reads, writes,
 * ?deleted= and restore, and expand each need their scope; Idempotency-Key is per caller;
 * SIGHUP reloads the keys (a bad file keeps them); no key or hash ever reaches the log. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"

#define RELOAD_WAIT_MS 10000
#define API_KEY "api-key-0f3c9e"

static e2e_env_t env;
static const char *keys_dir, *keys_path;

/* The keys, as presented. The keys file holds their hashes only. */
static const struct {
    const char *name, *key, *scopes;
} keys[] = {
    {"reader", "rk-7d1f0a2b", "\"read:users\""},
    {"writer", "wk-91c3e4d5", "\"read:*\", \"write:users\", \"write:notes\""},
    {"orders", "ok-52b8a6c0", "\"read:orders\""},
    {"nobody", "nk-0e4a9d13", ""},
    {"root", "rootk-c6f2b87e", "\"admin\""},
    {"late", "lk-38fd02a9", "\"read:users\""}, /* in the file only after the reload */
};
#define N_KEYS (sizeof keys / sizeof keys[0])

static e2e_client_t clients[N_KEYS], anon, by_api_key;

static e2e_client_t *client(const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &clients[i];
    abort();
}

/* The hash as `printf %s KEY | odmd key-hash` prints it (the documented way). */
static const char *hash_of(const char *key)
{
    static char hashes[N_KEYS + 2][80];
    static size_t next;
    char path[512];
    snprintf(path, sizeof path, "%s/key.txt", keys_dir);
    e2e_write_file(keys_dir, "key.txt", key);
    /* the key on stdin, from a file */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s key-hash < %s", e2e_odmd_bin(), path);
    FILE *p = popen(cmd, "r");
    char *h = hashes[next++ % (N_KEYS + 2)];
    h[0] = '\0';
    if (p != NULL) {
        if (fgets(h, 80, p) == NULL)
            h[0] = '\0';
        pclose(p);
    }
    h[strcspn(h, "\n")] = '\0';
    CHECK_MSG(strlen(h) == 64, "odmd key-hash printed '%s'", h);
    return h;
}

/* Writes the keys file with keys[from..to). */
static void write_keys(size_t from, size_t to)
{
    char text[8192];
    size_t n = (size_t)snprintf(text, sizeof text, "{\"keys\": [");
    for (size_t i = from; i < to; i++)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              "%s\n  {\"name\": \"%s\", \"sha256\": \"%s\", \"scopes\": [%s]}",
                              i > from ? "," : "", keys[i].name, hash_of(keys[i].key),
                              keys[i].scopes);
    snprintf(text + n, sizeof text - n, "\n]}\n");
    CHECK(e2e_write_file(keys_dir, "keys.json", text));
}

static void expect_challenge(const e2e_resp_t *r, long status, const char *challenge)
{
    CHECK_MSG(e2e_is_problem(r, status), "%s %s: want a %ld problem", r->method, r->path, status);
    const char *h = e2e_header(r, "WWW-Authenticate");
    CHECK_MSG(h != NULL && strcmp(h, challenge) == 0, "%s %s: WWW-Authenticate '%s', want '%s'",
              r->method, r->path, h ? h : "(none)", challenge);
    size_t n = 0;
    for (size_t i = 0; i < r->n_headers; i++)
        n += strcasecmp(r->header_names[i], "WWW-Authenticate") == 0;
    CHECK_MSG(n == 1, "%s %s: %zu WWW-Authenticate headers", r->method, r->path, n);
}

#define NO_CREDENTIAL "Bearer realm=\"odmd\""
#define INVALID "Bearer realm=\"odmd\", error=\"invalid_token\", error_description=\"unknown key\""
#define SCOPE(s) "Bearer realm=\"odmd\", error=\"insufficient_scope\", scope=\"" s "\""

static void test_unauthenticated(void)
{
    e2e_resp_t r = {0};
    e2e_get(&anon, &r, "/api/users");
    expect_challenge(&r, 401, NO_CREDENTIAL);
    e2e_post(&anon, &r, "/api/users", Q("{'email':'a@example.com','name':'A'}"));
    expect_challenge(&r, 401, NO_CREDENTIAL);
    const char *basic[] = {"Authorization: Basic cmVhZGVyOnNlY3JldA==", NULL};
    e2e_request(&anon, &r, "GET", "/api/users", basic, NULL, 0);
    expect_challenge(&r, 401, NO_CREDENTIAL);
    const char *wrong[] = {"Authorization: Bearer rk-7d1f0a2", /* a prefix of reader's */
                           "Authorization: Bearer rk-7d1f0a2bx",
                           "Authorization: Bearer wrong.with.dots", /* no JWT configured */
                           NULL};
    for (size_t i = 0; wrong[i] != NULL; i++) {
        const char *headers[] = {wrong[i], NULL};
        e2e_request(&anon, &r, "GET", "/api/users", headers, NULL, 0);
        expect_challenge(&r, 401, INVALID);
        CHECK_MSG(strstr(r.body, wrong[i] + 22) == NULL, "the problem quotes the key: %s", r.body);
    }
    /* a 401 whose hash is known: the hash itself is not a key */
    const char *hash[] = {F("Authorization: Bearer %s", hash_of(keys[0].key)), NULL};
    e2e_request(&anon, &r, "GET", "/api/users", hash, NULL, 0);
    expect_challenge(&r, 401, INVALID);
    e2e_get(&anon, &r, "/healthz"); /* the health routes need no credential */
    EXPECT_STATUS(r, 200);
    e2e_resp_free(&r);
}

static void test_scopes(void)
{
    e2e_resp_t r = {0};
    e2e_get(client("reader"), &r, "/api/users");
    EXPECT_STATUS(r, 200);
    e2e_head(client("reader"), &r, "/api/users");
    EXPECT_STATUS(r, 200);
    e2e_post(client("reader"), &r, "/api/users", Q("{'email':'r@example.com','name':'R'}"));
    expect_challenge(&r, 403, SCOPE("write:users"));
    CHECK_MSG(strstr(r.body, "reader") != NULL, "the 403 names the caller: %s", r.body);
    e2e_get(client("reader"), &r, "/api/notes");
    expect_challenge(&r, 403, SCOPE("read:notes"));
    e2e_get(client("nobody"), &r, "/api/users");
    expect_challenge(&r, 403, SCOPE("read:users"));

    /* write:users without read:users would not read; writer has read:* */
    e2e_post(client("writer"), &r, "/api/users", Q("{'email':'w@example.com','name':'W'}"));
    EXPECT_STATUS(r, 201);
    const char *id = e2e_str(&r, "_id");
    char user[64];
    snprintf(user, sizeof user, "%s", id ? id : "");
    e2e_get(client("writer"), &r, "/api/notes");
    EXPECT_STATUS(r, 200);
    e2e_post(client("writer"), &r, "/api/orders", Q("{}"));
    expect_challenge(&r, 403, SCOPE("write:orders"));
    e2e_patch(client("writer"), &r, F("/api/users/%s", user), Q("{'name':'W2'}"), NULL);
    EXPECT_STATUS(r, 200);
    e2e_delete(client("reader"), &r, F("/api/users/%s", user), NULL);
    expect_challenge(&r, 403, SCOPE("write:users"));

    /* expand reads every model it reaches */
    e2e_post(&by_api_key, &r, "/api/orders",
             Q(F("{'userId':'%s','items':[{'sku':'A-1','qty':1,'price':1}],'total':1}", user)));
    EXPECT_STATUS(r, 201);
    e2e_get(client("orders"), &r, "/api/orders");
    EXPECT_STATUS(r, 200);
    e2e_get(client("orders"), &r, "/api/orders?expand=userId");
    expect_challenge(&r, 403, SCOPE("read:users"));
    e2e_get(client("writer"), &r, "/api/orders?expand=userId");
    EXPECT_STATUS(r, 200);
    CHECK(json_is_object(json_object_get(json_array_get(r.json, 0), "userId")));

    /* soft-deleted documents (?deleted=) and restore need write */
    e2e_post(client("root"), &r, "/api/members", Q("{'name':'m'}"));
    EXPECT_STATUS(r, 201);
    id = e2e_str(&r, "_id");
    char member[64];
    snprintf(member, sizeof member, "%s", id ? id : "");
    e2e_delete(client("root"), &r, F("/api/members/%s", member), NULL);
    EXPECT_STATUS(r, 204);
    e2e_get(client("writer"), &r, "/api/members");
    EXPECT_STATUS(r, 200);
    e2e_get(client("writer"), &r, "/api/members?deleted=only");
    expect_challenge(&r, 403, SCOPE("write:members"));
    e2e_get(client("writer"), &r, F("/api/members/%s?deleted=include", member));
    expect_challenge(&r, 403, SCOPE("write:members"));
    e2e_post(client("writer"), &r, F("/api/members/%s/restore", member), "{}");
    expect_challenge(&r, 403, SCOPE("write:members"));
    e2e_get(client("root"), &r, "/api/members?deleted=only");
    EXPECT_STATUS(r, 200);
    CHECK_INT(json_array_size(r.json), 1);
    e2e_post(client("root"), &r, F("/api/members/%s/restore", member), "{}");
    EXPECT_STATUS(r, 200);

    /* 401 and 403 outrank 413, even for a body too large to read (answered before it) */
    size_t big = 100 * 1024;
    char *body = malloc(big + 1);
    memset(body, ' ', big);
    body[0] = '{';
    body[big - 1] = '}';
    body[big] = '\0';
    const char *json[] = {"Content-Type: application/json", NULL};
    e2e_request(client("reader"), &r, "POST", "/api/users", json, body, big);
    expect_challenge(&r, 403, SCOPE("write:users"));
    e2e_request(&anon, &r, "POST", "/api/users", json, body, big);
    expect_challenge(&r, 401, NO_CREDENTIAL);
    e2e_request(client("writer"), &r, "POST", "/api/users", json, body, big);
    EXPECT_PROBLEM(r, 413);
    free(body);

    /* --api-key: one more key, with every scope */
    e2e_delete(&by_api_key, &r, F("/api/members/%s?purge=true", member), NULL);
    EXPECT_STATUS(r, 204);
    e2e_resp_free(&r);
}

/* Two callers with the same Idempotency-Key and the same request: two documents; the same
 * caller again: its first answer. */
static void test_idempotency_per_caller(void)
{
    e2e_resp_t r = {0};
    const char *headers[] = {"Content-Type: application/json", "Idempotency-Key: same-key", NULL};
    const char *body = Q("{'title':'once'}");
    e2e_request(client("writer"), &r, "POST", "/api/notes", headers, body, (size_t)-1);
    EXPECT_STATUS(r, 201);
    char first[64];
    snprintf(first, sizeof first, "%s", e2e_str(&r, "_id") ? e2e_str(&r, "_id") : "");
    e2e_request(client("root"), &r, "POST", "/api/notes", headers, body, (size_t)-1);
    EXPECT_STATUS(r, 201);
    const char *second = e2e_str(&r, "_id");
    CHECK_MSG(second != NULL && strcmp(second, first) != 0,
              "another caller got the first caller's answer (%s)", first);
    e2e_request(client("writer"), &r, "POST", "/api/notes", headers, body, (size_t)-1);
    EXPECT_STATUS(r, 201);
    CHECK_STR(e2e_str(&r, "_id"), first);
    CHECK_INT(e2e_mongo_count(e2e_db_uri(env.db), env.odmd.db_name, "e2e_notes"), 2);
    e2e_resp_free(&r);
}

static int log_count(const char *needle)
{
    char *log = e2e_read_file(env.odmd.log_path);
    int n = 0;
    for (const char *p = log; p != NULL && (p = strstr(p, needle)) != NULL; p++)
        n++;
    free(log);
    return n;
}

static bool sighup_until(const char *outcome)
{
    int before = log_count(outcome);
    if (kill(env.odmd.pid, SIGHUP) != 0)
        return false;
    for (int64_t until = e2e_now_ms() + RELOAD_WAIT_MS; e2e_now_ms() < until; e2e_sleep_ms(20))
        if (log_count(outcome) > before)
            return true;
    e2e_odmd_dump_log(&env.odmd, 20);
    return false;
}

static void test_reload(void)
{
    e2e_resp_t r = {0};
    e2e_get(client("late"), &r, "/api/users");
    expect_challenge(&r, 401, INVALID);
    write_keys(1, N_KEYS); /* reader gone, late added */
    CHECK(sighup_until("reloaded keys"));
    CHECK_INT(log_count("5 keys"), 1);
    e2e_get(client("late"), &r, "/api/users");
    EXPECT_STATUS(r, 200);
    e2e_get(client("reader"), &r, "/api/users");
    expect_challenge(&r, 401, INVALID);

    /* a bad file: refused, logged with the place, the keys in force kept */
    char bad[512];
    snprintf(bad, sizeof bad,
             "{\"keys\": [{\"name\": \"late\", \"sha256\": \"%s\", \"scopes\": [\"read:\"]}]}",
             hash_of(keys[5].key));
    CHECK(e2e_write_file(keys_dir, "keys.json", bad));
    CHECK(sighup_until("keys reload refused"));
    CHECK_INT(log_count("/keys/0/scopes/0"), 1);
    e2e_get(client("late"), &r, "/api/users");
    EXPECT_STATUS(r, 200);
    e2e_get(client("writer"), &r, "/api/users");
    EXPECT_STATUS(r, 200);
    e2e_get(&by_api_key, &r, "/api/users"); /* --api-key is not in the file: always there */
    EXPECT_STATUS(r, 200);
    e2e_resp_free(&r);
}

/* odmd refuses to start on a bad keys file, naming it and the place, quoting no hash. */
static void test_bad_file_at_startup(void)
{
    char bad[256], part[61];
    memcpy(part, hash_of(keys[0].key), 60); /* 60 digits: too short */
    part[60] = '\0';
    snprintf(bad, sizeof bad, "{\"keys\": [{\"name\": \"x\", \"sha256\": \"%s\", \"scopes\": []}]}",
             part);
    CHECK(e2e_write_file(keys_dir, "bad.json", bad));
    const char *path = F("%s/bad.json", keys_dir);
    const char *argv[] = {"--keys", path, "--listen", "127.0.0.1:0", NULL};
    char *out = NULL;
    int status = e2e_run_odmd(argv, NULL, NULL, 10000, &out);
    CHECK_INT(status, 2);
    CHECK_MSG(out != NULL && strstr(out, "bad.json: /keys/0/sha256: must be a SHA-256") != NULL,
              "output: %s", out ? out : "");
    CHECK_MSG(out != NULL && strstr(out, part) == NULL, "output quotes the hash: %s",
              out ? out : "");
    free(out);
}

/* Neither a key, nor its hash, nor a refused credential is anywhere in the log (at debug). */
static void test_log_clean(void)
{
    char *log = e2e_read_file(env.odmd.log_path);
    CHECK(log != NULL && strlen(log) > 0);
    for (size_t i = 0; log != NULL && i < N_KEYS; i++) {
        CHECK_MSG(strstr(log, keys[i].key) == NULL, "the log holds the key of '%s'", keys[i].name);
        CHECK_MSG(strstr(log, hash_of(keys[i].key)) == NULL, "the log holds the hash of '%s'",
                  keys[i].name);
    }
    CHECK(log == NULL || strstr(log, API_KEY) == NULL);
    CHECK(log == NULL || strstr(log, "rk-7d1f0a2") == NULL);
    CHECK(log == NULL || strstr(log, "wrong.with.dots") == NULL);
    free(log);
}

int main(void)
{
    e2e_init("auth");
    keys_dir = e2e_temp_dir("keys");
    keys_path = F("%s/keys.json", keys_dir);
    char path[512];
    snprintf(path, sizeof path, "%s", keys_path);
    write_keys(0, N_KEYS - 1);
    const char *args[] = {"--keys", path,         "--api-key", API_KEY, "--log-level",
                          "debug",  "--max-body", "65536",     NULL};
    if (!e2e_env_up(&env, args)) {
        CHECK_MSG(false, "environment did not start");
        e2e_env_down(&env);
        return e2e_finish(check_done("e2e_auth"));
    }
    for (size_t i = 0; i < N_KEYS; i++) {
        e2e_client_init(&clients[i], env.odmd.url);
        clients[i].api_key = keys[i].key;
    }
    e2e_client_init(&anon, env.odmd.url);
    e2e_client_init(&by_api_key, env.odmd.url);
    by_api_key.api_key = API_KEY;
    test_unauthenticated();
    test_scopes();
    test_idempotency_per_caller();
    test_reload();
    test_bad_file_at_startup();
    test_log_clean();
    for (size_t i = 0; i < N_KEYS; i++)
        e2e_client_release(&clients[i]);
    e2e_client_release(&anon);
    e2e_client_release(&by_api_key);
    CHECK_INT(e2e_env_down(&env), 0);
    return e2e_finish(check_done("e2e_auth"));
}
