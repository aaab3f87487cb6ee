/* Unit tests for tests/support/dbserver.c: a server counts as ready only once it answers a
 * MongoDB ping (OP_MSG) with ok: 1, not when anything accepts connections on its port. */
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "support/dbserver.h"

/* A stand-in for FerretDB: takes its --listen-addr, accepts connections, never answers. */
static const char mute_server[] =
    "#!/bin/sh\n"
    "for a; do case $a in --listen-addr=*) addr=${a#--listen-addr=} ;; esac; done\n"
    "exec python3 -c '\n"
    "import socket, sys\n"
    "host, port = sys.argv[1].rsplit(\":\", 1)\n"
    "s = socket.socket()\n"
    "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind((host, int(port)))\n"
    "s.listen(16)\n"
    "held = []\n"
    "while True:\n"
    "    held.append(s.accept()[0])\n"
    "' \"$addr\"\n";

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_mute_server_is_not_ready(void)
{
    char dir[] = "/tmp/odmd-test-dbserver-XXXXXX", path[64];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/ferretdb", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f == NULL)
        return;
    fputs(mute_server, f);
    fclose(f);
    chmod(path, 0700);
    setenv("ODMD_TEST_BACKEND", "ferretdb", 1);
    setenv("ODMD_FERRETDB_BIN", path, 1);
    setenv("ODMD_TEST_DB_START_MS", "4000", 1);
    odm_test_db_t db;
    long long start = now_ms();
    bool started = odm_test_db_start(&db);
    long long took = now_ms() - start;
    CHECK_MSG(!started, "a server that accepts but never answers counted as ready (port %d)",
              db.port);
    CHECK_MSG(strstr(db.error, "ping") != NULL, "error: %s", db.error);
    CHECK_MSG(took < 15000, "gave up after %lld ms (start timeout 4000 ms)", took);
    if (started)
        odm_test_db_stop(&db);
    unlink(path);
    rmdir(dir);
    unsetenv("ODMD_TEST_DB_START_MS");
}

/* Puts a variable back as it was (NULL: unset). */
static void restore(const char *name, const char *value)
{
    if (value != NULL)
        setenv(name, value, 1);
    else
        unsetenv(name);
}

/* The backend the run is configured for (mongo-java-server in memory by default, FerretDB under
 * ODMD_TEST_BACKEND=ferretdb) answers the ping. */
static void test_configured_backend_is_ready(void)
{
    odm_test_db_t db;
    bool started = odm_test_db_start(&db);
    CHECK_MSG(started, "the test database did not become ready: %s", db.error);
    if (started)
        odm_test_db_stop(&db);
}

int main(void)
{
    char *backend = getenv("ODMD_TEST_BACKEND") ? strdup(getenv("ODMD_TEST_BACKEND")) : NULL;
    char *ferretdb = getenv("ODMD_FERRETDB_BIN") ? strdup(getenv("ODMD_FERRETDB_BIN")) : NULL;
    test_mute_server_is_not_ready();
    restore("ODMD_TEST_BACKEND", backend);
    restore("ODMD_FERRETDB_BIN", ferretdb);
    free(backend);
    free(ferretdb);
    test_configured_backend_is_ready();
    return check_done("test_dbserver");
}
