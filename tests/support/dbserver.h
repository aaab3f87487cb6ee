/* A MongoDB-wire server for tests, run as a child process on 127.0.0.1: mongo-java-server in
 * memory through scripts/mongo-java-server (the default), or FerretDB on SQLite when
 * ODMD_TEST_BACKEND=ferretdb (its binary in ODMD_FERRETDB_BIN). Tests can pause, resume, kill
 * and restart it on the same port to see how odmd lives through a database outage.
 *
 * The launcher is always the repository's scripts/mongo-java-server. Environment:
 * ODMD_TEST_DB_START_MS the start timeout (default 120000: the first run may build the launcher
 * with Maven); ODMD_TEST_DB_VERBOSE=1 shows the server's stderr instead of keeping it in
 * dir/server.log. */
#ifndef ODMD_TESTS_DBSERVER_H
#define ODMD_TESTS_DBSERVER_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct {
    pid_t pid;       /* the server's process; 0 when none runs */
    int out_fd;      /* the launcher's stdout, held open so that its writes never fail; -1 */
    int port;        /* fixed by the first start; restarts reuse it */
    bool ferretdb;   /* which backend runs */
    bool paused;     /* SIGSTOPped */
    char dir[64];    /* a temp folder: server.log (its stderr), FerretDB's SQLite and state */
    char uri[64];    /* "mongodb://127.0.0.1:PORT" */
    char error[256]; /* why the last call failed */
} odm_test_db_t;

/* Starts a server on a free port and waits until it answers a MongoDB wire-protocol ping
 * (OP_MSG {ping: 1}) with ok: 1; accepting connections alone is not ready.
 * Returns: false with db->error set when it did not come up in time (nothing left running). */
bool odm_test_db_start(odm_test_db_t *db);

/* Starts the server again on db->port after odm_test_db_kill (an in-memory server comes back
 * empty; FerretDB keeps its folder). */
bool odm_test_db_restart(odm_test_db_t *db);

bool odm_test_db_pause(odm_test_db_t *db);  /* SIGSTOP: connections stay open, nothing answers */
bool odm_test_db_resume(odm_test_db_t *db); /* SIGCONT */
bool odm_test_db_kill(odm_test_db_t *db);   /* SIGKILL, reaped: connections are refused */

/* Ends the server (SIGTERM, then SIGKILL after 5 s), closes its pipe and removes its folder.
 * Safe on a killed or never-started server; the struct may be started again afterwards. */
void odm_test_db_stop(odm_test_db_t *db);

#endif
