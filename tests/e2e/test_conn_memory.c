/* End-to-end: --connection-memory sizes libmicrohttpd's memory per connection. With 8 KiB a
 * header field of 12,000 bytes is refused (431) while short requests, a 422 and keep-alive work
 * as before; with the default (32 KiB) the same field, and a request line of 8,000 bytes,
 * reach odmd. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"

#define LONG 12000

static e2e_env_t env;

/* "/healthz?pad=xxx...": a request target of `len` bytes (new, caller frees). */
static char *long_target(size_t len)
{
    char *t = malloc(len + 1);
    size_t n = (size_t)snprintf(t, len + 1, "/healthz?pad=");
    memset(t + n, 'x', len - n);
    t[len] = '\0';
    return t;
}

/* A client whose only request carries a header field of `len` bytes: its status. */
static long long_header_status(size_t len)
{
    e2e_client_t c;
    e2e_resp_t r = {0};
    e2e_client_init(&c, env.odmd.url);
    char *header = malloc(len + 8);
    memcpy(header, "X-Pad: ", 7);
    memset(header + 7, 'x', len);
    header[len + 7] = '\0';
    const char *headers[] = {header, NULL};
    long status = e2e_request(&c, &r, "GET", "/healthz", headers, NULL, 0) ? r.status : 0;
    e2e_resp_free(&r);
    e2e_client_release(&c);
    free(header);
    return status;
}

static void test_small_pool(void)
{
    CHECK_INT(long_header_status(LONG), 431);
    e2e_client_t c;
    e2e_resp_t r = {0};
    e2e_client_init(&c, env.odmd.url);
    char *target = long_target(2000);
    CHECK(e2e_get(&c, &r, target));
    CHECK_INT(r.status, 200);
    for (int i = 0; i < 3; i++) { /* the 422 path, on one kept-alive connection */
        CHECK(e2e_post(&c, &r, "/api/users", "{\"email\":\"not-an-email\",\"name\":\"\"}"));
        CHECK_MSG(e2e_is_problem(&r, 422), "got %ld", r.status);
        CHECK_INT(r.num_connects, 0);
    }
    free(target);
    e2e_resp_free(&r);
    e2e_client_release(&c);
}

static void test_default_pool(void)
{
    CHECK_INT(long_header_status(LONG), 200);
    e2e_resp_t r = {0};
    char *target = long_target(8000);
    CHECK(e2e_get(&env.c, &r, target));
    CHECK_INT(r.status, 200);
    free(target);
    e2e_resp_free(&r);
}

int main(void)
{
    e2e_init("conn_memory");
    const char *small[] = {"--connection-memory", "8KiB", NULL};
    if (e2e_env_up(&env, small))
        test_small_pool();
    else
        CHECK_MSG(false, "environment did not start");
    CHECK_INT(e2e_env_down(&env), 0);
    if (e2e_env_up(&env, NULL))
        test_default_pool();
    else
        CHECK_MSG(false, "environment did not start");
    CHECK_INT(e2e_env_down(&env), 0);
    return e2e_finish(check_done("e2e_conn_memory"));
}
