/* Unit tests for src/core/metrics.c: counting by label, model slots across reloads, the text
 * format (cumulative buckets, escapes, "other"), and the process_* series. */
#include <stdlib.h>

#include "check.h"
#include "odmd/metrics.h"

static const char *const routes[] = {"none", "collection", "document"};

static bool contains(const char *haystack, const char *needle)
{
    return haystack != NULL && strstr(haystack, needle) != NULL;
}

/* The text of m, as a new string in *buf (released by the caller). */
static const char *render(odm_metrics_t *m, odm_buf_t *buf)
{
    odm_buf_init(buf, ODM_METRICS_MAX_OUTPUT);
    CHECK(odm_metrics_write(m, buf));
    return odm_buf_cstr(buf);
}

static void done(odm_metrics_t *m, unsigned model, unsigned route, unsigned method, int status,
                 int64_t us)
{
    odm_metrics_request_started(m);
    odm_metrics_request_t r = {model, route, method, status, true, us};
    odm_metrics_request_done(m, &r);
}

static void test_counting(void)
{
    odm_metrics_t *m = odm_metrics_new(routes, 3, "1.2.3");
    CHECK(m != NULL);
    unsigned users = odm_metrics_model(m, "users");
    unsigned orders = odm_metrics_model(m, "orders");
    CHECK(users == 1 && orders == 2);
    CHECK_INT(odm_metrics_model(m, "users"), users); /* a reload keeps the label */
    done(m, users, 2, 0, 200, 300);                  /* GET, 0.3 ms */
    done(m, users, 2, 0, 200, 2000);                 /* 2 ms */
    done(m, orders, 1, 2, 422, 20000000);            /* POST, 20 s: only +Inf */
    done(m, 0, 0, 0, 404, 10);
    done(m, 0, 0, 0, 299, 10);      /* a status with no series of its own */
    odm_metrics_request_started(m); /* one still in flight */
    odm_metrics_reload(m, true);
    odm_metrics_reload(m, false);
    odm_metrics_reload(m, false);
    odm_buf_t buf;
    const char *text = render(m, &buf);
    static const char *const must[] = {
        "odmd_http_requests_total{model=\"users\",method=\"GET\",status=\"200\"} 2\n",
        "odmd_http_requests_total{model=\"orders\",method=\"POST\",status=\"422\"} 1\n",
        "odmd_http_requests_total{model=\"\",method=\"GET\",status=\"404\"} 1\n",
        "odmd_http_requests_total{model=\"\",method=\"GET\",status=\"other\"} 1\n",
        "_bucket{route=\"document\",method=\"GET\",le=\"0.0005\"} 1\n",
        "_bucket{route=\"document\",method=\"GET\",le=\"0.001\"} 1\n",
        "_bucket{route=\"document\",method=\"GET\",le=\"0.0025\"} 2\n",
        "_bucket{route=\"document\",method=\"GET\",le=\"+Inf\"} 2\n",
        "_sum{route=\"document\",method=\"GET\"} 0.0023\n",
        "_count{route=\"document\",method=\"GET\"} 2\n",
        "_bucket{route=\"collection\",method=\"POST\",le=\"10\"} 0\n",
        "_bucket{route=\"collection\",method=\"POST\",le=\"+Inf\"} 1\n",
        "odmd_http_requests_in_flight 1\n",
        "odmd_model_reloads_total{result=\"success\"} 1\n",
        "odmd_model_reloads_total{result=\"failure\"} 2\n",
        "odmd_build_info{version=\"1.2.3\"} 1\n",
        "# TYPE odmd_http_request_duration_seconds histogram\n",
        "# TYPE process_cpu_seconds_total counter\n",
        "\nprocess_resident_memory_bytes ",
        "\nprocess_open_fds ",
        "\nprocess_start_time_seconds ",
    };
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
        CHECK_MSG(contains(text, must[i]), "no '%s' in:\n%s", must[i], text);
    CHECK(!contains(text, "status=\"201\"")); /* no series for what never happened */
    CHECK(!contains(text, "route=\"none\",method=\"POST\""));
    odm_buf_release(&buf);
    odm_metrics_free(m);
}

static void test_labels(void)
{
    odm_metrics_t *m = odm_metrics_new(routes, 3, "a\"b\\c\nd");
    unsigned last = 0;
    for (unsigned i = 0; i < ODM_METRICS_MAX_MODELS; i++) {
        char name[32];
        snprintf(name, sizeof name, "m%u", i);
        last = odm_metrics_model(m, name);
        CHECK_INT(last, i + 1);
    }
    CHECK_INT(odm_metrics_model(m, "one-too-many"), 0); /* counted under model="" */
    CHECK_INT(odm_metrics_model(m, "m0"), 1);
    done(m, last, 9, 42, 700, -5); /* out of range: route "none", method and status "other" */
    odm_buf_t buf;
    const char *text = render(m, &buf);
    CHECK_MSG(contains(text, "odmd_build_info{version=\"a\\\"b\\\\c\\nd\"} 1\n"), "%s", text);
    CHECK_MSG(contains(text, "{model=\"m255\",method=\"other\",status=\"other\"} 1\n"), "%s", text);
    CHECK_MSG(contains(text, "_bucket{route=\"none\",method=\"other\",le=\"0.0005\"} 1\n"), "%s",
              text);
    odm_buf_release(&buf);
    odm_metrics_free(m);
    odm_metrics_free(NULL);
}

/* A buffer too small for the text fails instead of writing half of it. */
static void test_cap(void)
{
    odm_metrics_t *m = odm_metrics_new(routes, 3, "1");
    odm_buf_t buf;
    odm_buf_init(&buf, 64);
    CHECK(!odm_metrics_write(m, &buf));
    odm_buf_release(&buf);
    odm_metrics_free(m);
}

int main(void)
{
    test_counting();
    test_labels();
    test_cap();
    return check_done("test_metrics");
}
