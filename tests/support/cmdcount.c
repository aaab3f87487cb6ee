/* The counting proxy of cmdcount.h: one accepting thread, two threads per connection (client to
 * server, parsing message headers and OP_MSG bodies, keeping the last body of each command;
 * server to client, a plain copy). */
#include "support/cmdcount.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 256
#define MAX_NAMES 64
#define MAX_NAME 64
#define MAX_MESSAGE (48 * 1024 * 1024)
#define OP_QUERY 2004
#define OP_MSG 2013

typedef struct {
    odm_test_cmdcount_t *proxy;
    int client, server;
    pthread_t up, down;
    bool started;
} conn_t;

struct odm_test_cmdcount {
    int listen_fd, port, upstream_port;
    pthread_t acceptor;
    atomic_bool stopping;
    pthread_mutex_t lock; /* conns, names, counts */
    conn_t *conns[MAX_CONNS];
    size_t n_conns;
    char names[MAX_NAMES][MAX_NAME];
    long counts[MAX_NAMES];
    int delays_ms[MAX_NAMES];
    uint8_t *last[MAX_NAMES]; /* a copy of the last body of each command (malloc'd) */
    size_t last_len[MAX_NAMES];
    size_t n_names;
    long accepted; /* connections accepted */
};

/* The slot of `name`, made when new; MAX_NAMES when the table is full. Under p->lock. */
static size_t name_slot(odm_test_cmdcount_t *p, const char *name)
{
    size_t i = 0;
    while (i < p->n_names && strcmp(p->names[i], name) != 0)
        i++;
    if (i == p->n_names && p->n_names < MAX_NAMES)
        snprintf(p->names[p->n_names++], MAX_NAME, "%s", name);
    return i < p->n_names ? i : MAX_NAMES;
}

/* Keeps a copy of body (len bytes; NULL: none) as slot i's last. Under p->lock. */
static void keep_last(odm_test_cmdcount_t *p, size_t i, const uint8_t *body, size_t len)
{
    uint8_t *copy = body ? malloc(len) : NULL;
    if (copy == NULL)
        return;
    memcpy(copy, body, len);
    free(p->last[i]);
    p->last[i] = copy;
    p->last_len[i] = len;
}

/* Counts one command and keeps its body. Returns: how long to hold it before forwarding, in
 * milliseconds. */
static int count(odm_test_cmdcount_t *p, const char *name, const uint8_t *body, size_t len)
{
    pthread_mutex_lock(&p->lock);
    size_t i = name_slot(p, name);
    int delay = 0;
    if (i < MAX_NAMES) {
        p->counts[i]++;
        delay = p->delays_ms[i];
        keep_last(p, i, body, len);
    }
    pthread_mutex_unlock(&p->lock);
    return delay;
}

static bool read_full(int fd, uint8_t *buf, size_t n)
{
    while (n > 0) {
        ssize_t got = recv(fd, buf, n, 0);
        if (got <= 0) {
            if (got < 0 && errno == EINTR)
                continue;
            return false;
        }
        buf += got;
        n -= (size_t)got;
    }
    return true;
}

static bool write_full(int fd, const uint8_t *buf, size_t n)
{
    while (n > 0) {
        ssize_t put = send(fd, buf, n, MSG_NOSIGNAL);
        if (put <= 0) {
            if (put < 0 && errno == EINTR)
                continue;
            return false;
        }
        buf += put;
        n -= (size_t)put;
    }
    return true;
}

static int32_t le32(const uint8_t *b)
{
    return (int32_t)((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                     (uint32_t)b[3] << 24);
}

/* The first key of the BSON document at doc (within end), into name. */
static bool first_key(const uint8_t *doc, const uint8_t *end, char *name)
{
    if (end - doc < 6)
        return false;
    const uint8_t *key = doc + 5; /* length, then the first element's type byte */
    size_t n = strnlen((const char *)key, (size_t)(end - key));
    if (key + n >= end || n >= MAX_NAME)
        return false;
    memcpy(name, key, n);
    name[n] = '\0';
    return true;
}

/* The command name of one message (header included), or "" when it has none it can read; for
 * OP_MSG, *body and *body_len locate its body document (section 0), else *body is NULL. */
static void command_name(const uint8_t *msg, size_t len, char *name, const uint8_t **body,
                         size_t *body_len)
{
    const uint8_t *end = msg + len, *p = msg + 16;
    int32_t op = le32(msg + 12);
    name[0] = '\0';
    *body = NULL;
    if (op == OP_MSG) {
        for (p += 4; p < end;) { /* flagBits, then sections */
            uint8_t kind = *p++;
            if (kind == 0) {
                if (first_key(p, end, name) && le32(p) >= 5 && le32(p) <= end - p) {
                    *body = p;
                    *body_len = (size_t)le32(p);
                }
                return;
            }
            if (end - p < 4)
                return;
            p += le32(p); /* kind 1: a sized document sequence */
        }
    } else if (op == OP_QUERY && end - p > 4) {
        p += 4;                                               /* flags */
        p += strnlen((const char *)p, (size_t)(end - p)) + 1; /* collection */
        if (p + 8 < end)
            first_key(p + 8, end, name); /* skip, return, then the query */
    }
}

static void *upstream_main(void *arg)
{
    conn_t *c = arg;
    uint8_t header[16];
    while (read_full(c->client, header, sizeof header)) {
        int32_t len = le32(header);
        if (len < 16 || len > MAX_MESSAGE)
            break;
        uint8_t *msg = malloc((size_t)len);
        if (msg == NULL)
            break;
        memcpy(msg, header, sizeof header);
        bool ok = read_full(c->client, msg + 16, (size_t)len - 16);
        char name[MAX_NAME];
        if (ok) {
            const uint8_t *body;
            size_t body_len = 0;
            command_name(msg, (size_t)len, name, &body, &body_len);
            int delay = count(c->proxy, name[0] ? name : "(unknown)", body, body_len);
            if (delay > 0)
                nanosleep(&(struct timespec){delay / 1000, (long)(delay % 1000) * 1000000L}, NULL);
            ok = write_full(c->server, msg, (size_t)len);
        }
        free(msg);
        if (!ok)
            break;
    }
    shutdown(c->server, SHUT_RDWR);
    shutdown(c->client, SHUT_RDWR);
    return NULL;
}

static void *downstream_main(void *arg)
{
    conn_t *c = arg;
    uint8_t buf[65536];
    for (;;) {
        ssize_t got = recv(c->server, buf, sizeof buf, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0 || !write_full(c->client, buf, (size_t)got))
            break;
    }
    shutdown(c->client, SHUT_RDWR);
    shutdown(c->server, SHUT_RDWR);
    return NULL;
}

static int connect_upstream(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return fd;
    }
    if (fd >= 0)
        close(fd);
    return -1;
}

static void serve(odm_test_cmdcount_t *p, int client)
{
    conn_t *c = calloc(1, sizeof *c);
    int server = connect_upstream(p->upstream_port);
    pthread_mutex_lock(&p->lock);
    bool room = p->n_conns < MAX_CONNS;
    if (c != NULL && server >= 0 && room) {
        *c = (conn_t){.proxy = p, .client = client, .server = server};
        int one = 1;
        setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->started = pthread_create(&c->up, NULL, upstream_main, c) == 0;
        if (c->started && pthread_create(&c->down, NULL, downstream_main, c) != 0) {
            shutdown(client, SHUT_RDWR);
            pthread_join(c->up, NULL);
            c->started = false;
        }
    }
    if (c != NULL && c->started) {
        p->conns[p->n_conns++] = c;
        p->accepted++;
    } else {
        if (server >= 0)
            close(server);
        close(client);
        free(c);
    }
    pthread_mutex_unlock(&p->lock);
}

static void *acceptor_main(void *arg)
{
    odm_test_cmdcount_t *p = arg;
    while (!atomic_load(&p->stopping)) {
        struct pollfd pfd = {.fd = p->listen_fd, .events = POLLIN};
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        int client = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (client >= 0)
            serve(p, client);
    }
    return NULL;
}

static int listen_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

odm_test_cmdcount_t *odm_test_cmdcount_start(int upstream_port)
{
    odm_test_cmdcount_t *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->upstream_port = upstream_port;
    pthread_mutex_init(&p->lock, NULL);
    p->listen_fd = listen_any(&p->port);
    if (p->listen_fd < 0 || pthread_create(&p->acceptor, NULL, acceptor_main, p) != 0) {
        fprintf(stderr, "cmdcount: cannot listen: %s\n", strerror(errno));
        if (p->listen_fd >= 0)
            close(p->listen_fd);
        pthread_mutex_destroy(&p->lock);
        free(p);
        return NULL;
    }
    return p;
}

int odm_test_cmdcount_port(const odm_test_cmdcount_t *p)
{
    return p->port;
}

long odm_test_cmdcount_get(odm_test_cmdcount_t *p, const char *name)
{
    long n = 0;
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->n_names; i++)
        if (strcmp(p->names[i], name) == 0)
            n = p->counts[i];
    pthread_mutex_unlock(&p->lock);
    return n;
}

uint8_t *odm_test_cmdcount_last(odm_test_cmdcount_t *p, const char *name, size_t *len)
{
    uint8_t *copy = NULL;
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->n_names && copy == NULL; i++)
        if (strcmp(p->names[i], name) == 0 && p->last[i] != NULL &&
            (copy = malloc(p->last_len[i])) != NULL) {
            memcpy(copy, p->last[i], p->last_len[i]);
            *len = p->last_len[i];
        }
    pthread_mutex_unlock(&p->lock);
    return copy;
}

long odm_test_cmdcount_connections(odm_test_cmdcount_t *p)
{
    pthread_mutex_lock(&p->lock);
    long n = p->accepted;
    pthread_mutex_unlock(&p->lock);
    return n;
}

void odm_test_cmdcount_delay(odm_test_cmdcount_t *p, const char *name, int ms)
{
    pthread_mutex_lock(&p->lock);
    size_t i = name_slot(p, name);
    if (i < MAX_NAMES)
        p->delays_ms[i] = ms;
    pthread_mutex_unlock(&p->lock);
}

void odm_test_cmdcount_reset(odm_test_cmdcount_t *p)
{
    pthread_mutex_lock(&p->lock);
    memset(p->counts, 0, sizeof p->counts);
    pthread_mutex_unlock(&p->lock);
}

void odm_test_cmdcount_stop(odm_test_cmdcount_t *p)
{
    if (p == NULL)
        return;
    atomic_store(&p->stopping, true);
    pthread_join(p->acceptor, NULL);
    close(p->listen_fd);
    for (size_t i = 0; i < p->n_conns; i++) {
        conn_t *c = p->conns[i];
        shutdown(c->client, SHUT_RDWR);
        shutdown(c->server, SHUT_RDWR);
        pthread_join(c->up, NULL);
        pthread_join(c->down, NULL);
        close(c->client);
        close(c->server);
        free(c);
    }
    for (size_t i = 0; i < MAX_NAMES; i++)
        free(p->last[i]);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
