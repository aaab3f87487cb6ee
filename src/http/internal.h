/* Private to src/http: the server and request structures shared by server.c and request.c. */
#ifndef ODMD_HTTP_INTERNAL_H
#define ODMD_HTTP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <microhttpd.h>

#include "odmd/buf.h"
#include "odmd/http.h"

#define HTTP__MAX_HEADERS 8       /* response headers a handler may add */
#define HTTP__MAX_PATH 2048       /* longer paths are cut in the access log only */
#define HTTP__MAX_REQUEST_ID 64   /* longer client X-Request-Id values are replaced */
/* libmicrohttpd 0.9.75's epoll loop stalls when one epoll_wait returns its MAX_EVENTS (128);
 * below this many open connections (plus its 3 other descriptors, with a margin) it cannot. */
#define HTTP__WAKE_MIN_CONNECTIONS (128 - 8)

#define HTTP__LOG_BATCH 4096     /* PIPE_BUF: access-log lines written together, unsplit */
#define HTTP__LOG_FLUSH_MS 20     /* a line waits at most about this long (plus a waker tick) */
#define HTTP__LOG_LINE_MAX 16384  /* one line: a capped path escaped at worst, and the rest */

/* Access-log lines waiting for one write(2) between them (server.c): filled on the polling
 * thread, written out when the next line would not fit, by the waker once the oldest is
 * HTTP__LOG_FLUSH_MS old, and when the server stops. */
typedef struct {
    pthread_mutex_t lock;     /* guards data, len and since_ms */
    char data[HTTP__LOG_BATCH];
    size_t len;
    atomic_llong since_ms;    /* odm_now_ms() of the oldest line waiting; 0: none */
    odm_buf_t line;           /* the line being formatted (polling thread only) */
} http__log_t;

/* Wakes libmicrohttpd's polling thread when it may be stuck (see wake.c). */
typedef struct {
    int event_fd;              /* in the daemon's epoll set, with a NULL data pointer */
    pthread_t thread;
    atomic_bool stop;
    bool running;
} http__waker_t;

struct odm_http_server {
    struct MHD_Daemon *daemon;
    atomic_ullong progress;      /* handler calls and completions: the polling thread's pulse */
    atomic_uint connections;     /* open connections (the waker idles below a threshold) */
    http__log_t log;
    http__waker_t waker;
    odm_http_options_t opts;
    size_t hard_body_cap;        /* past this the connection is closed */
    atomic_int suspended;        /* suspended requests: the daemon must not stop while any is */
    atomic_int active;           /* requests from handling to completion (response sent) */
    atomic_bool draining;
    atomic_ullong next_id;
    unsigned id_prefix;
    unsigned port;
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
    bool counted;            /* in server->active */
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

    void *state;
    void (*state_free)(void *);
};

/* Writes out the access-log lines waiting, if any (any thread). With `due_only`, only when
 * the oldest has waited HTTP__LOG_FLUSH_MS. */
void http__log_flush(odm_http_server_t *server, bool due_only);

/* Starts and stops the waker of server->daemon (wake.c). */
bool http__waker_start(odm_http_server_t *server, odm_error_t *err);
void http__waker_stop(odm_http_server_t *server);

#endif
