/* HTTPS with --tls-cert/--tls-key: a certificate made here (the openssl command), CRUD over
 * libcurl with that certificate as the only CA, kept-alive connections, requests handed to
 * workers and resumed under load, a streamed export, the early 413 and its graceful close over
 * TLS, plain HTTP refused on the TLS port, curl(1) and `odmd health https://` against it, and
 * odmd refusing bad certificate and key files at startup (exit 2, the file and the reason).
 * Without the openssl command the test is skipped (77), unless CI is set. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "harness.h"

#define THREADS 8
#define PER_THREAD 25 /* 5 on FerretDB: its lists scan, and slow down as notes pile up */

static const char *dir;
static int per_thread = PER_THREAD;
static char cert[512], key[512], other_key[512], not_pem[512];

/* Runs a shell command line; true when it exits 0. */
static bool run(const char *cmd)
{
    int status = system(cmd);
    return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* A self-signed certificate for localhost and 127.0.0.1, its key, a key of another pair, and a
 * file that is not PEM. */
static bool make_files(void)
{
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    snprintf(other_key, sizeof other_key, "%s/other-key.pem", dir);
    snprintf(not_pem, sizeof not_pem, "%s/not.pem", dir);
    return run(F("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                 "-keyout '%s' -out '%s' -days 2 -subj /CN=localhost "
                 "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null",
                 key, cert)) &&
           run(F("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out '%s' "
                 "2>/dev/null",
                 other_key)) &&
           e2e_write_file(dir, "not.pem", "this is not a certificate\n");
}

/* odmd with these TLS arguments must stop at startup: exit 2, a message naming `file` and
 * saying `why`. */
static void expect_refused(const char *cert_path, const char *key_path, const char *file,
                           const char *why)
{
    const char *argv[8];
    int n = 0;
    argv[n++] = "--mongo-uri";
    argv[n++] = e2e_dead_uri(NULL);
    if (cert_path) {
        argv[n++] = "--tls-cert";
        argv[n++] = cert_path;
    }
    if (key_path) {
        argv[n++] = "--tls-key";
        argv[n++] = key_path;
    }
    argv[n] = NULL;
    char *out = NULL;
    int status = e2e_run_odmd(argv, NULL, NULL, 20000, &out);
    CHECK_MSG(status == 2, "odmd with a bad TLS pair (%s): exit %d, want 2: %s", why, status,
              out ? out : "");
    CHECK_MSG(out && (file == NULL || strstr(out, file)) && strstr(out, why),
              "odmd's message should name '%s' and say '%s': %s", file ? file : "-", why,
              out ? out : "");
    free(out);
}

static void test_refused_at_startup(void)
{
    expect_refused(F("%s/missing.pem", dir), key, "missing.pem", "cannot read");
    expect_refused(not_pem, key, not_pem, "not a PEM certificate");
    expect_refused(cert, not_pem, not_pem, "not an unencrypted PEM private key");
    expect_refused(cert, cert, cert, "not an unencrypted PEM private key");
    expect_refused(cert, other_key, other_key, "does not match the certificate");
    expect_refused(cert, NULL, NULL, "go together");
    expect_refused(NULL, key, NULL, "go together");
}

static void tls_client(e2e_client_t *c, int port)
{
    e2e_client_init(c, F("https://127.0.0.1:%d", port));
    c->ca_file = cert;
}

static void test_crud(int port)
{
    e2e_client_t c;
    tls_client(&c, port);
    e2e_resp_t r = {0};
    e2e_post(&c, &r, "/api/notes", Q("{'title':'over tls','n':1}"));
    EXPECT_STATUS(r, 201);
    const char *id = e2e_str(&r, "_id");
    char path[128], etag[128];
    snprintf(path, sizeof path, "/api/notes/%s", id ? id : "none");
    snprintf(etag, sizeof etag, "If-Match: %s",
             e2e_header(&r, "ETag") ? e2e_header(&r, "ETag") : "\"none\"");
    e2e_get(&c, &r, path);
    EXPECT_STATUS(r, 200);
    CHECK_MSG(r.num_connects == 0, "the second request over TLS opened a new connection");
    CHECK_STR(e2e_str(&r, "title"), "over tls");
    e2e_patch(&c, &r, path, Q("{'n':2}"), etag);
    EXPECT_STATUS(r, 200);
    CHECK_INT(json_integer_value(json_object_get(r.json, "n")), 2);
    e2e_patch(&c, &r, path, Q("{'n':3}"), etag); /* the old ETag: refused */
    EXPECT_PROBLEM(r, 412);
    e2e_get(&c, &r, "/api/notes?limit=5");
    EXPECT_STATUS(r, 200);
    e2e_delete(&c, &r, path, NULL);
    EXPECT_STATUS(r, 204);
    e2e_get(&c, &r, path);
    EXPECT_PROBLEM(r, 404);
    CHECK_MSG(r.num_connects == 0, "a kept-alive TLS connection was not reused");
    e2e_resp_free(&r);
    e2e_client_release(&c);
}

typedef struct {
    int port;
    int ok;
} worker_t;

/* Requests through the workers (suspend, resume) from several TLS connections at once. */
static void *hammer(void *arg)
{
    worker_t *w = arg;
    e2e_client_t c;
    tls_client(&c, w->port);
    e2e_resp_t r = {0};
    for (int i = 0; i < per_thread; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"title\":\"load\",\"n\":%d}", i);
        if (e2e_post(&c, &r, "/api/notes", body) && r.status == 201 &&
            e2e_get(&c, &r, "/api/notes?limit=2") && r.status == 200)
            w->ok++;
    }
    e2e_resp_free(&r);
    e2e_client_release(&c);
    return NULL;
}

static void test_load(int port)
{
    pthread_t t[THREADS];
    worker_t w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker_t){port, 0};
        pthread_create(&t[i], NULL, hammer, &w[i]);
    }
    int ok = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        ok += w[i].ok;
    }
    CHECK_INT(ok, THREADS * per_thread);
}

/* A streamed export over TLS (the response callback suspends the connection whenever the ring
 * is empty): every note, one line each, in one chunked body. */
static void test_export(int port)
{
    e2e_client_t c;
    tls_client(&c, port);
    e2e_resp_t r = {0};
    e2e_get(&c, &r, "/api/notes?count=true&limit=1");
    const char *total = e2e_header(&r, "X-Total-Count");
    long want = total ? atol(total) : -1;
    const char *ndjson[] = {"Accept: application/x-ndjson", NULL};
    e2e_request(&c, &r, "GET", "/api/notes", ndjson, NULL, 0);
    EXPECT_STATUS(r, 200);
    long lines = 0;
    for (size_t i = 0; i < r.body_len; i++)
        lines += r.body[i] == '\n';
    CHECK_MSG(want >= THREADS * per_thread && lines == want, "export: %ld lines, %ld notes", lines,
              want);
    e2e_resp_free(&r);
    e2e_client_release(&c);
}

/* A declared body over --max-body: the 413 is answered before the body is read, and the
 * graceful close (which reads and discards what the client still sends) keeps the TLS stream
 * whole, so the client reads it. A chunked body past the drain bound is cut without an answer
 * over TLS; the server goes on serving. */
static void test_too_large(int port)
{
    e2e_client_t c;
    tls_client(&c, port);
    e2e_resp_t r = {0};
    size_t n = 64 * 1024;
    char *big = malloc(n + 1);
    memset(big, 'x', n);
    memcpy(big, "{\"title\":\"", 10);
    memcpy(big + n - 2, "\"}", 2);
    big[n] = '\0';
    const char *headers[] = {"Content-Type: application/json", NULL};
    e2e_request(&c, &r, "POST", "/api/notes", headers, big, n);
    EXPECT_PROBLEM(r, 413);
    free(big);
    e2e_request_chunked(&c, &r, "POST", "/api/notes", "application/json", 4 * 1024 * 1024, 16384);
    EXPECT_PROBLEM(r, 413);
    e2e_get(&c, &r, "/healthz");
    EXPECT_STATUS(r, 200);
    e2e_resp_free(&r);
    e2e_client_release(&c);
}

/* Plain HTTP to the TLS port: no HTTP answer, over libcurl or a raw socket. */
static void test_plain_refused(int port)
{
    e2e_client_t c;
    e2e_client_init(&c, F("http://127.0.0.1:%d", port));
    c.timeout_ms = 5000;
    e2e_resp_t r = {0};
    bool answered = e2e_get(&c, &r, "/healthz");
    CHECK_MSG(!answered && r.status == 0, "plain HTTP on the TLS port got status %ld", r.status);
    e2e_resp_free(&r);
    e2e_client_release(&c);

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[256] = {0};
    ssize_t got = -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
        const char *req = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
        if (send(fd, req, strlen(req), MSG_NOSIGNAL) > 0)
            got = recv(fd, buf, sizeof buf - 1, 0);
    }
    close(fd);
    CHECK_MSG(got <= 0 || strncmp(buf, "HTTP/", 5) != 0,
              "a plain request on the TLS port was answered in plain HTTP: %.60s", buf);

    /* and the TLS port still serves HTTPS afterwards */
    e2e_client_t t;
    tls_client(&t, port);
    e2e_get(&t, &r, "/healthz");
    EXPECT_STATUS(r, 200);
    e2e_resp_free(&r);
    e2e_client_release(&t);
}

/* curl(1), when there: the certificate pinned as its only CA; without it, refused. */
static void test_curl_cli(int port)
{
    if (!run("command -v curl >/dev/null 2>&1")) {
        printf("e2e_tls: no curl command: the curl(1) check is skipped\n");
        return;
    }
    const char *out = F("%s/curl.out", dir);
    CHECK_MSG(run(F("curl -sS --max-time 10 --cacert '%s' -o /dev/null -w '%%{http_code}' "
                    "https://127.0.0.1:%d/healthz > '%s'",
                    cert, port, out)),
              "curl --cacert failed against the TLS port");
    char *code = e2e_read_file(out);
    CHECK_STR(code ? code : "", "200");
    free(code);
    CHECK_MSG(!run(F("curl -sS --max-time 10 -o /dev/null https://127.0.0.1:%d/healthz "
                     "--cacert /dev/null 2>/dev/null",
                     port)),
              "curl trusted odmd's self-signed certificate without it as the CA");
}

/* `odmd health https://...` (a container's health check of an odmd serving HTTPS): 200 from
 * /healthz is exit 0; plain http:// to the TLS port, or https:// to a port without TLS, is not. */
static void test_health_command(int port, const char *plain_url)
{
    char *out = NULL;
    const char *ok[] = {"health", F("https://127.0.0.1:%d/healthz", port), NULL};
    int status = e2e_run_odmd(ok, NULL, NULL, 20000, &out);
    CHECK_MSG(status == 0 && out && strstr(out, "200"), "odmd health %s: exit %d: %s", ok[1],
              status, out ? out : "");
    free(out);
    const char *missing[] = {"health", F("https://127.0.0.1:%d/no-such-page", port), NULL};
    CHECK_MSG(e2e_run_odmd(missing, NULL, NULL, 20000, NULL) == 1,
              "odmd health on an HTTPS 404 page did not exit 1");
    const char *plain[] = {"health", F("http://127.0.0.1:%d/healthz", port), NULL};
    CHECK_MSG(e2e_run_odmd(plain, NULL, NULL, 20000, NULL) == 1,
              "odmd health over plain HTTP to the TLS port did not exit 1");
    const char *no_tls[] = {"health", F("https://%s/healthz", plain_url + strlen("http://")), NULL};
    CHECK_MSG(e2e_run_odmd(no_tls, NULL, NULL, 20000, &out) == 1 && out &&
                  strstr(out, "TLS handshake"),
              "odmd health https:// to a plain HTTP port: %s", out ? out : "");
    free(out);
}

int main(void)
{
    e2e_init("tls");
    if (!run("command -v openssl >/dev/null 2>&1")) {
        printf("e2e_tls: no openssl command to make a certificate with\n");
        return e2e_finish(getenv("CI") ? 1 : 77);
    }
    dir = e2e_temp_dir("tls");
    if (e2e_is_ferretdb())
        per_thread = 5;
    if (!make_files()) {
        printf("e2e_tls: openssl could not make a certificate\n");
        return e2e_finish(1);
    }
    test_refused_at_startup();

    e2e_db_t *db = e2e_db_start();
    if (db == NULL)
        return e2e_finish(1);
    e2e_odmd_t odmd;
    e2e_odmd_opts_t opts = {.mongo_uri = e2e_db_uri(db),
                            .schemas = e2e_schemas_with_extras(),
                            .no_wait = true,
                            .args = {"--tls-cert", cert, "--tls-key", key, "--max-body", "4KiB",
                                     "--workers", "4", NULL}};
    if (!e2e_odmd_start(&odmd, &opts)) {
        e2e_db_stop(db);
        return e2e_finish(1);
    }
    e2e_odmd_t plain; /* the same without TLS, for `odmd health https://` to refuse */
    e2e_odmd_opts_t plain_opts = {
        .mongo_uri = e2e_db_uri(db), .schemas = e2e_schemas_with_extras(), .db_name = odmd.db_name};
    if (!e2e_odmd_start(&plain, &plain_opts)) {
        e2e_odmd_stop(&odmd, 20000);
        e2e_db_stop(db);
        return e2e_finish(1);
    }
    e2e_client_t c;
    tls_client(&c, odmd.port);
    e2e_resp_t r = {0};
    int64_t until = e2e_now_ms() + 30000;
    while (!(e2e_get(&c, &r, "/readyz") && r.status == 200) && e2e_now_ms() < until &&
           e2e_odmd_alive(&odmd))
        e2e_sleep_ms(100);
    EXPECT_STATUS(r, 200);
    e2e_resp_free(&r);
    e2e_client_release(&c);
    if (check_failed == 0) {
        test_crud(odmd.port);
        test_load(odmd.port);
        test_export(odmd.port);
        test_too_large(odmd.port);
        test_plain_refused(odmd.port);
        test_curl_cli(odmd.port);
        test_health_command(odmd.port, plain.url);
    } else {
        e2e_odmd_dump_log(&odmd, 40);
    }
    CHECK_INT(e2e_odmd_stop(&odmd, 20000), 0);
    CHECK_INT(e2e_odmd_stop(&plain, 20000), 0);
    e2e_db_stop(db);
    return e2e_finish(check_done("e2e_tls"));
}
