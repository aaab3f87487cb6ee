/* The end-to-end tests' database: tests/support/dbserver (mongo-java-server in memory, or
 * FerretDB), wrapped so that failures print why. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "support/dbserver.h"

struct e2e_db {
    odm_test_db_t server;
    char uri[80]; /* with a trailing slash: mongodb://127.0.0.1:PORT/ */
};

static bool report(e2e_db_t *db, bool ok, const char *what)
{
    if (!ok)
        fprintf(stderr, "e2e: database %s failed: %s\n", what, db->server.error);
    return ok;
}

e2e_db_t *e2e_db_start(void)
{
    e2e_db_t *db = calloc(1, sizeof *db);
    if (!db)
        return NULL;
    if (!report(db, odm_test_db_start(&db->server), "start")) {
        free(db);
        return NULL;
    }
    snprintf(db->uri, sizeof db->uri, "%s/", db->server.uri);
    return db;
}

const char *e2e_db_uri(const e2e_db_t *db)
{
    return db->uri;
}

int e2e_db_port(const e2e_db_t *db)
{
    return db->server.port;
}

bool e2e_db_pause(e2e_db_t *db)
{
    return report(db, odm_test_db_pause(&db->server), "pause");
}

bool e2e_db_resume(e2e_db_t *db)
{
    return report(db, odm_test_db_resume(&db->server), "resume");
}

bool e2e_db_kill(e2e_db_t *db)
{
    return report(db, odm_test_db_kill(&db->server), "kill");
}

bool e2e_db_restart(e2e_db_t *db)
{
    return report(db, odm_test_db_restart(&db->server), "restart");
}

void e2e_db_stop(e2e_db_t *db)
{
    if (!db)
        return;
    odm_test_db_stop(&db->server);
    free(db);
}

const char *e2e_dead_uri(int *port_out)
{
    static char uri[64];
    int port = e2e_free_port();
    snprintf(uri, sizeof uri, "mongodb://127.0.0.1:%d/", port);
    if (port_out)
        *port_out = port;
    return uri;
}
