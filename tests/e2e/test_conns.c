/* End-to-end: connections under hostile or careless clients. A second odmd on a taken address
 * exits 2 ("address in use"); a request head that trickles in is cut at --read-timeout, and the
 * next request on a kept-alive connection at --idle-timeout, bytes or not; one client address
 * holds at most --max-connections-per-client; slow clients from one address or from several,
 * more than the limits and reconnecting whenever closed, leave other clients answered within a
 * second, and the newcomer at the limit takes the place of the slow reader reading longest.
 * Attackers bind loopback addresses of their own (127.0.0.2 and up). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

static e2e_db_t *db;

/* ---- raw sockets ------------------------------------------------------------------------- */

/* A non-blocking TCP socket from `from` (e.g. "127.0.0.2") to 127.0.0.1:port, connecting.
 * Returns: the descriptor, or -1. */
static int dial_from(const char *from, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
    inet_pton(AF_INET, from, &src.sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
    dst.sin_port = htons((uint16_t)port);
    if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0 ||
        (connect(fd, (struct sockaddr *)&dst, sizeof dst) != 0 && errno != EINPROGRESS)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends all of s, waiting up to a second for the connection; false when it is gone. */
static bool send_text(int fd, const char *s)
{
    size_t n = strlen(s), off = 0;
    int64_t until = e2e_now_ms() + 1000;
    while (off < n) {
        ssize_t k = send(fd, s + off, n - off, MSG_NOSIGNAL);
        if (k > 0) {
            off += (size_t)k;
        } else if (k < 0 && (errno == EAGAIN || errno == ENOTCONN) && e2e_now_ms() < until) {
            e2e_sleep_ms(5);
        } else {
            return false;
        }
    }
    return true;
}

/* True when the peer closed (end of stream or reset); bytes that arrived are read and dropped. */
static bool peer_closed(int fd)
{
    char buf[4096];
    for (;;) {
        ssize_t k = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (k > 0)
            continue;
        return k == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
    }
}

/* ---- a second odmd on a taken address ---------------------------------------------------- */

static void test_second_odmd_refused(void)
{
    e2e_odmd_t o;
    e2e_odmd_opts_t opts = {.mongo_uri = e2e_db_uri(db)};
    if (!e2e_odmd_start(&o, &opts)) {
        CHECK_MSG(false, "odmd did not start");
        return;
    }
    char listen[64], schemas[600];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", o.port);
    snprintf(schemas, sizeof schemas, "%s/schemas", e2e_source_dir());
    const char *argv[] = {"--listen",  listen,  "--mongo-uri", e2e_db_uri(db),
                          "--schemas", schemas, NULL};
    char *out = NULL;
    int status = e2e_run_odmd(argv, NULL, NULL, 10000, &out);
    CHECK_MSG(status == 2, "a second odmd on %s: exit status %d; output: %.400s", listen, status,
              out ? out : "");
    CHECK_MSG(out && strstr(out, "address in use"), "a second odmd said: %.400s", out ? out : "");
    free(out);
    /* every new connection still reaches the first one */
    e2e_resp_t r = {0};
    for (int i = 0; i < 8; i++) {
        e2e_client_t c;
        e2e_client_init(&c, o.url);
        e2e_get(&c, &r, "/healthz");
        EXPECT_STATUS(r, 200);
        e2e_client_release(&c);
    }
    e2e_resp_free(&r);
    CHECK_INT(e2e_odmd_stop(&o, 20000), 0);
}

/* ---- time bounds -------------------------------------------------------------------------- */

/* A request head that never ends, one header line every 300 ms: closed at --read-timeout 2,
 * although every byte restarts libmicrohttpd's idle timer. And on a kept-alive connection the
 * next request line trickling in byte by byte: closed at --idle-timeout 2 (plus its margin). */
static void test_time_bounds(void)
{
    e2e_odmd_t o;
    e2e_odmd_opts_t opts = {.mongo_uri = e2e_db_uri(db),
                            .args = {"--read-timeout", "2", "--idle-timeout", "2", NULL}};
    if (!e2e_odmd_start(&o, &opts)) {
        CHECK_MSG(false, "odmd did not start with --read-timeout 2");
        return;
    }
    int head = dial_from("127.0.0.1", o.port);
    int next = dial_from("127.0.0.1", o.port);
    CHECK(head >= 0 && next >= 0);
    CHECK(send_text(head, "GET /healthz HTTP/1.1\r\nHost: x\r\n"));
    CHECK(send_text(next, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    int64_t t0 = e2e_now_ms(), head_closed = -1, next_closed = -1;
    while (e2e_now_ms() - t0 < 7000 && (head_closed < 0 || next_closed < 0)) {
        e2e_sleep_ms(300);
        int64_t at = e2e_now_ms() - t0;
        if (head_closed < 0 && (!send_text(head, "X-Slow: 1\r\n") || peer_closed(head)))
            head_closed = at;
        if (next_closed < 0 && (peer_closed(next) || !send_text(next, "G")))
            next_closed = at;
    }
    CHECK_MSG(head_closed >= 1500 && head_closed <= 3500,
              "a trickling request head closed after %lld ms with --read-timeout 2 (-1: never)",
              (long long)head_closed);
    CHECK_MSG(next_closed >= 1500 && next_closed <= 4500,
              "a trickling next request closed after %lld ms with --idle-timeout 2 (-1: never)",
              (long long)next_closed);
    close(head);
    close(next);
    CHECK_INT(e2e_odmd_stop(&o, 20000), 0);
}

/* ---- the per-client cap ------------------------------------------------------------------- */

static void test_per_client_cap(void)
{
    e2e_odmd_t o;
    e2e_odmd_opts_t opts = {.mongo_uri = e2e_db_uri(db),
                            .args = {"--max-connections-per-client", "2", NULL}};
    if (!e2e_odmd_start(&o, &opts)) {
        CHECK_MSG(false, "odmd did not start with --max-connections-per-client 2");
        return;
    }
    int fds[3];
    for (int i = 0; i < 3; i++) {
        fds[i] = dial_from("127.0.0.2", o.port);
        CHECK(fds[i] >= 0 && send_text(fds[i], "GET /healthz HTTP/1.1\r\nHost: x\r\n"));
        e2e_sleep_ms(100); /* accepted in this order */
    }
    e2e_sleep_ms(400);
    CHECK_MSG(!peer_closed(fds[0]) && !peer_closed(fds[1]), "the first two were closed");
    CHECK_MSG(peer_closed(fds[2]), "a third connection from one address was not refused");
    /* another address is not counted with them */
    e2e_client_t c;
    e2e_client_init(&c, o.url);
    e2e_resp_t r = {0};
    e2e_get(&c, &r, "/healthz");
    EXPECT_STATUS(r, 200);
    e2e_resp_free(&r);
    e2e_client_release(&c);
    for (int i = 0; i < 3; i++)
        close(fds[i]);
    CHECK_INT(e2e_odmd_stop(&o, 20000), 0);
}

/* ---- who makes room ---------------------------------------------------------------------- */

/* At the limit the newcomer takes the place of the slow reader that has been reading longest,
 * whatever the order the connections were accepted in: A (accepted first) began its second
 * request after B began its first. */
static void test_room_order(void)
{
    e2e_odmd_t o;
    e2e_odmd_opts_t opts = {
        .mongo_uri = e2e_db_uri(db),
        .args = {"--max-connections", "3", "--max-connections-per-client", "4", NULL}};
    if (!e2e_odmd_start(&o, &opts)) {
        CHECK_MSG(false, "odmd did not start with --max-connections 3");
        return;
    }
    e2e_sleep_ms(200); /* the start-up probe's connections are gone */
    const char *get = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    char buf[1024];
    int a = dial_from("127.0.0.1", o.port);
    CHECK(a >= 0 && send_text(a, get));
    e2e_sleep_ms(100);
    CHECK(recv(a, buf, sizeof buf, MSG_DONTWAIT) > 0); /* answered: a is idle */
    int b = dial_from("127.0.0.1", o.port);
    CHECK(b >= 0 && send_text(b, "GET /healthz HTTP/1.1\r\n"));
    e2e_sleep_ms(200);
    CHECK(send_text(a, "GET /healthz HTTP/1.1\r\n")); /* a reads again, since now */
    e2e_sleep_ms(50);
    int c = dial_from("127.0.0.1", o.port);
    CHECK(c >= 0 && send_text(c, get));
    e2e_sleep_ms(1300); /* a and b are slow readers now; c is idle */
    e2e_client_t late;
    e2e_client_init(&late, o.url);
    late.timeout_ms = 3000;
    e2e_resp_t r = {0};
    e2e_get(&late, &r, "/healthz");
    EXPECT_STATUS(r, 200);
    e2e_sleep_ms(200);
    CHECK_MSG(peer_closed(b), "the connection reading longest was kept");
    CHECK_MSG(!peer_closed(a), "a connection that began its request later was closed first");
    CHECK_MSG(!peer_closed(c), "an idle connection was closed before the slow reader");
    e2e_resp_free(&r);
    e2e_client_release(&late);
    close(a);
    close(b);
    close(c);
    CHECK_INT(e2e_odmd_stop(&o, 20000), 0);
}

/* ---- slow clients ------------------------------------------------------------------------- */

#define SLOW_MAX 64

typedef struct {
    int port;
    int n_addrs;  /* sources 127.0.0.2 .. 127.0.0.(1 + n_addrs) */
    int per_addr; /* connections each keeps open, reconnecting whenever closed */
    atomic_bool stop;
    int connects; /* attempts made (bounded by the run's length and the backoff) */
} slowloris_t;

/* Each connection sends a request line and then a header line every 500 ms, never the end of
 * its head. A closed one is opened again after 100 ms. */
static void *slowloris_main(void *arg)
{
    slowloris_t *s = arg;
    int n = s->n_addrs * s->per_addr;
    int fds[SLOW_MAX];
    int64_t next_at[SLOW_MAX];
    for (int i = 0; i < n; i++) {
        fds[i] = -1;
        next_at[i] = 0;
    }
    while (!atomic_load(&s->stop)) {
        int64_t now = e2e_now_ms();
        for (int i = 0; i < n; i++) {
            if (now < next_at[i])
                continue;
            if (fds[i] < 0) {
                char from[32];
                snprintf(from, sizeof from, "127.0.0.%d", 2 + i / s->per_addr);
                fds[i] = dial_from(from, s->port);
                s->connects++;
                if (fds[i] >= 0 && !send_text(fds[i], "GET /healthz HTTP/1.1\r\nHost: x\r\n")) {
                    close(fds[i]);
                    fds[i] = -1;
                }
                next_at[i] = now + (fds[i] >= 0 ? 500 : 100);
            } else if (peer_closed(fds[i]) || !send_text(fds[i], "X-Slow: 1\r\n")) {
                close(fds[i]);
                fds[i] = -1;
                next_at[i] = now + 100;
            } else {
                next_at[i] = now + 500;
            }
        }
        /* a closed one is noticed between its header lines */
        for (int i = 0; i < n; i++) {
            if (fds[i] >= 0 && peer_closed(fds[i])) {
                close(fds[i]);
                fds[i] = -1;
                next_at[i] = now + 100;
            }
        }
        e2e_sleep_ms(20);
    }
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return NULL;
}

/* A client from 127.0.0.1, a new connection each time, is answered within a second while the
 * slow ones run. */
static void check_answered_under(const char *what, e2e_odmd_t *o, int n_addrs, int per_addr)
{
    slowloris_t s = {.port = o->port, .n_addrs = n_addrs, .per_addr = per_addr};
    pthread_t thread;
    pthread_create(&thread, NULL, slowloris_main, &s);
    e2e_sleep_ms(1500); /* every slot taken or tried */
    e2e_resp_t r = {0};
    for (int i = 0; i < 5; i++) {
        e2e_client_t c;
        e2e_client_init(&c, o->url);
        c.timeout_ms = 3000;
        e2e_get(&c, &r, "/healthz");
        CHECK_MSG(r.status == 200 && r.elapsed_ms < 1000,
                  "%s: /healthz from another address: status %ld (curl %d) after %lld ms", what,
                  r.status, (int)r.code, (long long)r.elapsed_ms);
        e2e_client_release(&c);
        e2e_sleep_ms(300);
    }
    e2e_resp_free(&r);
    atomic_store(&s.stop, true);
    pthread_join(thread, NULL);
    CHECK_MSG(s.connects >= n_addrs * per_addr, "%s: only %d connections were tried", what,
              s.connects);
}

static void test_slow_clients(void)
{
    e2e_odmd_t o;
    /* the per-client cap is left at its default: half of --max-connections */
    e2e_odmd_opts_t opts = {.mongo_uri = e2e_db_uri(db), .args = {"--max-connections", "32", NULL}};
    if (!e2e_odmd_start(&o, &opts)) {
        CHECK_MSG(false, "odmd did not start with --max-connections 32");
        return;
    }
    check_answered_under("40 slow connections from one address", &o, 1, 40);
    check_answered_under("4 addresses with 14 slow connections each", &o, 4, 14);
    CHECK_MSG(e2e_odmd_alive(&o), "odmd died under slow clients");
    CHECK_INT(e2e_odmd_stop(&o, 20000), 0);
}

int main(void)
{
    e2e_init("conns");
    db = e2e_db_start();
    if (!db) {
        CHECK_MSG(false, "the database did not start");
        return e2e_finish(check_done("e2e_conns"));
    }
    test_second_odmd_refused();
    test_time_bounds();
    test_per_client_cap();
    test_room_order();
    test_slow_clients();
    e2e_db_stop(db);
    return e2e_finish(check_done("e2e_conns"));
}
