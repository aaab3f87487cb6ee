/* Unit tests for src/core/config.c: defaults, environment, flag-over-variable precedence, every
 * malformed value, derived defaults, the --help text. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "odmd/config.h"

#define ARGS(...) ((char *[]){__VA_ARGS__, NULL})
#define NO_ARGS ((char *[]){NULL})
#define ENV(...) ((char *[]){__VA_ARGS__, NULL})
#define NO_ENV ((char *[]){NULL})

static int count(char **argv)
{
    int n = 0;
    while (argv[n] != NULL)
        n++;
    return n;
}

static bool parse(odm_config_t *cfg, char **argv, char **envp, odm_error_t *err)
{
    odm_error_clear(err);
    return odm_config_parse(cfg, count(argv), argv, envp, err);
}

static bool contains(const char *haystack, const char *needle)
{
    return haystack != NULL && strstr(haystack, needle) != NULL;
}

static void test_defaults(void)
{
    odm_config_t cfg;
    odm_error_t err;
    CHECK(parse(&cfg, NO_ARGS, NO_ENV, &err));
    CHECK_STR(cfg.mongo_uri, "mongodb://127.0.0.1:27017/odmd");
    CHECK(cfg.db == NULL); /* the store takes the URI's database */
    CHECK_STR(cfg.schemas_dir, "./schemas");
    CHECK_STR(cfg.listen, "127.0.0.1:8080");
    CHECK_STR(cfg.listen_host, "127.0.0.1");
    CHECK_INT(cfg.listen_port, 8080);
    CHECK_INT(cfg.listen_addr.ss_family, AF_INET);
    CHECK_INT(cfg.listen_addr_len, sizeof(struct sockaddr_in));
    struct sockaddr_in *in = (struct sockaddr_in *)&cfg.listen_addr;
    CHECK_INT(ntohs(in->sin_port), 8080);
    CHECK_INT(ntohl(in->sin_addr.s_addr), 0x7f000001);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t want_workers = 2 * (size_t)cores < 4 ? 4 : 2 * (size_t)cores;
    CHECK_INT(cfg.workers, want_workers > 256 ? 256 : want_workers);
    CHECK(cfg.workers >= 4);
    CHECK_INT(cfg.max_body, 1048576);
    CHECK_INT(cfg.request_timeout_ms, 5000);
    CHECK(cfg.api_key == NULL);
    CHECK(cfg.keys_file == NULL);  /* no keys file */
    CHECK(cfg.cursor_key == NULL); /* a random key at startup */
    CHECK_INT(cfg.log_level, ODM_LOG_INFO);
    CHECK_INT(cfg.queue_max, 1024);
    CHECK_INT(cfg.max_connections, 1000);
    CHECK_INT(cfg.idle_timeout_s, 60);
    CHECK_INT(cfg.read_timeout_s, 30);
    CHECK_INT(cfg.bulk_max, 1000);
    CHECK_INT(cfg.expand_max_ids, 1000);
    CHECK_INT(cfg.idempotency_ttl_s, 86400);
    CHECK_INT(cfg.expand_max_docs, 5000);
    CHECK_INT(cfg.max_client_connections, 500); /* half of --max-connections */
    CHECK_INT(cfg.export_timeout_s, 600);
    CHECK_INT(cfg.connection_memory, 32768); /* libmicrohttpd's own */
    CHECK(cfg.cors_origin == NULL);          /* no CORS fields */
    CHECK_INT(cfg.rate_limit, 0);            /* no rate limit */
    CHECK_INT(cfg.rate_table, 4096);
    CHECK(!cfg.worker_batch);
    CHECK(!cfg.help && !cfg.version);
    odm_config_release(&cfg);
    CHECK(cfg.mongo_uri == NULL && cfg.db == NULL && cfg.listen == NULL);
    odm_config_release(&cfg); /* twice is harmless */
    odm_config_release(NULL);
}

static char **full_env(void)
{
    static char *env[] = {
        "PATH=/usr/bin",
        "ODMD_MONGO_URI=mongodb://db.example:27018/shop?appname=x",
        "ODMD_SCHEMAS=/srv/models",
        "ODMD_LISTEN=[::1]:9090",
        "ODMD_WORKERS=12",
        "ODMD_MAX_BODY=512KiB",
        "ODMD_REQUEST_TIMEOUT=2500",
        "ODMD_API_KEY=s3cret",
        "ODMD_LOG_LEVEL=warn",
        "ODMD_QUEUE_MAX=64",
        "ODMD_MAX_CONNECTIONS=200",
        "ODMD_IDLE_TIMEOUT=15",
        NULL,
    };
    return env;
}

static void test_environment(void)
{
    odm_config_t cfg;
    odm_error_t err;
    CHECK(parse(&cfg, NO_ARGS, full_env(), &err));
    CHECK_STR(cfg.mongo_uri, "mongodb://db.example:27018/shop?appname=x");
    CHECK(cfg.db == NULL); /* the store takes the URI's database */
    CHECK_STR(cfg.schemas_dir, "/srv/models");
    CHECK_STR(cfg.listen, "[::1]:9090");
    CHECK_STR(cfg.listen_host, "::1");
    CHECK_INT(cfg.listen_port, 9090);
    CHECK_INT(cfg.listen_addr.ss_family, AF_INET6);
    CHECK_INT(cfg.listen_addr_len, sizeof(struct sockaddr_in6));
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&cfg.listen_addr;
    CHECK_INT(ntohs(in6->sin6_port), 9090);
    CHECK(memcmp(&in6->sin6_addr, &in6addr_loopback, sizeof in6addr_loopback) == 0);
    CHECK_INT(cfg.workers, 12);
    CHECK_INT(cfg.max_body, 512 * 1024);
    CHECK_INT(cfg.request_timeout_ms, 2500);
    CHECK_STR(cfg.api_key, "s3cret");
    CHECK_INT(cfg.log_level, ODM_LOG_WARN);
    CHECK_INT(cfg.queue_max, 64);
    CHECK_INT(cfg.max_connections, 200);
    CHECK_INT(cfg.idle_timeout_s, 15);
    odm_config_release(&cfg);
}

/* Every flag, in both spellings, over a full environment: the flags win. */
static void test_flags_win(void)
{
    odm_config_t cfg;
    odm_error_t err;
    char **argv = ARGS("--mongo-uri", "mongodb://a,b/other", "--db=named", "--schemas", "models",
                       "--listen=0.0.0.0:0", "--workers", "3", "--max-body=2MiB",
                       "--request-timeout", "100", "--api-key=k2", "--log-level", "debug",
                       "--queue-max=1", "--max-connections", "100000", "--idle-timeout=86400");
    CHECK(parse(&cfg, argv, full_env(), &err));
    CHECK_STR(cfg.mongo_uri, "mongodb://a,b/other");
    CHECK_STR(cfg.db, "named"); /* --db over the URI's database */
    CHECK_STR(cfg.schemas_dir, "models");
    CHECK_STR(cfg.listen_host, "0.0.0.0");
    CHECK_INT(cfg.listen_port, 0);
    CHECK_INT(cfg.listen_addr.ss_family, AF_INET);
    CHECK_INT(cfg.workers, 3);
    CHECK_INT(cfg.max_body, 2 * 1024 * 1024);
    CHECK_INT(cfg.request_timeout_ms, 100);
    CHECK_STR(cfg.api_key, "k2");
    CHECK_INT(cfg.log_level, ODM_LOG_DEBUG);
    CHECK_INT(cfg.queue_max, 1);
    CHECK_INT(cfg.max_connections, 100000);
    CHECK_INT(cfg.idle_timeout_s, 86400);
    odm_config_release(&cfg);
}

static void test_precedence_details(void)
{
    odm_config_t cfg;
    odm_error_t err;
    /* the last of a repeated flag wins */
    CHECK(parse(&cfg, ARGS("--workers=5", "--workers", "6"), NO_ENV, &err));
    CHECK_INT(cfg.workers, 6);
    odm_config_release(&cfg);
    /* a flag wins even over a malformed variable, which is then never read */
    CHECK(parse(&cfg, ARGS("--workers=5"), ENV("ODMD_WORKERS=lots"), &err));
    CHECK_INT(cfg.workers, 5);
    odm_config_release(&cfg);
    /* an empty variable counts as unset */
    CHECK(parse(&cfg, NO_ARGS, ENV("ODMD_API_KEY=", "ODMD_WORKERS="), &err));
    CHECK(cfg.api_key == NULL);
    CHECK(cfg.workers >= 4);
    odm_config_release(&cfg);
    /* a variable whose name only starts like one of ours is not ours */
    CHECK(parse(&cfg, NO_ARGS, ENV("ODMD_WORKERS_X=9", "ODMD_WORKER=9"), &err));
    CHECK(cfg.workers >= 4 && cfg.workers != 9);
    odm_config_release(&cfg);
    /* --db over ODMD_DB over the URI's database */
    CHECK(parse(&cfg, NO_ARGS, ENV("ODMD_DB=fromenv", "ODMD_MONGO_URI=mongodb://h/uri"), &err));
    CHECK_STR(cfg.db, "fromenv");
    odm_config_release(&cfg);
    CHECK(parse(&cfg, ARGS("--db", "fromflag"), ENV("ODMD_DB=fromenv"), &err));
    CHECK_STR(cfg.db, "fromflag");
    odm_config_release(&cfg);
    /* a value that looks like an option is still the value */
    CHECK(parse(&cfg, ARGS("--schemas", "--odd-dir"), NO_ENV, &err));
    CHECK_STR(cfg.schemas_dir, "--odd-dir");
    odm_config_release(&cfg);
}

/* --worker-sched: normal or batch, from the flag or the variable; the flag wins. */
static void test_worker_sched(void)
{
    odm_config_t cfg;
    odm_error_t err;
    char *batch_env[] = {"ODMD_WORKER_SCHED=batch", NULL};
    CHECK(parse(&cfg, NO_ARGS, batch_env, &err));
    CHECK(cfg.worker_batch);
    odm_config_release(&cfg);
    CHECK(parse(&cfg, ARGS("--worker-sched", "normal"), batch_env, &err));
    CHECK(!cfg.worker_batch);
    odm_config_release(&cfg);
    CHECK(parse(&cfg, ARGS("--worker-sched=batch"), NO_ENV, &err));
    CHECK(cfg.worker_batch);
    odm_config_release(&cfg);
}

/* NULL envp reads the process environment. */
static void test_getenv(void)
{
    odm_config_t cfg;
    odm_error_t err;
    setenv("ODMD_QUEUE_MAX", "77", 1);
    setenv("ODMD_LOG_LEVEL", "error", 1);
    CHECK(parse(&cfg, ARGS("--log-level=off"), NULL, &err));
    CHECK_INT(cfg.queue_max, 77);
    CHECK_INT(cfg.log_level, ODM_LOG_OFF);
    odm_config_release(&cfg);
    setenv("ODMD_QUEUE_MAX", "0", 1);
    CHECK(!parse(&cfg, NO_ARGS, NULL, &err));
    CHECK(contains(err.message, "ODMD_QUEUE_MAX"));
    unsetenv("ODMD_QUEUE_MAX");
    unsetenv("ODMD_LOG_LEVEL");
}

/* The database name is the store's business (the driver parses the URI): config keeps --db as
 * given and reads nothing out of the URI. */
static void test_db_raw(void)
{
    static const char *const uris[] = {
        "mongodb://h:1/shop?x=y",
        "mongodb://h/a.b",
        "mongodb://h/a%zz",
        "mongodb://h/has$",
        "mongodb://h/0123456789012345678901234567890123456789012345678901234567890123",
    };
    for (size_t i = 0; i < sizeof uris / sizeof uris[0]; i++) {
        odm_config_t cfg;
        odm_error_t err;
        char *argv[] = {"--mongo-uri", (char *)uris[i], NULL};
        CHECK_MSG(parse(&cfg, argv, NO_ENV, &err), "%s: %s", uris[i], err.message);
        CHECK_STR(cfg.mongo_uri, uris[i]);
        CHECK_MSG(cfg.db == NULL, "%s gave '%s'", uris[i], cfg.db);
        odm_config_release(&cfg);
    }
    odm_config_t cfg;
    odm_error_t err;
    CHECK(parse(&cfg, ARGS("--mongo-uri=mongodb://h/uri", "--db=a.b"), NO_ENV, &err));
    CHECK_STR(cfg.db, "a.b"); /* checked by the store */
    odm_config_release(&cfg);
}

/* Values that are accepted at the edges of their ranges. */
static void test_edges(void)
{
    static const struct {
        const char *arg;
        size_t offset;
        size_t want;
    } cases[] = {
        {"--workers=1", offsetof(odm_config_t, workers), 1},
        {"--workers=256", offsetof(odm_config_t, workers), 256},
        {"--workers=007", offsetof(odm_config_t, workers), 7},
        {"--max-body=1", offsetof(odm_config_t, max_body), 1},
        {"--max-body=1kib", offsetof(odm_config_t, max_body), 1024},
        {"--max-body=64MiB", offsetof(odm_config_t, max_body), 64 * 1024 * 1024},
        {"--max-body=67108864", offsetof(odm_config_t, max_body), 67108864},
        {"--request-timeout=600000", offsetof(odm_config_t, request_timeout_ms), 600000},
        {"--queue-max=1048576", offsetof(odm_config_t, queue_max), 1048576},
        {"--max-connections=1", offsetof(odm_config_t, max_connections), 1},
        {"--idle-timeout=1", offsetof(odm_config_t, idle_timeout_s), 1},
        {"--read-timeout=1", offsetof(odm_config_t, read_timeout_s), 1},
        {"--read-timeout=86400", offsetof(odm_config_t, read_timeout_s), 86400},
        {"--max-connections=1", offsetof(odm_config_t, max_client_connections), 1},
        {"--max-connections=200", offsetof(odm_config_t, max_client_connections), 100},
        {"--max-connections-per-client=1", offsetof(odm_config_t, max_client_connections), 1},
        {"--bulk-max=1", offsetof(odm_config_t, bulk_max), 1},
        {"--bulk-max=100000", offsetof(odm_config_t, bulk_max), 100000},
        {"--expand-max-ids=1", offsetof(odm_config_t, expand_max_ids), 1},
        {"--expand-max-docs=100000", offsetof(odm_config_t, expand_max_docs), 100000},
        {"--export-timeout=1", offsetof(odm_config_t, export_timeout_s), 1},
        {"--export-timeout=86400", offsetof(odm_config_t, export_timeout_s), 86400},
        {"--idempotency-ttl=1", offsetof(odm_config_t, idempotency_ttl_s), 1},
        {"--idempotency-ttl=2592000", offsetof(odm_config_t, idempotency_ttl_s), 2592000},
        {"--rate-limit=1/s", offsetof(odm_config_t, rate_window_s), 1},
        {"--rate-limit=100/s", offsetof(odm_config_t, rate_limit), 100},
        {"--rate-limit=100/s", offsetof(odm_config_t, rate_burst), 100}, /* burst: N */
        {"--rate-limit=30/m", offsetof(odm_config_t, rate_window_s), 60},
        {"--rate-limit=1000000/h", offsetof(odm_config_t, rate_limit), 1000000},
        {"--rate-limit=5/h", offsetof(odm_config_t, rate_window_s), 3600},
        {"--rate-burst=1", offsetof(odm_config_t, rate_burst), 1},
        {"--rate-burst=1000000", offsetof(odm_config_t, rate_burst), 1000000},
        {"--rate-table=16", offsetof(odm_config_t, rate_table), 16},
        {"--rate-table=1048576", offsetof(odm_config_t, rate_table), 1048576},
        {"--connection-memory=8KiB", offsetof(odm_config_t, connection_memory), 8192},
        {"--connection-memory=65536", offsetof(odm_config_t, connection_memory), 65536},
        {"--connection-memory=1MiB", offsetof(odm_config_t, connection_memory), 1048576},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        odm_config_t cfg;
        odm_error_t err;
        char *argv[] = {(char *)cases[i].arg, NULL};
        CHECK_MSG(parse(&cfg, argv, NO_ENV, &err), "%s: %s", cases[i].arg, err.message);
        CHECK_MSG(*(size_t *)((char *)&cfg + cases[i].offset) == cases[i].want, "%s", cases[i].arg);
        odm_config_release(&cfg);
    }
    odm_config_t cfg;
    odm_error_t err;
    CHECK(parse(&cfg, ARGS("--listen", "[::]:65535"), NO_ENV, &err));
    CHECK_STR(cfg.listen_host, "::");
    CHECK_INT(cfg.listen_port, 65535);
    odm_config_release(&cfg);
    CHECK(parse(&cfg, ARGS("--rate-limit", "100/s", "--rate-burst", "200"), NO_ENV, &err));
    CHECK_INT(cfg.rate_limit, 100);
    CHECK_INT(cfg.rate_burst, 200); /* given: kept */
    odm_config_release(&cfg);
    static const char *const origins[] = {
        "*",
        "https://app.example.com",
        "http://localhost:5173",
        "https://a.example, https://b.example:8443,http://[::1]:3000",
    };
    for (size_t i = 0; i < sizeof origins / sizeof origins[0]; i++) {
        char *argv[] = {"--cors-origin", (char *)origins[i], NULL};
        CHECK_MSG(parse(&cfg, argv, NO_ENV, &err), "%s: %s", origins[i], err.message);
        CHECK_STR(cfg.cors_origin, origins[i]);
        odm_config_release(&cfg);
    }
}

/* Every malformed value, by flag and by variable: false, ODM_ERR_CONFIG, the option named. */
static void test_malformed(void)
{
    static const struct {
        const char *name, *env, *value;
    } cases[] = {
        {"mongo-uri", "ODMD_MONGO_URI", "http://h/db"},
        {"mongo-uri", "ODMD_MONGO_URI", "mongodb://"},
        {"mongo-uri", "ODMD_MONGO_URI", "mongodb:///db"},
        {"mongo-uri", "ODMD_MONGO_URI", "127.0.0.1:27017"},
        {"db", "ODMD_DB", "a\tb"},
        {"schemas", "ODMD_SCHEMAS", "dir\nname"},
        {"listen", "ODMD_LISTEN", "localhost:8080"},
        {"listen", "ODMD_LISTEN", "127.0.0.1"},
        {"listen", "ODMD_LISTEN", "127.0.0.1:"},
        {"listen", "ODMD_LISTEN", "127.0.0.1:65536"},
        {"listen", "ODMD_LISTEN", "127.0.0.1:-1"},
        {"listen", "ODMD_LISTEN", "127.0.0.1:80x"},
        {"listen", "ODMD_LISTEN", "127.0.0.1:80:81"},
        {"listen", "ODMD_LISTEN", "1.2.3.256:80"},
        {"listen", "ODMD_LISTEN", ":8080"},
        {"listen", "ODMD_LISTEN", "::1:8080"},
        {"listen", "ODMD_LISTEN", "[::1]8080"},
        {"listen", "ODMD_LISTEN", "[::1"},
        {"listen", "ODMD_LISTEN", "[]:80"},
        {"listen", "ODMD_LISTEN", "[127.0.0.1]:80"},
        {"workers", "ODMD_WORKERS", "0"},
        {"workers", "ODMD_WORKERS", "257"},
        {"workers", "ODMD_WORKERS", "four"},
        {"workers", "ODMD_WORKERS", "-1"},
        {"workers", "ODMD_WORKERS", "+4"},
        {"workers", "ODMD_WORKERS", "4 "},
        {"workers", "ODMD_WORKERS", " 4"},
        {"workers", "ODMD_WORKERS", "4.0"},
        {"workers", "ODMD_WORKERS", "99999999999999999999999"},
        {"max-body", "ODMD_MAX_BODY", "0"},
        {"max-body", "ODMD_MAX_BODY", "1k"},
        {"max-body", "ODMD_MAX_BODY", "1KB"},
        {"max-body", "ODMD_MAX_BODY", "KiB"},
        {"max-body", "ODMD_MAX_BODY", "1.5MiB"},
        {"max-body", "ODMD_MAX_BODY", "65MiB"},
        {"max-body", "ODMD_MAX_BODY", "67108865"},
        {"max-body", "ODMD_MAX_BODY", "99999999999999999MiB"},
        {"max-body", "ODMD_MAX_BODY", "1MiB "},
        {"request-timeout", "ODMD_REQUEST_TIMEOUT", "99"},
        {"request-timeout", "ODMD_REQUEST_TIMEOUT", "600001"},
        {"request-timeout", "ODMD_REQUEST_TIMEOUT", "5s"},
        {"log-level", "ODMD_LOG_LEVEL", "verbose"},
        {"log-level", "ODMD_LOG_LEVEL", "INFO"},
        {"worker-sched", "ODMD_WORKER_SCHED", "BATCH"},
        {"worker-sched", "ODMD_WORKER_SCHED", "idle"},
        {"queue-max", "ODMD_QUEUE_MAX", "0"},
        {"queue-max", "ODMD_QUEUE_MAX", "1048577"},
        {"max-connections", "ODMD_MAX_CONNECTIONS", "0"},
        {"max-connections", "ODMD_MAX_CONNECTIONS", "100001"},
        {"idle-timeout", "ODMD_IDLE_TIMEOUT", "0"},
        {"idle-timeout", "ODMD_IDLE_TIMEOUT", "86401"},
        {"idle-timeout", "ODMD_IDLE_TIMEOUT", "1m"},
        {"export-timeout", "ODMD_EXPORT_TIMEOUT", "0"},
        {"export-timeout", "ODMD_EXPORT_TIMEOUT", "86401"},
        {"idempotency-ttl", "ODMD_IDEMPOTENCY_TTL", "0"},
        {"idempotency-ttl", "ODMD_IDEMPOTENCY_TTL", "2592001"},
        {"api-key", "ODMD_API_KEY", "bad\rkey"},
        {"cursor-key", "ODMD_CURSOR_KEY", "0123456789abcdef0123456789abcde"}, /* 31 bytes */
        {"cursor-key", "ODMD_CURSOR_KEY", "0123456789abcdef0123456789abcdef\n"},
        {"bulk-max", "ODMD_BULK_MAX", "0"},
        {"bulk-max", "ODMD_BULK_MAX", "100001"},
        {"expand-max-ids", "ODMD_EXPAND_MAX_IDS", "0"},
        {"expand-max-docs", "ODMD_EXPAND_MAX_DOCS", "100001"},
        {"cors-origin", "ODMD_CORS_ORIGIN", "app.example.com"},
        {"cors-origin", "ODMD_CORS_ORIGIN", "https://app.example.com/"},
        {"cors-origin", "ODMD_CORS_ORIGIN", "https://app.example.com/path"},
        {"cors-origin", "ODMD_CORS_ORIGIN", "ftp://app.example.com"},
        {"cors-origin", "ODMD_CORS_ORIGIN", "https://"},
        {"cors-origin", "ODMD_CORS_ORIGIN", "https://:443"},
        {"cors-origin", "ODMD_CORS_ORIGIN", "null"},
        {"cors-origin", "ODMD_CORS_ORIGIN", "*, https://a.example"},
        {"cors-origin", "ODMD_CORS_ORIGIN", "https://a.example,,https://b.example"},
        {"cors-origin", "ODMD_CORS_ORIGIN", "https://a.example,"},
        {"cors-origin", "ODMD_CORS_ORIGIN", "https://a.example\r\nX: y"},
        {"rate-limit", "ODMD_RATE_LIMIT", "100"},
        {"rate-limit", "ODMD_RATE_LIMIT", "0/s"},
        {"rate-limit", "ODMD_RATE_LIMIT", "1000001/s"},
        {"rate-limit", "ODMD_RATE_LIMIT", "100/d"},
        {"rate-limit", "ODMD_RATE_LIMIT", "100/S"},
        {"rate-limit", "ODMD_RATE_LIMIT", "100 /s"},
        {"rate-limit", "ODMD_RATE_LIMIT", "/s"},
        {"rate-limit", "ODMD_RATE_LIMIT", "1.5/s"},
        {"rate-burst", "ODMD_RATE_BURST", "0"},
        {"rate-burst", "ODMD_RATE_BURST", "1000001"},
        {"rate-table", "ODMD_RATE_TABLE", "15"},
        {"rate-table", "ODMD_RATE_TABLE", "1048577"},
        {"connection-memory", "ODMD_CONNECTION_MEMORY", "8191"},
        {"connection-memory", "ODMD_CONNECTION_MEMORY", "1048577"},
        {"connection-memory", "ODMD_CONNECTION_MEMORY", "32k"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        odm_config_t cfg;
        odm_error_t err;
        char flag[128], var[128], named[64];
        snprintf(flag, sizeof flag, "--%s=%s", cases[i].name, cases[i].value);
        snprintf(var, sizeof var, "%s=%s", cases[i].env, cases[i].value);
        snprintf(named, sizeof named, "'--%s'", cases[i].name);

        char *argv[] = {flag, NULL};
        CHECK_MSG(!parse(&cfg, argv, NO_ENV, &err), "%s accepted", flag);
        CHECK_INT(err.kind, ODM_ERR_CONFIG);
        CHECK_MSG(contains(err.message, named), "%s: %s", flag, err.message);
        CHECK(cfg.mongo_uri == NULL && cfg.listen == NULL && cfg.schemas_dir == NULL);

        char *envp[] = {var, NULL};
        CHECK_MSG(!parse(&cfg, NO_ARGS, envp, &err), "%s accepted", var);
        CHECK_INT(err.kind, ODM_ERR_CONFIG);
        CHECK_MSG(contains(err.message, named) && contains(err.message, cases[i].env), "%s: %s",
                  var, err.message);
    }
}

static void test_bad_arguments(void)
{
    static const struct {
        const char *args[3];
        const char *message;
    } cases[] = {
        {{"--nope"}, "unknown option '--nope'"},
        {{"--nope=1"}, "unknown option '--nope'"},
        {{"--work=4"}, "unknown option '--work'"},
        {{"--Workers=4"}, "unknown option '--Workers'"},
        {{"serve"}, "unexpected argument 'serve'"},
        {{"-w"}, "unexpected argument '-w'"},
        {{"--db", "x", "extra"}, "unexpected argument 'extra'"},
        {{"--workers"}, "option '--workers' needs a value"},
        {{"--schemas="}, "option '--schemas': must not be empty"},
        {{"--api-key="}, "option '--api-key': must not be empty"},
        {{"--db="}, "option '--db'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        odm_config_t cfg;
        odm_error_t err;
        char *argv[4] = {(char *)cases[i].args[0], (char *)cases[i].args[1],
                         (char *)cases[i].args[2], NULL};
        CHECK_MSG(!parse(&cfg, argv, NO_ENV, &err), "%s accepted", cases[i].args[0]);
        CHECK_INT(err.kind, ODM_ERR_CONFIG);
        CHECK_MSG(contains(err.message, cases[i].message), "got '%s', want '%s'", err.message,
                  cases[i].message);
    }
}

/* --tls-cert and --tls-key: paths kept as given (the files are read at startup, by the http
 * module), from flags or variables, and only together. */
static void test_tls_pair(void)
{
    odm_config_t cfg;
    odm_error_t err;
    CHECK(parse(&cfg, NO_ARGS, NO_ENV, &err));
    CHECK(cfg.tls_cert == NULL && cfg.tls_key == NULL);
    odm_config_release(&cfg);
    CHECK(parse(&cfg, ARGS("--tls-cert", "/c.pem", "--tls-key=/k.pem"), NO_ENV, &err));
    CHECK_STR(cfg.tls_cert, "/c.pem");
    CHECK_STR(cfg.tls_key, "/k.pem");
    odm_config_release(&cfg);
    CHECK(parse(&cfg, ARGS("--tls-key", "/k2.pem"),
                ENV("ODMD_TLS_CERT=/c.pem", "ODMD_TLS_KEY=/k.pem"), &err));
    CHECK_STR(cfg.tls_cert, "/c.pem");
    CHECK_STR(cfg.tls_key, "/k2.pem");
    odm_config_release(&cfg);
    char **alone[] = {ARGS("--tls-cert", "/c.pem"), ARGS("--tls-key", "/k.pem")};
    for (size_t i = 0; i < 2; i++) {
        CHECK(!parse(&cfg, alone[i], NO_ENV, &err));
        CHECK_INT(err.kind, ODM_ERR_CONFIG);
        CHECK_MSG(contains(err.message, "'--tls-cert' and '--tls-key' go together"), "got '%s'",
                  err.message);
    }
    CHECK(!parse(&cfg, NO_ARGS, ENV("ODMD_TLS_CERT=/c.pem"), &err));
    CHECK(!parse(&cfg, ARGS("--tls-cert="), NO_ENV, &err));
    CHECK_MSG(contains(err.message, "option '--tls-cert': must not be empty"), "got '%s'",
              err.message);
    CHECK(parse(&cfg, ARGS("--tls-cert", "/c.pem", "--help"), NO_ENV, &err)); /* help wins */
    odm_config_release(&cfg);
}

/* A connection string or key is never quoted back: it may carry a password. */
static void test_secrets_not_echoed(void)
{
    odm_config_t cfg;
    odm_error_t err;
    CHECK(!parse(&cfg, ARGS("--mongo-uri=mongdb://user:hunter2@h/db"), NO_ENV, &err));
    CHECK(contains(err.message, "--mongo-uri"));
    CHECK(!contains(err.message, "hunter2"));
    CHECK(!parse(&cfg, NO_ARGS, ENV("ODMD_API_KEY=hunter2\t"), &err));
    CHECK(contains(err.message, "ODMD_API_KEY"));
    CHECK(!contains(err.message, "hunter2"));
    CHECK(!parse(&cfg, NO_ARGS, ENV("ODMD_CURSOR_KEY=hunter2"), &err));
    CHECK(contains(err.message, "ODMD_CURSOR_KEY") && contains(err.message, "32"));
    CHECK(!contains(err.message, "hunter2"));
    CHECK(parse(&cfg, ARGS("--cursor-key=correct horse battery staple, twice"), NO_ENV, &err));
    CHECK_STR(cfg.cursor_key, "correct horse battery staple, twice");
    odm_config_release(&cfg);
}

static void test_help_and_version(void)
{
    odm_config_t cfg;
    odm_error_t err;
    CHECK(parse(&cfg, ARGS("--help"), NO_ENV, &err));
    CHECK(cfg.help && !cfg.version);
    odm_config_release(&cfg);
    CHECK(parse(&cfg, ARGS("-h"), NO_ENV, &err));
    CHECK(cfg.help);
    odm_config_release(&cfg);
    /* a broken variable must not hide the help */
    CHECK(parse(&cfg, ARGS("--workers=0", "--version"), ENV("ODMD_LISTEN=nowhere"), &err));
    CHECK(cfg.version && !cfg.help);
    odm_config_release(&cfg);
    /* but an unknown option is still reported */
    CHECK(!parse(&cfg, ARGS("--help", "--bogus"), NO_ENV, &err));
}

static void test_usage(void)
{
    const char *usage = odm_config_usage();
    static const char *const must[] = {
        "--mongo-uri",
        "ODMD_MONGO_URI",
        "--db",
        "ODMD_DB",
        "--schemas",
        "ODMD_SCHEMAS",
        "--listen",
        "ODMD_LISTEN",
        "--workers",
        "ODMD_WORKERS",
        "--max-body",
        "ODMD_MAX_BODY",
        "--request-timeout",
        "ODMD_REQUEST_TIMEOUT",
        "--api-key",
        "ODMD_API_KEY",
        "--cursor-key",
        "ODMD_CURSOR_KEY",
        "--log-level",
        "ODMD_LOG_LEVEL",
        "--queue-max",
        "ODMD_QUEUE_MAX",
        "--max-connections",
        "ODMD_MAX_CONNECTIONS",
        "--idle-timeout",
        "ODMD_IDLE_TIMEOUT",
        "--worker-sched",
        "ODMD_WORKER_SCHED",
        "--connection-memory",
        "ODMD_CONNECTION_MEMORY",
        "--help",
        "--version",
        "odmd [serve] [options]",
        "odmd check [DIR]",
        "odmd validate",
        "odmd health URL",
        "mongodb://127.0.0.1:27017/odmd",
        "./schemas",
        "127.0.0.1:8080",
        "(default 1048576)",
        "(default 5000)",
        "(default info)",
        "(default 1024)",
        "(default 1000)",
        "(default 60)",
        "at least 4",
        "--bulk-max",
        "ODMD_BULK_MAX",
        "--expand-max-ids",
        "ODMD_EXPAND_MAX_DOCS",
        "--tls-cert",
        "ODMD_TLS_CERT",
        "--tls-key",
        "ODMD_TLS_KEY",
        "--metrics on|off",
        "ODMD_METRICS",
        "--metrics-listen HOST:PORT",
        "ODMD_METRICS_LISTEN",
        "--cors-origin",
        "ODMD_CORS_ORIGIN",
        "--rate-limit",
        "ODMD_RATE_LIMIT",
        "--rate-burst",
        "ODMD_RATE_BURST",
        "--rate-table",
        "ODMD_RATE_TABLE",
    };
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
        CHECK_MSG(contains(usage, must[i]), "usage lacks '%s'", must[i]);
    /* lines fit an 80-column terminal */
    size_t longest = 0;
    for (const char *p = usage; *p != '\0';) {
        size_t n = strcspn(p, "\n");
        longest = n > longest ? n : longest;
        p += n + (p[n] == '\n');
    }
    CHECK_MSG(longest <= 80, "longest line %zu", longest);
}

/* --keys FILE and ODMD_KEYS: a path like --schemas (the flag wins; empty is refused). */
static void test_keys(void)
{
    odm_config_t cfg;
    odm_error_t err;
    char *argv[] = {"--keys", "/etc/odmd/keys.json", NULL};
    char *envp[] = {"ODMD_KEYS=/from/env.json", NULL};
    CHECK(parse(&cfg, argv, envp, &err));
    CHECK_STR(cfg.keys_file, "/etc/odmd/keys.json");
    odm_config_release(&cfg);
    char *none[] = {NULL};
    CHECK(parse(&cfg, none, envp, &err));
    CHECK_STR(cfg.keys_file, "/from/env.json");
    odm_config_release(&cfg);
    char *empty[] = {"--keys=", NULL};
    CHECK(!parse(&cfg, empty, envp, &err));
    CHECK(contains(err.message, "option '--keys': must not be empty"));
    CHECK(contains(odm_config_usage(), "--keys FILE, ODMD_KEYS"));
    CHECK(contains(odm_config_usage(), "odmd key-hash"));
}

/* The JWT options: defaults, values from flags and variables, bounds, the pairs that exclude
 * or need each other, the secret never quoted, the help. */
static void test_jwt_options(void)
{
    odm_config_t cfg;
    odm_error_t err;
    CHECK(parse(&cfg, NO_ARGS, NO_ENV, &err));
    CHECK(cfg.jwt_secret == NULL && cfg.jwt_public_key == NULL);
    CHECK(cfg.jwt_issuer == NULL && cfg.jwt_audience == NULL);
    CHECK_INT(cfg.jwt_leeway_s, 30);
    odm_config_release(&cfg);

    CHECK(parse(&cfg,
                ARGS("--jwt-secret", "0123456789abcdef0123456789abcdef", "--jwt-issuer=iss",
                     "--jwt-audience=aud", "--jwt-leeway=0"),
                NO_ENV, &err));
    CHECK_STR(cfg.jwt_secret, "0123456789abcdef0123456789abcdef");
    CHECK_STR(cfg.jwt_issuer, "iss");
    CHECK_STR(cfg.jwt_audience, "aud");
    CHECK_INT(cfg.jwt_leeway_s, 0);
    odm_config_release(&cfg);
    CHECK(cfg.jwt_secret == NULL && cfg.jwt_issuer == NULL);

    CHECK(parse(
        &cfg, ARGS("--jwt-leeway=300"),
        ENV("ODMD_JWT_PUBLIC_KEY=/etc/odmd/jwt.pub", "ODMD_JWT_AUDIENCE=api", "ODMD_JWT_LEEWAY=5"),
        &err));
    CHECK_STR(cfg.jwt_public_key, "/etc/odmd/jwt.pub");
    CHECK_STR(cfg.jwt_audience, "api");
    CHECK_INT(cfg.jwt_leeway_s, 300); /* the flag wins */
    odm_config_release(&cfg);

    static const struct {
        const char *args[3];
        const char *message;
    } bad[] = {
        {{"--jwt-leeway=301"}, "'--jwt-leeway': '301' is not a whole number of seconds from 0"},
        {{"--jwt-leeway=30s"}, "'--jwt-leeway'"},
        {{"--jwt-leeway=-1"}, "'--jwt-leeway'"},
        {{"--jwt-secret=0123456789abcdef0123456789abcde"}, "'--jwt-secret': shorter than 32"},
        {{"--jwt-public-key="}, "'--jwt-public-key': must not be empty"},
        {{"--jwt-issuer=a\tb", "--jwt-secret=0123456789abcdef0123456789abcdef"},
         "'--jwt-issuer': contains a control character"},
        {{"--jwt-secret=0123456789abcdef0123456789abcdef", "--jwt-public-key=k.pem"},
         "exclude each other"},
        {{"--jwt-issuer=iss"}, "need '--jwt-secret' or '--jwt-public-key'"},
        {{"--jwt-audience=aud"}, "need '--jwt-secret' or '--jwt-public-key'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *argv[4] = {(char *)bad[i].args[0], (char *)bad[i].args[1], (char *)bad[i].args[2],
                         NULL};
        CHECK_MSG(!parse(&cfg, argv, NO_ENV, &err), "%s accepted", bad[i].args[0]);
        CHECK_INT(err.kind, ODM_ERR_CONFIG);
        CHECK_MSG(contains(err.message, bad[i].message), "got '%s', want '%s'", err.message,
                  bad[i].message);
        CHECK(cfg.jwt_secret == NULL && cfg.mongo_uri == NULL);
    }

    CHECK(!parse(&cfg, NO_ARGS, ENV("ODMD_JWT_SECRET=hunter2-is-not-32-bytes"), &err));
    CHECK(contains(err.message, "ODMD_JWT_SECRET") && contains(err.message, "32"));
    CHECK(!contains(err.message, "hunter2"));

    const char *usage = odm_config_usage();
    static const char *const must[] = {
        "--jwt-secret", "ODMD_JWT_SECRET", "--jwt-public-key",   "ODMD_JWT_PUBLIC_KEY",
        "--jwt-issuer", "ODMD_JWT_ISSUER", "--jwt-audience",     "ODMD_JWT_AUDIENCE",
        "--jwt-leeway", "ODMD_JWT_LEEWAY", "0-300 (default 30)", "RS256",
        "ES256",        "HS256",
    };
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
        CHECK_MSG(contains(usage, must[i]), "usage lacks '%s'", must[i]);
}

/* --metrics on|off and --metrics-listen: defaults, flags, variables, malformed values. */
static void test_metrics_options(void)
{
    odm_config_t cfg;
    odm_error_t err;
    CHECK(parse(&cfg, NO_ARGS, NO_ENV, &err));
    CHECK(cfg.metrics);
    CHECK(cfg.metrics_listen == NULL);
    odm_config_release(&cfg);

    CHECK(parse(&cfg, ARGS("--metrics", "OFF", "--metrics-listen=127.0.0.1:9464"), NO_ENV, &err));
    CHECK(!cfg.metrics);
    CHECK_STR(cfg.metrics_listen, "127.0.0.1:9464");
    CHECK_INT(cfg.metrics_addr.ss_family, AF_INET);
    CHECK_INT(cfg.metrics_addr_len, sizeof(struct sockaddr_in));
    CHECK_INT(ntohs(((struct sockaddr_in *)&cfg.metrics_addr)->sin_port), 9464);
    CHECK_STR(cfg.listen, "127.0.0.1:8080"); /* --listen untouched */
    CHECK_INT(cfg.listen_port, 8080);
    odm_config_release(&cfg);

    CHECK(parse(&cfg, NO_ARGS, ENV("ODMD_METRICS=off", "ODMD_METRICS_LISTEN=[::1]:0"), &err));
    CHECK(!cfg.metrics);
    CHECK_INT(cfg.metrics_addr.ss_family, AF_INET6);
    odm_config_release(&cfg);
    CHECK(parse(&cfg, ARGS("--metrics=on"), ENV("ODMD_METRICS=off"), &err));
    CHECK(cfg.metrics);
    odm_config_release(&cfg);

    CHECK(!parse(&cfg, ARGS("--metrics", "maybe"), NO_ENV, &err));
    CHECK_MSG(contains(err.message, "'--metrics'") && contains(err.message, "on or off"), "%s",
              err.message);
    CHECK(!parse(&cfg, ARGS("--metrics-listen", "localhost:9464"), NO_ENV, &err));
    CHECK_MSG(contains(err.message, "'--metrics-listen'") && contains(err.message, "IPV4:PORT"),
              "%s", err.message);
    CHECK(!parse(&cfg, ARGS("--metrics-listen", "127.0.0.1:70000"), NO_ENV, &err));
    CHECK_MSG(contains(err.message, "0 to 65535"), "%s", err.message);
}

int main(void)
{
    test_defaults();
    test_environment();
    test_flags_win();
    test_precedence_details();
    test_getenv();
    test_worker_sched();
    test_db_raw();
    test_edges();
    test_malformed();
    test_bad_arguments();
    test_tls_pair();
    test_secrets_not_echoed();
    test_help_and_version();
    test_usage();
    test_keys();
    test_jwt_options();
    test_metrics_options();
    return check_done("test_config");
}
