/* End-to-end: connections. A second odmd on a taken address exits 2 ("address in use"). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"

static e2e_db_t *db;

/* ---- a second odmd on a taken address ---------------------------------------------------- */

static void test_second_odmd_refused(void)
{
    e2e_odmd_t o;
    e2e_odmd_opts_t opts = {.mongo_uri = e2e_db_uri(db)};
    if (!e2e_odmd_start(&o, &opts)) {
        CHECK_MSG(false, "odmd did not start");
        return;
    }
    char listen[64], schemas[600];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", o.port);
    snprintf(schemas, sizeof schemas, "%s/schemas", e2e_source_dir());
    const char *argv[] = {"--listen", listen, "--mongo-uri", e2e_db_uri(db), "--schemas", schemas,
                          NULL};
    char *out = NULL;
    int status = e2e_run_odmd(argv, NULL, NULL, 10000, &out);
    CHECK_MSG(status == 2, "a second odmd on %s: exit status %d; output: %.400s", listen, status,
              out ? out : "");
    CHECK_MSG(out && strstr(out, "address in use"), "a second odmd said: %.400s", out ? out : "");
    free(out);
    /* every new connection still reaches the first one */
    e2e_resp_t r = {0};
    for (int i = 0; i < 8; i++) {
        e2e_client_t c;
        e2e_client_init(&c, o.url);
        e2e_get(&c, &r, "/healthz");
        EXPECT_STATUS(r, 200);
        e2e_client_release(&c);
    }
    e2e_resp_free(&r);
    CHECK_INT(e2e_odmd_stop(&o, 20000), 0);
}

int main(void)
{
    e2e_init("conns");
    db = e2e_db_start();
    if (!db) {
        CHECK_MSG(false, "the database did not start");
        return e2e_finish(check_done("e2e_conns"));
    }
    test_second_odmd_refused();
    e2e_db_stop(db);
    return e2e_finish(check_done("e2e_conns"));
}
