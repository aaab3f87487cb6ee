/* A minimal HTTP/1.1 GET for `odmd health URL` (container health checks): http:// or https://
 * (probe_tls.c), no redirects. */
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/internal.h"
#include "odmd/buf.h"
#include "odmd/clock.h"
#include "odmd/http.h"

typedef struct {
    char host[256];
    char port[8];
    const char *path;
    bool tls;
} probe_url_t;

static const struct {
    const char *prefix;
    const char *port;
    bool tls;
} schemes[] = {{"http://", "80", false}, {"https://", "443", true}};

static bool parse_url(const char *url, probe_url_t *u, odm_error_t *err)
{
    size_t k = 0;
    while (k < sizeof schemes / sizeof schemes[0] &&
           strncmp(url, schemes[k].prefix, strlen(schemes[k].prefix)) != 0)
        k++;
    if (k == sizeof schemes / sizeof schemes[0])
        return odm_error_set(err, ODM_ERR_CONFIG,
                             "only http:// and https:// URLs can be probed: '%s'", url);
    u->tls = schemes[k].tls;
    const char *host = url + strlen(schemes[k].prefix);
    const char *slash = strchr(host, '/');
    u->path = slash ? slash : "/";
    size_t hostport = slash ? (size_t)(slash - host) : strlen(host);
    const char *colon = memchr(host, ':', hostport);
    if (host[0] == '[')
        colon = memchr(host, ']', hostport) ? strchr(memchr(host, ']', hostport), ':') : NULL;
    size_t hlen = colon ? (size_t)(colon - host) : hostport;
    size_t plen = colon ? hostport - hlen - 1 : 3;
    if (hlen == 0 || hlen >= sizeof u->host || plen == 0 || plen >= sizeof u->port)
        return odm_error_set(err, ODM_ERR_CONFIG, "malformed URL '%s'", url);
    memcpy(u->host, host[0] == '[' ? host + 1 : host, host[0] == '[' ? hlen - 2 : hlen);
    u->host[host[0] == '[' ? hlen - 2 : hlen] = '\0';
    if (colon) {
        memcpy(u->port, colon + 1, plen);
        u->port[plen] = '\0';
    } else {
        snprintf(u->port, sizeof u->port, "%s", schemes[k].port);
    }
    return true;
}

static int connect_to(const probe_url_t *u, odm_error_t *err)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(u->host, u->port, &hints, &res) != 0 || res == NULL) {
        odm_error_set(err, ODM_ERR_IO, "cannot resolve '%s'", u->host);
        return -1;
    }
    int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        odm_error_set(err, ODM_ERR_IO, "cannot connect to %s:%s", u->host, u->port);
    return fd;
}

/* Reads until the status line is complete, the peer closes, or the deadline passes. */
static int read_status(int fd, int64_t deadline, odm_error_t *err)
{
    char buf[512];
    size_t have = 0;
    while (have < sizeof buf - 1) {
        int left = (int)(deadline - odm_now_ms());
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, left) <= 0)
            break;
        ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
        if (n <= 0)
            break;
        have += (size_t)n;
        buf[have] = '\0';
        int status;
        if (strchr(buf, '\n') && sscanf(buf, "HTTP/%*d.%*d %d", &status) == 1)
            return status;
    }
    odm_error_set(err, ODM_ERR_IO, "no HTTP status received");
    return -1;
}

int odm_http_probe(const char *url, int timeout_ms, odm_error_t *err)
{
    probe_url_t u;
    if (!parse_url(url, &u, err))
        return -1;
    int64_t deadline = odm_now_ms() + timeout_ms;
    int fd = connect_to(&u, err);
    if (fd < 0)
        return -1;
    odm_buf_t req;
    odm_buf_init(&req, 4096);
    bool built = odm_buf_printf(&req, "GET %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n\r\n",
                                u.path, u.host, u.port);
    int status = -1;
    if (!built)
        odm_error_set(err, ODM_ERR_CONFIG, "URL too long");
    else if (u.tls)
        status = http__probe_tls(fd, u.host, req.data, req.len, deadline, err);
    else if (write(fd, req.data, req.len) != (ssize_t)req.len)
        odm_error_set(err, ODM_ERR_IO, "cannot send the request");
    else
        status = read_status(fd, deadline, err);
    odm_buf_release(&req);
    close(fd);
    return status;
}
