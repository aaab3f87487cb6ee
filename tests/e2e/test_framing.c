/* End-to-end: HTTP/1.1 message framing over raw sockets (RFC 9112: the request-smuggling class),
 * malformed request lines and heads, pipelining, and early 413s read by third-party clients
 * (Python's urllib and requests, the curl command, Go's net/http) thanks to the graceful close. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "support/rawhttp.h"
#include "harness.h"

#define MAX_BODY 8192

static e2e_env_t env;
#define DBURI (e2e_db_uri(env.db))
#define DBNAME (env.odmd.db_name)

/* ---- raw sockets ------------------------------------------------------------------------ */

typedef raw_answer_t answer_t;

static int connect_odmd(void)
{
    return raw_connect(env.odmd.port);
}

/* Sends the bytes of `req` in one write and reads the answer. */
static void raw(const char *req, answer_t *a, int wait_ms)
{
    memset(a, 0, sizeof *a);
    int fd = connect_odmd();
    if (fd < 0)
        return;
    raw_send_all(fd, req, strlen(req));
    raw_read_answer(fd, a, wait_ms);
    close(fd);
}

/* Status lines: "HTTP/1.1 " at the start or right after the end of a head or a JSON body. */
static int status_lines(const answer_t *a, const char *status)
{
    char want[32];
    snprintf(want, sizeof want, "HTTP/1.1 %s", status ? status : "");
    int n = 0;
    for (const char *p = a->data; (p = strstr(p, want)) != NULL; p++)
        if (p == a->data || p[-1] == '\n' || p[-1] == '}')
            n++;
    return n;
}

static int first_status(const answer_t *a)
{
    return strncmp(a->data, "HTTP/1.1 ", 9) == 0 ? atoi(a->data + 9) : 0;
}

/* ---- framing ---------------------------------------------------------------------------- */

#define POST "POST /api/notes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
#define GET_CLOSE "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

typedef struct {
    const char *what;
    const char *request;
    int status;
    bool closed;
    int stored; /* documents the request may add */
} frame_case_t;

static void test_framing(void)
{
    static const frame_case_t cases[] = {
        {"Content-Length with Transfer-Encoding",
         POST "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 400,
         true, 0},
        {"Content-Length with Transfer-Encoding, smuggling a GET",
         POST "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" GET_CLOSE, 400,
         true, 0},
        {"two different Content-Lengths", POST "Content-Length: 2\r\nContent-Length: 40\r\n\r\n{}",
         400, true, 0},
        {"Transfer-Encoding: identity", POST "Transfer-Encoding: identity\r\n\r\n{}", 400, true, 0},
        {"Transfer-Encoding: gzip, chunked",
         POST "Transfer-Encoding: gzip, chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 400, true, 0},
        {"Transfer-Encoding: xchunked",
         POST "Transfer-Encoding: xchunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 400, true, 0},
        {"chunked in HTTP/1.0",
         "POST /api/notes HTTP/1.0\r\nContent-Type: application/json\r\nTransfer-Encoding: "
         "chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
         400, true, 0},
        {"whitespace before a colon", "GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n", 400, true, 0},
        {"a Content-Length hidden by whitespace",
         POST "Content-Length : 39\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 400, true, 0},
        {"no Host in HTTP/1.1", "GET /healthz HTTP/1.1\r\n\r\n", 400, true, 0},
        {"two Hosts", "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, true, 0},
        {"HTTP/1.0 without Host", "GET /healthz HTTP/1.0\r\n\r\n", 200, true, 0},
        {"the same Content-Length twice", POST "Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
         201, false, 1},
        {"an absolute-form target", "GET http://x/healthz HTTP/1.1\r\nHost: x\r\n\r\n", 200, false,
         0},
        {"an absolute-form target with a query",
         "GET http://x:1/api/notes?limit=1 HTTP/1.1\r\nHost: x\r\n\r\n", 200, false, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const frame_case_t *k = &cases[i];
        int64_t before = e2e_mongo_count(DBURI, DBNAME, "e2e_notes");
        int64_t t0 = e2e_now_ms();
        answer_t a;
        raw(k->request, &a, k->closed ? 5000 : 500);
        CHECK_MSG(first_status(&a) == k->status && status_lines(&a, NULL) == 1,
                  "%s: want one %d, got %d status lines: %.400s", k->what, k->status,
                  status_lines(&a, NULL), a.data);
        CHECK_MSG(a.closed == k->closed, "%s: the connection is %s", k->what,
                  a.closed ? "closed" : "open");
        if (k->closed)
            CHECK_MSG(e2e_now_ms() - t0 < 3000, "%s: closed after %lld ms", k->what,
                      (long long)(e2e_now_ms() - t0));
        if (k->status == 400)
            CHECK_MSG(strstr(a.data, "urn:odmd:problem:bad-request") != NULL, "%s: %.400s", k->what,
                      a.data);
        CHECK_MSG(e2e_mongo_count(DBURI, DBNAME, "e2e_notes") == before + k->stored,
                  "%s: stored %lld documents", k->what,
                  (long long)(e2e_mongo_count(DBURI, DBNAME, "e2e_notes") - before));
    }
}

/* libmicrohttpd answers a Content-Length that is not a number itself, before odmd sees the
 * request: 400, the connection closed, nothing after it read. Its 0.9.75 writes that answer's
 * head twice (README), so only the first status line and the close are asserted here. */
static void test_bad_content_length(void)
{
    static const char *values[] = {"abc", "+2", "2, 2", "-1", "0x2", ""};
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        char req[512];
        snprintf(req, sizeof req, POST "Content-Length: %s\r\n\r\n{}" GET_CLOSE, values[i]);
        int64_t before = e2e_mongo_count(DBURI, DBNAME, "e2e_notes");
        answer_t a;
        raw(req, &a, 5000);
        CHECK_MSG(first_status(&a) == 400 && a.closed && status_lines(&a, "200") == 0,
                  "Content-Length '%s': %.300s", values[i], a.data);
        CHECK_INT(e2e_mongo_count(DBURI, DBNAME, "e2e_notes"), before);
    }
}

typedef struct {
    const char *what;
    const char *request;
    int status;
} line_case_t;

/* Request lines and heads that libmicrohttpd refuses before odmd sees them (README, Errors). */
static void test_bad_request_lines(void)
{
    static char long_header[50000], long_target[50000];
    snprintf(long_header, sizeof long_header,
             "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %0*d\r\n\r\n", 40000, 0);
    snprintf(long_target, sizeof long_target, "GET /%0*d HTTP/1.1\r\nHost: x\r\n\r\n", 40000, 0);
    const line_case_t cases[] = {
        {"no version", "GET /healthz\r\n\r\n", 400},
        {"a word after the version", "GET /healthz HTTP/1.1 x\r\nHost: x\r\n\r\n", 400},
        {"an unknown version", "GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", 505},
        {"a header line without a colon", "GET /healthz HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n",
         400},
        {"headers too large", long_header, 431},
        {"a target too long", long_target, 414},
        {"a request line without a target", "GARBAGE\r\n\r\n", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        answer_t a;
        raw(cases[i].request, &a, 5000);
        CHECK_MSG(first_status(&a) == cases[i].status &&
                      status_lines(&a, NULL) == (cases[i].status ? 1 : 0),
                  "%s: want %d: %.300s", cases[i].what, cases[i].status, a.data);
        CHECK_MSG(a.closed, "%s: the connection is open", cases[i].what);
    }
    e2e_resp_t r = {0};
    e2e_get(&env.c, &r, "/healthz");
    EXPECT_STATUS(r, 200);
    e2e_resp_free(&r);
}

/* A request pipelined behind a POST, carrying Connection: close, is answered: sent in the same
 * write as the POST, and sent while the POST is in flight. */
static void test_pipelined(void)
{
    static const char *seconds[] = {
        GET_CLOSE,
        "GET /api/notes?limit=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        POST "Connection: close\r\nContent-Length: 2\r\n\r\n{}",
    };
    for (size_t i = 0; i < sizeof seconds / sizeof *seconds; i++) {
        for (int apart = 0; apart < 2; apart++) {
            for (int round = 0; round < 10; round++) {
                answer_t a = {0};
                int fd = connect_odmd();
                const char *first = POST "Content-Length: 2\r\n\r\n{}";
                if (apart) {
                    raw_send_all(fd, first, strlen(first));
                    e2e_sleep_ms(round % 3);
                    raw_send_all(fd, seconds[i], strlen(seconds[i]));
                } else {
                    char both[1024];
                    snprintf(both, sizeof both, "%s%s", first, seconds[i]);
                    raw_send_all(fd, both, strlen(both));
                }
                raw_read_answer(fd, &a, 5000);
                close(fd);
                CHECK_MSG(status_lines(&a, "201") + status_lines(&a, "200") == 2 && a.closed,
                          "pipelined #%zu (%s, round %d): %.600s", i, apart ? "apart" : "together",
                          round, a.data);
            }
        }
    }
}

/* ---- 413 read by third-party clients ---------------------------------------------------- */

/* Runs a shell command and returns its first output line (static storage), "" when none. */
static const char *run_line(const char *cmd)
{
    static char line[512];
    line[0] = '\0';
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        return line;
    if (fgets(line, sizeof line, p) == NULL)
        line[0] = '\0';
    while (fgetc(p) != EOF) {
    }
    pclose(p);
    line[strcspn(line, "\r\n")] = '\0';
    return line;
}

/* The Python that has `requests`: Debian's (python3-requests, scripts/packages.sh) first. */
static const char *python(void)
{
    if (system("/usr/bin/python3 -c 'import requests' >/dev/null 2>&1") == 0)
        return "/usr/bin/python3";
    return "python3";
}

static void expect_client(const char *what, const char *cmd, const char *want)
{
    int64_t t0 = e2e_now_ms();
    const char *got = run_line(cmd);
    CHECK_MSG(strcmp(got, want) == 0, "%s: got '%s', want %s (%lld ms)", what, got, want,
              (long long)(e2e_now_ms() - t0));
}

static void test_413_clients(void)
{
    const char *dir = e2e_source_dir();
    char url[128], py[1024], curl[1024], go_run[1024], cmd[2048];
    snprintf(url, sizeof url, "%s/api/notes", env.odmd.url);
    size_t size = 4u << 20; /* within the graceful close's 64 MiB */
    int64_t before = e2e_mongo_count(DBURI, DBNAME, "e2e_notes");

    snprintf(py, sizeof py, "%s %s/tests/e2e/clients/post_body.py", python(), dir);
    snprintf(cmd, sizeof cmd, "%s %s %zu urllib", py, url, size);
    expect_client("urllib, declared length", cmd, "413");
    snprintf(cmd, sizeof cmd, "%s %s/api/nope %zu urllib", py, env.odmd.url, size);
    expect_client("urllib, unknown model (404 outranks 413)", cmd, "404");
    snprintf(cmd, sizeof cmd, "%s %s %zu requests", py, url, size);
    expect_client("requests, declared length", cmd, "413");
    snprintf(cmd, sizeof cmd, "%s %s %zu requests-chunked", py, url, size);
    expect_client("requests, chunked", cmd, "413");

    const char *tmp = e2e_temp_dir("framing");
    char *body = malloc(size + 1);
    memset(body, 'a', size);
    body[size] = '\0';
    CHECK(e2e_write_file(tmp, "body.json", body));
    free(body);
    snprintf(curl, sizeof curl,
             "curl -s -o /dev/null -w '%%{http_code}\\n' -m 20 -H 'Content-Type: application/json' "
             "--data-binary @%s/body.json",
             tmp);
    snprintf(cmd, sizeof cmd, "%s -H 'Expect:' %s", curl, url);
    expect_client("curl, declared length, no Expect", cmd, "413");
    snprintf(cmd, sizeof cmd, "%s -H 'Expect: 100-continue' %s", curl, url);
    expect_client("curl, Expect: 100-continue", cmd, "413");
    snprintf(cmd, sizeof cmd, "%s -H 'Transfer-Encoding: chunked' %s", curl, url);
    expect_client("curl, chunked", cmd, "413");

    const char *go = system("command -v go >/dev/null 2>&1") == 0 ? "go"
                     : access("/usr/local/go/bin/go", X_OK) == 0  ? "/usr/local/go/bin/go"
                                                                  : NULL;
    if (go == NULL) {
        fprintf(stderr, "no Go toolchain: the Go client's cases are not run\n");
    } else {
        snprintf(go_run, sizeof go_run,
                 "cd %s/tests/e2e/clients && GOTOOLCHAIN=local GOFLAGS= "
                 "GOCACHE=\"${GOCACHE:-${HOME:-/tmp}/.cache/go-build}\" %s run post_body.go",
                 dir, go);
        snprintf(cmd, sizeof cmd, "%s %s %zu", go_run, url, size);
        expect_client("Go, declared length", cmd, "413");
        snprintf(cmd, sizeof cmd, "%s %s %zu chunked", go_run, url, size);
        expect_client("Go, chunked", cmd, "413");
    }
    CHECK_INT(e2e_mongo_count(DBURI, DBNAME, "e2e_notes"), before);
    e2e_resp_t r = {0};
    e2e_get(&env.c, &r, "/healthz");
    EXPECT_STATUS(r, 200);
    e2e_resp_free(&r);
}

int main(void)
{
    e2e_init("framing");
    const char *args[] = {"--max-body", "8192", NULL};
    if (!e2e_env_up(&env, args)) {
        CHECK_MSG(false, "environment did not start");
        e2e_env_down(&env);
        return e2e_finish(check_done("e2e_framing"));
    }
    test_framing();
    test_bad_content_length();
    test_bad_request_lines();
    test_pipelined();
    test_413_clients();
    CHECK_INT(e2e_env_down(&env), 0);
    return e2e_finish(check_done("e2e_framing"));
}
