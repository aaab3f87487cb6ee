/* Stateless replicas: two odmd processes on one database behind a local nginx (round robin,
 * loopback only, run from a temp folder as this user). 16 writers through nginx increment the
 * same documents with If-Match compare-and-set and no increment is lost; a list walked with
 * after= tokens continues on whichever replica answers the next page when both share
 * --cursor-key (and a replica with another key refuses the token: 400); an Idempotency-Key
 * POST replayed on the other replica replays the stored answer. Without nginx the test is
 * skipped (77), unless CI is set. FerretDB loses concurrent updates (FIELD-NOTES), so under
 * ODMD_TEST_BACKEND=ferretdb the lost-update check is skipped, saying so. */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pthread.h>

#include "check.h"
#include "harness.h"

#define WRITERS 16
#define INCREMENTS 25 /* acknowledged increments per writer */
#define DOCS 4
#define CURSOR_KEY "replicas-share-this-cursor-key-of-32+-bytes"
#define MAX_TRIES 2000 /* one writer's attempts, 412s included: a bound, never reached */

static const char *dir;
static char base[64];
static char counter_ids[DOCS][64];
static atomic_long acked[DOCS];
static atomic_long conflicts, failures;
static atomic_int upstream_a, upstream_b; /* PATCHes answered by each replica */
static int port_a, port_b;

static const char *nginx_bin(void)
{
    static const char *const paths[] = {"/usr/sbin/nginx", "/usr/bin/nginx",
                                        "/usr/local/sbin/nginx"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (access(paths[i], X_OK) == 0)
            return paths[i];
    return NULL;
}

/* nginx in the foreground, one process, its pid, logs and temp files in `dir`, listening on
 * 127.0.0.1:port only, round robin over the two replicas; X-Upstream tells who answered. */
static bool write_config(int port)
{
    const char *conf =
        F("daemon off;\nmaster_process off;\nworker_processes 1;\npid %s/nginx.pid;\n"
          "error_log %s/error.log warn;\nevents { worker_connections 512; }\nhttp {\n"
          "  access_log %s/access.log;\n  client_body_temp_path %s/body;\n"
          "  proxy_temp_path %s/proxy;\n  fastcgi_temp_path %s/fastcgi;\n"
          "  uwsgi_temp_path %s/uwsgi;\n  scgi_temp_path %s/scgi;\n"
          "  upstream odmd {\n    server 127.0.0.1:%d;\n    server 127.0.0.1:%d;\n"
          "    keepalive 32;\n  }\n"
          "  server {\n    listen 127.0.0.1:%d;\n    location / {\n"
          "      proxy_pass http://odmd;\n      proxy_http_version 1.1;\n"
          "      proxy_set_header Connection \"\";\n      proxy_set_header Host $host;\n"
          "      add_header X-Upstream $upstream_addr always;\n    }\n  }\n}\n",
          dir, dir, dir, dir, dir, dir, dir, dir, port_a, port_b, port);
    return e2e_write_file(dir, "nginx.conf", conf);
}

static pid_t start_nginx(const char *bin, int port)
{
    if (!write_config(port))
        return -1;
    char conf[512], err[512];
    snprintf(conf, sizeof conf, "%s/nginx.conf", dir);
    snprintf(err, sizeof err, "%s/error.log", dir);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execl(bin, bin, "-p", dir, "-c", conf, "-e", err, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void stop_nginx(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

static void count_upstream(const e2e_resp_t *r)
{
    const char *up = e2e_header(r, "X-Upstream");
    if (up && strstr(up, F(":%d", port_a)))
        atomic_fetch_add(&upstream_a, 1);
    else if (up && strstr(up, F(":%d", port_b)))
        atomic_fetch_add(&upstream_b, 1);
}

/* The value of f0 and the ETag of one counter; false when it could not be read. */
static bool read_counter(e2e_client_t *c, e2e_resp_t *r, const char *id, long long *value,
                         char *etag, size_t size)
{
    char path[128];
    snprintf(path, sizeof path, "/api/counters/%s", id);
    if (!e2e_get(c, r, path) || r->status != 200 || !e2e_header(r, "ETag"))
        return false;
    *value = json_integer_value(json_object_get(r->json, "f0"));
    snprintf(etag, size, "If-Match: %s", e2e_header(r, "ETag"));
    return true;
}

/* One writer: INCREMENTS acknowledged read-increment-write cycles, spread over the documents,
 * each written only if nobody else wrote since the read (412: read again). */
static void *writer(void *arg)
{
    int me = (int)(intptr_t)arg;
    e2e_client_t c;
    e2e_client_init(&c, base);
    e2e_resp_t r = {0};
    int done = 0;
    for (int tries = 0; done < INCREMENTS && tries < MAX_TRIES; tries++) {
        int d = (me + done) % DOCS;
        long long v;
        char etag[128], path[128], body[64];
        if (!read_counter(&c, &r, counter_ids[d], &v, etag, sizeof etag)) {
            atomic_fetch_add(&failures, 1);
            continue;
        }
        snprintf(path, sizeof path, "/api/counters/%s", counter_ids[d]);
        snprintf(body, sizeof body, "{\"f0\":%lld}", v + 1);
        e2e_patch(&c, &r, path, body, etag);
        if (r.status == 200) {
            count_upstream(&r);
            atomic_fetch_add(&acked[d], 1);
            done++;
        } else if (r.status == 412) {
            atomic_fetch_add(&conflicts, 1);
        } else {
            atomic_fetch_add(&failures, 1);
        }
    }
    e2e_resp_free(&r);
    e2e_client_release(&c);
    return NULL;
}

static void test_no_lost_updates(void)
{
    e2e_client_t c;
    e2e_client_init(&c, base);
    e2e_resp_t r = {0};
    for (int d = 0; d < DOCS; d++) {
        e2e_post(&c, &r, "/api/counters", "{\"f0\":0}");
        EXPECT_STATUS(r, 201);
        snprintf(counter_ids[d], sizeof counter_ids[d], "%s",
                 e2e_str(&r, "_id") ? e2e_str(&r, "_id") : "none");
    }
    pthread_t t[WRITERS];
    for (int i = 0; i < WRITERS; i++)
        pthread_create(&t[i], NULL, writer, (void *)(intptr_t)i);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(t[i], NULL);
    long total = 0;
    for (int d = 0; d < DOCS; d++) {
        long long v = -1;
        char etag[128];
        CHECK(read_counter(&c, &r, counter_ids[d], &v, etag, sizeof etag));
        CHECK_MSG(v == atomic_load(&acked[d]), "counter %d holds %lld, %ld increments acknowledged",
                  d, v, atomic_load(&acked[d]));
        total += atomic_load(&acked[d]);
    }
    CHECK_INT(total, WRITERS * INCREMENTS);
    CHECK_INT(atomic_load(&failures), 0);
    CHECK_MSG(upstream_a > 0 && upstream_b > 0, "PATCHes answered by replica A %d, B %d",
              upstream_a, upstream_b);
    printf("e2e_replicas: %ld increments, %ld compare-and-set conflicts (412), A %d, B %d\n", total,
           atomic_load(&conflicts), upstream_a, upstream_b);
    e2e_resp_free(&r);
    e2e_client_release(&c);
}

/* The next page's path from a Link header (the part between '<' and '>' after the origin), into
 * out; false when there is none. */
static bool next_path(const e2e_resp_t *r, char *out, size_t size)
{
    const char *link = e2e_header(r, "Link");
    const char *start = link ? strstr(link, "/api/") : NULL;
    const char *end = start ? strchr(start, '>') : NULL;
    if (end == NULL || (size_t)(end - start) >= size)
        return false;
    snprintf(out, size, "%.*s", (int)(end - start), start);
    return true;
}

/* 10 notes walked 3 at a time: every page after the first continues from a token that the
 * other replica may have signed. */
static void test_cursors(const e2e_odmd_t *foreign)
{
    e2e_client_t c;
    e2e_client_init(&c, base);
    e2e_resp_t r = {0};
    for (int i = 0; i < 10; i++) {
        e2e_post(&c, &r, "/api/notes", F("{\"title\":\"walk\",\"n\":%d}", i));
        EXPECT_STATUS(r, 201);
    }
    char path[2048];
    snprintf(path, sizeof path, "/api/notes?sort=n&limit=3&filter=%s", U("{\"title\":\"walk\"}"));
    int seen = 0, pages = 0, switched = 0;
    char last_up[64] = "", token_path[2048] = "";
    for (; pages < 10; pages++) {
        e2e_get(&c, &r, path);
        EXPECT_STATUS(r, 200);
        const char *up = e2e_header(&r, "X-Upstream");
        switched += pages > 0 && up && strcmp(up, last_up) != 0;
        snprintf(last_up, sizeof last_up, "%s", up ? up : "");
        for (size_t i = 0; i < json_array_size(r.json); i++, seen++)
            CHECK_INT(json_integer_value(json_object_get(json_array_get(r.json, i), "n")), seen);
        if (!next_path(&r, path, sizeof path))
            break;
        if (token_path[0] == '\0')
            snprintf(token_path, sizeof token_path, "%s", path);
    }
    CHECK_INT(seen, 10);
    CHECK_INT(pages, 3);
    CHECK_MSG(switched >= 2, "the pages were answered by one replica only (%d switches)", switched);

    /* a replica with another --cursor-key (here: none, a random one) refuses the token */
    e2e_client_t f;
    e2e_client_init(&f, foreign->url);
    e2e_get(&f, &r, token_path);
    EXPECT_PROBLEM(r, 400);
    e2e_client_release(&f);
    e2e_resp_free(&r);
    e2e_client_release(&c);
}

/* A POST with an Idempotency-Key, replayed until another replica than the first answers. */
static void test_idempotency(void)
{
    e2e_client_t c;
    e2e_client_init(&c, base);
    e2e_resp_t first = {0}, again = {0};
    const char *headers[] = {"Content-Type: application/json", "Idempotency-Key: replicas-1", NULL};
    const char *body = "{\"title\":\"once\"}";
    e2e_request(&c, &first, "POST", "/api/notes", headers, body, (size_t)-1);
    EXPECT_STATUS(first, 201);
    const char *first_up = e2e_header(&first, "X-Upstream");
    bool other = false;
    for (int i = 0; i < 4 && !other; i++) {
        e2e_request(&c, &again, "POST", "/api/notes", headers, body, (size_t)-1);
        EXPECT_STATUS(again, 201);
        EXPECT_HEADER(again, "Idempotency-Replayed", "true");
        CHECK_STR(again.body, first.body);
        CHECK_STR(e2e_header(&again, "Location") ? e2e_header(&again, "Location") : "",
                  e2e_header(&first, "Location") ? e2e_header(&first, "Location") : "-");
        const char *up = e2e_header(&again, "X-Upstream");
        other = first_up && up && strcmp(first_up, up) != 0;
    }
    CHECK_MSG(other, "no replay was answered by the other replica");
    e2e_get(&c, &again, F("/api/notes?count=true&limit=1&filter=%s", U("{\"title\":\"once\"}")));
    EXPECT_HEADER(again, "X-Total-Count", "1");
    e2e_resp_free(&first);
    e2e_resp_free(&again);
    e2e_client_release(&c);
}

int main(void)
{
    e2e_init("replicas");
    const char *bin = nginx_bin();
    if (bin == NULL) {
        printf("e2e_replicas: no nginx (Debian package nginx): skipped\n");
        return e2e_finish(getenv("CI") ? 1 : 77);
    }
    dir = e2e_temp_dir("nginx");
    e2e_db_t *db = e2e_db_start();
    if (db == NULL)
        return e2e_finish(1);
    e2e_odmd_t a, b, foreign;
    const char *schemas = e2e_schemas_with_extras();
    e2e_odmd_opts_t oa = {.mongo_uri = e2e_db_uri(db),
                          .schemas = schemas,
                          .args = {"--cursor-key", CURSOR_KEY, "--workers", "4", NULL}};
    bool up = e2e_odmd_start(&a, &oa);
    e2e_odmd_opts_t ob = oa;
    ob.db_name = a.db_name;
    up = up && e2e_odmd_start(&b, &ob);
    e2e_odmd_opts_t of = {.mongo_uri = e2e_db_uri(db), .schemas = schemas, .db_name = a.db_name};
    up = up && e2e_odmd_start(&foreign, &of);
    up = up && e2e_wait_status(a.url, "/readyz", 200, 30000) &&
         e2e_wait_status(b.url, "/readyz", 200, 30000);
    if (!up) {
        e2e_db_stop(db);
        return e2e_finish(1);
    }
    port_a = a.port;
    port_b = b.port;
    int port = e2e_free_port();
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    pid_t nginx = start_nginx(bin, port);
    bool ready = nginx > 0 && e2e_wait_status(base, "/readyz", 200, 20000);
    CHECK_MSG(ready, "nginx did not come up on port %d (see %s/error.log)", port, dir);
    if (ready && e2e_is_ferretdb())
        printf("e2e_replicas: SKIP the lost-update check: FerretDB loses concurrent updates "
               "itself (FIELD-NOTES), so it cannot show that odmd loses none\n");
    if (ready) {
        if (!e2e_is_ferretdb())
            test_no_lost_updates();
        test_cursors(&foreign);
        test_idempotency();
    }
    stop_nginx(nginx);
    CHECK_INT(e2e_odmd_stop(&a, 20000), 0);
    CHECK_INT(e2e_odmd_stop(&b, 20000), 0);
    CHECK_INT(e2e_odmd_stop(&foreign, 20000), 0);
    e2e_db_stop(db);
    return e2e_finish(check_done("e2e_replicas"));
}
