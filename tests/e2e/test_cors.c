/* End-to-end: --cors-origin. Preflights answered without credentials for an allowed origin,
 * with the route's methods, the request fields odmd reads and a bounded Max-Age; every answer
 * to an allowed origin (200, 201, 401, 404, 413, 422, 429, 503) carries
 * Access-Control-Allow-Origin and Access-Control-Expose-Headers; another origin gets no CORS
 * field, and its request is answered all the same; "*" never comes with credentials. Then
 * Node's fetch as a page would. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>

#include "check.h"
#include "harness.h"
#include "support/rawhttp.h"

#define KEY "cors-test-key"
#define ORIGIN "https://app.example"
#define ORIGIN2 "http://localhost:5173"
#define OTHER "https://evil.example"

static e2e_env_t env;
#define C (&env.c)

/* True when the comma-separated list `list` holds `item` (case-insensitive). */
static bool list_has(const char *list, const char *item)
{
    size_t n = strlen(item);
    for (const char *p = list; p != NULL && *p != '\0';) {
        p += strspn(p, " ,");
        size_t len = strcspn(p, ",");
        while (len > 0 && p[len - 1] == ' ')
            len--;
        if (len == n && strncasecmp(p, item, n) == 0)
            return true;
        p += strcspn(p, ",");
    }
    return false;
}

/* What every answer to an allowed origin must carry. */
static void expect_cors(const e2e_resp_t *r, const char *origin, const char *what)
{
    const char *acao = e2e_header(r, "Access-Control-Allow-Origin");
    CHECK_MSG(acao && strcmp(acao, origin) == 0, "%s: Access-Control-Allow-Origin '%s'", what,
              acao ? acao : "(none)");
    const char *expose = e2e_header(r, "Access-Control-Expose-Headers");
    static const char *const wanted[] = {"ETag",        "Location",  "X-Total-Count",   "Link",
                                         "Retry-After", "RateLimit", "RateLimit-Policy"};
    for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++)
        CHECK_MSG(list_has(expose, wanted[i]), "%s: Access-Control-Expose-Headers '%s' lacks %s",
                  what, expose ? expose : "(none)", wanted[i]);
    CHECK_MSG(e2e_header(r, "Access-Control-Allow-Credentials") == NULL,
              "%s: Access-Control-Allow-Credentials sent", what);
}

static void expect_no_cors(const e2e_resp_t *r, const char *what)
{
    static const char *const fields[] = {
        "Access-Control-Allow-Origin",  "Access-Control-Expose-Headers",
        "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
        "Access-Control-Max-Age",       "Access-Control-Allow-Credentials"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        CHECK_MSG(e2e_header(r, fields[i]) == NULL, "%s: %s is '%s'", what, fields[i],
                  e2e_header(r, fields[i]));
}

/* OPTIONS as a browser sends it before a cross-origin request: no credentials. */
static void preflight(e2e_resp_t *r, const char *path, const char *origin, const char *method,
                      const char *req_headers)
{
    const char *headers[] = {
        F("Origin: %s", origin), F("Access-Control-Request-Method: %s", method),
        req_headers ? F("Access-Control-Request-Headers: %s", req_headers) : NULL, NULL};
    e2e_request(C, r, "OPTIONS", path, headers, NULL, 0);
}

static void expect_preflight_ok(const e2e_resp_t *r, const char *origin, const char *method,
                                const char *what)
{
    EXPECT_STATUS(*r, 204);
    EXPECT_HEADER(*r, "Access-Control-Allow-Origin", origin);
    const char *methods = e2e_header(r, "Access-Control-Allow-Methods");
    CHECK_MSG(list_has(methods, method), "%s: Access-Control-Allow-Methods '%s' lacks %s", what,
              methods ? methods : "(none)", method);
    const char *hdrs = e2e_header(r, "Access-Control-Allow-Headers");
    static const char *const wanted[] = {"Authorization", "Content-Type", "If-Match",
                                         "If-None-Match", "Idempotency-Key"};
    for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++)
        CHECK_MSG(list_has(hdrs, wanted[i]), "%s: Access-Control-Allow-Headers '%s' lacks %s", what,
                  hdrs ? hdrs : "(none)", wanted[i]);
    CHECK_MSG(hdrs == NULL || strchr(hdrs, '*') == NULL, "%s: a wildcard in '%s'", what, hdrs);
    const char *age = e2e_header(r, "Access-Control-Max-Age");
    CHECK_MSG(age && atoi(age) > 0 && atoi(age) <= 7200, "%s: Access-Control-Max-Age '%s'", what,
              age ? age : "(none)");
    CHECK_MSG(e2e_header(r, "Access-Control-Allow-Credentials") == NULL,
              "%s: Access-Control-Allow-Credentials sent", what);
}

static void test_preflight(void)
{
    e2e_resp_t r = {0};
    preflight(&r, "/api/users", ORIGIN, "POST", "authorization, content-type");
    expect_preflight_ok(&r, ORIGIN, "POST", "preflight of POST /api/users");
    EXPECT_HEADER(r, "Vary", "Origin");
    preflight(&r, "/api/users/0123456789abcdef01234567", ORIGIN2, "PATCH", "if-match");
    expect_preflight_ok(&r, ORIGIN2, "PATCH", "preflight of PATCH /api/users/ID");
    CHECK_MSG(!list_has(e2e_header(&r, "Access-Control-Allow-Methods"), "POST"),
              "an item's methods include POST: '%s'",
              e2e_header(&r, "Access-Control-Allow-Methods"));
    /* what Atlas Data API style clients send: harmless, the list is answered */
    preflight(&r, "/api/notes", ORIGIN, "GET", "*");
    expect_preflight_ok(&r, ORIGIN, "GET", "preflight with Access-Control-Request-Headers: *");
    preflight(&r, "/api/notes", ORIGIN, "DELETE", NULL);
    expect_preflight_ok(&r, ORIGIN, "DELETE", "preflight without Access-Control-Request-Headers");

    /* another origin: no CORS field; its preflight is an OPTIONS like any other (the key) */
    preflight(&r, "/api/users", OTHER, "POST", "authorization");
    EXPECT_PROBLEM(r, 401);
    expect_no_cors(&r, "preflight from another origin");
    /* an origin differing only by scheme or port is another origin */
    preflight(&r, "/api/users", "http://app.example", "POST", NULL);
    expect_no_cors(&r, "preflight from http://app.example");
    preflight(&r, "/api/users", "http://localhost:5174", "POST", NULL);
    expect_no_cors(&r, "preflight from http://localhost:5174");

    /* no such route: answered 404 (an actual answer), with no methods allowed */
    preflight(&r, "/api/nothing", ORIGIN, "GET", NULL);
    EXPECT_PROBLEM(r, 404);
    CHECK(e2e_header(&r, "Access-Control-Allow-Methods") == NULL);
    expect_cors(&r, ORIGIN, "preflight of a missing route");

    /* an OPTIONS that is not a preflight still needs the key */
    const char *plain[] = {"Origin: " ORIGIN, NULL};
    e2e_request(C, &r, "OPTIONS", "/api/users", plain, NULL, 0);
    EXPECT_PROBLEM(r, 401);
    expect_cors(&r, ORIGIN, "OPTIONS without Access-Control-Request-Method");
    e2e_resp_free(&r);
}

static void test_actual_answers(void)
{
    e2e_resp_t r = {0};
    const char *from_origin[] = {"Origin: " ORIGIN, "Content-Type: application/json", NULL};
    env.c.api_key = KEY;

    e2e_request(C, &r, "POST", "/api/notes", from_origin, Q("{'title':'cors'}"), (size_t)-1);
    EXPECT_STATUS(r, 201);
    CHECK(e2e_header(&r, "Location") != NULL);
    expect_cors(&r, ORIGIN, "201");
    EXPECT_HEADER(r, "Vary", "Origin");

    e2e_request(C, &r, "GET", "/api/notes?count=true", from_origin, NULL, 0);
    EXPECT_STATUS(r, 200);
    expect_cors(&r, ORIGIN, "200");

    e2e_request(C, &r, "GET", "/api/nothing", from_origin, NULL, 0);
    EXPECT_PROBLEM(r, 404);
    expect_cors(&r, ORIGIN, "404");

    e2e_request(C, &r, "POST", "/api/users", from_origin, Q("{'email':'not an email'}"),
                (size_t)-1);
    EXPECT_PROBLEM(r, 422);
    expect_cors(&r, ORIGIN, "422");

    env.c.api_key = NULL;
    e2e_request(C, &r, "GET", "/api/notes", from_origin, NULL, 0);
    EXPECT_PROBLEM(r, 401);
    expect_cors(&r, ORIGIN, "401");
    env.c.api_key = KEY;

    /* another origin, or none: answered as usual, without CORS fields */
    const char *from_other[] = {"Origin: " OTHER, NULL};
    e2e_request(C, &r, "GET", "/api/notes", from_other, NULL, 0);
    EXPECT_STATUS(r, 200);
    expect_no_cors(&r, "GET from another origin");
    EXPECT_HEADER(r, "Vary", "Origin");
    e2e_get(C, &r, "/api/notes");
    EXPECT_STATUS(r, 200);
    expect_no_cors(&r, "GET without Origin");
    const char *null_origin[] = {"Origin: null", NULL};
    e2e_request(C, &r, "GET", "/api/notes", null_origin, NULL, 0);
    expect_no_cors(&r, "GET from Origin: null");
    env.c.api_key = NULL;
    e2e_resp_free(&r);
}

/* "*": any origin, the literal "*" answered, never credentials, no Vary (one answer for all). */
static void test_any_origin(void)
{
    e2e_odmd_t o;
    e2e_odmd_opts_t opts = {.mongo_uri = e2e_db_uri(env.db),
                            .schemas = e2e_schemas_with_extras(),
                            .args = {"--cors-origin", "*", "--api-key", KEY, NULL}};
    if (!e2e_odmd_start(&o, &opts)) {
        CHECK_MSG(false, "odmd did not start with --cors-origin '*'");
        return;
    }
    e2e_client_t c;
    e2e_client_init(&c, o.url);
    e2e_resp_t r = {0};
    const char *pre[] = {"Origin: https://anywhere.example", "Access-Control-Request-Method: PUT",
                         "Access-Control-Request-Headers: *", NULL};
    e2e_request(&c, &r, "OPTIONS", "/api/notes/0123456789abcdef01234567", pre, NULL, 0);
    expect_preflight_ok(&r, "*", "PUT", "preflight with '*'");
    CHECK(e2e_header(&r, "Vary") == NULL);
    c.api_key = KEY;
    const char *get[] = {"Origin: https://anywhere.example", NULL};
    e2e_request(&c, &r, "GET", "/api/notes", get, NULL, 0);
    EXPECT_STATUS(r, 200);
    expect_cors(&r, "*", "GET with '*'");
    e2e_resp_free(&r);
    e2e_client_release(&c);
    CHECK_INT(e2e_odmd_stop(&o, 20000), 0);
}

/* A body refused by size carries them too: the 413 of a declared length above --max-body, queued
 * before the body is read, and the 413 of a chunked body past its bound, which is written
 * straight to the socket (linger.c). */
static void test_too_large(void)
{
    static const char head[] =
        "POST /api/notes HTTP/1.1\r\nHost: odmd\r\nOrigin: " ORIGIN "\r\nAuthorization: Bearer " KEY
        "\r\nContent-Type: application/json\r\n";
    static const char *const framing[] = {"Content-Length: 4000000\r\n\r\n",
                                          "Transfer-Encoding: chunked\r\n\r\n"};
    static char piece[65536 + 16];
    for (size_t i = 0; i < 2; i++) {
        raw_answer_t *a = calloc(1, sizeof *a);
        int fd = raw_connect((unsigned)env.odmd.port);
        bool ok = fd >= 0 && raw_send_all(fd, head, strlen(head)) &&
                  raw_send_all(fd, framing[i], strlen(framing[i]));
        /* 4 MB, past the chunked bound of 2 x --max-body + 64 KiB (a refused send ends it) */
        for (int n = 0; ok && n < 61; n++) {
            size_t len = 65536;
            if (i == 1) {
                int k = snprintf(piece, sizeof piece, "10000\r\n");
                memset(piece + k, ' ', 65536);
                memcpy(piece + k + 65536, "\r\n", 2);
                len = (size_t)k + 65536 + 2;
            } else {
                memset(piece, ' ', 65536);
            }
            ok = raw_send_all(fd, piece, len);
        }
        if (fd >= 0) {
            raw_read_answer(fd, a, 3000);
            close(fd);
        }
        const char *what = i == 0 ? "413 of a declared length" : "413 of a chunked body";
        CHECK_MSG(strncmp(a->data, "HTTP/1.1 413", 12) == 0, "%s: %.200s", what, a->data);
        CHECK_MSG(strstr(a->data, "\r\nAccess-Control-Allow-Origin: " ORIGIN "\r\n") != NULL &&
                      strstr(a->data, "\r\nAccess-Control-Expose-Headers: ") != NULL,
                  "%s without the CORS fields: %.600s", what, a->data);
        free(a);
    }
}

/* The 429 of a rate limit, answered before routing, carries them too: a page can read its
 * Retry-After and RateLimit fields. */
static void test_rate_limited(void)
{
    e2e_odmd_t o;
    e2e_odmd_opts_t opts = {
        .mongo_uri = e2e_db_uri(env.db),
        .schemas = e2e_schemas_with_extras(),
        .args = {"--cors-origin", ORIGIN, "--rate-limit", "1/m", "--rate-burst", "1", NULL}};
    if (!e2e_odmd_start(&o, &opts)) {
        CHECK_MSG(false, "odmd did not start with --rate-limit 1/m");
        return;
    }
    e2e_client_t c;
    e2e_client_init(&c, o.url);
    e2e_resp_t r = {0};
    const char *from_origin[] = {"Origin: " ORIGIN, NULL};
    e2e_request(&c, &r, "GET", "/api/notes", from_origin, NULL, 0);
    EXPECT_STATUS(r, 200);
    expect_cors(&r, ORIGIN, "200 within the rate limit");
    CHECK(e2e_header(&r, "RateLimit") != NULL);
    e2e_request(&c, &r, "GET", "/api/notes", from_origin, NULL, 0);
    EXPECT_PROBLEM(r, 429);
    expect_cors(&r, ORIGIN, "429");
    CHECK(e2e_header(&r, "Retry-After") != NULL && e2e_header(&r, "RateLimit") != NULL);
    e2e_resp_free(&r);
    e2e_client_release(&c);
    CHECK_INT(e2e_odmd_stop(&o, 20000), 0);
}

typedef struct {
    const char *url;
    char path[64];
    long status;
} blocked_t;

static void *blocked_main(void *arg)
{
    blocked_t *b = arg;
    e2e_client_t c;
    e2e_client_init(&c, b->url);
    e2e_resp_t r = {0};
    e2e_get(&c, &r, b->path);
    b->status = r.status;
    e2e_resp_free(&r);
    e2e_client_release(&c);
    return NULL;
}

/* A 503 from a full queue (one worker held by a stopped database, one request waiting) is
 * answered on the polling thread, CORS fields included. */
static void test_full_queue(void)
{
    e2e_odmd_t o;
    e2e_odmd_opts_t opts = {.mongo_uri = e2e_db_uri(env.db),
                            .schemas = e2e_schemas_with_extras(),
                            .args = {"--cors-origin", ORIGIN, "--workers", "1", "--queue-max", "1",
                                     "--request-timeout", "3000", NULL}};
    if (!e2e_odmd_start(&o, &opts)) {
        CHECK_MSG(false, "odmd did not start with --workers 1 --queue-max 1");
        return;
    }
    CHECK(e2e_wait_status(o.url, "/readyz", 200, 10000));
    CHECK(e2e_db_pause(env.db));
    enum { N = 2 };
    blocked_t blocked[N];
    pthread_t threads[N];
    for (int i = 0; i < N; i++) {
        blocked[i] = (blocked_t){.url = o.url};
        snprintf(blocked[i].path, sizeof blocked[i].path, "/api/users?limit=%d", i + 1);
        pthread_create(&threads[i], NULL, blocked_main, &blocked[i]);
        e2e_sleep_ms(200);
    }
    e2e_client_t c;
    e2e_client_init(&c, o.url);
    e2e_resp_t r = {0};
    const char *from_origin[] = {"Origin: " ORIGIN, NULL};
    e2e_request(&c, &r, "GET", "/api/users?limit=9", from_origin, NULL, 0);
    EXPECT_PROBLEM(r, 503);
    CHECK(e2e_header(&r, "Retry-After") != NULL);
    expect_cors(&r, ORIGIN, "503 of a full queue");
    for (int i = 0; i < N; i++)
        pthread_join(threads[i], NULL);
    CHECK(e2e_db_resume(env.db));
    e2e_resp_free(&r);
    e2e_client_release(&c);
    CHECK_INT(e2e_odmd_stop(&o, 20000), 0);
}

/* Node's fetch (undici), a client odmd's tests did not write (clients/cors_fetch.mjs asserts). */
static void test_node_fetch(void)
{
    if (system("node --version >/dev/null 2>&1") != 0) {
        CHECK_MSG(getenv("CI") == NULL, "node is missing (CI is set)");
        printf("test_node_fetch: skipped: node is not installed\n");
        return;
    }
    const char *dir = e2e_temp_dir("node");
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "timeout 60 node '%s/tests/e2e/clients/cors_fetch.mjs' '%s' '%s' '%s' >'%s/out.txt' "
             "2>&1",
             e2e_source_dir(), env.odmd.url, ORIGIN2, KEY, dir);
    int status = system(cmd);
    char *out = e2e_read_file(F("%s/out.txt", dir));
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "node client: status %d: %s", status,
              out ? out : "(no output)");
    CHECK_MSG(out && strstr(out, "cors ok") != NULL, "node client: %s", out ? out : "");
    free(out);
}

int main(void)
{
    e2e_init("cors");
    const char *args[] = {"--cors-origin", ORIGIN ", " ORIGIN2, "--api-key", KEY, NULL};
    if (!e2e_env_up(&env, args)) {
        CHECK_MSG(false, "environment did not start");
        e2e_env_down(&env);
        return e2e_finish(check_done("e2e_cors"));
    }
    test_preflight();
    test_actual_answers();
    test_any_origin();
    test_full_queue();
    test_too_large();
    test_rate_limited();
    test_node_fetch();
    CHECK_INT(e2e_env_down(&env), 0);
    return e2e_finish(check_done("e2e_cors"));
}
