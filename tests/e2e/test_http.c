/* End-to-end: HTTP behaviour around the API: keep-alive connections reused after every kind of
 * answer, X-Request-Id echoed or generated, one JSON access-log line per request, HEAD,
 * /healthz and /readyz; --max-connections (the oldest idle connection makes room, and with
 * every connection busy a newcomer is refused at once) and --idle-timeout. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "harness.h"

static e2e_env_t env;
#define C (&env.c)

/* r went over the connection the previous request used, and did not announce a close. */
#define EXPECT_REUSED(r)                                                                           \
    do {                                                                                           \
        CHECK_MSG((r).code == CURLE_OK && (r).num_connects == 0,                                   \
                  "%s %s (%ld): a new connection was opened (curl %d, connects %ld)", (r).method,  \
                  (r).path, (r).status, (int)(r).code, (r).num_connects);                          \
        const char *conn_ = e2e_header(&(r), "Connection");                                        \
        CHECK_MSG(!conn_ || strcasecmp(conn_, "close") != 0, "%s %s (%ld): Connection: close",     \
                  (r).method, (r).path, (r).status);                                               \
    } while (0)

static void test_keep_alive(void)
{
    e2e_resp_t r = {0};
    e2e_client_t c;
    e2e_client_init(&c, env.odmd.url);
    e2e_get(&c, &r, "/healthz");
    EXPECT_STATUS(r, 200);
    CHECK_INT(r.num_connects, 1);
    e2e_get(&c, &r, "/healthz");
    EXPECT_STATUS(r, 200);
    EXPECT_REUSED(r);
    e2e_get(&c, &r, "/api/users");
    EXPECT_STATUS(r, 200);
    EXPECT_REUSED(r);
    e2e_post(&c, &r, "/api/users", Q("{'email':'ka@example.com','name':'Keep Alive'}"));
    EXPECT_STATUS(r, 201);
    EXPECT_REUSED(r);
    char path[128], etag[128];
    snprintf(path, sizeof path, "/api/users/%s", e2e_str(&r, "_id") ? e2e_str(&r, "_id") : "-");
    snprintf(etag, sizeof etag, "%s", e2e_header(&r, "ETag") ? e2e_header(&r, "ETag") : "");
    e2e_get(&c, &r, path);
    EXPECT_STATUS(r, 200);
    EXPECT_REUSED(r);
    e2e_head(&c, &r, path);
    EXPECT_STATUS(r, 200);
    EXPECT_REUSED(r);
    const char *inm[] = {F("If-None-Match: %s", etag), NULL};
    e2e_request(&c, &r, "GET", path, inm, NULL, 0);
    EXPECT_STATUS(r, 304);
    EXPECT_REUSED(r);
    e2e_get(&c, &r, "/api/users?count=true&limit=5");
    EXPECT_STATUS(r, 200);
    EXPECT_REUSED(r);

    /* Errors, each followed by a request that must still reuse the connection. */
    struct {
        const char *method, *path, *type, *body;
        long status;
    } errors[] = {
        {"GET", "/api/nope", NULL, NULL, 404},
        {"PUT", "/api/users", NULL, NULL, 405},
        {"POST", "/api/users", "Content-Type: text/plain", "{}", 415},
        {"POST", "/api/users", "Content-Type: application/json", "{\"name\":", 400},
        {"POST", "/api/users", "Content-Type: application/json", "{\"name\":\"\"}", 422},
        {"GET", "/api/users?limit=0", NULL, NULL, 400},
        {"GET", "/api/users/nothex", NULL, NULL, 400},
        {"GET", "/api/users/000000000000000000000000", NULL, NULL, 404},
        {"POST", "/api/users", "Content-Type: application/json",
         "{\"email\":\"ka@example.com\",\"name\":\"Dup\"}", 409},
    };
    size_t n = sizeof errors / sizeof *errors;
    for (size_t i = 0; i < n; i++) {
        const char *headers[] = {errors[i].type, NULL};
        e2e_request(&c, &r, errors[i].method, errors[i].path, headers, errors[i].body, (size_t)-1);
        EXPECT_STATUS(r, errors[i].status);
        EXPECT_REUSED(r);
        e2e_get(&c, &r, "/healthz");
        EXPECT_STATUS(r, 200);
        EXPECT_REUSED(r);
    }
    const char *stale[] = {"Content-Type: application/json", "If-Match: \"stale\"", NULL};
    e2e_request(&c, &r, "PUT", path, stale, Q("{'email':'ka@example.com','name':'X'}"), (size_t)-1);
    EXPECT_STATUS(r, 412);
    EXPECT_REUSED(r);
    e2e_patch(&c, &r, path, Q("{'name':'Kept'}"), NULL);
    EXPECT_STATUS(r, 200);
    EXPECT_REUSED(r);
    e2e_put(&c, &r, path, Q("{'email':'ka@example.com','name':'Put'}"), NULL);
    EXPECT_STATUS(r, 200);
    EXPECT_REUSED(r);
    e2e_get(&c, &r, "/readyz");
    EXPECT_STATUS(r, 200);
    EXPECT_REUSED(r);
    e2e_delete(&c, &r, path, NULL);
    EXPECT_STATUS(r, 204);
    EXPECT_REUSED(r);
    e2e_get(&c, &r, "/healthz");
    EXPECT_REUSED(r);
    e2e_resp_free(&r);
    e2e_client_release(&c);
}

static void test_request_ids_and_access_log(void)
{
    e2e_resp_t r = {0};
    const char *ids[] = {"e2e-req-0001", "e2e-req-0002", "e2e-req-0003", "e2e-req-0004",
                         "e2e \"quoted\" \\ id"};
    const char *paths[] = {"/healthz", "/api/users?limit=3", "/api/nope", "/api/users/nothex",
                           "/healthz"};
    long statuses[] = {200, 200, 404, 400, 200};
    char echoed[5][128];
    for (int i = 0; i < 5; i++) {
        const char *headers[] = {F("X-Request-Id: %s", ids[i]), NULL};
        e2e_request(C, &r, "GET", paths[i], headers, NULL, 0);
        EXPECT_STATUS(r, statuses[i]);
        const char *got = e2e_header(&r, "X-Request-Id");
        snprintf(echoed[i], sizeof echoed[i], "%s", got ? got : "");
        if (i < 4)
            EXPECT_HEADER(r, "X-Request-Id", ids[i]);
        else
            CHECK_MSG(got && *got, "no X-Request-Id for a request id with quotes");
    }
    const char *post_id[] = {"Content-Type: application/json", "X-Request-Id: e2e-req-post", NULL};
    e2e_request(C, &r, "POST", "/api/users", post_id, Q("{'email':'rid@example.com','name':'Rid'}"),
                (size_t)-1);
    EXPECT_STATUS(r, 201);
    EXPECT_HEADER(r, "X-Request-Id", "e2e-req-post");

    /* Longer than 64 characters: not echoed as is (replaced by a generated one). */
    char long_id[100];
    memset(long_id, 'x', 80);
    long_id[80] = '\0';
    const char *too_long[] = {F("X-Request-Id: %s", long_id), NULL};
    e2e_request(C, &r, "GET", "/healthz", too_long, NULL, 0);
    const char *got_long = e2e_header(&r, "X-Request-Id");
    CHECK_MSG(got_long && *got_long && strlen(got_long) <= 64,
              "an 80-character request id came back as '%s'", got_long ? got_long : "(none)");

    /* Generated when absent, and different each time. */
    e2e_get(C, &r, "/api/users?limit=1");
    const char *g1 = e2e_header(&r, "X-Request-Id");
    char first[128];
    snprintf(first, sizeof first, "%s", g1 ? g1 : "");
    CHECK_MSG(first[0] != '\0', "no generated X-Request-Id");
    e2e_get(C, &r, "/api/nope");
    const char *g2 = e2e_header(&r, "X-Request-Id");
    CHECK_MSG(g2 && *g2 && strcmp(g2, first) != 0, "generated ids: '%s' then '%s'", first,
              g2 ? g2 : "");

    /* One access-log line per request: time, method, path, status, duration, request id. */
    e2e_sleep_ms(200);
    json_t *log = e2e_odmd_access_log(&env.odmd);
    for (int i = 0; i < 5; i++) {
        int found = 0;
        size_t k;
        json_t *line;
        json_array_foreach(log, k, line)
        {
            const char *key;
            json_t *v;
            bool has_id = false;
            json_object_foreach(line, key, v)
            {
                if (json_is_string(v) && strcmp(json_string_value(v), echoed[i]) == 0)
                    has_id = true;
            }
            if (!has_id)
                continue;
            found++;
            CHECK_STR(json_string_value(json_object_get(line, "method")), "GET");
            const char *path = json_string_value(json_object_get(line, "path"));
            CHECK_MSG(path && strncmp(path, paths[i], strcspn(paths[i], "?")) == 0,
                      "logged path %s for %s", path ? path : "(none)", paths[i]);
            CHECK_INT(json_integer_value(json_object_get(line, "status")), statuses[i]);
            CHECK_MSG(json_is_string(json_object_get(line, "time")), "no time in the access log");
            bool has_duration = false;
            json_object_foreach(line, key, v)
            {
                if (strncmp(key, "duration", 8) == 0 && json_is_number(v) &&
                    json_number_value(v) >= 0)
                    has_duration = true;
            }
            CHECK_MSG(has_duration, "no duration in the access log line for %s", echoed[i]);
        }
        CHECK_MSG(found == 1, "request id '%s' in %d access-log lines, want 1", echoed[i], found);
    }
    json_decref(log);
    e2e_resp_free(&r);
}

static void test_health(void)
{
    e2e_resp_t r = {0};
    e2e_get(C, &r, "/healthz");
    EXPECT_STATUS(r, 200);
    e2e_head(C, &r, "/healthz");
    EXPECT_STATUS(r, 200);
    e2e_get(C, &r, "/readyz");
    EXPECT_STATUS(r, 200);
    e2e_head(C, &r, "/api/users");
    EXPECT_STATUS(r, 200);
    CHECK_INT(r.body_len, 0);
    e2e_head(C, &r, "/api/nope");
    EXPECT_STATUS(r, 404);
    e2e_resp_free(&r);
}

typedef struct {
    const char *url;
    _Atomic int *sent;
    long status;
} held_t;

static void *held_get(void *arg)
{
    held_t *h = arg;
    e2e_client_t c;
    e2e_client_init(&c, h->url);
    c.timeout_ms = 20000;
    c.sent = h->sent;
    e2e_resp_t r = {0};
    e2e_get(&c, &r, "/api/users?limit=1");
    h->status = r.status;
    e2e_resp_free(&r);
    e2e_client_release(&c);
    return NULL;
}

/* A newcomer at the limit while every connection is busy (requests held in the workers by a
 * stopped database): refused at once, not left waiting. */
static void check_refused_when_all_busy(e2e_odmd_t *o)
{
    CHECK(e2e_db_pause(env.db));
    _Atomic int sent = 0;
    held_t held[3];
    pthread_t threads[3];
    for (int i = 0; i < 3; i++) {
        held[i] = (held_t){.url = o->url, .sent = &sent};
        pthread_create(&threads[i], NULL, held_get, &held[i]);
    }
    int64_t deadline = e2e_now_ms() + 10000;
    while (atomic_load(&sent) < 3 && e2e_now_ms() < deadline)
        e2e_sleep_ms(10);
    e2e_sleep_ms(300); /* read and handed to the workers */
    e2e_client_t late;
    e2e_client_init(&late, o->url);
    late.timeout_ms = 3000;
    e2e_resp_t r = {0};
    e2e_get(&late, &r, "/healthz");
    CHECK_MSG(r.status == 0 && r.code != CURLE_OPERATION_TIMEDOUT && r.elapsed_ms < 1000,
              "a fourth connection with 3 busy ones: status %ld, curl %d after %lld ms; want "
              "refused at once",
              r.status, (int)r.code, (long long)r.elapsed_ms);
    e2e_resp_free(&r);
    e2e_client_release(&late);
    CHECK(e2e_db_resume(env.db));
    for (int i = 0; i < 3; i++) {
        pthread_join(threads[i], NULL);
        CHECK_MSG(held[i].status == 200, "held request %d: status %ld", i, held[i].status);
    }
}

/* --max-connections and --idle-timeout on an odmd of their own. */
static void test_connection_bounds(void)
{
    e2e_odmd_t o;
    e2e_odmd_opts_t opts = {.mongo_uri = e2e_db_uri(env.db),
                            .args = {"--max-connections", "3", "--max-connections-per-client", "4",
                                     "--idle-timeout", "1", "--request-timeout", "8000", NULL}};
    if (!e2e_odmd_start(&o, &opts)) {
        CHECK_MSG(false, "odmd did not start with --max-connections 3 --idle-timeout 1");
        return;
    }
    e2e_sleep_ms(1500); /* the start-up probe's connection is gone */
    e2e_client_t held[4];
    e2e_resp_t r = {0};
    for (int i = 0; i < 3; i++) {
        e2e_client_init(&held[i], o.url);
        e2e_get(&held[i], &r, "/healthz");
        EXPECT_STATUS(r, 200);
    }
    /* At the limit with idle connections: the newcomer is served at once, in the place of the
     * oldest idle connection. */
    e2e_client_init(&held[3], o.url);
    held[3].timeout_ms = 3000;
    e2e_get(&held[3], &r, "/healthz");
    EXPECT_STATUS(r, 200);
    CHECK_MSG(r.elapsed_ms < 1000, "a fourth connection waited %lld ms", (long long)r.elapsed_ms);
    e2e_get(&held[0], &r, "/healthz");
    EXPECT_STATUS(r, 200);
    CHECK_MSG(r.num_connects == 1, "the oldest idle connection was kept at the limit");
    /* Idle connections are closed after --idle-timeout. */
    e2e_sleep_ms(2500);
    e2e_get(&held[3], &r, "/healthz");
    EXPECT_STATUS(r, 200);
    CHECK_MSG(r.num_connects == 1, "an idle connection outlived --idle-timeout 1");
    for (int i = 0; i < 4; i++)
        e2e_client_release(&held[i]);
    e2e_resp_free(&r);
    e2e_sleep_ms(100);
    check_refused_when_all_busy(&o);
    CHECK_INT(e2e_odmd_stop(&o, 20000), 0);
}

int main(void)
{
    e2e_init("http");
    if (!e2e_env_up(&env, NULL)) {
        CHECK_MSG(false, "environment did not start");
        e2e_env_down(&env);
        return e2e_finish(check_done("e2e_http"));
    }
    test_keep_alive();
    test_request_ids_and_access_log();
    test_health();
    test_connection_bounds();
    CHECK_INT(e2e_env_down(&env), 0);
    return e2e_finish(check_done("e2e_http"));
}
