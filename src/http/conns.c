/* Connections: the listening socket, who is let in, and how long each connection may take.
 *
 * libmicrohttpd 0.9.75 restarts a connection's idle timer on every byte and bounds nothing
 * else, so clients that send a header byte now and then (a slowloris) can hold every slot; at
 * its connection limit it stops accepting, and newcomers wait unanswered. Here every open
 * connection has an entry with its phase (reading a request, busy, idle) and since when:
 * - a request's head and body must arrive within read_timeout_s of its first byte (of the
 *   connection's start, or of its request line after a kept-alive pause), and a kept-alive
 *   connection must begin its next request within idle_timeout_s, bytes or not;
 * - one client address holds at most max_client_connections;
 * - at max_connections a newcomer takes the place of the oldest slow connection (reading for a
 *   second or more, then idle, then reading); when every connection is busy it is refused at
 *   once. libmicrohttpd's own limit is set above ours, so it never stops accepting.
 * Closing from here is shutdown(2) of the socket, which libmicrohttpd's loop then sees and
 * closes as a client that went away; only READING and IDLE connections are touched, never a busy
 * one (a suspended connection belongs to its worker). */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/internal.h"
#include "odmd/clock.h"
#include "odmd/log.h"

#define CONNS_SWEEP_MS 100       /* how often the bounds are looked at */
#define CONNS_SLOW_MS 1000       /* reading this long: first to make room */
#define CONNS_IDLE_SLACK_MS 1000 /* libmicrohttpd closes idle ones itself; this is the backstop */
#define CONNS_REPORT_MS 1000     /* at most one log line a second about refusals */
#define ADDR_MAX 16

struct http__conn {
    http__conn_t *prev, *next;
    int fd;
    http__conn_phase_t phase;
    bool closing; /* shut down: libmicrohttpd will close it */
    int64_t since_ms;
    int family;
    unsigned char addr[ADDR_MAX]; /* the client's IPv4 or IPv6 address, without the port */
};

/* The address bytes of a sockaddr_in or sockaddr_in6 into out; false for other families. */
static bool client_addr(const struct sockaddr *sa, int *family, unsigned char out[ADDR_MAX])
{
    memset(out, 0, ADDR_MAX);
    *family = sa != NULL ? sa->sa_family : AF_UNSPEC;
    if (*family == AF_INET)
        memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    else if (*family == AF_INET6)
        memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
    else
        return false;
    return true;
}

bool http__conns_init(odm_http_server_t *server, odm_error_t *err)
{
    memset(&server->conns, 0, sizeof server->conns);
    if (pthread_mutex_init(&server->conns.lock, NULL) != 0)
        return odm_error_set(err, ODM_ERR_INTERNAL, "cannot set up the connection table's lock");
    return true;
}

void http__conns_release(odm_http_server_t *server)
{
    http__conns_t *t = &server->conns;
    while (t->head != NULL) { /* none once the daemon stopped; freed anyway */
        http__conn_t *c = t->head;
        t->head = c->next;
        free(c);
    }
    pthread_mutex_destroy(&t->lock);
}

int http__listen_socket(const odm_http_options_t *opts, odm_error_t *err)
{
    int family = opts->listen_addr->sa_family;
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        odm_error_set(err, ODM_ERR_IO, "cannot listen on '%s': %s", opts->listen, strerror(errno));
        return -1;
    }
    int one = 1; /* SO_REUSEADDR: a restart may bind over old TIME_WAIT pairs; never REUSEPORT */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0))
        goto fail;
    if (bind(fd, opts->listen_addr, opts->listen_addr_len) != 0) {
        if (errno == EADDRINUSE) {
            odm_error_set(err, ODM_ERR_IO, "cannot listen on '%s': address in use", opts->listen);
            close(fd);
            return -1;
        }
        goto fail;
    }
    if (listen(fd, SOMAXCONN) != 0)
        goto fail;
    return fd;

fail:
    odm_error_set(err, ODM_ERR_IO, "cannot listen on '%s': %s", opts->listen, strerror(errno));
    close(fd);
    return -1;
}

static void shut(http__conns_t *t, http__conn_t *c)
{
    shutdown(c->fd, SHUT_RDWR); /* open: its CLOSED notification has not run (we hold the lock) */
    c->closing = true;
    t->closing++;
}

/* Lower is closed first: slow readers, then idle ones, then the other readers; busy never. */
static int eviction_rank(const http__conn_t *c, int64_t now)
{
    if (c->closing || c->phase == HTTP__CONN_BUSY)
        return -1;
    if (c->phase == HTTP__CONN_READING)
        return now - c->since_ms >= CONNS_SLOW_MS ? 0 : 2;
    return 1;
}

/* Shuts down the connection that should give way to a newcomer. Returns: false when every
 * connection is busy or already closing. Under the lock. */
static bool make_room(http__conns_t *t)
{
    int64_t now = odm_now_ms();
    http__conn_t *victim = NULL;
    int best = 3;
    for (http__conn_t *c = t->head; c != NULL; c = c->next) {
        int rank = eviction_rank(c, now); /* within a rank, the longest in its phase */
        if (rank >= 0 && (rank < best || (rank == best && c->since_ms < victim->since_ms))) {
            victim = c;
            best = rank;
        }
    }
    if (victim == NULL)
        return false;
    shut(t, victim);
    t->replaced++;
    return true;
}

static unsigned from_address(const http__conns_t *t, int family, const unsigned char *addr)
{
    unsigned n = 0;
    for (const http__conn_t *c = t->head; c != NULL; c = c->next)
        n += !c->closing && c->family == family && memcmp(c->addr, addr, ADDR_MAX) == 0;
    return n;
}

enum MHD_Result http__conns_on_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
    odm_http_server_t *server = cls;
    http__conns_t *t = &server->conns;
    (void)len;
    int family;
    unsigned char bytes[ADDR_MAX];
    bool known = client_addr(addr, &family, bytes);
    bool ok = true;
    pthread_mutex_lock(&t->lock);
    if (known && from_address(t, family, bytes) >= server->opts.max_client_connections) {
        t->refused_client++;
        ok = false;
    } else if (t->open >= server->opts.max_connections + HTTP__CONNS_SLACK - 2 ||
               (t->open - t->closing >= server->opts.max_connections && !make_room(t))) {
        t->refused_full++;
        ok = false;
    }
    pthread_mutex_unlock(&t->lock);
    return ok ? MHD_YES : MHD_NO;
}

static http__conn_t *conn_new(struct MHD_Connection *conn)
{
    http__conn_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    const union MHD_ConnectionInfo *fd =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    const union MHD_ConnectionInfo *addr =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    c->fd = fd != NULL ? fd->connect_fd : -1;
    client_addr(addr != NULL ? addr->client_addr : NULL, &c->family, c->addr);
    c->phase = HTTP__CONN_READING;
    c->since_ms = odm_now_ms();
    return c;
}

static void conn_link(http__conns_t *t, http__conn_t *c)
{
    c->prev = t->tail;
    if (t->tail != NULL)
        t->tail->next = c;
    else
        t->head = c;
    t->tail = c;
    t->open++;
}

static void conn_unlink(http__conns_t *t, http__conn_t *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        t->head = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    else
        t->tail = c->prev;
    t->open--;
    if (c->closing)
        t->closing--;
}

void http__conns_on_notify(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                           enum MHD_ConnectionNotificationCode code)
{
    odm_http_server_t *server = cls;
    http__conns_t *t = &server->conns;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        atomic_fetch_add_explicit(&server->connections, 1, memory_order_relaxed);
        http__conn_t *c = conn_new(conn);
        *socket_ctx = c;
        if (c == NULL || c->fd < 0)
            return; /* out of memory: the connection runs unbounded (libmicrohttpd's timeout) */
        pthread_mutex_lock(&t->lock);
        conn_link(t, c);
        pthread_mutex_unlock(&t->lock);
        return;
    }
    atomic_fetch_sub_explicit(&server->connections, 1, memory_order_relaxed);
    http__conn_t *c = *socket_ctx;
    if (c == NULL)
        return;
    if (c->fd >= 0) {
        pthread_mutex_lock(&t->lock);
        conn_unlink(t, c);
        pthread_mutex_unlock(&t->lock);
    }
    free(c);
    *socket_ctx = NULL;
}

static http__conn_t *entry_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    http__conn_t *c = info != NULL ? info->socket_context : NULL;
    return c != NULL && c->fd >= 0 ? c : NULL;
}

static void set_phase(odm_http_server_t *server, struct MHD_Connection *conn,
                      http__conn_phase_t phase, bool only_from_idle)
{
    http__conn_t *c = entry_of(conn);
    if (c == NULL)
        return;
    pthread_mutex_lock(&server->conns.lock);
    if (!only_from_idle || c->phase == HTTP__CONN_IDLE) {
        c->phase = phase;
        c->since_ms = odm_now_ms();
    }
    pthread_mutex_unlock(&server->conns.lock);
}

void http__conns_reading(odm_http_server_t *server, struct MHD_Connection *conn)
{
    /* a request line after a kept-alive pause: the next request's read bound starts */
    set_phase(server, conn, HTTP__CONN_READING, true);
}

void http__conns_busy(odm_http_server_t *server, struct MHD_Connection *conn)
{
    set_phase(server, conn, HTTP__CONN_BUSY, false);
}

void http__conns_idle(odm_http_server_t *server, struct MHD_Connection *conn)
{
    set_phase(server, conn, HTTP__CONN_IDLE, false);
}

/* What the bounds did since the last report, taken (and zeroed) once a second at most, so that
 * a flood of clients makes one log line, not one per connection. Under the lock. Returns: true
 * when there is something to report. */
static bool take_report(http__conns_t *t, int64_t now, unsigned counts[4])
{
    if (now < t->next_report_ms)
        return false;
    t->next_report_ms = now + CONNS_REPORT_MS;
    counts[0] = t->refused_full;
    counts[1] = t->refused_client;
    counts[2] = t->replaced;
    counts[3] = t->timed_out;
    t->refused_full = t->refused_client = t->replaced = t->timed_out = 0;
    return counts[0] + counts[1] + counts[2] + counts[3] > 0;
}

void http__conns_sweep(odm_http_server_t *server)
{
    http__conns_t *t = &server->conns;
    int64_t now = odm_now_ms();
    if (now < t->next_sweep_ms)
        return;
    t->next_sweep_ms = now + CONNS_SWEEP_MS;
    int64_t read_ms = (int64_t)server->opts.read_timeout_s * 1000;
    int64_t idle_ms = (int64_t)server->opts.idle_timeout_s * 1000 + CONNS_IDLE_SLACK_MS;
    pthread_mutex_lock(&t->lock);
    for (http__conn_t *c = t->head; c != NULL; c = c->next) {
        if (c->closing || c->phase == HTTP__CONN_BUSY)
            continue;
        int64_t bound = c->phase == HTTP__CONN_READING ? read_ms : idle_ms;
        if (now - c->since_ms > bound) {
            shut(t, c);
            t->timed_out++;
        }
    }
    unsigned counts[4];
    bool report = take_report(t, now, counts);
    pthread_mutex_unlock(&t->lock);
    if (report)
        odm_warn("http: connections: %u refused (all busy), %u refused (per-client limit), %u "
                 "closed to make room, %u closed past a time bound",
                 counts[0], counts[1], counts[2], counts[3]);
}

bool http__conns_quiet(odm_http_server_t *server, int grace_ms)
{
    http__conns_t *t = &server->conns;
    int64_t now = odm_now_ms();
    bool quiet = true;
    pthread_mutex_lock(&t->lock);
    for (http__conn_t *c = t->head; c != NULL && quiet; c = c->next)
        quiet = c->closing || (c->phase == HTTP__CONN_IDLE && now - c->since_ms >= grace_ms);
    pthread_mutex_unlock(&t->lock);
    return quiet;
}
