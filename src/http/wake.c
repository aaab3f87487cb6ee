/* A waker for libmicrohttpd 0.9.75's epoll loop.
 *
 * When one epoll_wait returns exactly MAX_EVENTS (128) events, MHD_epoll calls epoll_wait again,
 * with its blocking timeout, before it handles the connections it just marked ready. With every
 * client waiting for an answer no further event arrives, and the polling thread sleeps until the
 * next connection timeout: at 128 or 256 busy keep-alive connections, /healthz fell from 69k
 * requests/s to 9 (measured here with wrk). The loop skips events whose data pointer is NULL (its
 * "shutdown signal"), so an eventfd registered that way wakes it without being mistaken for a
 * connection. A thread writes to it when the polling thread has shown no pulse (handler calls,
 * completions) for one tick while it had work recently; an idle server is left alone.
 *
 * One epoll_wait returns each descriptor at most once: the connections, the listening socket,
 * libmicrohttpd's inter-thread channel and this eventfd. With fewer connections open than
 * HTTP__WAKE_MIN_CONNECTIONS it cannot return 128 events, so the thread then only looks every
 * idle tick and never wakes anyone: at 64 busy connections its 2,000 wake-ups a second cost
 * about 1 us of CPU per request (measured), for a stall that cannot happen.
 *
 * Each tick also writes out the access-log lines that have waited long enough (server.c) and
 * closes connections past their time bounds (conns.c). */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "http/internal.h"
#include "odmd/log.h"

#define WAKE_TICK_NS (500 * 1000)            /* a stall lasts at most about two ticks */
#define WAKE_IDLE_TICKS 2000                 /* after a second without a pulse, stop waking */
#define WAKE_IDLE_TICK_NS (10 * 1000 * 1000) /* and look less often */

static void *waker_thread(void *arg)
{
    odm_http_server_t *server = arg;
    http__waker_t *w = &server->waker;
    unsigned long long last = atomic_load(&server->progress);
    unsigned quiet = WAKE_IDLE_TICKS;
    while (!atomic_load(&w->stop)) {
        struct timespec tick = {0, quiet >= WAKE_IDLE_TICKS ? WAKE_IDLE_TICK_NS : WAKE_TICK_NS};
        nanosleep(&tick, NULL);
        http__log_flush(server, true); /* access-log lines no older than a flush period */
        http__conns_sweep(server);     /* connections past their read or idle bound */
        if (atomic_load_explicit(&server->connections, memory_order_relaxed) <
            HTTP__WAKE_MIN_CONNECTIONS) {
            quiet = WAKE_IDLE_TICKS;
            continue;
        }
        unsigned long long now = atomic_load(&server->progress);
        if (now != last) {
            last = now;
            quiet = 0;
            continue;
        }
        /* no pulse with many connections open: wake, every idle tick at least, since a stall
         * that began before any handler call would never show a pulse to restart from */
        if (quiet < WAKE_IDLE_TICKS)
            quiet++;
        uint64_t one = 1;
        if (write(w->event_fd, &one, sizeof one) < 0 && errno != EAGAIN)
            odm_warn("http: cannot wake the polling thread: %s", strerror(errno));
    }
    return NULL;
}

bool http__waker_start(odm_http_server_t *server, odm_error_t *err)
{
    http__waker_t *w = &server->waker;
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    if (info == NULL)
        return odm_error_set(err, ODM_ERR_INTERNAL, "libmicrohttpd has no epoll descriptor");
    w->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->event_fd < 0)
        return odm_error_set(err, ODM_ERR_INTERNAL, "eventfd: %s", strerror(errno));
    /* edge-triggered: every write is one wake-up, and nobody needs to read the counter */
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.ptr = NULL};
    if (epoll_ctl(info->epoll_fd, EPOLL_CTL_ADD, w->event_fd, &ev) != 0) {
        odm_error_set(err, ODM_ERR_INTERNAL, "epoll_ctl: %s", strerror(errno));
        goto fail_fd;
    }
    atomic_store(&w->stop, false);
    if (pthread_create(&w->thread, NULL, waker_thread, server) != 0) {
        odm_error_set(err, ODM_ERR_INTERNAL, "cannot start the waker thread");
        goto fail_fd;
    }
    w->running = true;
    return true;
fail_fd:
    close(w->event_fd);
    w->event_fd = -1;
    return false;
}

void http__waker_stop(odm_http_server_t *server)
{
    http__waker_t *w = &server->waker;
    if (!w->running)
        return;
    atomic_store(&w->stop, true);
    pthread_join(w->thread, NULL);
    close(w->event_fd);
    w->running = false;
}
