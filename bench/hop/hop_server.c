/* The hop on its own: odmd's HTTP layer and worker pool with no routing, models or database.
 * GET /direct is answered on the polling thread; GET /hop is suspended, handed to a worker that
 * prepares the same answer with no other work, and resumed. The difference in CPU per request
 * between the two is what the suspend -> worker -> resume hop costs.
 *
 *   hop_server PORT [WORKERS [batch]]   serves until SIGTERM or SIGINT, then drains as odmd
 *                                       does; `batch`: the workers run as SCHED_BATCH */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "odmd/clock.h"
#include "odmd/http.h"
#include "odmd/work.h"

#define BODY "{\"status\":\"ok\"}"

typedef struct {
    odm_job_t job;
    odm_request_t *req;
} hop_t;

static void answer(odm_request_t *req, int status)
{
    char *body = strdup(BODY);
    odm_request_reply(req, status, "application/json", body, body ? strlen(body) : 0);
}

static void hop_run(odm_job_t *job)
{
    hop_t *h = (hop_t *)job;
    answer(h->req, 200);
    odm_request_resume(h->req);
}

static void hop_expire(odm_job_t *job)
{
    hop_t *h = (hop_t *)job;
    answer(h->req, 504);
    odm_request_resume(h->req);
}

static void handle(odm_request_t *req, void *app)
{
    odm_work_pool_t *pool = app;
    if (strcmp(odm_request_path(req), "/hop") != 0) {
        answer(req, 200);
        return;
    }
    hop_t *h = calloc(1, sizeof *h);
    if (h == NULL) {
        answer(req, 500);
        return;
    }
    h->req = req;
    h->job.run = hop_run;
    h->job.expire = hop_expire;
    h->job.start_by_ms = odm_request_deadline_ms(req);
    odm_request_set_state(req, h, free);
    odm_request_suspend(req);
    if (!odm_work_submit(pool, &h->job)) {
        answer(req, 503);
        odm_request_resume(req);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: hop_server PORT [WORKERS [batch]]\n");
        return 2;
    }
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    odm_error_t err;
    odm_work_pool_t *pool =
        odm_work_pool_new(argc > 2 ? strtoul(argv[2], NULL, 10) : 4, 4096, &err);
    if (pool == NULL) {
        fprintf(stderr, "hop_server: %s\n", err.message);
        return 1;
    }
    if (argc > 3 && strcmp(argv[3], "batch") == 0) {
#ifdef HOP_SET_BATCH /* a pool with odm_work_pool_set_batch (bench/hop/run defines it) */
        if (!odm_work_pool_set_batch(pool, true, &err)) {
            fprintf(stderr, "hop_server: %s\n", err.message);
            return 1;
        }
#else
        fprintf(stderr, "hop_server: this pool has no batch policy\n");
        return 1;
#endif
    }
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)strtoul(argv[1], NULL, 10))};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    odm_http_options_t opts = {
        .listen = "127.0.0.1",
        .listen_addr = (const struct sockaddr *)&addr,
        .listen_addr_len = sizeof addr,
        .max_connections = 1000,
        .max_client_connections = 1000,
        .idle_timeout_s = 60,
        .read_timeout_s = 30,
        .max_body = 1 << 20,
        .request_timeout_ms = 10000,
        .handler = handle,
        .app = pool,
    };
    odm_http_server_t *http = odm_http_start(&opts, &err);
    if (http == NULL) {
        fprintf(stderr, "hop_server: %s\n", err.message);
        return 1;
    }
    printf("listening on %u\n", odm_http_port(http));
    fflush(stdout);
    int sig;
    sigwait(&sigs, &sig);
    odm_http_drain(http);
    while (!odm_http_wait_idle(http, 1000))
        ;
    odm_work_pool_free(pool);
    odm_http_stop(http);
    return 0;
}
