/* End-to-end: --rate-limit, --rate-burst, --rate-table. A burst is answered, the next request
 * gets 429 with Retry-After and the RateLimit fields; the bucket refills with time; credentials
 * and client addresses have buckets apart (another loopback address is another client); wrong
 * credentials spend a bucket of their address, and without --api-key credentials count for
 * nothing; the probes are never limited; a small table forgets the least recently seen client.
 * Timing assertions only bound from the safe side: a slow run waits longer, never fails. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "harness.h"

#define KEY "rate-test-key"

static e2e_db_t *db;

/* key: an --api-key, "--keys=FILE", or NULL */
static bool start(e2e_odmd_t *o, const char *rate, const char *burst, const char *table,
                  const char *key)
{
    e2e_odmd_opts_t opts = {
        .mongo_uri = e2e_db_uri(db),
        .schemas = e2e_schemas_with_extras(),
        .args = {"--rate-limit", rate, "--rate-burst", burst, "--rate-table", table, NULL}};
    if (key != NULL && strncmp(key, "--keys=", 7) == 0) {
        opts.args[6] = key;
    } else if (key != NULL) {
        opts.args[6] = "--api-key";
        opts.args[7] = key;
    }
    bool ok = e2e_odmd_start(o, &opts);
    CHECK_MSG(ok, "odmd did not start with --rate-limit %s --rate-burst %s", rate, burst);
    /* /readyz is not limited: waiting for it spends nothing */
    CHECK(ok && e2e_wait_status(o->url, "/readyz", 200, 30000));
    return ok;
}

/* A GET of path with `auth` (a whole Authorization value) or none. */
static void get(e2e_client_t *c, e2e_resp_t *r, const char *path, const char *auth)
{
    const char *headers[] = {auth ? F("Authorization: %s", auth) : NULL, NULL};
    e2e_request(c, r, "GET", path, headers, NULL, 0);
}

/* The integer parameter `name` of a structured field like "default";r=3;t=1, or -1. */
static long param(const char *field, const char *name)
{
    char pat[16];
    snprintf(pat, sizeof pat, ";%s=", name);
    const char *p = field ? strstr(field, pat) : NULL;
    return p ? strtol(p + strlen(pat), NULL, 10) : -1;
}

static void expect_429(const e2e_resp_t *r, long max_retry, const char *what)
{
    CHECK_MSG(e2e_is_problem(r, 429), "%s: status %ld, want a 429 problem", what, r->status);
    CHECK_STR(e2e_str(r, "type"), "urn:odmd:problem:too-many-requests");
    const char *retry = e2e_header(r, "Retry-After");
    long s = retry ? strtol(retry, NULL, 10) : -1;
    CHECK_MSG(s >= 1 && s <= max_retry, "%s: Retry-After '%s', want 1..%ld", what,
              retry ? retry : "(none)", max_retry);
    const char *rl = e2e_header(r, "RateLimit");
    /* t, the seconds until one more request is allowed, is the Retry-After */
    CHECK_MSG(rl && strncmp(rl, "\"default\";", 10) == 0 && param(rl, "r") == 0 &&
                  param(rl, "t") == s,
              "%s: RateLimit '%s' with Retry-After %ld", what, rl ? rl : "(none)", s);
}

/* 1/m with a burst of 5: no refill worth a token during the test. Five answered, with the
 * remaining count going down, the sixth refused. */
static void test_burst(void)
{
    e2e_odmd_t o;
    if (!start(&o, "1/m", "5", "4096", NULL))
        return;
    e2e_client_t c;
    e2e_client_init(&c, o.url);
    e2e_resp_t r = {0};
    for (long i = 0; i < 5; i++) {
        get(&c, &r, "/api/notes", NULL);
        EXPECT_STATUS(r, 200);
        EXPECT_HEADER(r, "RateLimit-Policy", "\"default\";q=5;w=300");
        const char *rl = e2e_header(&r, "RateLimit");
        CHECK_MSG(param(rl, "r") == 4 - i && param(rl, "t") >= 1 && param(rl, "t") <= 60,
                  "request %ld: RateLimit '%s'", i + 1, rl ? rl : "(none)");
    }
    get(&c, &r, "/api/notes", NULL);
    expect_429(&r, 60, "the sixth request of a burst of 5");
    EXPECT_HEADER(r, "RateLimit-Policy", "\"default\";q=5;w=300");
    CHECK_INT(r.num_connects, 0); /* the connection is kept */
    /* a 404 counts too: refused the same */
    get(&c, &r, "/api/nothing", NULL);
    expect_429(&r, 60, "a missing route past the limit");
    /* the probes are never limited, nor marked */
    const char *probes[] = {"/healthz", "/readyz"};
    for (size_t i = 0; i < 2; i++) {
        get(&c, &r, probes[i], NULL);
        EXPECT_STATUS(r, 200);
        CHECK_MSG(e2e_header(&r, "RateLimit") == NULL, "%s has RateLimit", probes[i]);
    }
    e2e_resp_free(&r);
    e2e_client_release(&c);
    CHECK_INT(e2e_odmd_stop(&o, 20000), 0);
}

/* 2/s with a burst of 1: a token every 500 ms. Two requests at once: the second is refused
 * (unless the run was so slow that 400 ms passed between them: then that check is skipped);
 * after the Retry-After the bucket answers again. */
static void test_refill(void)
{
    e2e_odmd_t o;
    if (!start(&o, "2/s", "1", "4096", NULL))
        return;
    e2e_client_t c;
    e2e_client_init(&c, o.url);
    e2e_resp_t r = {0};
    get(&c, &r, "/api/notes", NULL); /* a warm connection */
    int refused = 0;
    for (int attempt = 0; attempt < 5 && refused == 0; attempt++) {
        e2e_sleep_ms(600); /* full again */
        int64_t t0 = e2e_now_ms();
        get(&c, &r, "/api/notes", NULL);
        EXPECT_STATUS(r, 200);
        get(&c, &r, "/api/notes", NULL);
        if (e2e_now_ms() - t0 < 400) {
            expect_429(&r, 1, "the second request within 400 ms at 2/s, burst 1");
            refused = 1;
        }
    }
    CHECK_MSG(refused, "no two requests went out within 400 ms in 5 attempts");
    e2e_sleep_ms(1000 + 100); /* Retry-After (1) and a margin */
    get(&c, &r, "/api/notes", NULL);
    EXPECT_STATUS(r, 200);
    e2e_resp_free(&r);
    e2e_client_release(&c);
    CHECK_INT(e2e_odmd_stop(&o, 20000), 0);
}

typedef struct {
    long status;
    char ratelimit[128];
} from_resp_t;

static size_t on_field(char *data, size_t size, size_t n, void *arg)
{
    from_resp_t *r = arg;
    size_t len = size * n;
    static const char name[] = "ratelimit:";
    if (len > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0)
        snprintf(r->ratelimit, sizeof r->ratelimit, "%.*s", (int)(len - (sizeof name - 1)),
                 data + sizeof name - 1);
    return len;
}

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
    (void)data;
    (void)arg;
    return size * n;
}

/* A GET from another loopback address (another client to odmd), with `auth` or none. */
static from_resp_t get_from(const char *address, const char *url, const char *path,
                            const char *auth)
{
    from_resp_t r = {0};
    CURL *h = curl_easy_init();
    struct curl_slist *list = auth ? curl_slist_append(NULL, F("Authorization: %s", auth)) : NULL;
    curl_easy_setopt(h, CURLOPT_URL, F("%s%s", url, path));
    curl_easy_setopt(h, CURLOPT_INTERFACE, F("host!%s", address));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_field);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(list);
    curl_easy_cleanup(h);
    return r;
}

/* Credentials and addresses have buckets apart; wrong credentials spend their address's. */
static void test_key_and_address(void)
{
    e2e_odmd_t o;
    if (!start(&o, "1/m", "3", "4096", KEY))
        return;
    e2e_client_t c;
    e2e_client_init(&c, o.url);
    e2e_resp_t r = {0};
    /* the address without credentials: three answers (401: the key is required), then 429 */
    for (int i = 0; i < 3; i++) {
        get(&c, &r, "/api/notes", NULL);
        EXPECT_PROBLEM(r, 401);
    }
    get(&c, &r, "/api/notes", NULL);
    expect_429(&r, 60, "the fourth request without credentials");
    /* the key from the same address has a bucket of its own */
    for (int i = 0; i < 3; i++) {
        get(&c, &r, "/api/notes", "Bearer " KEY);
        EXPECT_STATUS(r, 200);
    }
    get(&c, &r, "/api/notes", "Bearer " KEY);
    expect_429(&r, 60, "the key's fourth request");
    /* ... which follows the key to another address */
    from_resp_t f = get_from("127.0.0.2", o.url, "/api/notes", "Bearer " KEY);
    CHECK_INT(f.status, 429);
    /* while 127.0.0.2 without credentials has its own bucket, full */
    f = get_from("127.0.0.2", o.url, "/api/notes", NULL);
    CHECK_INT(f.status, 401);
    CHECK_MSG(param(f.ratelimit, "r") == 2, "RateLimit '%s' from 127.0.0.2", f.ratelimit);

    /* wrong credentials, a new one each time: each its own bucket, but every 401 also costs
     * the address; three, and the address is refused whatever it presents, the key too */
    for (int i = 0; i < 3; i++) {
        f = get_from("127.0.0.3", o.url, "/api/notes", F("Bearer guess-%d", i));
        CHECK_INT(f.status, 401);
    }
    f = get_from("127.0.0.3", o.url, "/api/notes", "Bearer guess-3");
    CHECK_INT(f.status, 429);
    /* other addresses are not concerned */
    f = get_from("127.0.0.4", o.url, "/api/notes", "Bearer guess-4");
    CHECK_INT(f.status, 401);
    e2e_resp_free(&r);
    e2e_client_release(&c);
    CHECK_INT(e2e_odmd_stop(&o, 20000), 0);
}

/* --rate-table 16: one client refused, fifteen others (other loopback addresses) seen after it,
 * it is still refused (the table holds sixteen); sixteen more, and it has been forgotten: a
 * fresh bucket. */
static void test_eviction(void)
{
    e2e_odmd_t o;
    if (!start(&o, "1/m", "1", "16", NULL))
        return;
    e2e_client_t c;
    e2e_client_init(&c, o.url);
    e2e_resp_t r = {0};
    get(&c, &r, "/api/notes", NULL);
    EXPECT_STATUS(r, 200);
    get(&c, &r, "/api/notes", NULL);
    expect_429(&r, 60, "the second request at 1/m, burst 1");
    for (int i = 0; i < 15; i++)
        CHECK_INT(get_from(F("127.0.1.%d", i + 1), o.url, "/api/notes", NULL).status, 200);
    get(&c, &r, "/api/notes", NULL);
    expect_429(&r, 60, "with sixteen clients in a table of sixteen");
    for (int i = 15; i < 31; i++)
        CHECK_INT(get_from(F("127.0.1.%d", i + 1), o.url, "/api/notes", NULL).status, 200);
    get(&c, &r, "/api/notes", NULL);
    EXPECT_STATUS(r, 200); /* forgotten: a full bucket again */
    e2e_resp_free(&r);
    e2e_client_release(&c);
    CHECK_INT(e2e_odmd_stop(&o, 20000), 0);
}

/* Without --api-key nothing checks an Authorization value: each new one would be a new bucket,
 * so every request counts against its address. */
static void test_unchecked_credentials(void)
{
    e2e_odmd_t o;
    if (!start(&o, "1/m", "2", "4096", NULL))
        return;
    e2e_client_t c;
    e2e_client_init(&c, o.url);
    e2e_resp_t r = {0};
    get(&c, &r, "/api/notes", "Bearer a");
    EXPECT_STATUS(r, 200);
    get(&c, &r, "/api/notes", "Bearer b");
    EXPECT_STATUS(r, 200);
    get(&c, &r, "/api/notes", "Bearer c");
    expect_429(&r, 60, "a third made-up credential from one address without --api-key");
    get(&c, &r, "/api/notes", NULL);
    expect_429(&r, 60, "the same address without credentials");
    e2e_resp_free(&r);
    e2e_client_release(&c);
    CHECK_INT(e2e_odmd_stop(&o, 20000), 0);
}

/* The hash of key as `odmd key-hash` prints it, for a keys file. Static storage. */
static const char *hash_of(const char *key)
{
    static char h[80];
    const char *dir = e2e_temp_dir("keys");
    e2e_write_file(dir, "key.txt", key);
    FILE *p = popen(F("%s key-hash < %s/key.txt", e2e_odmd_bin(), dir), "r");
    h[0] = '\0';
    if (p != NULL) {
        if (fgets(h, sizeof h, p) == NULL)
            h[0] = '\0';
        pclose(p);
    }
    h[strcspn(h, "\n")] = '\0';
    CHECK_MSG(strlen(h) == 64, "odmd key-hash printed '%s'", h);
    return h;
}

/* Keys from a file (--keys, no --api-key) name clients as --api-key does. */
static void test_keys_file(void)
{
    const char *dir = e2e_temp_dir("keysfile");
    CHECK(e2e_write_file(dir, "keys.json",
                         F("{\"keys\": [{\"name\": \"app\", \"sha256\": \"%s\", "
                           "\"scopes\": [\"read:*\"]}]}",
                           hash_of("file-key-1"))));
    e2e_odmd_t o;
    if (!start(&o, "1/m", "2", "4096", F("--keys=%s/keys.json", dir)))
        return;
    e2e_client_t c;
    e2e_client_init(&c, o.url);
    e2e_resp_t r = {0};
    for (int i = 0; i < 2; i++) {
        get(&c, &r, "/api/notes", NULL);
        EXPECT_PROBLEM(r, 401);
    }
    get(&c, &r, "/api/notes", NULL);
    expect_429(&r, 60, "the third request without credentials");
    for (int i = 0; i < 2; i++) { /* the key's own bucket */
        get(&c, &r, "/api/notes", "Bearer file-key-1");
        EXPECT_STATUS(r, 200);
    }
    get(&c, &r, "/api/notes", "Bearer file-key-1");
    expect_429(&r, 60, "the key's third request");
    e2e_resp_free(&r);
    e2e_client_release(&c);
    CHECK_INT(e2e_odmd_stop(&o, 20000), 0);
}

int main(void)
{
    e2e_init("ratelimit");
    db = e2e_db_start();
    if (db == NULL) {
        CHECK_MSG(false, "the database did not start");
        return e2e_finish(check_done("e2e_ratelimit"));
    }
    test_burst();
    test_refill();
    test_key_and_address();
    test_eviction();
    test_unchecked_credentials();
    test_keys_file();
    e2e_db_stop(db);
    return e2e_finish(check_done("e2e_ratelimit"));
}
