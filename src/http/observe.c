/* What the server tells its metrics of each request: handed to the application, answered. */
#include "http/internal.h"
#include "odmd/clock.h"

void odm_request_set_metrics_labels(odm_request_t *req, unsigned model, unsigned route)
{
    req->metrics_model = model;
    req->metrics_route = route;
}

void http__observe_start(odm_request_t *req)
{
    odm_metrics_t *m = req->server->opts.metrics;
    if (m == NULL)
        return;
    odm_metrics_request_started(m);
    req->metrics_started = true;
}

/* A request libmicrohttpd answered itself, or one that got no answer (the client left while
 * it was read), has no status and is not counted. */
void http__observe_done(odm_request_t *req)
{
    odm_metrics_t *m = req->server->opts.metrics;
    if (m == NULL || (req->status == 0 && !req->metrics_started))
        return;
    odm_metrics_request_t r = {
        .model = req->metrics_model,
        .route = req->metrics_route,
        .method = (unsigned)__builtin_ctz((unsigned)req->method),
        .status = req->status,
        .started = req->metrics_started,
        .duration_us = odm_now_us() - req->started_us,
    };
    odm_metrics_request_done(m, &r);
}
