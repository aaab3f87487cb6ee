/* Private to src/http: the server and request structures shared by server.c and request.c. */
#ifndef ODMD_HTTP_INTERNAL_H
#define ODMD_HTTP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <microhttpd.h>

#include "odmd/buf.h"
#include "odmd/http.h"

#define HTTP__MAX_HEADERS 8     /* response headers a handler may add */
#define HTTP__MAX_PATH 2048     /* longer paths are cut in the access log only */
#define HTTP__MAX_REQUEST_ID 64 /* longer client X-Request-Id values are replaced */
/* libmicrohttpd 0.9.75's epoll loop stalls when one epoll_wait returns its MAX_EVENTS (128);
 * below this many open connections (plus its 3 other descriptors, with a margin) it cannot. */
#define HTTP__WAKE_MIN_CONNECTIONS (128 - 8)

/* While draining, a connection answered this recently may be sending its next request: the
 * daemon stops only once every open connection has been quiet this long (or the time is up).
 * 200 ms let a client descheduled that long (an ASan build on two busy cores) send into a
 * connection being closed: two requests dropped in 2890. */
#define HTTP__DRAIN_GRACE_MS 1000

#define HTTP__LOG_BATCH 4096     /* PIPE_BUF: access-log lines written together, unsplit */
#define HTTP__LOG_FLUSH_MS 20    /* a line waits at most about this long (plus a waker tick) */
#define HTTP__LOG_LINE_MAX 16384 /* one line: a capped path escaped at worst, and the rest */

/* A graceful close (RFC 9112 §9.6): after an answer that closes the connection before the
 * request was read whole, what the client still sends is read and discarded, so that a client
 * that writes its whole body before reading (Python's urllib) is not cut off by a reset before
 * it reads the answer. Bounded per connection in bytes and time, and in connections at once
 * (past that the connection is closed at once). README states these. */
#define HTTP__LINGER_MAX 64              /* connections lingering at once */
#define HTTP__LINGER_BYTES (64ull << 20) /* discarded per connection */
#define HTTP__LINGER_MS 10000            /* from the answer to the close, at most */
#define HTTP__LINGER_IDLE_MS 2000        /* with nothing received for this long: closed */

/* Access-log lines waiting for one write(2) between them (server.c): filled on the polling
 * thread, written out when the next line would not fit, by the waker once the oldest is
 * HTTP__LOG_FLUSH_MS old, and when the server stops. */
typedef struct {
    pthread_mutex_t lock; /* guards data, len and since_ms */
    char data[HTTP__LOG_BATCH];
    size_t len;
    atomic_llong since_ms; /* odm_now_ms() of the oldest line waiting; 0: none */
    odm_buf_t line;        /* the line being formatted (polling thread only) */
} http__log_t;

/* Wakes libmicrohttpd's polling thread when it may be stuck (see wake.c). */
typedef struct {
    int event_fd; /* in the daemon's epoll set, with a NULL data pointer */
    pthread_t thread;
    atomic_bool stop;
    bool running;
} http__waker_t;

/* What an open connection is doing (conns.c). */
typedef enum {
    HTTP__CONN_READING, /* a request's head or body arriving: bounded by read_timeout_s */
    HTTP__CONN_BUSY,    /* answered or with a worker, until the response is sent: untouched */
    HTTP__CONN_IDLE,    /* kept alive between requests: bounded by idle_timeout_s */
} http__conn_phase_t;

typedef struct http__conn http__conn_t;

/* libmicrohttpd's own connection limit is max_connections plus this: it stops accepting at its
 * limit (newcomers would wait unanswered), so ours refuses first. Covers the connections shut
 * down to make room and not yet closed (up to 10 accepts per loop turn). */
#define HTTP__CONNS_SLACK 64

/* The open connections, oldest first (conns.c). An entry is made by libmicrohttpd's STARTED
 * notification and freed by its CLOSED one, which 0.9.75 sends before it closes the socket:
 * under the lock, an entry's descriptor is still open, so shutdown(2) on it is safe. */
typedef struct {
    pthread_mutex_t lock; /* guards everything here and every entry */
    http__conn_t *head;
    http__conn_t *tail;
    unsigned open;    /* entries */
    unsigned closing; /* entries shut down, not yet closed by libmicrohttpd */
    unsigned refused_full, refused_client, replaced, timed_out; /* since the last log line */
    int64_t next_sweep_ms;                                      /* waker thread only */
    int64_t next_report_ms;
} http__conns_t;

/* Connections being closed gracefully (linger.c): each holds a duplicate of the socket, so it
 * stays open after libmicrohttpd closes its own descriptor. */
typedef struct {
    int fd;                /* -1: free */
    int64_t until_ms;      /* closed then whatever happens */
    int64_t idle_until_ms; /* closed then unless bytes arrive */
    unsigned long long bytes;
} http__linger_slot_t;

typedef struct {
    pthread_mutex_t lock; /* guards slots and used */
    http__linger_slot_t slots[HTTP__LINGER_MAX];
    unsigned used;
    int epoll_fd;
    pthread_t thread;
    atomic_bool stop;
    bool running;
} http__linger_t;

/* CORS (cors.c): the allowed origins, parsed once. */
#define HTTP__CORS_MAX 32 /* ODM_CONFIG_CORS_ORIGINS_MAX */
typedef struct {
    bool enabled;
    bool any; /* "*" */
    unsigned n;
    char *origins[HTTP__CORS_MAX];
} http__cors_t;

typedef struct http__limiter http__limiter_t;

/* Emits one response header (name and value borrowed for the call). */
typedef void (*http__header_fn)(void *ctx, const char *name, const char *value);

struct odm_http_server {
    struct MHD_Daemon *daemon;
    atomic_ullong progress;  /* handler calls and completions: the polling thread's pulse */
    atomic_uint connections; /* open connections (the waker idles below a threshold) */
    http__log_t log;
    http__waker_t waker;
    http__conns_t conns;
    http__linger_t linger;
    odm_http_options_t opts;
    size_t hard_body_cap; /* past this the 413 is sent and the connection closed */
    atomic_int suspended; /* suspended requests: the daemon must not stop while any is */
    atomic_int active;    /* requests from handling to completion (response sent) */
    atomic_bool draining;
    atomic_ullong next_id;
    unsigned id_prefix;
    unsigned port;
    http__cors_t cors;
    http__limiter_t *limiter; /* NULL: no rate limit */
};

typedef enum {
    HTTP__READING,   /* headers and body arriving */
    HTTP__SUSPENDED, /* handed to a worker; its response is prepared before resume */
    HTTP__ANSWERED,  /* a response was queued */
} http__phase_t;

struct odm_request {
    odm_http_server_t *server;
    struct MHD_Connection *conn;
    http__phase_t phase;
    odm_method_t method;
    const char *method_name; /* libmicrohttpd's, valid for the request */
    char *path;              /* copy, capped */
    char *raw_path;          /* the target's path as sent (not decoded), without the query */
    int64_t started_ms;
    int64_t deadline_ms;
    odm_buf_t body;
    unsigned long long body_seen; /* every byte received, kept or not */
    bool body_too_large;
    bool declared_body;
    bool counted; /* in server->active */
    char request_id[HTTP__MAX_REQUEST_ID + 1];

    /* the prepared response */
    int status;
    const char *content_type;
    char *resp_body;
    size_t resp_len;
    bool close_connection;
    struct {
        const char *name;
        char *value;
    } headers[HTTP__MAX_HEADERS];
    unsigned n_headers;
    odm_stream_t *stream; /* a streamed body (stream.c) instead of resp_body, or NULL */

    void *state;
    void (*state_free)(void *);
    odm_fail_body_fn *fail_body; /* odm_request_set_fail_body; NULL: problem+json */

    /* metrics (observe.c) */
    int64_t started_us;
    unsigned metrics_model, metrics_route;
    bool metrics_started; /* counted in flight */
    /* the request's rate-limit bucket (ratelimit.c), as it stood after this request */
    bool limited;       /* counted against a bucket: RateLimit goes on the answer */
    bool by_credential; /* the bucket is its Authorization value's (else its address's) */
    unsigned rl_remaining, rl_reset_s;
};

/* Writes out the access-log lines waiting, if any (any thread). With `due_only`, only when
 * the oldest has waited HTTP__LOG_FLUSH_MS. */
void http__log_flush(odm_http_server_t *server, bool due_only);

/* Connections (conns.c). http__conns_init/release set up and free the table (release after
 * the daemon stopped). http__listen_socket binds and listens on opts->listen_addr, alone (no
 * SO_REUSEPORT). Returns: the descriptor, or -1 with ODM_ERR_IO. */
bool http__conns_init(odm_http_server_t *server, odm_error_t *err);
void http__conns_release(odm_http_server_t *server);
int http__listen_socket(const odm_http_options_t *opts, odm_error_t *err);
/* libmicrohttpd's accept policy and connection notification callbacks (cls: the server; the
 * polling thread). */
enum MHD_Result http__conns_on_accept(void *cls, const struct sockaddr *addr, socklen_t len);
void http__conns_on_notify(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                           enum MHD_ConnectionNotificationCode code);
/* A request line arrived on conn (server.c's URI callback): a kept-alive connection that was
 * idle is reading again, bounded by read_timeout_s. */
void http__conns_reading(odm_http_server_t *server, struct MHD_Connection *conn);
/* The request on conn was answered or handed to a worker (busy), or its response was sent
 * (idle). Polling thread; busy before MHD_suspend_connection. */
void http__conns_busy(odm_http_server_t *server, struct MHD_Connection *conn);
void http__conns_idle(odm_http_server_t *server, struct MHD_Connection *conn);
/* Shuts down connections past their read or idle bound, and logs what was refused or closed
 * (the waker thread; acts at most every 100 ms). */
void http__conns_sweep(odm_http_server_t *server);
/* True when no open connection is reading a request or busy, and none was answered in the
 * last grace_ms (its client may be sending the next request). Any thread. */
bool http__conns_quiet(odm_http_server_t *server, int grace_ms);

/* Starts and stops the waker of server->daemon (wake.c). */
bool http__waker_start(odm_http_server_t *server, odm_error_t *err);
void http__waker_stop(odm_http_server_t *server);

/* Starts and stops the graceful closer (linger.c). Stopping closes what still lingers. */
bool http__linger_start(odm_http_server_t *server, odm_error_t *err);
void http__linger_stop(odm_http_server_t *server);

/* Polling thread, for a request answered with Connection: close before its body was read:
 * keeps a duplicate of the connection's socket and reads and discards what arrives on it, within
 * the HTTP__LINGER_* bounds, once libmicrohttpd has closed its own descriptor. Without a free
 * slot nothing is kept (libmicrohttpd's close is then the only one). */
void http__linger_adopt(odm_http_server_t *server, struct MHD_Connection *conn);

/* Polling thread, in mid-body, where libmicrohttpd refuses to queue a response: writes the
 * prepared response of `req` (with Connection: close) straight to the socket, then adopts the
 * connection as above. The caller then returns MHD_NO, which makes libmicrohttpd close it.
 * Over TLS it is written through the connection's TLS session. Returns: true when the whole
 * response was written. */
bool http__linger_answer(odm_http_server_t *server, odm_request_t *req);

/* Streamed bodies (stream.c). http__stream_response makes the response of req->stream (which
 * it then holds), or returns NULL; http__stream_drop lets go of a stream never queued (the
 * producer sees the client gone). Polling thread. */
struct MHD_Response *http__stream_response(odm_request_t *req);
void http__stream_drop(odm_request_t *req);

/* Metrics (observe.c): a request handed to the application, and one completed with an answer
 * (either does nothing without server->opts.metrics). Polling thread. */
void http__observe_start(odm_request_t *req);
void http__observe_done(odm_request_t *req);
/* CORS (cors.c). http__cors_init parses opts->cors_origin into server->cors (ODM_ERR_CONFIG
 * on a list too long, out of memory); release frees it. http__cors_headers emits the CORS
 * fields of req's prepared response: nothing without --cors-origin or for an Origin it does
 * not allow; for an allowed one, Access-Control-Allow-Origin and, on a preflight, the allowed
 * methods (the response's Allow), headers and Max-Age, otherwise Access-Control-Expose-Headers.
 * With a list, Vary: Origin on every answer. Polling thread. */
bool http__cors_init(odm_http_server_t *server, odm_error_t *err);
void http__cors_release(odm_http_server_t *server);
void http__cors_headers(const odm_request_t *req, http__header_fn fn, void *ctx);

/* Rate limits (ratelimit.c). http__limit_init makes server->limiter when opts->rate_limit is
 * set (ODM_ERR_INTERNAL when out of memory); release frees it. Both off the polling thread,
 * before it starts and after it stopped. */
bool http__limit_init(odm_http_server_t *server, odm_error_t *err);
void http__limit_release(odm_http_server_t *server);
/* Takes one token for req from its bucket (its credential's, else its address's); when there
 * is none, prepares the 429 and returns true. Polling thread only, before the handler. */
bool http__limit_refuse(odm_http_server_t *server, odm_request_t *req);
/* The table alone, for tests. http__limiter_new: rate tokens per window_s seconds, buckets of
 * `burst` (0: rate), `table` buckets; NULL when out of memory; free with http__limiter_free
 * (NULL is fine). http__limit_address_key: the key of a client address (kind: a byte told
 * apart in the hash): an IPv4 address, also IPv4-mapped in IPv6, or the /64 of an IPv6 one; NULL
 * or another family: one key for all. http__limit_take: takes a token from key's bucket at
 * now_ms (odm_now_ms clock), making the bucket (full) when it has none, in place of the least
 * recently seen when the table is full; false when there was no token. http__limiter_used: the
 * buckets in the table. */
http__limiter_t *http__limiter_new(unsigned rate, unsigned window_s, unsigned burst,
                                   unsigned table);
void http__limiter_free(http__limiter_t *l);
uint64_t http__limit_address_key(const http__limiter_t *l, const struct sockaddr *sa, char kind);
bool http__limit_take(http__limiter_t *l, uint64_t key, int64_t now_ms);
unsigned http__limiter_used(const http__limiter_t *l);
/* Once req's answer is prepared: a 401 to a request with credentials costs its address a
 * token of its own bucket of failures; then the RateLimit fields are emitted. Polling thread. */
void http__limit_answered(odm_http_server_t *server, const odm_request_t *req, http__header_fn fn,
                          void *ctx);

/* The framing of a request head (framing.c), gathered from its header fields. */
typedef struct {
    bool http10;          /* HTTP/1.0 (else HTTP/1.1) */
    bool bad_name;        /* a field name that is not a token ("Host " included) */
    bool lengths_differ;  /* two Content-Length fields with different values */
    unsigned hosts;       /* Host fields */
    unsigned lengths;     /* Content-Length fields */
    unsigned encodings;   /* Transfer-Encoding fields */
    const char *length;   /* the first Content-Length value, borrowed */
    const char *encoding; /* the last Transfer-Encoding value, borrowed */
} http__head_t;

/* True when s is a non-empty RFC 9110 token. */
bool http__is_token(const char *s);

/* Counts one header field into head (zeroed first, http10 set). Borrows value. */
void http__head_add(http__head_t *head, const char *name, const char *value);

/* Fills head from the request's header fields; `version` is libmicrohttpd's. Borrows. */
void http__head_read(struct MHD_Connection *conn, const char *version, http__head_t *head);

/* Returns: true when the head frames one request unambiguously; false with ODM_ERR_BAD_REQUEST
 * (the answer is then 400 and the connection closes) for a field name that is not a token, no
 * Host in HTTP/1.1 or more than one, Content-Length values that differ, Transfer-Encoding with
 * Content-Length, in HTTP/1.0, repeated, or other than one "chunked". */
bool http__head_check(const http__head_t *head, odm_error_t *err);

/* The path of a request target: an absolute-form target ("http://host/p", RFC 9112 §3.2.2)
 * loses its scheme and authority ("/" when no path follows); others are returned as they are.
 * Returns: a pointer into target, or a static "/". */
const char *http__origin_path(const char *target);

/* HTTPS (tls.c). Fills items (3 slots) with libmicrohttpd's options for opts' certificate and
 * key. Returns: true when opts asks for TLS (the daemon then needs MHD_USE_TLS). */
bool http__tls_options(const odm_http_options_t *opts, struct MHD_OptionItem items[3]);
/* Returns: false with ODM_ERR_CONFIG when opts asks for TLS that this libmicrohttpd lacks, or
 * gives a certificate without a key (or a key without one). */
bool http__tls_check(const odm_http_options_t *opts, odm_error_t *err);

/* `odmd health` over TLS (probe_tls.c): on the connected socket fd, a TLS handshake with host
 * (the certificate is not checked), then request (len bytes), then the response's status line,
 * all before deadline (odm_now_ms clock). Returns: the status, or -1 with err set. */
int http__probe_tls(int fd, const char *host, const char *request, size_t len, int64_t deadline,
                    odm_error_t *err);

/* Writes len bytes of data as TLS records on conn's session, without waiting (polling thread,
 * while libmicrohttpd writes nothing on it: in mid-body). Returns: the bytes written, or -1. */
ssize_t http__tls_send(struct MHD_Connection *conn, const void *data, size_t len);

#endif
