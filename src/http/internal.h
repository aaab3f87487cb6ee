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

/* Starts and stops the waker of server->daemon (wake.c). */
bool http__waker_start(odm_http_server_t *server, odm_error_t *err);
void http__waker_stop(odm_http_server_t *server);

#endif
