/* `odmd health https://...`: the probe's request and status line over TLS (OpenSSL's libssl).
 * The certificate is not checked: the probe asks a local odmd whether it is alive, it does not
 * authenticate it (a container's health check has no CA for a private certificate). */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "http/internal.h"
#include "odmd/clock.h"

/* Bounds every blocking read and write on fd to what is left before deadline. */
static bool bound_socket(int fd, int64_t deadline)
{
    int64_t left = deadline - odm_now_ms();
    if (left <= 0)
        return false;
    struct timeval tv = {(time_t)(left / 1000), (suseconds_t)(left % 1000) * 1000};
    return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0 &&
           setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0;
}

/* Reads until the status line is complete. Returns: the status, or -1. */
static int read_status(SSL *ssl, int fd, int64_t deadline)
{
    char buf[512];
    size_t have = 0;
    while (have < sizeof buf - 1 && bound_socket(fd, deadline)) {
        int n = SSL_read(ssl, buf + have, (int)(sizeof buf - 1 - have));
        if (n <= 0)
            break;
        have += (size_t)n;
        buf[have] = '\0';
        int status;
        if (strchr(buf, '\n') && sscanf(buf, "HTTP/%*d.%*d %d", &status) == 1)
            return status;
    }
    return -1;
}

int http__probe_tls(int fd, const char *host, const char *request, size_t len, int64_t deadline,
                    odm_error_t *err)
{
    int status = -1;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = ctx ? SSL_new(ctx) : NULL;
    if (ssl == NULL) {
        odm_error_set(err, ODM_ERR_INTERNAL, "cannot set up TLS");
        goto done;
    }
    SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
    SSL_set_tlsext_host_name(ssl, host); /* SNI: ignored for an IP address */
    if (!bound_socket(fd, deadline) || SSL_set_fd(ssl, fd) != 1 || SSL_connect(ssl) != 1) {
        odm_error_set(err, ODM_ERR_IO, "TLS handshake with %s failed", host);
        goto done;
    }
    if (!bound_socket(fd, deadline) || SSL_write(ssl, request, (int)len) != (int)len) {
        odm_error_set(err, ODM_ERR_IO, "cannot send the request");
        goto done;
    }
    status = read_status(ssl, fd, deadline);
    if (status < 0)
        odm_error_set(err, ODM_ERR_IO, "no HTTP status received");
    SSL_shutdown(ssl);
done:
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return status;
}
