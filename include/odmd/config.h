/* odmd's options: flags, each also an environment variable (the flag wins), defaults, limits. */
#ifndef ODMD_CONFIG_H
#define ODMD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "odmd/error.h"
#include "odmd/log.h"

/* Limits of the numeric options (inclusive). */
#define ODM_CONFIG_WORKERS_MAX 256
#define ODM_CONFIG_MAX_BODY_MAX (64u * 1024 * 1024)
#define ODM_CONFIG_REQUEST_TIMEOUT_MIN 100
#define ODM_CONFIG_REQUEST_TIMEOUT_MAX 600000
#define ODM_CONFIG_QUEUE_MAX_MAX 1048576
#define ODM_CONFIG_MAX_CONNECTIONS_MAX 100000
#define ODM_CONFIG_IDLE_TIMEOUT_MAX 86400
#define ODM_CONFIG_READ_TIMEOUT_MAX 86400
#define ODM_CONFIG_CURSOR_KEY_MIN 32 /* bytes of --cursor-key */
#define ODM_CONFIG_BULK_MAX_MAX 100000
#define ODM_CONFIG_EXPAND_MAX 100000 /* --expand-max-ids and --expand-max-docs */
#define ODM_CONFIG_EXPORT_TIMEOUT_MAX 86400
#define ODM_CONFIG_IDEMPOTENCY_TTL_MAX 2592000 /* 30 days */
#define ODM_CONFIG_JWT_SECRET_MIN 32           /* bytes of --jwt-secret (HS256) */
#define ODM_CONFIG_JWT_LEEWAY_MAX 300          /* seconds of --jwt-leeway */
#define ODM_CONFIG_CORS_ORIGINS_MAX 32         /* origins in --cors-origin */
#define ODM_CONFIG_RATE_MAX 1000000            /* --rate-limit N and --rate-burst */
#define ODM_CONFIG_RATE_TABLE_MIN 16           /* --rate-table */
#define ODM_CONFIG_RATE_TABLE_MAX 1048576
#define ODM_CONFIG_CONN_MEMORY_MIN (8u * 1024) /* bytes of --connection-memory */
#define ODM_CONFIG_CONN_MEMORY_MAX (1024u * 1024)
#define ODM_CONFIG_CONN_MEMORY_DEFAULT (32u * 1024)

typedef struct {
    char *mongo_uri;   /* --mongo-uri: mongodb:// or mongodb+srv:// connection string */
    char *db;          /* --db as given; NULL when unset (the store then takes the URI's) */
    char *schemas_dir; /* --schemas */
    char *listen;      /* --listen as given, e.g. "127.0.0.1:8080" or "[::1]:8080" */
    char *listen_host; /* the address alone, without brackets: "127.0.0.1", "::1" */
    uint16_t listen_port;
    struct sockaddr_storage listen_addr; /* sockaddr_in or sockaddr_in6, port set */
    socklen_t listen_addr_len;
    size_t workers;                /* --workers: worker threads, 1..256 */
    size_t max_body;               /* --max-body: request body cap in bytes */
    size_t request_timeout_ms;     /* --request-timeout: the whole budget of one request */
    char *api_key;                 /* --api-key: NULL when unset (no authentication) */
    char *cursor_key;              /* --cursor-key: signs list cursors; NULL: a random one */
    odm_log_level_t log_level;     /* --log-level */
    size_t queue_max;              /* --queue-max: jobs waiting for a worker */
    size_t max_connections;        /* --max-connections */
    size_t idle_timeout_s;         /* --idle-timeout: idle keep-alive connections close after it */
    size_t read_timeout_s;         /* --read-timeout: a request's head and body must arrive in it */
    size_t max_client_connections; /* --max-connections-per-client: open connections from one
                                       client address; defaults to half of max_connections */
    size_t bulk_max;               /* --bulk-max: documents per bulk POST or PATCH */
    size_t idempotency_ttl_s;      /* --idempotency-ttl: Idempotency-Key records kept this long */
    size_t expand_max_ids;         /* --expand-max-ids: distinct ids of one expand path */
    size_t expand_max_docs;        /* --expand-max-docs: referenced documents of one answer */
    size_t export_timeout_s;       /* --export-timeout: one streaming export, first byte to last */
    char *keys_file;               /* --keys: the API keys file (reloaded on SIGHUP), or NULL */
    char *jwt_secret;              /* --jwt-secret: HS256 tokens; NULL when unset */
    char *jwt_public_key; /* --jwt-public-key: a PEM file, RS256 or ES256 tokens; NULL when unset
                             (at most one of the two is set) */
    char *jwt_issuer;     /* --jwt-issuer: the iss tokens must carry; NULL: not checked */
    char *jwt_audience;   /* --jwt-audience: the aud tokens must name; NULL: tokens with an aud
                             are refused */
    size_t jwt_leeway_s;  /* --jwt-leeway: clock skew allowed on exp and nbf */
    char *tls_cert;       /* --tls-cert: PEM certificate file for HTTPS; NULL: plain HTTP */
    char *tls_key;        /* --tls-key: its private key's PEM file; set with tls_cert */
    bool metrics;         /* --metrics on|off: count requests, serve /metrics */
    char *metrics_listen; /* --metrics-listen as given; NULL: /metrics on --listen */
    struct sockaddr_storage metrics_addr; /* its address (when metrics_listen is set) */
    socklen_t metrics_addr_len;
    bool help;            /* --help (or -h) was given: print odm_config_usage(), exit 0 */
    bool version;         /* --version was given: print the version, exit 0 */
    char *cors_origin;    /* --cors-origin: "*" or origins separated by commas (each checked:
                             http:// or https://, a host, an optional port, nothing after);
                             NULL: no CORS headers */
    size_t rate_limit;    /* --rate-limit N/UNIT: N requests ... (0: no rate limit) */
    size_t rate_window_s; /* ... per this many seconds (1, 60 or 3600) */
    size_t rate_burst;    /* --rate-burst: bucket size (defaults to rate_limit) */
    size_t rate_table;    /* --rate-table: clients tracked at once (least recently seen go) */
    bool worker_batch;    /* --worker-sched batch: workers run as SCHED_BATCH */
    /* --connection-memory: bytes of one connection's request line, header fields and answer's
     * header fields (libmicrohttpd's pool) */
    size_t connection_memory;
} odm_config_t;

/* Fills cfg from defaults, then the environment, then argv (the options after the subcommand,
 * no program name: argv[0] is the first option). Options are `--name VALUE` or `--name=VALUE`;
 * a repeated flag keeps its last value; a flag wins over its variable, whatever its value; an
 * empty variable counts as unset. envp is a NULL-terminated "NAME=VALUE" array, or NULL to read
 * the process environment with getenv().
 * Returns: true with cfg filled (strings are new: odm_config_release frees them). False on an
 * unknown option, a missing value or a malformed or out-of-range value, with ODM_ERR_CONFIG and
 * a message naming the option (and the variable, when the value came from one), or when
 * --jwt-secret and --jwt-public-key are both set, or --jwt-issuer or --jwt-audience without
 * either; cfg then holds nothing to free (releasing it again is harmless). Values of
 * --mongo-uri, --api-key, --cursor-key and --jwt-secret are never copied into messages.
 * --tls-cert and --tls-key go together: one without the other is refused. */
bool odm_config_parse(odm_config_t *cfg, int argc, char **argv, char **envp, odm_error_t *err);

/* Frees cfg's strings and zeroes it. NULL does nothing. */
void odm_config_release(odm_config_t *cfg);

/* Returns: the --help text (static storage): the subcommands and every option with its variable
 * and default. */
const char *odm_config_usage(void);

#endif
