/* The libmicrohttpd daemon: request lifecycle, body capping, suspend/resume, drain and stop. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http/internal.h"
#include "odmd/clock.h"
#include "odmd/log.h"

static const struct {
    const char *name;
    odm_method_t method;
} methods[] = {
    {"GET", ODM_METHOD_GET},         {"HEAD", ODM_METHOD_HEAD},   {"POST", ODM_METHOD_POST},
    {"PUT", ODM_METHOD_PUT},         {"PATCH", ODM_METHOD_PATCH}, {"DELETE", ODM_METHOD_DELETE},
    {"OPTIONS", ODM_METHOD_OPTIONS},
};

static odm_method_t parse_method(const char *name)
{
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(name, methods[i].name) == 0)
            return methods[i].method;
    return ODM_METHOD_OTHER;
}

/* Lower-case hex of v, at least `width` digits (printf's "%0*llx", without its cost on every
 * request). Returns: the digits written (at most 16), not NUL-terminated. */
static size_t put_hex(char *out, unsigned long long v, size_t width)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 1;
    while (n < 16 && (v >> (4 * n)) != 0)
        n++;
    if (n < width)
        n = width;
    for (size_t i = n; i > 0; i--, v >>= 4)
        out[i - 1] = hex[v & 15];
    return n;
}

/* A client's X-Request-Id is kept when it is short and printable; otherwise one is made. */
static void assign_request_id(odm_http_server_t *server, odm_request_t *req)
{
    const char *given = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-Request-Id");
    if (given != NULL) {
        size_t n = strlen(given);
        bool ok = n > 0 && n <= HTTP__MAX_REQUEST_ID;
        for (size_t i = 0; ok && i < n; i++)
            ok = given[i] > 0x20 && given[i] < 0x7f;
        if (ok) {
            memcpy(req->request_id, given, n + 1);
            return;
        }
    }
    unsigned long long n = atomic_fetch_add(&server->next_id, 1);
    size_t len = put_hex(req->request_id, server->id_prefix, 8);
    len += put_hex(req->request_id + len, n, 12);
    req->request_id[len] = '\0';
}

/* libmicrohttpd's URI log callback: called with the request target as sent, before the path
 * is decoded. The request context starts here, holding the raw path; request_new completes it
 * on the first handler call, and on_completed frees it (libmicrohttpd calls it for every
 * request this callback saw). */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    odm_request_t *req = calloc(1, sizeof *req);
    if (req == NULL)
        return NULL;
    http__conns_reading(cls, conn);
    const char *path = http__origin_path(uri);
    req->raw_path = strndup(path, strcspn(path, "?"));
    return req;
}

/* Completes the context on_uri made (`req`), or makes one. Returns: NULL on out of memory
 * (`req`, if given, stays for on_completed to free). */
static odm_request_t *request_new(odm_http_server_t *server, odm_request_t *req,
                                  struct MHD_Connection *conn, const char *url, const char *method)
{
    bool made = req == NULL;
    if (made && (req = calloc(1, sizeof *req)) == NULL)
        return NULL;
    url = http__origin_path(url);
    size_t n = strnlen(url, HTTP__MAX_PATH);
    req->path = strndup(url, n);
    if (req->path == NULL) {
        if (made)
            free(req);
        return NULL;
    }
    req->server = server;
    req->conn = conn;
    req->method_name = method;
    req->method = parse_method(method);
    req->started_ms = odm_now_ms();
    req->started_us = odm_now_us();
    odm_buf_init(&req->body, server->opts.max_body);
    assign_request_id(server, req);
    return req;
}

static void request_free(odm_request_t *req)
{
    http__stream_drop(req);
    if (req->state_free)
        req->state_free(req->state);
    for (unsigned i = 0; i < req->n_headers; i++)
        free(req->headers[i].value);
    free(req->resp_body);
    odm_buf_release(&req->body);
    free(req->path);
    free(req->raw_path);
    free(req);
}

void http__log_flush(odm_http_server_t *server, bool due_only)
{
    http__log_t *log = &server->log;
    long long since = atomic_load_explicit(&log->since_ms, memory_order_relaxed);
    if (since == 0 || (due_only && odm_now_ms() - since < HTTP__LOG_FLUSH_MS))
        return;
    pthread_mutex_lock(&log->lock);
    if (log->len > 0)
        odm_log_write_lines(log->data, log->len);
    log->len = 0;
    atomic_store_explicit(&log->since_ms, 0, memory_order_relaxed);
    pthread_mutex_unlock(&log->lock);
}

/* Queues one line (ending in '\n') behind the others: a write(2) for many lines instead of
 * one per request (3 to 5 us of the polling thread's CPU per request, measured). */
static void log_line(odm_http_server_t *server, const char *line, size_t n)
{
    http__log_t *log = &server->log;
    pthread_mutex_lock(&log->lock);
    if (log->len + n > sizeof log->data && log->len > 0) {
        odm_log_write_lines(log->data, log->len);
        log->len = 0;
    }
    if (n > sizeof log->data) {
        odm_log_write_lines(line, n); /* alone: it could not be written unsplit anyway */
    } else {
        memcpy(log->data + log->len, line, n);
        log->len += n;
    }
    if (log->len == 0)
        atomic_store_explicit(&log->since_ms, 0, memory_order_relaxed);
    else if (atomic_load_explicit(&log->since_ms, memory_order_relaxed) == 0)
        atomic_store_explicit(&log->since_ms, odm_now_ms(), memory_order_relaxed);
    pthread_mutex_unlock(&log->lock);
}

static void access_log(odm_http_server_t *server, const odm_request_t *req,
                       enum MHD_RequestTerminationCode toe)
{
    if (!odm_log_enabled(ODM_LOG_INFO))
        return;
    char now[40];
    odm_log_time(now, sizeof now);
    odm_buf_t *line = &server->log.line;
    odm_buf_reset(line);
    odm_buf_puts(line, "{\"time\":\"");
    odm_buf_puts(line, now);
    odm_buf_puts(line, "\",\"level\":\"info\",\"method\":");
    odm_buf_json_string(line, req->method_name, strlen(req->method_name));
    odm_buf_puts(line, ",\"path\":");
    odm_buf_json_string(line, req->path, strlen(req->path));
    odm_buf_puts(line, ",\"status\":");
    odm_buf_put_int(line, req->status);
    odm_buf_puts(line, ",\"duration_ms\":");
    odm_buf_put_int(line, odm_now_ms() - req->started_ms);
    odm_buf_puts(line, ",\"request_id\":");
    odm_buf_json_string(line, req->request_id, strlen(req->request_id));
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) {
        odm_buf_puts(line, ",\"terminated\":");
        odm_buf_put_int(line, (int)toe);
    }
    if (odm_buf_puts(line, "}\n"))
        log_line(server, line->data, line->len);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    odm_request_t *req = *req_cls;
    if (req == NULL)
        return;
    if (req->conn == NULL) { /* made by on_uri, never handled: answered by libmicrohttpd */
        request_free(req);
        *req_cls = NULL;
        return;
    }
    atomic_fetch_add_explicit(&req->server->progress, 1, memory_order_relaxed);
    http__conns_idle(req->server, conn);
    access_log(req->server, req, toe);
    http__observe_done(req);
    if (req->counted)
        atomic_fetch_sub(&req->server->active, 1);
    request_free(req);
    *req_cls = NULL;
}

static void free_body(void *p)
{
    free(p);
}

static void add_to_response(void *resp, const char *name, const char *value)
{
    MHD_add_response_header(resp, name, value);
}

/* Queues the prepared response; the polling thread only. */
static enum MHD_Result queue_prepared(odm_request_t *req)
{
    if (req->status == 0) {
        odm_error_t err;
        odm_error_set(&err, ODM_ERR_INTERNAL, "no response was prepared");
        odm_request_fail(req, &err, NULL);
    }
    struct MHD_Response *resp =
        req->stream ? http__stream_response(req)
                    : MHD_create_response_from_buffer_with_free_callback(
                          req->resp_len, req->resp_body ? req->resp_body : (void *)"",
                          req->resp_body ? free_body : NULL);
    if (resp == NULL)
        return MHD_NO;
    req->resp_body = NULL; /* the response owns it now */
    if (req->content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, req->content_type);
    MHD_add_response_header(resp, "X-Request-Id", req->request_id);
    for (unsigned i = 0; i < req->n_headers; i++)
        MHD_add_response_header(resp, req->headers[i].name, req->headers[i].value);
    http__cors_headers(req, add_to_response, resp);
    http__limit_answered(req->server, req, add_to_response, resp);
    if (req->close_connection || atomic_load(&req->server->draining))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    http__conns_busy(req->server, req->conn);
    enum MHD_Result r = MHD_queue_response(req->conn, (unsigned)req->status, resp);
    MHD_destroy_response(resp);
    req->phase = HTTP__ANSWERED;
    return r;
}

/* libmicrohttpd has parsed the first Content-Length already (and answered one that is not a
 * number) and http__head_check has refused a second that differs. */
static bool declared_too_large(odm_request_t *req, const http__head_t *head, size_t max)
{
    if (head->lengths == 0)
        return false;
    req->declared_body = strcmp(head->length, "0") != 0;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(head->length, &end, 10);
    return errno == ERANGE || (end != head->length && n > max);
}

static void fail_kind(odm_request_t *req, odm_error_kind_t kind, const char *msg)
{
    odm_error_t err;
    odm_error_set(&err, kind, "%s", msg);
    odm_request_fail(req, &err, NULL);
}

/* The answer to a body over the cap: what the preflight answers (404, 405, 401), else 413. */
static void prepare_too_large(odm_http_server_t *server, odm_request_t *req)
{
    req->close_connection = true;
    if (server->opts.preflight)
        server->opts.preflight(req, server->opts.app);
    if (req->status == 0)
        fail_kind(req, ODM_ERR_TOO_LARGE, "request body larger than the limit");
}

/* An answer given before the body was read: queued now, with Connection: close, and the
 * connection closed gracefully (what the client still sends is read and discarded). */
static enum MHD_Result answer_early(odm_http_server_t *server, odm_request_t *req)
{
    req->close_connection = true;
    http__linger_adopt(server, req->conn);
    return queue_prepared(req);
}

/* The first call, headers read: a head whose framing is ambiguous gets 400, a declared body
 * above the cap 413 unless the preflight answers what outranks it (404, 405, 401). */
static enum MHD_Result first_call(odm_http_server_t *server, odm_request_t *req,
                                  const char *version)
{
    http__head_t head;
    odm_error_t err;
    http__head_read(req->conn, version, &head);
    if (!http__head_check(&head, &err)) {
        odm_request_fail(req, &err, NULL);
        return answer_early(server, req);
    }
    if (!declared_too_large(req, &head, server->opts.max_body))
        return MHD_YES;
    prepare_too_large(server, req);
    return answer_early(server, req);
}

/* Body bytes: kept up to max_body, counted and discarded past it. Past the drain bound (the hard
 * cap, or four request timeouts), where libmicrohttpd queues no response, the 413 is written
 * straight to the socket and the connection is closed gracefully (MHD_NO). */
static enum MHD_Result take_body(odm_http_server_t *server, odm_request_t *req, const char *data,
                                 size_t *size)
{
    req->body_seen += *size;
    if (!req->body_too_large && !odm_buf_append(&req->body, data, *size)) {
        req->body_too_large = true;
        odm_buf_release(&req->body);
    }
    *size = 0;
    bool past_bytes = req->body_seen > server->hard_body_cap;
    bool past_time = odm_now_ms() - req->started_ms > server->opts.request_timeout_ms * 4LL;
    if (!past_bytes && !past_time)
        return MHD_YES;
    if (req->body_too_large) {
        prepare_too_large(server, req);
        http__linger_answer(server, req);
        req->phase = HTTP__ANSWERED;
    }
    return MHD_NO;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **req_cls)
{
    odm_http_server_t *server = cls;
    odm_request_t *req = *req_cls;
    atomic_fetch_add_explicit(&server->progress, 1, memory_order_relaxed);
    if (req == NULL || req->conn == NULL) {
        req = request_new(server, req, conn, url, method);
        if (req == NULL)
            return MHD_NO;
        *req_cls = req;
        return first_call(server, req, version);
    }
    if (req->phase == HTTP__ANSWERED) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size > 0)
        return take_body(server, req, upload_data, upload_data_size);
    if (req->phase == HTTP__SUSPENDED)
        return queue_prepared(req); /* resumed: the worker prepared the response */

    req->deadline_ms = odm_now_ms() + server->opts.request_timeout_ms;
    req->close_connection = req->body_too_large; /* a client that sends too much may do it again */
    req->counted = true;
    atomic_fetch_add(&server->active, 1);
    http__observe_start(req);
    if (atomic_load(&server->draining)) {
        req->close_connection = true;
        fail_kind(req, ODM_ERR_UNAVAILABLE, "shutting down");
        return queue_prepared(req);
    }
    if (http__limit_refuse(server, req))
        return queue_prepared(req);
    server->opts.handler(req, server->opts.app);
    if (req->phase == HTTP__SUSPENDED)
        return MHD_YES;
    return queue_prepared(req);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    odm_log(ODM_LOG_WARN, "http: %s", msg);
}

static struct MHD_Daemon *start_daemon(odm_http_server_t *server, int listen_fd)
{
    const odm_http_options_t *opts = &server->opts;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    if (opts->listen_addr->sa_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    struct MHD_OptionItem tls[3] = {{MHD_OPTION_END, 0, NULL}};
    if (http__tls_options(opts, tls))
        flags |= MHD_USE_TLS;
    return MHD_start_daemon(
        flags, 0, http__conns_on_accept, server, on_access, server, MHD_OPTION_EXTERNAL_LOGGER,
        mhd_log, server, MHD_OPTION_LISTEN_SOCKET, listen_fd, MHD_OPTION_CONNECTION_LIMIT,
        opts->max_connections + HTTP__CONNS_SLACK, MHD_OPTION_CONNECTION_TIMEOUT,
        opts->idle_timeout_s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, server,
        MHD_OPTION_NOTIFY_CONNECTION, http__conns_on_notify, server, MHD_OPTION_URI_LOG_CALLBACK,
        on_uri, server, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        opts->connection_memory ? opts->connection_memory : (size_t)ODM_HTTP_CONN_MEMORY_DEFAULT,
        MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
}

odm_http_server_t *odm_http_start(const odm_http_options_t *opts, odm_error_t *err)
{
    odm_http_server_t *server = calloc(1, sizeof *server);
    if (server == NULL) {
        odm_error_set(err, ODM_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    server->opts = *opts;
    if (!http__tls_check(opts, err))
        goto fail_server;
    server->hard_body_cap = opts->max_body * 2 + 65536;
    if (!http__cors_init(server, err))
        goto fail_server;
    if (!http__limit_init(server, err))
        goto fail_cors;
    if (!http__conns_init(server, err))
        goto fail_limit;
    if (pthread_mutex_init(&server->log.lock, NULL) != 0) {
        odm_error_set(err, ODM_ERR_INTERNAL, "cannot set up the access log's lock");
        goto fail_conns;
    }
    odm_buf_init(&server->log.line, HTTP__LOG_LINE_MAX);
    if (!http__linger_start(server, err))
        goto fail_log;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    server->id_prefix = (unsigned)(ts.tv_nsec ^ (ts.tv_sec << 20) ^ ((unsigned)getpid() << 8));
    int listen_fd = http__listen_socket(opts, err);
    if (listen_fd < 0)
        goto fail_linger;
    /* the daemon owns listen_fd; if it fails to start, some of its failure paths close it and
     * some do not, so it is left alone (a second close could hit a reused descriptor) */
    server->daemon = start_daemon(server, listen_fd);
    if (server->daemon == NULL) {
        odm_error_set(err, ODM_ERR_IO, "cannot start serving on '%s'", opts->listen);
        goto fail_linger;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_BIND_PORT);
    server->port = info ? info->port : 0;
    if (!http__waker_start(server, err))
        goto fail_daemon;
    return server;

fail_daemon:
    MHD_stop_daemon(server->daemon);
    http__log_flush(server, false);
fail_linger:
    http__linger_stop(server);
fail_log:
    odm_buf_release(&server->log.line);
    pthread_mutex_destroy(&server->log.lock);
fail_conns:
    http__conns_release(server);
fail_limit:
    http__limit_release(server);
fail_cors:
    http__cors_release(server);
fail_server:
    free(server);
    return NULL;
}

unsigned odm_http_port(const odm_http_server_t *server)
{
    return server->port;
}

void odm_http_drain(odm_http_server_t *server)
{
    atomic_store(&server->draining, true);
    MHD_socket fd = MHD_quiesce_daemon(server->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
}

static void nap(void)
{
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

bool odm_http_wait_idle(odm_http_server_t *server, int timeout_ms)
{
    int64_t until = odm_now_ms() + timeout_ms;
    /* responses being computed or sent, requests being read (each gets its 503), and
     * connections just answered whose clients may be sending the next request */
    while ((atomic_load(&server->active) > 0 || !http__conns_quiet(server, HTTP__DRAIN_GRACE_MS)) &&
           odm_now_ms() < until)
        nap();
    while (atomic_load(&server->suspended) > 0) {
        if (odm_now_ms() >= until)
            return false;
        nap();
    }
    return true;
}

void odm_http_stop(odm_http_server_t *server)
{
    if (server == NULL)
        return;
    http__waker_stop(server);
    MHD_stop_daemon(server->daemon);
    http__linger_stop(server);
    http__log_flush(server, false); /* completions ran until the daemon stopped */
    odm_buf_release(&server->log.line);
    pthread_mutex_destroy(&server->log.lock);
    http__conns_release(server);
    http__limit_release(server);
    http__cors_release(server);
    free(server);
}
