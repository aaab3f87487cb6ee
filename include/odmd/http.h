/* The HTTP layer: libmicrohttpd in internal-thread epoll mode with suspend/resume.
 *
 * The server owns per-request contexts. It calls the application's handler once per request,
 * on the polling thread, after the whole body has been read (never on the first call: the
 * keep-alive trap). The handler either prepares a response at once (odm_request_reply...) or
 * suspends the request (odm_request_suspend) and hands it to a worker, which prepares the
 * response and calls odm_request_resume as its very last touch of the request; the server then
 * queues the response on the polling thread. */
#ifndef ODMD_HTTP_H
#define ODMD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <jansson.h>

#include "odmd/error.h"
#include "odmd/metrics.h"

typedef struct odm_http_server odm_http_server_t;
typedef struct odm_request odm_request_t;
typedef struct odm_stream odm_stream_t;

typedef enum {
    ODM_METHOD_GET = 1 << 0,
    ODM_METHOD_HEAD = 1 << 1,
    ODM_METHOD_POST = 1 << 2,
    ODM_METHOD_PUT = 1 << 3,
    ODM_METHOD_PATCH = 1 << 4,
    ODM_METHOD_DELETE = 1 << 5,
    ODM_METHOD_OTHER = 1 << 6,
    ODM_METHOD_OPTIONS = 1 << 7,
} odm_method_t;

/* Called on the polling thread once the request is complete; must reply or suspend. */
typedef void (*odm_http_handler_fn)(odm_request_t *req, void *app);

typedef struct {
    const char *listen;                 /* the address as the user gave it: for messages only */
    const struct sockaddr *listen_addr; /* borrowed: sockaddr_in or sockaddr_in6 to bind */
    socklen_t listen_addr_len;
    /* Open connections. A new one past it takes the place of the oldest slow one (reading
     * its request, or idle between requests); when every one is busy, it is refused at once. */
    unsigned max_connections;
    unsigned max_client_connections; /* from one client address; more are refused at once */
    unsigned idle_timeout_s;         /* idle keep-alive connections are closed after this */
    unsigned read_timeout_s;         /* a request's head and body must arrive within this */
    size_t max_body;                 /* larger bodies get 413 */
    int request_timeout_ms;          /* from a complete request to its answer */
    odm_http_handler_fn handler;
    /* Called instead of reading a body whose declared length is over max_body, on the first
     * call, and for a chunked body that passes the drain bound (2 * max_body + 64 KiB) before
     * it ends: it may answer what outranks 413 (404, 405, 401); if it does not, 413 is
     * answered. The connection then closes gracefully: what the client still sends is read and
     * discarded, within bounds. May be NULL. */
    odm_http_handler_fn preflight;
    void *app;
    /* HTTPS: PEM text of the certificate (chain) and its key (borrowed, kept until
     * odm_http_stop; checked by odm_http_tls_load), both or neither; NULL: plain HTTP. */
    const char *tls_cert_pem;
    const char *tls_key_pem;
    odm_metrics_t *metrics; /* borrowed: counts every answered request; NULL counts nothing */
    /* CORS (src/http/cors.c): "*", origins separated by commas (as --cors-origin checks them),
     * or NULL for no CORS headers at all. Borrowed for the server's life. */
    const char *cors_origin;
    /* Token buckets (src/http/ratelimit.c): rate_limit requests per rate_window_s seconds for
     * each credential (Authorization value) or client address, rate_burst at once, rate_table
     * buckets kept (least recently seen replaced). rate_limit 0: no limit. */
    unsigned rate_limit, rate_window_s, rate_burst, rate_table;
    /* Whether an Authorization value names a client: true only when the application checks
     * credentials (else anyone could send a new value with each request to get a new bucket,
     * and every request counts against its address). */
    bool rate_by_credential;
} odm_http_options_t;

/* Binds opts->listen_addr (never shared with another process: a second server on the same
 * address fails) and starts the daemon and its polling thread, serving HTTPS when
 * opts->tls_cert_pem is set. Returns: a new server, or NULL with ODM_ERR_IO ("cannot listen on
 * 'ADDR': address in use", or another reason) or ODM_ERR_CONFIG (TLS asked of a libmicrohttpd
 * built without it). */
odm_http_server_t *odm_http_start(const odm_http_options_t *opts, odm_error_t *err);

/* The port actually bound (useful with port 0). */
unsigned odm_http_port(const odm_http_server_t *server);

/* Stops accepting connections; requests arriving on open connections get 503, and every
 * answer from now on carries Connection: close. Call from the main thread. */
void odm_http_drain(odm_http_server_t *server);

/* Waits up to timeout_ms until every request being handled has been answered and its response
 * sent, and no open connection is in the middle of a request (what was read gets its 503) or
 * has just been answered. Returns true when no request is suspended any more (then
 * odm_http_stop is safe; a response still being sent to a slow reader, or a request still
 * arriving, is cut), false when one still is. */
bool odm_http_wait_idle(odm_http_server_t *server, int timeout_ms);

/* Stops the daemon (after odm_http_drain and odm_http_wait_idle) and frees the server. */
void odm_http_stop(odm_http_server_t *server);

/* Request accessors: borrowed, valid until the request completes. Polling thread, or the
 * worker that holds the suspended request. */
odm_method_t odm_request_method(const odm_request_t *req);
const char *odm_request_path(const odm_request_t *req); /* decoded, without the query */
/* The path as the client sent it, percent-escapes kept (so that "%2F" stays apart from "/"),
 * without the query; an absolute-form target ("http://host/p") gives "/p". */
const char *odm_request_raw_path(const odm_request_t *req);
const char *odm_request_header(const odm_request_t *req, const char *name);
const char *odm_request_query(const odm_request_t *req, const char *name);
/* Calls fn for every query argument; stops and returns false when fn does. */
bool odm_request_each_query(const odm_request_t *req,
                            bool (*fn)(const char *key, const char *value, void *arg), void *arg);
const char *odm_request_body(const odm_request_t *req, size_t *len);
bool odm_request_has_body(const odm_request_t *req); /* bytes or a declared length */
bool odm_request_body_too_large(const odm_request_t *req);
const char *odm_request_id(const odm_request_t *req);
/* True when req is a CORS preflight (OPTIONS with Origin and Access-Control-Request-Method)
 * from an origin --cors-origin allows: the router answers it without asking for credentials,
 * which browsers never send with a preflight. */
bool odm_request_is_cors_preflight(const odm_request_t *req);
int64_t odm_request_deadline_ms(const odm_request_t *req); /* odm_now_ms() clock */

/* The labels the request counts under in the server's metrics (odm_metrics_request_t's model
 * and route; both 0 until set). Polling thread, before answering or suspending. */
void odm_request_set_metrics_labels(odm_request_t *req, unsigned model, unsigned route);

/* The application's per-request state: freed with free_fn when the request completes. */
void odm_request_set_state(odm_request_t *req, void *state, void (*free_fn)(void *));

/* Preparing the response (polling thread before suspending, or the worker holding it). */
void odm_request_add_header(odm_request_t *req, const char *name, const char *value);
/* Steals body (malloc'd, may be NULL with len 0); content_type static or NULL. */
void odm_request_reply(odm_request_t *req, int status, const char *content_type, char *body,
                       size_t len);
/* A JSON reply of a jansson value (borrowed). */
void odm_request_reply_json(odm_request_t *req, int status, const json_t *value);
/* The one way errors are answered: application/problem+json from the error table. `errors`
 * (borrowed, may be NULL) becomes the problem's "errors" member. Adds Retry-After to a 503 and
 * WWW-Authenticate: Bearer to a 401 unless the caller added its own; a 405's Allow is the caller's
 * to add (odm_request_add_header) before this call, as the router does. A 500's message goes to the
 * log only. */
void odm_request_fail(odm_request_t *req, const odm_error_t *err, const json_t *errors);
/* odm_request_fail with the "errors" member written by `write` from `errors` (borrowed), as
 * odm_problem_body_with does. */
void odm_request_fail_with(odm_request_t *req, const odm_error_t *err, odm_problem_errors_fn *write,
                           const void *errors);

/* Writes a failure's body in another shape than application/problem+json (an API that clients
 * of another service read, such as the Data API's): from the request (borrowed: its id), the
 * error (borrowed, already told as the client sees it) and its violations (`write` from
 * `errors`, as odm_problem_body_with takes them), sets *status (preset to the kind's) and
 * *content_type (static), and returns a new body (caller frees; NULL on out of memory) with
 * *len its length. */
typedef char *odm_fail_body_fn(const odm_request_t *req, const odm_error_t *err,
                               odm_problem_errors_fn *write, const void *errors, int *status,
                               const char **content_type, size_t *len);
/* The writer odm_request_fail and odm_request_fail_with use for this request's failures from
 * now on (NULL: application/problem+json). Every other rule of the one failure path (the 500's
 * message kept to the log, Retry-After, WWW-Authenticate) holds whatever the writer. */
void odm_request_set_fail_body(odm_request_t *req, odm_fail_body_fn *fn);

/* The response prepared so far (the worker holding the request, before resuming it): its
 * status (0: none yet), content type (static, may be NULL) and body (borrowed, may be NULL with
 * len 0; NULL for a streamed reply). */
int odm_request_response(const odm_request_t *req, const char **content_type, const char **body,
                         size_t *len);
/* The value of a response header added so far (case-insensitive name), or NULL. */
const char *odm_request_response_header(const odm_request_t *req, const char *name);

/* A streamed reply (chunked, any length): the worker holding the suspended request prepares
 * it, resumes the request, then writes the body with odm_stream_write and ends it with
 * odm_stream_end, never touching req again. The body goes through a ring of ring_size bytes
 * (the memory of a stream, whatever its length): the polling thread copies out what is there
 * and, finding it empty, suspends the connection until the producer writes or ends (the
 * producer resumes it; such a pause counts as a suspended request for odm_http_wait_idle).
 * Returns: the producer's handle (new: end it exactly once), or NULL on out of memory (req
 * untouched). Content type static. */
odm_stream_t *odm_request_reply_stream(odm_request_t *req, int status, const char *content_type,
                                       size_t ring_size);
/* Appends n bytes to the stream, waiting while the ring is full. Returns false, with
 * ODM_ERR_UNAVAILABLE, when the producer must stop: the client went away (or the response
 * ended), the server is draining, or deadline_ms (odm_now_ms clock) passed. Producer only. */
bool odm_stream_write(odm_stream_t *s, const void *data, size_t n, int64_t deadline_ms,
                      odm_error_t *err);
/* Ends the stream and lets go of the producer's handle. `ok`: the body is complete (the last
 * chunk is sent once the ring is empty); otherwise the connection is closed at the reader's next
 * call, what the ring still holds dropped and without the last chunk, so the client sees a cut
 * body. NULL does nothing. */
void odm_stream_end(odm_stream_t *s, bool ok);

/* Suspends the request (polling thread, in the handler). Call before handing the request to
 * a worker; if the hand-off fails, prepare a reply and call odm_request_resume. */
void odm_request_suspend(odm_request_t *req);
/* Resumes a suspended request whose response is prepared. The caller must not touch req
 * afterwards. Any thread. */
void odm_request_resume(odm_request_t *req);

/* `odmd health URL`: GETs an http://HOST:PORT/PATH URL with a timeout. Returns: the status
 * code, or -1 with err set. */
int odm_http_probe(const char *url, int timeout_ms, odm_error_t *err);

#endif
