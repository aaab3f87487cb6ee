/* End-to-end: SIGTERM and SIGINT. Idle: exit 0. Under load from several threads: every request
 * gets a real answer (2xx, or 503 while draining), none is dropped, odmd exits 0. With requests
 * in flight (held in the workers by a stopped database): they are finished with their real
 * answers, every answer carries Connection: close, new requests get 503, a request still
 * arriving is answered 503 before odmd stops, and odmd exits 0 once they are done. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

#define LOADERS 8

static int raw_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool raw_send(int fd, const char *s)
{
    return fd >= 0 && send(fd, s, strlen(s), MSG_NOSIGNAL) == (ssize_t)strlen(s);
}

/* Reads until the peer closes, `cap` - 1 bytes or timeout_ms; out is NUL-terminated. */
static void raw_read_all(int fd, char *out, size_t cap, int timeout_ms)
{
    size_t n = 0;
    int64_t until = e2e_now_ms() + timeout_ms;
    while (fd >= 0 && n + 1 < cap && e2e_now_ms() < until) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        ssize_t k = recv(fd, out + n, cap - 1 - n, 0);
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    out[n] = '\0';
}

static void test_idle_signals(e2e_db_t *db)
{
    int sigs[] = {SIGTERM, SIGINT};
    for (int i = 0; i < 2; i++) {
        e2e_odmd_t o;
        e2e_odmd_opts_t opts = {.mongo_uri = e2e_db_uri(db)};
        if (!e2e_odmd_start(&o, &opts)) {
            CHECK_MSG(false, "odmd did not start");
            continue;
        }
        CHECK(e2e_wait_status(o.url, "/readyz", 200, 10000));
        int64_t t0 = e2e_now_ms();
        kill(o.pid, sigs[i]);
        int status = e2e_odmd_wait(&o, 10000);
        CHECK_MSG(status == 0, "idle odmd after signal %d: exit status %d", sigs[i], status);
        CHECK_MSG(e2e_now_ms() - t0 < 5000, "idle shutdown took %lld ms",
                  (long long)(e2e_now_ms() - t0));
        if (status == -2)
            e2e_odmd_stop(&o, 1000);
    }
}

typedef struct {
    const char *url;
    const char *doc_path;
    int index;
    atomic_bool *stop;
    int ok, drained, errors, timeouts, other;
    int dropped; /* a kept-alive connection ended without an answer saying Connection: close */
    long other_status;
} loader_t;

static void *loader_main(void *arg)
{
    loader_t *l = arg;
    e2e_client_t c;
    e2e_client_init(&c, l->url);
    c.timeout_ms = 20000;
    e2e_resp_t r = {0};
    bool closed = false; /* the last answer said Connection: close */
    for (int i = 0; !atomic_load(l->stop); i++) {
        if (i % 10 == 0) {
            char body[128];
            snprintf(body, sizeof body, "{\"title\":\"load %d/%d\"}", l->index, i);
            e2e_post(&c, &r, "/api/notes", body);
        } else {
            e2e_get(&c, &r, i % 3 ? l->doc_path : "/api/notes?limit=5&count=true");
        }
        bool was_closed = closed;
        const char *conn = e2e_header(&r, "Connection");
        closed = r.code == CURLE_OK && conn != NULL && strcasecmp(conn, "close") == 0;
        if (r.code == CURLE_OPERATION_TIMEDOUT) {
            l->timeouts++;
        } else if (r.code == CURLE_COULDNT_CONNECT) {
            /* the listening socket is closed: odmd stopped accepting. A new connection was
             * needed only if the last answer closed the old one; otherwise the request was
             * dropped on it (curl retries such a request once on a new connection). */
            l->dropped += i > 0 && !was_closed;
            break;
        } else if (r.code != CURLE_OK) {
            l->errors++; /* a kept-alive connection closed under a new request */
            e2e_sleep_ms(5);
        } else if (r.status == 200 || r.status == 201) {
            l->ok++;
        } else if (r.status == 503) {
            l->drained++;
        } else {
            l->other++;
            l->other_status = r.status;
        }
    }
    e2e_resp_free(&r);
    e2e_client_release(&c);
    return NULL;
}

static void test_sigterm_under_load(e2e_db_t *db)
{
    e2e_odmd_t o;
    e2e_odmd_opts_t opts = {.mongo_uri = e2e_db_uri(db),
                            .schemas = e2e_schemas_with_extras(),
                            .args = {"--workers", "4", NULL}};
    if (!e2e_odmd_start(&o, &opts)) {
        CHECK_MSG(false, "odmd did not start");
        return;
    }
    e2e_client_t c;
    e2e_client_init(&c, o.url);
    e2e_resp_t r = {0};
    e2e_post(&c, &r, "/api/notes", "{\"title\":\"target\"}");
    EXPECT_STATUS(r, 201);
    char doc_path[128];
    snprintf(doc_path, sizeof doc_path, "/api/notes/%s",
             e2e_str(&r, "_id") ? e2e_str(&r, "_id") : "-");
    e2e_resp_free(&r);
    e2e_client_release(&c);

    atomic_bool stop = false;
    loader_t loaders[LOADERS];
    pthread_t threads[LOADERS];
    for (int i = 0; i < LOADERS; i++) {
        loaders[i] = (loader_t){.url = o.url, .doc_path = doc_path, .index = i, .stop = &stop};
        pthread_create(&threads[i], NULL, loader_main, &loaders[i]);
    }
    e2e_sleep_ms(1500);
    int64_t t0 = e2e_now_ms();
    kill(o.pid, SIGTERM);
    int status = e2e_odmd_wait(&o, 20000);
    int64_t took = e2e_now_ms() - t0;
    atomic_store(&stop, true);
    for (int i = 0; i < LOADERS; i++)
        pthread_join(threads[i], NULL);
    CHECK_MSG(status == 0, "odmd under load: exit status %d after %lld ms", status,
              (long long)took);
    if (status == -2)
        e2e_odmd_stop(&o, 1000);
    int ok = 0, drained = 0, errors = 0, timeouts = 0, other = 0, dropped = 0;
    for (int i = 0; i < LOADERS; i++) {
        ok += loaders[i].ok;
        drained += loaders[i].drained;
        errors += loaders[i].errors;
        dropped += loaders[i].dropped;
        timeouts += loaders[i].timeouts;
        other += loaders[i].other;
        CHECK_MSG(loaders[i].other == 0, "loader %d got status %ld", i, loaders[i].other_status);
    }
    printf("under load: %d answered, %d drained with 503, %d closed connections, %d dropped "
           "requests, %d timeouts; exit after %lld ms\n",
           ok, drained, errors, dropped, timeouts, (long long)took);
    CHECK_MSG(ok > LOADERS, "too few requests before SIGTERM: %d", ok);
    CHECK_INT(errors, 0); /* a request sent on a kept-alive connection is answered, not dropped */
    CHECK_INT(dropped, 0);
    CHECK_INT(timeouts, 0);
    CHECK_INT(other, 0);
}

typedef struct {
    const char *url, *path;
    _Atomic int *sent;
    long status;
    int code;
    char connection[32]; /* the answer's Connection header */
} inflight_t;

static void *inflight_main(void *arg)
{
    inflight_t *f = arg;
    e2e_client_t c;
    e2e_client_init(&c, f->url);
    c.timeout_ms = 20000;
    c.sent = f->sent;
    e2e_resp_t r = {0};
    e2e_get(&c, &r, f->path);
    f->status = r.status;
    f->code = (int)r.code;
    snprintf(f->connection, sizeof f->connection, "%s",
             e2e_header(&r, "Connection") ? e2e_header(&r, "Connection") : "");
    e2e_resp_free(&r);
    e2e_client_release(&c);
    return NULL;
}

static void test_inflight_finished(e2e_db_t *db)
{
    e2e_odmd_t o;
    e2e_odmd_opts_t opts = {.mongo_uri = e2e_db_uri(db),
                            .schemas = e2e_schemas_with_extras(),
                            .args = {"--workers", "4", "--request-timeout", "8000", NULL}};
    if (!e2e_odmd_start(&o, &opts)) {
        CHECK_MSG(false, "odmd did not start");
        return;
    }
    e2e_client_t keep;
    e2e_client_init(&keep, o.url);
    e2e_resp_t r = {0};
    e2e_post(&keep, &r, "/api/notes", "{\"title\":\"in flight\"}");
    EXPECT_STATUS(r, 201);
    char path[128];
    snprintf(path, sizeof path, "/api/notes/%s", e2e_str(&r, "_id") ? e2e_str(&r, "_id") : "-");

    CHECK(e2e_db_pause(db));
    inflight_t flights[4];
    pthread_t threads[4];
    _Atomic int sent = 0;
    for (int i = 0; i < 4; i++) {
        flights[i] = (inflight_t){.url = o.url, .path = path, .sent = &sent};
        pthread_create(&threads[i], NULL, inflight_main, &flights[i]);
    }
    /* Every request sent, then a moment for odmd to read it and hand it to a worker. */
    int64_t deadline = e2e_now_ms() + 10000;
    while (atomic_load(&sent) < 4 && e2e_now_ms() < deadline)
        e2e_sleep_ms(10);
    CHECK_MSG(atomic_load(&sent) == 4, "only %d of 4 requests were sent", atomic_load(&sent));
    e2e_sleep_ms(400);
    /* A request whose head is still arriving when the signal comes. */
    int partial = raw_connect(o.port);
    CHECK(partial >= 0 && raw_send(partial, "GET /api/notes?limit=1 HTTP/1.1\r\nHost: x\r\n"));
    e2e_sleep_ms(100);
    kill(o.pid, SIGTERM);
    e2e_sleep_ms(300);
    CHECK_MSG(e2e_odmd_alive(&o), "odmd exited with requests in flight (status %d)", o.exit_status);

    /* A request arriving while draining, on a connection opened before: 503, and the
     * connection closes. */
    e2e_get(&keep, &r, "/api/notes?limit=1");
    EXPECT_PROBLEM(r, 503);
    EXPECT_HEADER(r, "Connection", "close");
    /* On a new connection: refused (no longer accepting) or 503. */
    e2e_client_t late;
    e2e_client_init(&late, o.url);
    e2e_get(&late, &r, "/api/notes?limit=1");
    CHECK_MSG(r.code == CURLE_COULDNT_CONNECT || r.status == 503,
              "a new connection while draining: status %ld, curl %d", r.status, (int)r.code);
    e2e_client_release(&late);

    CHECK(e2e_db_resume(db));
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        CHECK_MSG(flights[i].code == CURLE_OK && flights[i].status == 200,
                  "in-flight request %d: status %ld, curl %d", i, flights[i].status,
                  flights[i].code);
        CHECK_MSG(strcmp(flights[i].connection, "close") == 0,
                  "in-flight request %d answered during shutdown with Connection '%s'", i,
                  flights[i].connection);
    }
    /* The partial request, completed after the in-flight ones were answered: what was read is
     * answered (503, Connection: close) before odmd stops. */
    e2e_sleep_ms(400);
    char answer[2048];
    CHECK(raw_send(partial, "\r\n"));
    raw_read_all(partial, answer, sizeof answer, 3000);
    CHECK_MSG(strncmp(answer, "HTTP/1.1 503", 12) == 0 &&
                  strcasestr(answer, "\r\nConnection: close\r\n"),
              "a request completed while draining got: '%.200s'", answer);
    if (partial >= 0)
        close(partial);
    int status = e2e_odmd_wait(&o, 15000);
    CHECK_MSG(status == 0, "odmd after draining: exit status %d", status);
    if (status == -2)
        e2e_odmd_stop(&o, 1000);
    e2e_client_release(&keep);
    e2e_resp_free(&r);
}

int main(void)
{
    e2e_init("shutdown");
    e2e_db_t *db = e2e_db_start();
    if (!db) {
        CHECK_MSG(false, "the database did not start");
        return e2e_finish(check_done("e2e_shutdown"));
    }
    test_idle_signals(db);
    test_sigterm_under_load(db);
    test_inflight_finished(db);
    e2e_db_stop(db);
    return e2e_finish(check_done("e2e_shutdown"));
}
