/* Connections: the listening socket, bound by odmd itself so that it is never shared (the
 * SO_REUSEPORT that libmicrohttpd's address-reuse option sets would let a second server take
 * part of the traffic) and a taken address is reported as such. */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/internal.h"

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
