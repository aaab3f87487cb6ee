/* Streamed responses: a bounded ring between a producer (a worker) and libmicrohttpd's content
 * reader (the polling thread), which never waits: with data it copies what is there; with none
 * it suspends the connection, and the producer resumes it once data (or the end) arrives. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/internal.h"
#include "odmd/clock.h"
#include "odmd/log.h"

#define STREAM_WAIT_SLICE_MS 100       /* a producer waiting for room rechecks gone and draining */
#define STREAM_BLOCK_SIZE (32u * 1024) /* what libmicrohttpd asks for at most per call */

struct odm_stream {
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t room;  /* signalled when the reader took bytes or the client went away */
    char *ring;
    size_t size, start, len; /* capacity, first unread byte, unread bytes */
    bool ended;              /* the producer is done: nothing more comes */
    bool ok;                 /* with ended: the end is complete (else the response is cut) */
    bool gone;   /* the response was freed: the client went away or everything was sent */
    bool parked; /* the reader found nothing and suspended the connection */
    int refs;    /* the producer's and the request's (then the response's) */
    odm_http_server_t *server;
    struct MHD_Connection *conn;
};

static void stream_unref(odm_stream_t *s)
{
    pthread_mutex_lock(&s->lock);
    bool last = --s->refs == 0;
    pthread_mutex_unlock(&s->lock);
    if (!last)
        return;
    pthread_cond_destroy(&s->room);
    pthread_mutex_destroy(&s->lock);
    free(s->ring);
    free(s);
}

odm_stream_t *odm_request_reply_stream(odm_request_t *req, int status, const char *content_type,
                                       size_t ring_size)
{
    odm_stream_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->ring = malloc(ring_size);
    if (s->ring == NULL || pthread_mutex_init(&s->lock, NULL) != 0)
        goto fail_ring;
    if (pthread_cond_init(&s->room, NULL) != 0)
        goto fail_lock;
    s->size = ring_size;
    s->refs = 2;
    s->server = req->server;
    s->conn = req->conn;
    odm_request_reply(req, status, content_type, NULL, 0);
    req->stream = s;
    return s;

fail_lock:
    pthread_mutex_destroy(&s->lock);
fail_ring:
    free(s->ring);
    free(s);
    return NULL;
}

/* Resumes a connection the reader parked (called without the lock, which the reader holds
 * while it suspends: a resume can then never come before its suspend). */
static void unpark(odm_stream_t *s, bool was_parked)
{
    if (!was_parked)
        return;
    odm_http_server_t *server = s->server;
    MHD_resume_connection(s->conn);
    atomic_fetch_sub(&server->suspended, 1);
}

static void wait_room(odm_stream_t *s)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += STREAM_WAIT_SLICE_MS * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&s->room, &s->lock, &ts);
}

/* Why the producer must stop, or NULL. With the lock held. */
static const char *stop_reason(odm_stream_t *s, int64_t deadline_ms)
{
    if (s->gone)
        return "the client went away";
    if (atomic_load(&s->server->draining))
        return "shutting down";
    if (odm_now_ms() >= deadline_ms)
        return "export took longer than its time limit";
    return NULL;
}

bool odm_stream_write(odm_stream_t *s, const void *data, size_t n, int64_t deadline_ms,
                      odm_error_t *err)
{
    const char *p = data;
    while (n > 0) {
        pthread_mutex_lock(&s->lock);
        const char *why;
        while ((why = stop_reason(s, deadline_ms)) == NULL && s->len == s->size)
            wait_room(s);
        if (why != NULL) {
            pthread_mutex_unlock(&s->lock);
            return odm_error_set(err, ODM_ERR_UNAVAILABLE, "stream stopped: %s", why);
        }
        size_t end = (s->start + s->len) % s->size;
        size_t chunk = s->size - s->len;
        if (chunk > s->size - end)
            chunk = s->size - end;
        if (chunk > n)
            chunk = n;
        memcpy(s->ring + end, p, chunk);
        s->len += chunk;
        p += chunk;
        n -= chunk;
        bool was_parked = s->parked;
        s->parked = false;
        pthread_mutex_unlock(&s->lock);
        unpark(s, was_parked);
    }
    return true;
}

void odm_stream_end(odm_stream_t *s, bool ok)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    s->ended = true;
    s->ok = ok;
    bool was_parked = s->parked;
    s->parked = false;
    pthread_mutex_unlock(&s->lock);
    unpark(s, was_parked);
    stream_unref(s);
}

/* Suspends the connection until the producer writes or ends (with the lock held, so that its
 * resume, which comes after it sees `parked`, cannot come first). Counted as suspended before
 * draining is looked at: a drain that has begun either sees this pause and waits for its
 * resume, or is seen here, and then the stream is cut instead, so odm_http_stop never meets a
 * connection suspended behind odm_http_wait_idle's back. Returns: false when draining. */
static bool park(odm_stream_t *s)
{
    atomic_fetch_add(&s->server->suspended, 1);
    if (atomic_load(&s->server->draining)) {
        atomic_fetch_sub(&s->server->suspended, 1);
        return false;
    }
    s->parked = true;
    MHD_suspend_connection(s->conn);
    return true;
}

/* libmicrohttpd's content reader (polling thread): never waits. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    odm_stream_t *s = cls;
    (void)pos;
    pthread_mutex_lock(&s->lock);
    if (s->ended && !s->ok) { /* cut at once: what the ring still holds is of no use */
        pthread_mutex_unlock(&s->lock);
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    if (s->len == 0) {
        ssize_t r = MHD_CONTENT_READER_END_WITH_ERROR;
        if (s->ended)
            r = MHD_CONTENT_READER_END_OF_STREAM;
        else if (park(s))
            r = 0;
        pthread_mutex_unlock(&s->lock);
        return r;
    }
    size_t n = s->len < max ? s->len : max;
    size_t first = s->size - s->start < n ? s->size - s->start : n;
    memcpy(buf, s->ring + s->start, first);
    memcpy(buf + first, s->ring, n - first);
    s->start = (s->start + n) % s->size;
    s->len -= n;
    pthread_cond_signal(&s->room);
    pthread_mutex_unlock(&s->lock);
    return (ssize_t)n;
}

/* The response is gone (everything sent, or the connection closed): the producer stops. */
static void stream_gone(void *cls)
{
    odm_stream_t *s = cls;
    pthread_mutex_lock(&s->lock);
    s->gone = true;
    pthread_cond_signal(&s->room);
    pthread_mutex_unlock(&s->lock);
    stream_unref(s);
}

struct MHD_Response *http__stream_response(odm_request_t *req)
{
    odm_stream_t *s = req->stream;
    struct MHD_Response *resp = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, STREAM_BLOCK_SIZE, stream_read, s, stream_gone);
    if (resp != NULL)
        req->stream = NULL; /* the response holds the reference now */
    return resp;
}

void http__stream_drop(odm_request_t *req)
{
    if (req->stream != NULL)
        stream_gone(req->stream);
    req->stream = NULL;
}
