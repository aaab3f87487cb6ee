/* End-to-end: --api-key (401), --max-body (413 for a declared length, a counted body and a
 * chunked one), and the precedence of error statuses: the first of 404/405, 401, 413, 415,
 * 400, 422 wins when a request earns several. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"

#define KEY "s3kr1t-key"
#define MAX_BODY 8192

static e2e_env_t env;
#define DBURI (e2e_db_uri(env.db))
#define DBNAME (env.odmd.db_name)

static e2e_client_t anon; /* no Authorization */
static e2e_client_t authed;

/* A JSON body of exactly `size` bytes: {"title":"aaa..."} (new, caller frees). */
static char *title_body(size_t size)
{
    char *b = malloc(size + 1);
    memcpy(b, "{\"title\":\"", 10);
    memset(b + 10, 'a', size - 12);
    memcpy(b + size - 2, "\"}", 3);
    return b;
}

static void test_api_key(void)
{
    e2e_resp_t r = {0};
    e2e_get(&anon, &r, "/api/users");
    EXPECT_PROBLEM(r, 401);
    const char *wrong[] = {"Authorization: Bearer wrong",
                           "Authorization: Bearer " KEY "x",
                           "Authorization: Bearer s3kr1t-ke",
                           "Authorization: Basic " KEY,
                           "Authorization: " KEY,
                           "Authorization: Bearer",
                           "Authorization: Bearer  "};
    for (size_t i = 0; i < sizeof wrong / sizeof *wrong; i++) {
        const char *headers[] = {wrong[i], NULL};
        e2e_request(&anon, &r, "GET", "/api/users", headers, NULL, 0);
        CHECK_MSG(e2e_is_problem(&r, 401), "with '%s'", wrong[i]);
    }
    e2e_post(&anon, &r, "/api/users", Q("{'email':'k@example.com','name':'K'}"));
    EXPECT_PROBLEM(r, 401);
    e2e_delete(&anon, &r, "/api/users/000000000000000000000000", NULL);
    EXPECT_PROBLEM(r, 401);
    e2e_get(&anon, &r, "/api/users"); /* the connection survives a 401 */
    CHECK_INT(r.num_connects, 0);

    e2e_get(&authed, &r, "/api/users");
    EXPECT_STATUS(r, 200);
    e2e_post(&authed, &r, "/api/users", Q("{'email':'k@example.com','name':'K'}"));
    EXPECT_STATUS(r, 201);
    CHECK_INT(e2e_mongo_count(DBURI, DBNAME, "users"), 1);

    /* Health endpoints need no key. */
    e2e_get(&anon, &r, "/healthz");
    EXPECT_STATUS(r, 200);
    e2e_get(&anon, &r, "/readyz");
    EXPECT_STATUS(r, 200);
    e2e_resp_free(&r);
}

static void test_body_limits(void)
{
    e2e_resp_t r = {0};
    int64_t before = e2e_mongo_count(DBURI, DBNAME, "e2e_notes");
    char *at_cap = title_body(MAX_BODY);
    e2e_post(&authed, &r, "/api/notes", at_cap);
    EXPECT_STATUS(r, 201);
    free(at_cap);

    char *over = title_body(MAX_BODY + 1);
    e2e_post(&authed, &r, "/api/notes", over);
    EXPECT_PROBLEM(r, 413);
    free(over);

    /* A declared Content-Length far above the cap, sent with Expect: 100-continue: odmd may
     * answer at once, without reading the body. */
    size_t big = 10u << 20;
    char *huge = title_body(big);
    const char *expect[] = {"Content-Type: application/json", "Expect: 100-continue", NULL};
    e2e_request(&authed, &r, "POST", "/api/notes", expect, huge, big);
    EXPECT_STATUS(r, 413);
    /* The same without Expect: the body arrives anyway, is read and discarded (graceful
     * close), and the 413 reaches the client. */
    e2e_post(&authed, &r, "/api/notes", huge);
    EXPECT_PROBLEM(r, 413);
    free(huge);

    /* Chunked: counted as it arrives. */
    e2e_request_chunked(&authed, &r, "POST", "/api/notes", "application/json", 1000, 100);
    EXPECT_STATUS(r, 201);
    e2e_request_chunked(&authed, &r, "POST", "/api/notes", "application/json", MAX_BODY * 4, 1024);
    EXPECT_PROBLEM(r, 413);
    e2e_request_chunked(&authed, &r, "POST", "/api/notes", "application/json", 64u << 20, 65536);
    /* past the drain bound the 413 is written at once and the socket closed: curl, which reads
     * while it sends, still has it */
    CHECK_MSG(r.status == 413, "chunked body of 64 MiB: status %ld, curl %d (%lld ms)", r.status,
              (int)r.code, (long long)r.elapsed_ms);

    CHECK_INT(e2e_mongo_count(DBURI, DBNAME, "e2e_notes"), before + 2);
    e2e_get(&authed, &r, "/api/notes?count=true");
    EXPECT_STATUS(r, 200); /* still serving */
    e2e_resp_free(&r);
}

typedef struct {
    const char *what;
    e2e_client_t *client;
    const char *method, *path, *content_type;
    const char *body; /* NULL: none; "BIG": over the cap, invalid JSON; "CHUNKED": the same
                         size, chunked (no declared length) */
    long status;
} precedence_case_t;

static void test_precedence(void)
{
    char *big = malloc(MAX_BODY * 2 + 1);
    memset(big, '{', MAX_BODY * 2); /* over the cap and not JSON */
    big[MAX_BODY * 2] = '\0';
    const char *bad_json = "{\"email\": ";
    const char *invalid = "{\"email\":\"nope\",\"zzz\":1}";        /* 422 only */
    const char *dollar_invalid = "{\"$set\":{\"a\":1},\"zzz\":1}"; /* 400 and 422 */
    const char *id = "/api/users/000000000000000000000000";
    precedence_case_t cases[] = {
        {"unknown model beats everything", &anon, "POST", "/api/nope", "text/plain", "BIG", 404},
        {"unknown route beats 401", &anon, "GET", "/api/users/x/y", NULL, NULL, 404},
        {"405 beats 401, 413, 415", &anon, "PUT", "/api/users", "text/plain", "BIG", 405},
        {"405 beats 401 (PUT on a collection)", &anon, "PUT", "/api/users", "text/plain", bad_json,
         405},
        {"401 beats 413, 415, 400", &anon, "POST", "/api/users", "text/plain", "BIG", 401},
        {"401 beats a malformed id", &anon, "GET", "/api/users/nothex", NULL, NULL, 401},
        {"401 beats a bad query", &anon, "GET", "/api/users?limit=0", NULL, NULL, 401},
        {"401 beats 422", &anon, "POST", "/api/users", "application/json", invalid, 401},
        {"unknown model beats a chunked 413", &anon, "POST", "/api/nope", "text/plain", "CHUNKED",
         404},
        {"405 beats a chunked 413", &anon, "PUT", "/api/users", "text/plain", "CHUNKED", 405},
        {"401 beats a chunked 413", &anon, "POST", "/api/users", "text/plain", "CHUNKED", 401},
        {"chunked 413 beats 415 and 400", &authed, "POST", "/api/users", "text/plain", "CHUNKED",
         413},
        {"413 beats 415 and 400", &authed, "POST", "/api/users", "text/plain", "BIG", 413},
        {"413 beats a missing type", &authed, "POST", "/api/users", NULL, "BIG", 413},
        {"413 beats a malformed id", &authed, "PUT", "/api/users/nothex", "application/json", "BIG",
         413},
        {"415 beats 400", &authed, "POST", "/api/users", "text/plain", bad_json, 415},
        {"415 beats a malformed id", &authed, "PATCH", "/api/users/nothex", "text/plain", invalid,
         415},
        {"415 beats 422", &authed, "PUT", id, "application/xml", invalid, 415},
        {"400 beats 422", &authed, "POST", "/api/users", "application/json", dollar_invalid, 400},
        {"malformed id beats 422", &authed, "PUT", "/api/users/nothex", "application/json", invalid,
         400},
        {"malformed JSON", &authed, "POST", "/api/users", "application/json", bad_json, 400},
        {"bad query", &authed, "GET", "/api/users?limit=0", NULL, NULL, 400},
        {"422 alone", &authed, "POST", "/api/users", "application/json", invalid, 422},
    };
    int64_t before = e2e_mongo_count(DBURI, DBNAME, "users");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        precedence_case_t *k = &cases[i];
        char ct[128];
        snprintf(ct, sizeof ct, "Content-Type: %s", k->content_type ? k->content_type : "");
        const char *headers[] = {k->content_type ? ct : NULL, NULL};
        const char *body = k->body && strcmp(k->body, "BIG") == 0 ? big : k->body;
        e2e_resp_t r = {0};
        if (k->body && strcmp(k->body, "CHUNKED") == 0)
            e2e_request_chunked(k->client, &r, k->method, k->path, k->content_type, MAX_BODY * 2,
                                1024);
        else
            e2e_request(k->client, &r, k->method, k->path, headers, body, (size_t)-1);
        CHECK_MSG(e2e_is_problem(&r, k->status), "%s: %s %s gave %ld, want %ld", k->what, k->method,
                  k->path, r.status, k->status);
        e2e_resp_free(&r);
    }
    CHECK_INT(e2e_mongo_count(DBURI, DBNAME, "users"), before);
    free(big);
}

int main(void)
{
    e2e_init("limits");
    const char *args[] = {"--api-key", KEY, "--max-body", "8192", NULL};
    if (!e2e_env_up(&env, args)) {
        CHECK_MSG(false, "environment did not start");
        e2e_env_down(&env);
        return e2e_finish(check_done("e2e_limits"));
    }
    e2e_client_init(&anon, env.odmd.url);
    e2e_client_init(&authed, env.odmd.url);
    authed.api_key = KEY;
    test_api_key();
    test_body_limits();
    test_precedence();
    e2e_client_release(&anon);
    e2e_client_release(&authed);
    CHECK_INT(e2e_env_down(&env), 0);
    return e2e_finish(check_done("e2e_limits"));
}
