/* What counting one request costs the polling thread: odm_metrics_request_started and
 * odm_metrics_request_done called in a loop, with the labels of a typical mix, against the same
 * loop without them (the clock read that times a request is counted in both). Prints ns per
 * request. Build with -DODMD_BENCH=ON (target metrics_cost). */
#include <stdio.h>
#include <stdlib.h>

#include "odmd/clock.h"
#include "odmd/metrics.h"

#define N 10000000L

static const char *const routes[] = {"none", "collection", "document"};

static double run(odm_metrics_t *m, unsigned model)
{
    int64_t t0 = odm_now_us();
    int64_t sink = 0;
    for (long i = 0; i < N; i++) {
        int64_t started = odm_now_us();
        odm_metrics_request_t r = {.model = model,
                                   .route = 2,
                                   .method = 0,
                                   .status = (i & 15) ? 200 : 404,
                                   .started = true,
                                   .duration_us = odm_now_us() - started + (i & 1023)};
        if (m) {
            odm_metrics_request_started(m);
            odm_metrics_request_done(m, &r);
        } else {
            sink += r.duration_us;
        }
    }
    int64_t us = odm_now_us() - t0;
    if (sink == -1)
        puts("");
    return (double)us * 1000.0 / (double)N;
}

int main(void)
{
    odm_metrics_t *m = odm_metrics_new(routes, 3, "bench");
    if (m == NULL)
        return 1;
    unsigned model = odm_metrics_model(m, "world");
    double best_with = 1e9, best_without = 1e9;
    for (int round = 0; round < 5; round++) {
        double without = run(NULL, model), with = run(m, model);
        best_without = without < best_without ? without : best_without;
        best_with = with < best_with ? with : best_with;
    }
    printf("{\"ns_per_request_with\": %.1f, \"ns_per_request_without\": %.1f, \"counting_ns\": "
           "%.1f}\n",
           best_with, best_without, best_with - best_without);
    odm_metrics_free(m);
    return 0;
}
