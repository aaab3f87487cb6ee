/* End-to-end: real database faults. A database stopped with SIGSTOP (every worker blocked):
 * /healthz still answers at once and API requests get 503/504 within --request-timeout. A
 * database killed mid-run: 503s, then service again once it is back, without restarting odmd.
 * A database down when odmd starts: odmd starts anyway, /readyz 503, API 503, then indexes
 * are created once the database appears. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"

#define TIMEOUT_MS 3000
#define BLOCKED 10            /* more requests than workers */
#define SLACK_MS 2000         /* noisy machines, sanitizers */
#define HEALTHZ_BOUND_MS 1000 /* well under TIMEOUT_MS */

static e2e_env_t env;
#define C (&env.c)

typedef struct {
    const char *url; /* NULL: env's odmd */
    char path[128];
    long status;
    int code;
    int64_t elapsed_ms;
} blocked_t;

static void *blocked_main(void *arg)
{
    blocked_t *b = arg;
    e2e_client_t c;
    e2e_client_init(&c, b->url ? b->url : env.odmd.url);
    c.timeout_ms = TIMEOUT_MS * 4;
    e2e_resp_t r = {0};
    e2e_get(&c, &r, b->path);
    b->status = r.status;
    b->code = (int)r.code;
    b->elapsed_ms = r.elapsed_ms;
    e2e_resp_free(&r);
    e2e_client_release(&c);
    return NULL;
}

static void test_stopped_database(const char *user_path)
{
    e2e_resp_t r = {0};
    e2e_get(C, &r, user_path);
    EXPECT_STATUS(r, 200);

    CHECK(e2e_db_pause(env.db));
    pthread_t threads[BLOCKED];
    blocked_t blocked[BLOCKED];
    for (int i = 0; i < BLOCKED; i++) {
        memset(&blocked[i], 0, sizeof blocked[i]);
        snprintf(blocked[i].path, sizeof blocked[i].path, "%s",
                 i % 2 ? user_path : "/api/users?count=true");
        pthread_create(&threads[i], NULL, blocked_main, &blocked[i]);
    }
    e2e_sleep_ms(300); /* every worker is now inside a database call */
    e2e_client_t probe;
    e2e_client_init(&probe, env.odmd.url);
    probe.timeout_ms = TIMEOUT_MS * 2;
    for (int i = 0; i < 5; i++) {
        e2e_get(&probe, &r, "/healthz");
        EXPECT_STATUS(r, 200);
        CHECK_MSG(r.elapsed_ms < HEALTHZ_BOUND_MS,
                  "/healthz took %lld ms while the database was stopped", (long long)r.elapsed_ms);
        e2e_sleep_ms(50);
    }
    /* Bad requests need no worker either. */
    e2e_get(&probe, &r, "/api/users?limit=0");
    EXPECT_STATUS(r, 400);
    CHECK_MSG(r.elapsed_ms < HEALTHZ_BOUND_MS, "a 400 took %lld ms", (long long)r.elapsed_ms);

    int n503 = 0, n504 = 0;
    for (int i = 0; i < BLOCKED; i++) {
        pthread_join(threads[i], NULL);
        blocked_t *b = &blocked[i];
        CHECK_MSG(b->status == 503 || b->status == 504,
                  "GET %s with the database stopped: %ld (curl %d) after %lld ms", b->path,
                  b->status, b->code, (long long)b->elapsed_ms);
        CHECK_MSG(b->elapsed_ms <= TIMEOUT_MS + SLACK_MS,
                  "GET %s answered after %lld ms (--request-timeout %d)", b->path,
                  (long long)b->elapsed_ms, TIMEOUT_MS);
        n503 += b->status == 503;
        n504 += b->status == 504;
    }
    printf("database stopped: %d answers 503, %d answers 504\n", n503, n504);

    /* Still stopped: /readyz says so, in time. */
    e2e_get(&probe, &r, "/readyz");
    EXPECT_STATUS(r, 503);
    CHECK_MSG(r.elapsed_ms <= TIMEOUT_MS + SLACK_MS, "/readyz took %lld ms",
              (long long)r.elapsed_ms);
    e2e_post(&probe, &r, "/api/users", Q("{'email':'stopped@example.com','name':'Stopped'}"));
    CHECK_MSG(r.status == 503 || r.status == 504, "POST with the database stopped: %ld", r.status);
    CHECK(e2e_is_problem(&r, r.status));

    CHECK(e2e_db_resume(env.db));
    CHECK_MSG(e2e_wait_status(env.odmd.url, user_path, 200, 15000),
              "GET %s did not answer 200 again after SIGCONT", user_path);
    CHECK(e2e_wait_status(env.odmd.url, "/readyz", 200, 15000));
    e2e_client_release(&probe);
    e2e_resp_free(&r);
}

/* --queue-max: with the one worker blocked and the queue full, more requests get 503 with
 * Retry-After at once. */
static void test_full_queue(void)
{
    e2e_odmd_t o;
    e2e_odmd_opts_t opts = {
        .mongo_uri = e2e_db_uri(env.db),
        .schemas = e2e_schemas_with_extras(),
        .args = {"--workers", "1", "--queue-max", "1", "--request-timeout", "3000", NULL}};
    if (!e2e_odmd_start(&o, &opts)) {
        CHECK_MSG(false, "odmd did not start with --workers 1 --queue-max 1");
        return;
    }
    CHECK(e2e_wait_status(o.url, "/readyz", 200, 10000));
    CHECK(e2e_db_pause(env.db));
    /* One by one, so that the first holds the worker and the second the queue. */
    enum { N = 6 };
    blocked_t blocked[N];
    pthread_t threads[N];
    for (int i = 0; i < N; i++) {
        memset(&blocked[i], 0, sizeof blocked[i]);
        blocked[i].url = o.url;
        snprintf(blocked[i].path, sizeof blocked[i].path, "/api/users?limit=%d", i + 1);
        pthread_create(&threads[i], NULL, blocked_main, &blocked[i]);
        e2e_sleep_ms(100);
    }
    e2e_client_t probe;
    e2e_client_init(&probe, o.url);
    e2e_resp_t r = {0};
    e2e_get(&probe, &r, "/api/users?limit=7");
    EXPECT_PROBLEM(r, 503);
    CHECK_MSG(e2e_header(&r, "Retry-After") != NULL, "no Retry-After on a 503 for a full queue");
    CHECK_MSG(r.elapsed_ms < 1000, "the 503 for a full queue took %lld ms",
              (long long)r.elapsed_ms);
    int fast_503 = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(threads[i], NULL);
        CHECK_MSG(blocked[i].status == 503 || blocked[i].status == 504,
                  "request %d with a full queue: %ld", i, blocked[i].status);
        fast_503 += blocked[i].status == 503 && blocked[i].elapsed_ms < 1000;
    }
    CHECK_MSG(fast_503 >= N - 2, "%d of %d requests got a fast 503 with a full queue", fast_503, N);
    CHECK(e2e_db_resume(env.db));
    e2e_resp_free(&r);
    e2e_client_release(&probe);
    CHECK_INT(e2e_odmd_stop(&o, 20000), 0);
}

/* The reaper: one worker, a stopped database and a dozen requests queued behind each other.
 * The worker cannot get through them within --request-timeout (that would need database calls
 * of 250 ms or less), so the ones left in the queue are answered 504, all within the timeout. */
static void test_reaper(void)
{
    e2e_odmd_t o;
    e2e_odmd_opts_t opts = {.mongo_uri = e2e_db_uri(env.db),
                            .schemas = e2e_schemas_with_extras(),
                            .args = {"--workers", "1", "--request-timeout", "3000", NULL}};
    if (!e2e_odmd_start(&o, &opts)) {
        CHECK_MSG(false, "odmd did not start with --workers 1");
        return;
    }
    CHECK(e2e_wait_status(o.url, "/readyz", 200, 10000));
    CHECK(e2e_db_pause(env.db));
    enum { N = 12 };
    blocked_t blocked[N];
    pthread_t threads[N];
    for (int i = 0; i < N; i++) {
        memset(&blocked[i], 0, sizeof blocked[i]);
        blocked[i].url = o.url;
        snprintf(blocked[i].path, sizeof blocked[i].path, "/api/users?limit=%d", i + 1);
        pthread_create(&threads[i], NULL, blocked_main, &blocked[i]);
    }
    int n504 = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(threads[i], NULL);
        CHECK_MSG(blocked[i].status == 503 || blocked[i].status == 504, "request %d: %ld", i,
                  blocked[i].status);
        CHECK_MSG(blocked[i].elapsed_ms <= TIMEOUT_MS + SLACK_MS,
                  "request %d answered after %lld ms", i, (long long)blocked[i].elapsed_ms);
        n504 += blocked[i].status == 504;
    }
    printf("reaper: %d of %d queued requests answered 504\n", n504, N);
    CHECK_MSG(n504 >= 1, "no 504 for %d requests queued behind one stuck worker", N);
    CHECK(e2e_db_resume(env.db));
    CHECK_INT(e2e_odmd_stop(&o, 20000), 0);
}

static void test_killed_database(void)
{
    e2e_resp_t r = {0};
    pid_t pid = env.odmd.pid;
    CHECK(e2e_db_kill(env.db));
    for (int i = 0; i < 3; i++) {
        e2e_get(C, &r, "/api/users");
        EXPECT_PROBLEM(r, 503);
        CHECK_MSG(r.elapsed_ms <= TIMEOUT_MS + SLACK_MS, "503 after %lld ms",
                  (long long)r.elapsed_ms);
    }
    e2e_post(C, &r, "/api/users", Q("{'email':'down@example.com','name':'Down'}"));
    EXPECT_PROBLEM(r, 503);
    e2e_get(C, &r, "/readyz");
    EXPECT_STATUS(r, 503);
    e2e_get(C, &r, "/healthz");
    EXPECT_STATUS(r, 200);
    e2e_get(C, &r, "/api/users?limit=0");
    EXPECT_PROBLEM(r, 400);

    CHECK(e2e_db_restart(env.db));
    int64_t deadline = e2e_now_ms() + 30000;
    bool created = false;
    while (!created && e2e_now_ms() < deadline) {
        e2e_post(C, &r, "/api/users", Q("{'email':'back@example.com','name':'Back'}"));
        created = r.status == 201;
        if (!created) {
            CHECK_MSG(r.status == 503 || r.status == 504, "while the database restarts: %ld",
                      r.status);
            e2e_sleep_ms(200);
        }
    }
    CHECK_MSG(created, "odmd did not serve again after the database came back");
    char path[128];
    snprintf(path, sizeof path, "/api/users/%s", e2e_str(&r, "_id") ? e2e_str(&r, "_id") : "-");
    e2e_get(C, &r, path);
    EXPECT_STATUS(r, 200);
    CHECK(e2e_wait_status(env.odmd.url, "/readyz", 200, 10000));
    CHECK_MSG(env.odmd.pid == pid && e2e_odmd_alive(&env.odmd), "odmd restarted or died");
    e2e_resp_free(&r);
}

static void test_database_down_at_startup(void)
{
    e2e_db_t *late = e2e_db_start();
    if (!late || !e2e_db_kill(late)) {
        CHECK_MSG(false, "could not prepare a database that is down");
        e2e_db_stop(late);
        return;
    }
    e2e_odmd_t o;
    e2e_odmd_opts_t opts = {.mongo_uri = e2e_db_uri(late),
                            .schemas = e2e_schemas_with_extras(),
                            .args = {"--request-timeout", "2000", NULL}};
    if (!e2e_odmd_start(&o, &opts)) {
        CHECK_MSG(false, "odmd did not start with its database down");
        e2e_db_stop(late);
        return;
    }
    e2e_client_t c;
    e2e_client_init(&c, o.url);
    e2e_resp_t r = {0};
    e2e_get(&c, &r, "/healthz");
    EXPECT_STATUS(r, 200);
    e2e_get(&c, &r, "/readyz");
    EXPECT_STATUS(r, 503);
    e2e_get(&c, &r, "/api/users");
    EXPECT_PROBLEM(r, 503);
    CHECK_MSG(r.elapsed_ms <= 2000 + SLACK_MS, "503 after %lld ms", (long long)r.elapsed_ms);
    e2e_post(&c, &r, "/api/users", Q("{'email':'early@example.com','name':'Early'}"));
    EXPECT_PROBLEM(r, 503);
    e2e_get(&c, &r, "/api/users/000000000000000000000000");
    EXPECT_PROBLEM(r, 503);

    bool back = e2e_db_restart(late);
    CHECK_MSG(back, "the database did not come up on port %d", e2e_db_port(late));
    if (back) {
        CHECK_MSG(e2e_wait_status(o.url, "/readyz", 200, 30000), "/readyz never became 200");
        /* Index creation is retried in the background until it succeeds. */
        int64_t deadline = e2e_now_ms() + 30000;
        bool indexed = false;
        while (!(indexed =
                     e2e_mongo_has_unique_index(e2e_db_uri(late), o.db_name, "users", "email")) &&
               e2e_now_ms() < deadline)
            e2e_sleep_ms(100);
        CHECK_MSG(indexed, "no unique index on users.email 30 s after the database came up");
        e2e_post(&c, &r, "/api/users", Q("{'email':'first@example.com','name':'First'}"));
        EXPECT_STATUS(r, 201);
        e2e_post(&c, &r, "/api/users", Q("{'email':'first@example.com','name':'Second'}"));
        long dup = r.status;
        CHECK_MSG(dup == 409, "a duplicate email after the late start: %ld", dup);
    }
    CHECK_INT(e2e_odmd_stop(&o, 20000), 0);
    e2e_client_release(&c);
    e2e_resp_free(&r);
    e2e_db_stop(late);
}

int main(void)
{
    e2e_init("faults");
    const char *args[] = {"--workers", "4", "--request-timeout", "3000", NULL};
    if (!e2e_env_up(&env, args)) {
        CHECK_MSG(false, "environment did not start");
        e2e_env_down(&env);
        return e2e_finish(check_done("e2e_faults"));
    }
    e2e_resp_t r = {0};
    e2e_post(C, &r, "/api/users", Q("{'email':'fault@example.com','name':'Fault'}"));
    EXPECT_STATUS(r, 201);
    char user_path[128];
    snprintf(user_path, sizeof user_path, "/api/users/%s",
             e2e_str(&r, "_id") ? e2e_str(&r, "_id") : "-");
    e2e_resp_free(&r);
    test_stopped_database(user_path);
    test_full_queue();
    test_reaper();
    CHECK(e2e_wait_status(env.odmd.url, user_path, 200, 15000));
    test_killed_database();
    CHECK_INT(e2e_env_down(&env), 0);
    test_database_down_at_startup();
    return e2e_finish(check_done("e2e_faults"));
}
