/* Unit tests for src/http: the framing checks (framing.c) as data, then a server on a free port
 * with a small handler, driven over raw sockets: framing answers, absolute-form targets,
 * pipelining, and 413s that reach a client still writing its body (linger.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "support/rawhttp.h"
#include "http/internal.h"
#include "odmd/clock.h"

/* ---- framing.c as data ---------------------------------------------------------------- */

typedef struct {
    const char *what;
    bool http10;
    const char *fields[8]; /* "Name", "value" pairs, NULL-terminated */
    bool ok;
} head_case_t;

static void test_head_check(void)
{
    static const head_case_t cases[] = {
        {"plain GET", false, {"Host", "x"}, true},
        {"HTTP/1.0 without Host", true, {NULL}, true},
        {"HTTP/1.1 without Host", false, {NULL}, false},
        {"two Hosts", false, {"Host", "a", "Host", "b"}, false},
        {"two Hosts in HTTP/1.0", true, {"Host", "a", "Host", "a"}, false},
        {"whitespace before a colon", false, {"Host ", "x"}, false},
        {"a tab before a colon", false, {"Host", "x", "Content-Length\t", "5"}, false},
        {"an empty name", false, {"Host", "x", "", "5"}, false},
        {"a separator in a name", false, {"Host", "x", "a(b)", "1"}, false},
        {"one Content-Length", false, {"Host", "x", "Content-Length", "5"}, true},
        {"the same Content-Length twice",
         false,
         {"Host", "x", "Content-Length", "5", "content-length", "5"},
         true},
        {"two Content-Lengths",
         false,
         {"Host", "x", "Content-Length", "5", "Content-Length", "6"},
         false},
        {"chunked", false, {"Host", "x", "Transfer-Encoding", "chunked"}, true},
        {"Chunked, any case", false, {"Host", "x", "transfer-encoding", " CHUNKED "}, true},
        {"chunked with a length",
         false,
         {"Host", "x", "Content-Length", "4", "Transfer-Encoding", "chunked"},
         false},
        {"chunked in HTTP/1.0", true, {"Transfer-Encoding", "chunked"}, false},
        {"identity", false, {"Host", "x", "Transfer-Encoding", "identity"}, false},
        {"gzip, chunked", false, {"Host", "x", "Transfer-Encoding", "gzip, chunked"}, false},
        {"chunked, gzip", false, {"Host", "x", "Transfer-Encoding", "chunked, gzip"}, false},
        {"xchunked", false, {"Host", "x", "Transfer-Encoding", "xchunked"}, false},
        {"chunked twice",
         false,
         {"Host", "x", "Transfer-Encoding", "chunked", "Transfer-Encoding", "chunked"},
         false},
        {"an empty coding", false, {"Host", "x", "Transfer-Encoding", ""}, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const head_case_t *k = &cases[i];
        http__head_t head = {.http10 = k->http10};
        for (size_t f = 0; k->fields[f] != NULL; f += 2)
            http__head_add(&head, k->fields[f], k->fields[f + 1]);
        odm_error_t err = {0};
        bool ok = http__head_check(&head, &err);
        CHECK_MSG(ok == k->ok, "%s: got %s (%s)", k->what, ok ? "ok" : "refused", err.message);
        if (!ok)
            CHECK_MSG(err.kind == ODM_ERR_BAD_REQUEST && err.message[0] != '\0', "%s: kind %d",
                      k->what, (int)err.kind);
    }
}

static void test_origin_path(void)
{
    CHECK_STR(http__origin_path("/healthz"), "/healthz");
    CHECK_STR(http__origin_path("http://host/healthz"), "/healthz");
    CHECK_STR(http__origin_path("HTTP://host:8080/api/x"), "/api/x");
    CHECK_STR(http__origin_path("https://host/a/b"), "/a/b");
    CHECK_STR(http__origin_path("http://host"), "/");
    CHECK_STR(http__origin_path("*"), "*");
    CHECK(http__is_token("Content-Length"));
    CHECK(!http__is_token("Content-Length "));
    CHECK(!http__is_token(""));
}

/* ---- a server and raw sockets ----------------------------------------------------------- */

#define MAX_BODY 1024
#define REQUEST_TIMEOUT_MS 250 /* the drain bound in time is four of these */

/* Answers 413 for a body over the cap, else 200 with the path and the body's length. */
static void handler(odm_request_t *req, void *app)
{
    (void)app;
    if (odm_request_body_too_large(req)) {
        odm_error_t err;
        odm_error_set(&err, ODM_ERR_TOO_LARGE, "request body larger than the limit");
        odm_request_fail(req, &err, NULL);
        return;
    }
    size_t len;
    odm_request_body(req, &len);
    json_t *v = json_pack("{s:s, s:I}", "path", odm_request_path(req), "len", (json_int_t)len);
    odm_request_reply_json(req, 200, v);
    json_decref(v);
}

static odm_http_server_t *server;
static unsigned port;

typedef raw_answer_t exchange_t;

static int connect_local(void)
{
    return raw_connect(port);
}

/* Sends `req` (a NUL-terminated request) and reads what comes back. */
static void exchange(const char *req, exchange_t *x, int wait_ms)
{
    memset(x, 0, sizeof *x);
    int fd = connect_local();
    if (fd < 0) {
        x->send_failed = true;
        return;
    }
    x->send_failed = !raw_send_all(fd, req, strlen(req));
    raw_read_answer(fd, x, wait_ms);
    close(fd);
}

/* Status lines: "HTTP/1.1 " at the start or after a blank line ending a head or a body. */
static int status_lines(const exchange_t *x)
{
    int n = 0;
    for (const char *p = x->data; (p = strstr(p, "HTTP/1.1 ")) != NULL; p++)
        if (p == x->data || (p >= x->data + 1 && p[-1] == '\n') || p[-1] == '}')
            n++;
    return n;
}

static int first_status(const exchange_t *x)
{
    return strncmp(x->data, "HTTP/1.1 ", 9) == 0 ? atoi(x->data + 9) : 0;
}

typedef struct {
    const char *what;
    const char *request;
    int status;
    bool closed;
} raw_case_t;

#define POST_HEAD "POST /c HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"

static void test_framing_answers(void)
{
    static const raw_case_t cases[] = {
        {"Content-Length and Transfer-Encoding",
         POST_HEAD "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
         400, true},
        {"two Content-Lengths", POST_HEAD "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{} ", 400,
         true},
        {"Transfer-Encoding: identity", POST_HEAD "Transfer-Encoding: identity\r\n\r\n{}", 400,
         true},
        {"Transfer-Encoding: gzip, chunked",
         POST_HEAD "Transfer-Encoding: gzip, chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 400, true},
        {"Transfer-Encoding: xchunked",
         POST_HEAD "Transfer-Encoding: xchunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 400, true},
        {"whitespace before a colon", "GET /h HTTP/1.1\r\nHost : x\r\n\r\n", 400, true},
        {"a length hidden by whitespace", POST_HEAD "Content-Length : 2\r\n\r\n{}", 400, true},
        {"no Host", "GET /h HTTP/1.1\r\n\r\n", 400, true},
        {"two Hosts", "GET /h HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, true},
        {"HTTP/1.0 without Host", "GET /h HTTP/1.0\r\n\r\n", 200, true},
        {"a plain GET", "GET /h HTTP/1.1\r\nHost: x\r\n\r\n", 200, false},
        {"an absolute-form target", "GET http://x/h HTTP/1.1\r\nHost: x\r\n\r\n", 200, false},
        {"a chunked POST", POST_HEAD "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 200,
         false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const raw_case_t *k = &cases[i];
        exchange_t x;
        int64_t t0 = odm_now_ms();
        exchange(k->request, &x, k->closed ? 3000 : 300);
        CHECK_MSG(first_status(&x) == k->status && status_lines(&x) == 1,
                  "%s: %d status lines, want one %d: %.300s", k->what, status_lines(&x), k->status,
                  x.data);
        CHECK_MSG(x.closed == k->closed, "%s: connection %s", k->what,
                  x.closed ? "closed" : "open");
        if (k->closed)
            CHECK_MSG(odm_now_ms() - t0 < 2000, "%s: took %lld ms", k->what,
                      (long long)(odm_now_ms() - t0));
    }
    exchange_t x;
    exchange("GET http://x/h?q=1 HTTP/1.1\r\nHost: x\r\n\r\n", &x, 300);
    CHECK_MSG(strstr(x.data, "\"path\":\"/h\"") != NULL, "absolute form: %.300s", x.data);
}

static void test_pipelined(void)
{
    exchange_t x;
    exchange(POST_HEAD "Content-Length: 2\r\n\r\n{}"
                       "GET /second HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
             &x, 3000);
    CHECK_MSG(status_lines(&x) == 2 && strstr(x.data, "\"path\":\"/second\"") != NULL,
              "pipelined: %.400s", x.data);
    CHECK(x.closed);
}

/* A client that writes its whole request before it reads (as Python's urllib does): head and
 * body with blocking writes, then the answer. */
static void write_then_read(const char *head, size_t body_len, bool chunked, exchange_t *x)
{
    memset(x, 0, sizeof *x);
    int fd = connect_local();
    static char piece[16384];
    memset(piece, 'a', sizeof piece);
    bool ok = fd >= 0 && raw_send_all(fd, head, strlen(head));
    for (size_t sent = 0; ok && sent < body_len; sent += sizeof piece) {
        char size[32];
        snprintf(size, sizeof size, "%zx\r\n", sizeof piece);
        ok = (!chunked || raw_send_all(fd, size, strlen(size))) &&
             raw_send_all(fd, piece, sizeof piece) && (!chunked || raw_send_all(fd, "\r\n", 2));
    }
    if (ok && chunked)
        ok = raw_send_all(fd, "0\r\n\r\n", 5);
    x->send_failed = !ok;
    if (fd >= 0) {
        raw_read_answer(fd, x, 3000);
        close(fd);
    }
}

static void test_413_reaches_the_writer(void)
{
    exchange_t x;
    /* a declared length over the cap: answered at once, the body read and discarded after */
    size_t big = 4u << 20;
    char head[256];
    snprintf(head, sizeof head, POST_HEAD "Content-Length: %zu\r\n\r\n", big);
    write_then_read(head, big, false, &x);
    CHECK_MSG(!x.send_failed && first_status(&x) == 413 && status_lines(&x) == 1 && x.closed,
              "declared %zu: send %s, %.300s", big, x.send_failed ? "failed" : "ok", x.data);
    CHECK(strstr(x.data, "Connection: close") != NULL);

    /* chunked past the drain bound (twice the cap and 64 KiB): the 413 written mid-body */
    write_then_read(POST_HEAD "Transfer-Encoding: chunked\r\n\r\n", big, true, &x);
    CHECK_MSG(!x.send_failed && first_status(&x) == 413 && status_lines(&x) == 1 && x.closed,
              "chunked %zu: send %s, %.300s", big, x.send_failed ? "failed" : "ok", x.data);
    CHECK(strstr(x.data, "application/problem+json") != NULL);

    /* chunked over the cap but within the bound: 413 when the body ends */
    write_then_read(POST_HEAD "Transfer-Encoding: chunked\r\n\r\n", 3 * 16384, true, &x);
    CHECK_MSG(!x.send_failed && first_status(&x) == 413 && status_lines(&x) == 1 && x.closed,
              "chunked 48 KiB: %.300s", x.data);

    /* the server still answers */
    exchange("GET /h HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &x, 3000);
    CHECK_INT(first_status(&x), 200);
}

/* A body over the cap that arrives slowly: past four request timeouts the 413 is written,
 * without waiting for the byte bound. */
static void test_slow_body_over_the_cap(void)
{
    exchange_t x;
    memset(&x, 0, sizeof x);
    int fd = connect_local();
    char chunk[3000];
    memset(chunk, 'a', sizeof chunk);
    const char *head = POST_HEAD "Transfer-Encoding: chunked\r\n\r\n";
    bool ok = fd >= 0 && raw_send_all(fd, head, strlen(head));
    int64_t t0 = odm_now_ms();
    for (int i = 0; ok && i < 12 && !x.closed; i++) {
        char size[16];
        snprintf(size, sizeof size, "%zx\r\n", sizeof chunk);
        ok = raw_send_all(fd, size, strlen(size)) && raw_send_all(fd, chunk, sizeof chunk) &&
             raw_send_all(fd, "\r\n", 2);
        raw_read_answer(fd, &x, 200);
    }
    if (!x.closed && fd >= 0)
        raw_read_answer(fd, &x, 1000);
    if (fd >= 0)
        close(fd);
    CHECK_MSG(first_status(&x) == 413 && x.closed, "slow body: %.300s", x.data);
    CHECK_MSG(odm_now_ms() - t0 >= 4 * REQUEST_TIMEOUT_MS, "slow body: answered after %lld ms",
              (long long)(odm_now_ms() - t0));
}

/* Sends `total` bytes of body after `head`; returns how many were sent before a send failed. */
static size_t send_body(int fd, const char *head, size_t total)
{
    static char piece[65536];
    if (!raw_send_all(fd, head, strlen(head)))
        return 0;
    size_t sent = 0;
    while (sent < total && raw_send_all(fd, piece, sizeof piece))
        sent += sizeof piece;
    return sent;
}

/* The graceful close is bounded: past HTTP__LINGER_BYTES, or HTTP__LINGER_IDLE_MS with nothing
 * received, the socket is closed; the 413 sent before is still there to read. */
static void test_linger_bounds(void)
{
    char head[256];
    size_t total = (size_t)HTTP__LINGER_BYTES * 3;
    snprintf(head, sizeof head, POST_HEAD "Content-Length: %zu\r\n\r\n", total);
    int fd = connect_local();
    size_t sent = send_body(fd, head, total);
    CHECK_MSG(sent >= HTTP__LINGER_BYTES && sent < total, "byte bound: %zu of %zu sent", sent,
              total);
    exchange_t x = {0};
    raw_read_answer(fd, &x, 1000);
    CHECK_MSG(first_status(&x) == 413, "byte bound: %.200s", x.data);
    close(fd);

    snprintf(head, sizeof head, POST_HEAD "Content-Length: %d\r\n\r\n", 1 << 20);
    fd = connect_local();
    sent = send_body(fd, head, 65536);
    memset(&x, 0, sizeof x);
    raw_read_answer(fd, &x, 1000);
    CHECK_MSG(sent == 65536 && first_status(&x) == 413, "idle bound: %.200s", x.data);
    CHECK(raw_send_all(fd, "a", 1)); /* still read and discarded */
    usleep((HTTP__LINGER_IDLE_MS + 500) * 1000);
    bool refused = false;
    for (int i = 0; i < 20 && !refused; i++, usleep(20000))
        refused = !raw_send_all(fd, "a", 1);
    CHECK_MSG(refused, "idle bound: the socket is still open after %d ms",
              HTTP__LINGER_IDLE_MS + 500);
    close(fd);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_head_check();
    test_origin_path();

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    odm_http_options_t opts = {
        .listen = "127.0.0.1:0",
        .listen_addr = (const struct sockaddr *)&addr,
        .listen_addr_len = sizeof addr,
        .max_connections = 64,
        .max_client_connections = 64,
        .read_timeout_s = 30,
        .idle_timeout_s = 10,
        .max_body = MAX_BODY,
        .request_timeout_ms = REQUEST_TIMEOUT_MS,
        .handler = handler,
    };
    odm_error_t err;
    server = odm_http_start(&opts, &err);
    CHECK_MSG(server != NULL, "start: %s", err.message);
    if (server != NULL) {
        port = odm_http_port(server);
        test_framing_answers();
        test_pipelined();
        test_413_reaches_the_writer();
        test_slow_body_over_the_cap();
        test_linger_bounds();
        odm_http_drain(server);
        CHECK(odm_http_wait_idle(server, 2000));
        odm_http_stop(server);
    }
    return check_done("test_http");
}
