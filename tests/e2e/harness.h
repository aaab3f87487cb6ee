/* The end-to-end harness: a test database (tests/support/dbserver), an odmd child process on a
 * free port, libcurl requests with reusable connections, and direct database access for checks.
 *
 * Each test executable calls e2e_init() first and e2e_finish() last. Test files include
 * "check.h" before this header: the EXPECT_* macros expand to its CHECK_MSG. */
#ifndef ODMD_TESTS_E2E_HARNESS_H
#define ODMD_TESTS_E2E_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <curl/curl.h>
#include <jansson.h>

/* ---- test set-up ------------------------------------------------------------------------- */

/* Names the test (used for database names and temp folders), ignores SIGPIPE, initialises
 * libcurl and jansson. Call once from main before any thread starts. */
void e2e_init(const char *test_name);

/* Removes temp folders unless failed (then prints where they are); returns the exit status
 * check_done computed. */
int e2e_finish(int check_status);

/* The repository root and the odmd binary of this build (nothing in the environment swaps it).
 * Static storage. */
const char *e2e_source_dir(void);
const char *e2e_odmd_bin(void);

/* True when ODMD_TEST_BACKEND=ferretdb: keep collections small, skip what FerretDB lacks. */
bool e2e_is_ferretdb(void);

/* Milliseconds on a monotonic clock; sleeping in milliseconds. */
int64_t e2e_now_ms(void);
void e2e_sleep_ms(int ms);

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int e2e_free_port(void);

/* A new temp folder under $TMPDIR (removed by e2e_finish on success). Returns static storage
 * valid until the program ends. */
const char *e2e_temp_dir(const char *tag);

/* Writes `text` to DIR/NAME. */
bool e2e_write_file(const char *dir, const char *name, const char *text);

/* Reads a whole file; new string (caller frees), NULL when it cannot be read. */
char *e2e_read_file(const char *path);

/* A temp folder holding copies of the JSON files of the repository's schemas/ and of
 * tests/e2e/schemas/ (the test-only models). Static storage. */
const char *e2e_schemas_with_extras(void);

/* ---- the database ------------------------------------------------------------------------ */

typedef struct e2e_db e2e_db_t;

/* Starts the test database (mongo-java-server in memory, or FerretDB) on a free port; NULL
 * (with a message) when it cannot. For a database that is down when odmd starts, start one,
 * kill it, start odmd on its URI, then restart it on the same port. */
e2e_db_t *e2e_db_start(void);
/* The database's URI, "mongodb://127.0.0.1:PORT/". Borrowed. */
const char *e2e_db_uri(const e2e_db_t *db);
int e2e_db_port(const e2e_db_t *db);
bool e2e_db_pause(e2e_db_t *db);   /* SIGSTOP */
bool e2e_db_resume(e2e_db_t *db);  /* SIGCONT */
bool e2e_db_kill(e2e_db_t *db);    /* SIGKILL, reaped */
bool e2e_db_restart(e2e_db_t *db); /* start again on the same port after e2e_db_kill */
void e2e_db_stop(e2e_db_t *db);    /* stops and frees; NULL is fine */

/* A URI for a port where nothing listens (a database that is down). Static storage. */
const char *e2e_dead_uri(int *port_out);

/* ---- odmd -------------------------------------------------------------------------------- */

#define E2E_MAX_ARGS 48

typedef struct {
    pid_t pid;
    int port;
    char url[64];       /* http://127.0.0.1:PORT */
    char db_name[96];   /* e2e_<test>_<pid>_<n> */
    char log_path[512]; /* odmd's stderr (the access log) */
    char out_path[512]; /* odmd's stdout */
    int exit_status;    /* after e2e_odmd_stop/wait: exit code, 128+signal, -1 when unknown */
} e2e_odmd_t;

typedef struct {
    const char *mongo_uri; /* required unless omit_mongo_uri */
    const char *schemas;   /* NULL: the repository's schemas/ */
    const char *db_name;   /* NULL: a fresh e2e_<test>_<pid>_<n> */
    bool omit_listen;      /* do not pass --listen (the test sets ODMD_LISTEN itself) */
    bool omit_mongo_uri;
    bool omit_db; /* do not pass --db (db_name then only names what the test expects) */
    bool no_wait; /* do not wait for /healthz */
    int port;     /* 0: a free port */
    const char *args[E2E_MAX_ARGS]; /* extra arguments, NULL-terminated */
    const char *env[16]; /* extra environment "K=V", NULL-terminated: odmd's only ODMD_* */
} e2e_odmd_opts_t;

/* Starts odmd with --listen, --mongo-uri, --db, --schemas and opts->args, stderr to log_path;
 * waits (bounded) until GET /healthz answers 200 unless opts->no_wait. false (odmd killed,
 * log printed) when it does not come up. */
bool e2e_odmd_start(e2e_odmd_t *o, const e2e_odmd_opts_t *opts);

/* Sends SIGTERM and waits up to timeout_ms; SIGKILL after that. Returns the exit status
 * (also in o->exit_status); -2 when it had to be killed. */
int e2e_odmd_stop(e2e_odmd_t *o, int timeout_ms);

/* Waits up to timeout_ms for the process to exit on its own; the status, or -2 on timeout
 * (the process is left running). */
int e2e_odmd_wait(e2e_odmd_t *o, int timeout_ms);

bool e2e_odmd_alive(e2e_odmd_t *o);

/* Prints the last `lines` lines of odmd's stderr to our stderr. */
void e2e_odmd_dump_log(const e2e_odmd_t *o, int lines);

/* The access-log lines (JSON objects with "path") in odmd's stderr so far: a new array. */
json_t *e2e_odmd_access_log(const e2e_odmd_t *o);

/* Runs the odmd binary with argv (NULL-terminated, without argv[0]) and extra environment (the
 * only ODMD_* variables odmd sees, as for e2e_odmd_start), waits up to timeout_ms, returns the
 * exit status (-2 on timeout); *output (may be NULL) gets stdout followed by stderr as a new
 * string. `cwd` may be NULL. */
int e2e_run_odmd(const char *const *argv, const char *const *env, const char *cwd, int timeout_ms,
                 char **output);

/* ---- HTTP -------------------------------------------------------------------------------- */

#define E2E_MAX_HEADERS 64

typedef struct {
    char method[16];
    char path[256]; /* the request path, truncated, for messages */
    CURLcode code;  /* CURLE_OK when a response arrived */
    long status;    /* 0 when none */
    char *body;     /* NUL-terminated (may hold NULs), "" when empty */
    size_t body_len;
    json_t *json; /* the body parsed, or NULL */
    size_t n_headers;
    char *header_names[E2E_MAX_HEADERS];
    char *header_values[E2E_MAX_HEADERS];
    long num_connects; /* 0: the request went over a reused connection */
    int64_t elapsed_ms;
} e2e_resp_t;

typedef struct {
    CURL *curl;
    char base[64];       /* http://127.0.0.1:PORT */
    const char *api_key; /* borrowed; sent as Bearer when set */
    long timeout_ms;     /* whole-request timeout (default 30000) */
    _Atomic int *sent;   /* when set: incremented once a request's headers have been sent */
    const char *ca_file; /* borrowed; when set: the only CA trusted for an https:// base */
} e2e_client_t;

/* One client = one CURL handle: its connection is kept alive across requests. */
void e2e_client_init(e2e_client_t *c, const char *base_url);
void e2e_client_release(e2e_client_t *c);

/* Sends METHOD base+path with the given headers (NULL-terminated "Name: value" strings) and
 * body (NULL: none; body_len (size_t)-1: strlen). A body without a Content-Type header in
 * `headers` is sent with none; no "Expect: 100-continue" unless `headers` asks for it. HEAD
 * reads no body. *r must be zeroed or hold an earlier response (freed first); release the last
 * one with e2e_resp_free. Returns true when an HTTP response arrived. */
bool e2e_request(e2e_client_t *c, e2e_resp_t *r, const char *method, const char *path,
                 const char *const *headers, const char *body, size_t body_len);

/* Shorthands: GET/HEAD/DELETE with no body; POST/PUT/PATCH with a JSON body. For PATCH the
 * Content-Type is application/merge-patch+json. `extra` is one more header or NULL. */
bool e2e_get(e2e_client_t *c, e2e_resp_t *r, const char *path);
bool e2e_head(e2e_client_t *c, e2e_resp_t *r, const char *path);
bool e2e_delete(e2e_client_t *c, e2e_resp_t *r, const char *path, const char *extra);
bool e2e_post(e2e_client_t *c, e2e_resp_t *r, const char *path, const char *json);
bool e2e_put(e2e_client_t *c, e2e_resp_t *r, const char *path, const char *json, const char *extra);
bool e2e_patch(e2e_client_t *c, e2e_resp_t *r, const char *path, const char *json,
               const char *extra);

/* Sends a body with Transfer-Encoding: chunked, `total` bytes of `fill` repeated in pieces of
 * `piece` bytes (JSON-ish padding; the server should refuse it by size). */
bool e2e_request_chunked(e2e_client_t *c, e2e_resp_t *r, const char *method, const char *path,
                         const char *content_type, size_t total, size_t piece);

void e2e_resp_free(e2e_resp_t *r);

/* The value of the last header called `name` (case-insensitive), or NULL. Borrowed. */
const char *e2e_header(const e2e_resp_t *r, const char *name);

/* True when r is an application/problem+json answer with this status whose body has string
 * type, title and detail and a numeric status equal to it; prints why not otherwise. */
bool e2e_is_problem(const e2e_resp_t *r, long status);

/* The string member `key` of the JSON body (object), or NULL. Borrowed. */
const char *e2e_str(const e2e_resp_t *r, const char *key);

/* True when no object anywhere in the JSON value has a member called `key`. */
bool e2e_json_lacks_key(const json_t *v, const char *key);

/* A GET that waits (bounded) until `path` answers `status`; true when it did. */
bool e2e_wait_status(const char *base_url, const char *path, long status, int timeout_ms);

/* ---- strings for tests (main thread only: a ring of static buffers) ------------------------ */

/* `s` with every ' turned into " (JSON literals readable in C). */
const char *Q(const char *s);
/* `s` percent-encoded for a query string. */
const char *U(const char *s);
/* printf into a ring buffer. */
const char *F(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- direct database access (checks of what is stored) ------------------------------------ */

/* The document of db.coll matching `filter_ejson` (Extended JSON, e.g. {"_id": {"$oid": ...}})
 * as canonical Extended JSON parsed into a new json_t (so types show: {"$date": ...},
 * {"$numberLong": ...}), or NULL when none matched or the database failed. */
json_t *e2e_mongo_find(const char *uri, const char *db, const char *coll, const char *filter_ejson);

/* Inserts a document given as Extended JSON; true on success. */
bool e2e_mongo_insert(const char *uri, const char *db, const char *coll, const char *ejson);

/* True when db.coll has a unique index whose keys are exactly {field: 1}. */
bool e2e_mongo_has_unique_index(const char *uri, const char *db, const char *coll,
                                const char *field);

/* Creates the index `name` on db.coll with keys given as Extended JSON ({"age": 1}); true on
 * success. */
bool e2e_mongo_create_index(const char *uri, const char *db, const char *coll, const char *name,
                            const char *keys_ejson, bool unique);

/* Number of documents in db.coll (-1 on failure). */
int64_t e2e_mongo_count(const char *uri, const char *db, const char *coll);

/* The integer in a canonical Extended JSON number ({"$numberInt": "1"}, {"$numberLong": ...});
 * `fallback` when v is neither. */
long long e2e_ejson_int(const json_t *v, long long fallback);

/* The wrapper key of a canonical Extended JSON value ("$oid", "$date", "$numberLong", ...),
 * "string"/"object"/... for plain values, "absent" for NULL. Borrowed or static. */
const char *e2e_ejson_kind(const json_t *v);

/* ---- the usual set-up: a database, odmd on the test models, one client ------------------- */

typedef struct {
    e2e_db_t *db;
    e2e_odmd_t odmd;
    e2e_client_t c; /* a keep-alive client on odmd */
} e2e_env_t;

/* Starts the database and odmd with --schemas e2e_schemas_with_extras() and `args` (extra
 * arguments, NULL-terminated, may be NULL), then waits (bounded) for /readyz and for the unique
 * index on users.email that odmd creates at startup, so that tests do not race it. false (with
 * a message) when any of this fails. */
bool e2e_env_up(e2e_env_t *env, const char *const *args);

/* Stops odmd with SIGTERM (its exit status is returned) and the database. */
int e2e_env_down(e2e_env_t *env);

/* Internal: mongoc's global set-up, called by e2e_init/e2e_finish. */
void e2e_mongo_global_init(void);
void e2e_mongo_global_cleanup(void);

/* ---- expectations (expand to check.h's CHECK_MSG in the test's file) ----------------------- */

#define EXPECT_STATUS(r, want)                                                                     \
    CHECK_MSG((r).status == (want), "%s %s: status %ld (curl %d), want %d; body: %.400s",          \
              (r).method, (r).path, (r).status, (int)(r).code, (int)(want),                        \
              (r).body ? (r).body : "")

#define EXPECT_PROBLEM(r, want)                                                                    \
    CHECK_MSG(e2e_is_problem(&(r), (want)), "%s %s: want a %d problem", (r).method, (r).path,      \
              (int)(want))

#define EXPECT_HEADER(r, name, want)                                                               \
    CHECK_MSG(e2e_header(&(r), name) && strcmp(e2e_header(&(r), name), (want)) == 0,               \
              "%s %s: header %s is '%s', want '%s'", (r).method, (r).path, name,                   \
              e2e_header(&(r), name) ? e2e_header(&(r), name) : "(none)", (want))

#define EXPECT_NO_VERSION(r)                                                                       \
    CHECK_MSG(e2e_json_lacks_key((r).json, "__v"), "%s %s: body shows the version field: %.300s",  \
              (r).method, (r).path, (r).body ? (r).body : "")

#endif
