/* A counting TCP proxy for tests: listens on 127.0.0.1, forwards every connection to a
 * MongoDB-wire server, and counts the commands clients send (the first key of each OP_MSG
 * body: "find", "count", "aggregate", "insert", ...), so that a test can tell how many database
 * commands one HTTP request cost. Replies are forwarded unread. */
#ifndef ODMD_TESTS_CMDCOUNT_H
#define ODMD_TESTS_CMDCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct odm_test_cmdcount odm_test_cmdcount_t;

/* Starts the proxy in front of 127.0.0.1:upstream_port on a free port. Returns: a new proxy,
 * or NULL (with a message on stderr) when it cannot listen. */
odm_test_cmdcount_t *odm_test_cmdcount_start(int upstream_port);

/* The port it listens on. */
int odm_test_cmdcount_port(const odm_test_cmdcount_t *p);

/* Commands called `name` seen since the start (or the last reset). A command is counted before
 * its bytes are forwarded, so once a client has its reply the command is in the count. */
long odm_test_cmdcount_get(odm_test_cmdcount_t *p, const char *name);

/* A copy of the body (the OP_MSG section 0 document, raw BSON: its options such as
 * writeConcern, readConcern, $readPreference) of the last command called `name`: new (caller
 * frees), its size in *len; NULL when none was seen. */
uint8_t *odm_test_cmdcount_last(odm_test_cmdcount_t *p, const char *name, size_t *len);

/* Connections accepted since the start (the driver's pooled clients and its monitors). */
long odm_test_cmdcount_connections(odm_test_cmdcount_t *p);

/* Holds every later command called `name` for `ms` milliseconds before forwarding it (0: no
 * more), each connection on its own: commands sent at once on several connections are held at
 * once, commands sent one after another add up. */
void odm_test_cmdcount_delay(odm_test_cmdcount_t *p, const char *name, int ms);

/* Sets every count back to zero. */
void odm_test_cmdcount_reset(odm_test_cmdcount_t *p);

/* Closes every connection, stops and frees. NULL does nothing. */
void odm_test_cmdcount_stop(odm_test_cmdcount_t *p);

#endif
