/* Raw HTTP over a TCP socket on 127.0.0.1, for tests that must send exact bytes (framing,
 * pipelining, slow or oversized bodies) and see exactly what comes back. */
#ifndef ODMD_TESTS_SUPPORT_RAWHTTP_H
#define ODMD_TESTS_SUPPORT_RAWHTTP_H

#include <stdbool.h>
#include <stddef.h>

/* What came back on one connection. */
typedef struct {
    char data[131072]; /* NUL-terminated; what did not fit is left unread */
    size_t len;
    bool closed;      /* end of stream or a reset seen */
    bool reset;       /* the peer reset the connection */
    bool send_failed; /* for the caller's own use: a send that failed */
} raw_answer_t;

/* Connects to 127.0.0.1:port. Returns: the socket, or -1. */
int raw_connect(unsigned port);

/* Sends all n bytes (no SIGPIPE). Returns: false when the peer closed or reset first. */
bool raw_send_all(int fd, const char *p, size_t n);

/* Appends to `a` what arrives until the peer closes or nothing arrives for wait_ms. */
void raw_read_answer(int fd, raw_answer_t *a, int wait_ms);

#endif
