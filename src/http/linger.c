/* The graceful close (RFC 9112 §9.6, nginx's lingering close): after an answer that closes the
 * connection while the client may still be sending its request (an early 413, a framing 400),
 * a duplicate of the socket is kept and what arrives is read and discarded, within bounds of
 * bytes and time, until the client closes. libmicrohttpd closes its own descriptor as usual
 * (after shutdown(SHUT_WR), so its answer is followed by a FIN); closing the socket while unread
 * bytes wait would send a reset, and a client still writing its body (Python's urllib) would
 * then fail with a broken pipe before it reads the answer.
 *
 * One thread waits on an epoll set of the lingering sockets; the polling thread adds to it.
 * Over TLS the same holds: what is read and discarded are the client's TLS records, and the one
 * answer written from here (http__linger_answer) goes through the connection's TLS session. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/internal.h"
#include "odmd/clock.h"
#include "odmd/log.h"

#define LINGER_TICK_MS 100 /* the bounds are checked this often */
#define LINGER_READ 16384  /* bytes read per call */

/* Closes slot i (lock held). */
static void slot_close(http__linger_t *l, unsigned i)
{
    epoll_ctl(l->epoll_fd, EPOLL_CTL_DEL, l->slots[i].fd, NULL);
    close(l->slots[i].fd);
    l->slots[i].fd = -1;
    l->used--;
}

/* Reads what waits on slot i (lock held); closes it at end of stream, on an error or past the
 * byte bound. */
static void slot_drain(http__linger_t *l, unsigned i, int64_t now)
{
    static char sink[LINGER_READ]; /* the linger thread only */
    http__linger_slot_t *s = &l->slots[i];
    for (;;) {
        ssize_t n = recv(s->fd, sink, sizeof sink, MSG_DONTWAIT);
        if (n > 0) {
            s->bytes += (unsigned long long)n;
            s->idle_until_ms = now + HTTP__LINGER_IDLE_MS;
            if (s->bytes > HTTP__LINGER_BYTES)
                break;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        break; /* end of stream or an error */
    }
    slot_close(l, i);
}

static void sweep(http__linger_t *l, int64_t now)
{
    for (unsigned i = 0; i < HTTP__LINGER_MAX; i++)
        if (l->slots[i].fd >= 0 &&
            (now >= l->slots[i].until_ms || now >= l->slots[i].idle_until_ms))
            slot_close(l, i);
}

static void *linger_thread(void *arg)
{
    http__linger_t *l = arg;
    struct epoll_event events[HTTP__LINGER_MAX];
    while (!atomic_load(&l->stop)) {
        int n = epoll_wait(l->epoll_fd, events, HTTP__LINGER_MAX, LINGER_TICK_MS);
        int64_t now = odm_now_ms();
        pthread_mutex_lock(&l->lock);
        for (int k = 0; k < n; k++) {
            unsigned i = events[k].data.u32;
            if (i < HTTP__LINGER_MAX && l->slots[i].fd >= 0)
                slot_drain(l, i, now);
        }
        sweep(l, now);
        pthread_mutex_unlock(&l->lock);
    }
    return NULL;
}

bool http__linger_start(odm_http_server_t *server, odm_error_t *err)
{
    http__linger_t *l = &server->linger;
    for (unsigned i = 0; i < HTTP__LINGER_MAX; i++)
        l->slots[i].fd = -1;
    l->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epoll_fd < 0)
        return odm_error_set(err, ODM_ERR_INTERNAL, "cannot create an epoll set: %s",
                             strerror(errno));
    if (pthread_mutex_init(&l->lock, NULL) != 0) {
        odm_error_set(err, ODM_ERR_INTERNAL, "cannot set up the graceful closer's lock");
        goto fail_epoll;
    }
    atomic_store(&l->stop, false);
    if (pthread_create(&l->thread, NULL, linger_thread, l) != 0) {
        odm_error_set(err, ODM_ERR_INTERNAL, "cannot start the graceful closer's thread");
        goto fail_lock;
    }
    l->running = true;
    return true;

fail_lock:
    pthread_mutex_destroy(&l->lock);
fail_epoll:
    close(l->epoll_fd);
    return false;
}

void http__linger_stop(odm_http_server_t *server)
{
    http__linger_t *l = &server->linger;
    if (!l->running)
        return;
    atomic_store(&l->stop, true);
    pthread_join(l->thread, NULL);
    for (unsigned i = 0; i < HTTP__LINGER_MAX; i++)
        if (l->slots[i].fd >= 0)
            slot_close(l, i);
    pthread_mutex_destroy(&l->lock);
    close(l->epoll_fd);
    l->running = false;
}

void http__linger_adopt(odm_http_server_t *server, struct MHD_Connection *conn)
{
    http__linger_t *l = &server->linger;
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!l->running || info == NULL)
        return;
    pthread_mutex_lock(&l->lock);
    unsigned i = 0;
    while (i < HTTP__LINGER_MAX && l->slots[i].fd >= 0)
        i++;
    if (i == HTTP__LINGER_MAX) {
        pthread_mutex_unlock(&l->lock);
        odm_debug("http: %d connections closing already: this one closes at once",
                  HTTP__LINGER_MAX);
        return;
    }
    int fd = fcntl(info->connect_fd, F_DUPFD_CLOEXEC, 0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = i};
    if (fd >= 0 && epoll_ctl(l->epoll_fd, EPOLL_CTL_ADD, fd, &ev) == 0) {
        int64_t now = odm_now_ms();
        l->slots[i] =
            (http__linger_slot_t){fd, now + HTTP__LINGER_MS, now + HTTP__LINGER_IDLE_MS, 0};
        l->used++;
    } else if (fd >= 0) {
        close(fd);
    }
    pthread_mutex_unlock(&l->lock);
}

struct head_out {
    odm_buf_t *out;
    bool ok;
};

static void put_field(void *ctx, const char *name, const char *value)
{
    struct head_out *h = ctx;
    h->ok = h->ok && odm_buf_puts(h->out, "\r\n") && odm_buf_puts(h->out, name) &&
            odm_buf_puts(h->out, ": ") && odm_buf_puts(h->out, value);
}

/* The head and body of req's prepared response, as libmicrohttpd would write them. */
static bool serialize(const odm_request_t *req, odm_buf_t *out)
{
    const char *reason = MHD_get_reason_phrase_for((unsigned)req->status);
    bool ok = odm_buf_puts(out, "HTTP/1.1 ") && odm_buf_put_int(out, req->status) &&
              odm_buf_puts(out, " ") && odm_buf_puts(out, reason ? reason : "") &&
              odm_buf_puts(out, "\r\nConnection: close\r\nContent-Length: ") &&
              odm_buf_put_int(out, (long long)req->resp_len);
    if (ok && req->content_type)
        ok = odm_buf_puts(out, "\r\nContent-Type: ") && odm_buf_puts(out, req->content_type);
    ok = ok && odm_buf_puts(out, "\r\nX-Request-Id: ") && odm_buf_puts(out, req->request_id);
    for (unsigned i = 0; ok && i < req->n_headers; i++)
        ok = odm_buf_puts(out, "\r\n") && odm_buf_puts(out, req->headers[i].name) &&
             odm_buf_puts(out, ": ") && odm_buf_puts(out, req->headers[i].value);
    struct head_out h = {out, ok};
    http__cors_headers(req, put_field, &h);
    http__limit_answered(req->server, req, put_field, &h);
    return h.ok && odm_buf_puts(out, "\r\n\r\n") &&
           odm_buf_append(out, req->resp_body ? req->resp_body : "", req->resp_len);
}

bool http__linger_answer(odm_http_server_t *server, odm_request_t *req)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (info == NULL)
        return false;
    odm_buf_t out;
    odm_buf_init(&out, 65536);
    bool whole = false;
    if (serialize(req, &out)) {
        /* over TLS the socket carries GnuTLS's records: the answer goes through the session */
        ssize_t n = server->opts.tls_cert_pem != NULL
                        ? http__tls_send(req->conn, out.data, out.len)
                        : send(info->connect_fd, out.data, out.len, MSG_DONTWAIT | MSG_NOSIGNAL);
        whole = n == (ssize_t)out.len;
    }
    odm_buf_release(&out);
    http__linger_adopt(server, req->conn);
    return whole;
}
