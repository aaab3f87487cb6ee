/* odmd's options: one table (flag, variable, parser, field, range), defaults, the --help text. */
#include "odmd/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define DEFAULT_MONGO_URI "mongodb://127.0.0.1:27017/odmd"
#define DEFAULT_SCHEMAS "./schemas"
#define DEFAULT_LISTEN "127.0.0.1:8080"

#define TEXT_MAX 4096 /* longest string value (URI, path, key) */
#define ECHO_MAX 64   /* longest part of a bad value quoted back in a message */

struct option;
typedef bool (*parse_fn)(const struct option *opt, const char *value, odm_config_t *cfg,
                         odm_error_t *err);

struct option {
    const char *name; /* the flag without "--" */
    const char *env;
    parse_fn parse;
    size_t offset;    /* the field in odm_config_t */
    size_t min, max;  /* numbers: the accepted range */
    const char *unit; /* numbers: what they count, for messages */
};

static bool parse_uri(const struct option *opt, const char *value, odm_config_t *cfg,
                      odm_error_t *err);
static bool parse_text(const struct option *opt, const char *value, odm_config_t *cfg,
                       odm_error_t *err);
static bool parse_secret(const struct option *opt, const char *value, odm_config_t *cfg,
                         odm_error_t *err);
static bool parse_listen(const struct option *opt, const char *value, odm_config_t *cfg,
                         odm_error_t *err);
static bool parse_count(const struct option *opt, const char *value, odm_config_t *cfg,
                        odm_error_t *err);
static bool parse_bytes(const struct option *opt, const char *value, odm_config_t *cfg,
                        odm_error_t *err);
static bool parse_level(const struct option *opt, const char *value, odm_config_t *cfg,
                        odm_error_t *err);
static bool parse_metrics_listen(const struct option *opt, const char *value, odm_config_t *cfg,
                                 odm_error_t *err);
static bool parse_switch(const struct option *opt, const char *value, odm_config_t *cfg,
                         odm_error_t *err);
static bool parse_origins(const struct option *opt, const char *value, odm_config_t *cfg,
                          odm_error_t *err);
static bool parse_rate(const struct option *opt, const char *value, odm_config_t *cfg,
                       odm_error_t *err);
static bool parse_sched(const struct option *opt, const char *value, odm_config_t *cfg,
                        odm_error_t *err);

#define FIELD(f) offsetof(odm_config_t, f)

static const struct option options[] = {
    {"mongo-uri", "ODMD_MONGO_URI", parse_uri, FIELD(mongo_uri), 0, 0, NULL},
    {"db", "ODMD_DB", parse_text, FIELD(db), 0, 0, NULL},
    {"schemas", "ODMD_SCHEMAS", parse_text, FIELD(schemas_dir), 0, 0, NULL},
    {"listen", "ODMD_LISTEN", parse_listen, FIELD(listen), 0, 0, NULL},
    {"workers", "ODMD_WORKERS", parse_count, FIELD(workers), 1, ODM_CONFIG_WORKERS_MAX, "threads"},
    {"max-body", "ODMD_MAX_BODY", parse_bytes, FIELD(max_body), 1, ODM_CONFIG_MAX_BODY_MAX,
     "bytes"},
    {"request-timeout", "ODMD_REQUEST_TIMEOUT", parse_count, FIELD(request_timeout_ms),
     ODM_CONFIG_REQUEST_TIMEOUT_MIN, ODM_CONFIG_REQUEST_TIMEOUT_MAX, "milliseconds"},
    {"api-key", "ODMD_API_KEY", parse_text, FIELD(api_key), 0, 0, NULL},
    {"cursor-key", "ODMD_CURSOR_KEY", parse_secret, FIELD(cursor_key), ODM_CONFIG_CURSOR_KEY_MIN, 0,
     NULL},
    {"log-level", "ODMD_LOG_LEVEL", parse_level, FIELD(log_level), 0, 0, NULL},
    {"queue-max", "ODMD_QUEUE_MAX", parse_count, FIELD(queue_max), 1, ODM_CONFIG_QUEUE_MAX_MAX,
     "jobs"},
    {"max-connections", "ODMD_MAX_CONNECTIONS", parse_count, FIELD(max_connections), 1,
     ODM_CONFIG_MAX_CONNECTIONS_MAX, "connections"},
    {"idle-timeout", "ODMD_IDLE_TIMEOUT", parse_count, FIELD(idle_timeout_s), 1,
     ODM_CONFIG_IDLE_TIMEOUT_MAX, "seconds"},
    {"read-timeout", "ODMD_READ_TIMEOUT", parse_count, FIELD(read_timeout_s), 1,
     ODM_CONFIG_READ_TIMEOUT_MAX, "seconds"},
    {"max-connections-per-client", "ODMD_MAX_CONNECTIONS_PER_CLIENT", parse_count,
     FIELD(max_client_connections), 1, ODM_CONFIG_MAX_CONNECTIONS_MAX, "connections"},
    {"bulk-max", "ODMD_BULK_MAX", parse_count, FIELD(bulk_max), 1, ODM_CONFIG_BULK_MAX_MAX,
     "documents"},
    {"expand-max-ids", "ODMD_EXPAND_MAX_IDS", parse_count, FIELD(expand_max_ids), 1,
     ODM_CONFIG_EXPAND_MAX, "ids"},
    {"expand-max-docs", "ODMD_EXPAND_MAX_DOCS", parse_count, FIELD(expand_max_docs), 1,
     ODM_CONFIG_EXPAND_MAX, "documents"},
    {"export-timeout", "ODMD_EXPORT_TIMEOUT", parse_count, FIELD(export_timeout_s), 1,
     ODM_CONFIG_EXPORT_TIMEOUT_MAX, "seconds"},
    {"idempotency-ttl", "ODMD_IDEMPOTENCY_TTL", parse_count, FIELD(idempotency_ttl_s), 1,
     ODM_CONFIG_IDEMPOTENCY_TTL_MAX, "seconds"},
    {"keys", "ODMD_KEYS", parse_text, FIELD(keys_file), 0, 0, NULL},
    {"jwt-secret", "ODMD_JWT_SECRET", parse_secret, FIELD(jwt_secret), ODM_CONFIG_JWT_SECRET_MIN, 0,
     NULL},
    {"jwt-public-key", "ODMD_JWT_PUBLIC_KEY", parse_text, FIELD(jwt_public_key), 0, 0, NULL},
    {"jwt-issuer", "ODMD_JWT_ISSUER", parse_text, FIELD(jwt_issuer), 0, 0, NULL},
    {"jwt-audience", "ODMD_JWT_AUDIENCE", parse_text, FIELD(jwt_audience), 0, 0, NULL},
    {"jwt-leeway", "ODMD_JWT_LEEWAY", parse_count, FIELD(jwt_leeway_s), 0,
     ODM_CONFIG_JWT_LEEWAY_MAX, "seconds"},
    {"tls-cert", "ODMD_TLS_CERT", parse_text, FIELD(tls_cert), 0, 0, NULL},
    {"tls-key", "ODMD_TLS_KEY", parse_text, FIELD(tls_key), 0, 0, NULL},
    {"metrics", "ODMD_METRICS", parse_switch, FIELD(metrics), 0, 0, NULL},
    {"metrics-listen", "ODMD_METRICS_LISTEN", parse_metrics_listen, FIELD(metrics_listen), 0, 0,
     NULL},
    {"cors-origin", "ODMD_CORS_ORIGIN", parse_origins, FIELD(cors_origin), 0, 0, NULL},
    {"rate-limit", "ODMD_RATE_LIMIT", parse_rate, FIELD(rate_limit), 1, ODM_CONFIG_RATE_MAX, NULL},
    {"rate-burst", "ODMD_RATE_BURST", parse_count, FIELD(rate_burst), 1, ODM_CONFIG_RATE_MAX,
     "requests"},
    {"rate-table", "ODMD_RATE_TABLE", parse_count, FIELD(rate_table), ODM_CONFIG_RATE_TABLE_MIN,
     ODM_CONFIG_RATE_TABLE_MAX, "clients"},
    {"worker-sched", "ODMD_WORKER_SCHED", parse_sched, FIELD(worker_batch), 0, 0, NULL},
    {"connection-memory", "ODMD_CONNECTION_MEMORY", parse_bytes, FIELD(connection_memory),
     ODM_CONFIG_CONN_MEMORY_MIN, ODM_CONFIG_CONN_MEMORY_MAX, "bytes"},
};

#define OPTION_COUNT (sizeof options / sizeof options[0])

static void *field(odm_config_t *cfg, const struct option *opt)
{
    return (char *)cfg + opt->offset;
}

/* Replaces a string field with a new copy of value. */
static bool set_string(char **slot, const char *value, odm_error_t *err)
{
    char *copy = strdup(value);
    if (copy == NULL)
        return odm_error_set(err, ODM_ERR_CONFIG, "out of memory");
    free(*slot);
    *slot = copy;
    return true;
}

static bool has_control_char(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    }
    return false;
}

/* A path, a key: present, bounded, printable. Never quoted back (it may be a secret). */
static bool parse_text(const struct option *opt, const char *value, odm_config_t *cfg,
                       odm_error_t *err)
{
    if (value[0] == '\0')
        return odm_error_set(err, ODM_ERR_CONFIG, "must not be empty");
    if (strlen(value) > TEXT_MAX)
        return odm_error_set(err, ODM_ERR_CONFIG, "longer than %d bytes", TEXT_MAX);
    if (has_control_char(value))
        return odm_error_set(err, ODM_ERR_CONFIG, "contains a control character");
    return set_string(field(cfg, opt), value, err);
}

/* A shared secret: text of at least opt->min bytes. Never quoted back. */
static bool parse_secret(const struct option *opt, const char *value, odm_config_t *cfg,
                         odm_error_t *err)
{
    if (strlen(value) < opt->min)
        return odm_error_set(err, ODM_ERR_CONFIG, "shorter than %zu bytes", opt->min);
    return parse_text(opt, value, cfg, err);
}

static const char *uri_hosts(const char *uri)
{
    static const char *const schemes[] = {"mongodb://", "mongodb+srv://"};
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
        size_t n = strlen(schemes[i]);
        if (strncmp(uri, schemes[i], n) == 0)
            return uri + n;
    }
    return NULL;
}

/* The connection string is checked for its shape only (the driver parses it); it may hold a
 * password, so it is never quoted back. */
static bool parse_uri(const struct option *opt, const char *value, odm_config_t *cfg,
                      odm_error_t *err)
{
    const char *hosts = uri_hosts(value);
    if (hosts == NULL || hosts[0] == '\0' || hosts[0] == '/' || hosts[0] == '?')
        return odm_error_set(err, ODM_ERR_CONFIG,
                             "not a mongodb:// or mongodb+srv:// connection string with a host");
    return parse_text(opt, value, cfg, err);
}

/* Reads a run of decimal digits at s; *end is where it stops. Returns: false when there is none
 * or it overflows. */
static bool read_digits(const char *s, const char **end, uint64_t *out)
{
    uint64_t v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10)
            break;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *end = p;
    *out = v;
    return p != s && (*p < '0' || *p > '9');
}

static bool parse_count(const struct option *opt, const char *value, odm_config_t *cfg,
                        odm_error_t *err)
{
    const char *end;
    uint64_t v;
    if (!read_digits(value, &end, &v) || *end != '\0' || v < opt->min || v > opt->max)
        return odm_error_set(err, ODM_ERR_CONFIG,
                             "'%.*s' is not a whole number of %s from %zu to %zu", ECHO_MAX, value,
                             opt->unit, opt->min, opt->max);
    *(size_t *)field(cfg, opt) = (size_t)v;
    return true;
}

/* Bytes, or KiB/MiB (any case) right after the number. */
static bool parse_bytes(const struct option *opt, const char *value, odm_config_t *cfg,
                        odm_error_t *err)
{
    const char *end;
    uint64_t v;
    bool ok = read_digits(value, &end, &v);
    if (ok && *end != '\0') {
        uint64_t unit = strcasecmp(end, "KiB") == 0   ? 1024
                        : strcasecmp(end, "MiB") == 0 ? 1024 * 1024
                                                      : 0;
        ok = unit != 0 && v <= opt->max; /* no overflow below */
        v *= unit;
    }
    if (!ok || v < opt->min || v > opt->max)
        return odm_error_set(err, ODM_ERR_CONFIG,
                             "'%.*s' is not a size from %zu to %zu bytes (KiB or MiB may follow "
                             "the number)",
                             ECHO_MAX, value, opt->min, opt->max);
    *(size_t *)field(cfg, opt) = (size_t)v;
    return true;
}

static bool parse_level(const struct option *opt, const char *value, odm_config_t *cfg,
                        odm_error_t *err)
{
    if (!odm_log_parse_level(value, field(cfg, opt)))
        return odm_error_set(err, ODM_ERR_CONFIG,
                             "'%.*s' is not one of debug, info, warn, error, off", ECHO_MAX, value);
    return true;
}

/* One origin of --cors-origin, n bytes at s: "http://" or "https://", then a host (letters,
 * digits, '-', '.', or a bracketed IPv6 address) and an optional ":PORT", nothing else. */
static bool origin_ok(const char *s, size_t n)
{
    static const char *const schemes[] = {"http://", "https://"};
    size_t skip = 0;
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0] && skip == 0; i++)
        if (n > strlen(schemes[i]) && strncmp(s, schemes[i], strlen(schemes[i])) == 0)
            skip = strlen(schemes[i]);
    if (skip == 0)
        return false;
    for (size_t i = skip; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') &&
            strchr("-.:[]", c) == NULL)
            return false;
    }
    return s[skip] != ':';
}

/* "*", or origins separated by commas (spaces around them allowed). */
static bool parse_origins(const struct option *opt, const char *value, odm_config_t *cfg,
                          odm_error_t *err)
{
    if (strcmp(value, "*") == 0)
        return parse_text(opt, value, cfg, err);
    size_t count = 0;
    for (const char *p = value;; p++) {
        p += strspn(p, " ");
        size_t n = strcspn(p, ",");
        size_t trimmed = n;
        while (trimmed > 0 && p[trimmed - 1] == ' ')
            trimmed--;
        if (!origin_ok(p, trimmed))
            return odm_error_set(err, ODM_ERR_CONFIG,
                                 "'%.*s' is not an origin (SCHEME://HOST[:PORT], http or https, "
                                 "no path) nor *",
                                 (int)(trimmed < ECHO_MAX ? trimmed : ECHO_MAX), p);
        if (++count > ODM_CONFIG_CORS_ORIGINS_MAX)
            return odm_error_set(err, ODM_ERR_CONFIG, "more than %d origins",
                                 ODM_CONFIG_CORS_ORIGINS_MAX);
        p += n;
        if (*p == '\0')
            break;
    }
    return parse_text(opt, value, cfg, err);
}

/* N/s, N/m or N/h: requests per second, minute or hour; fills rate_limit and rate_window_s. */
static bool parse_rate(const struct option *opt, const char *value, odm_config_t *cfg,
                       odm_error_t *err)
{
    static const struct {
        const char *unit;
        size_t seconds;
    } units[] = {{"/s", 1}, {"/m", 60}, {"/h", 3600}};
    const char *end;
    uint64_t v;
    bool ok = read_digits(value, &end, &v) && v >= opt->min && v <= opt->max;
    for (size_t i = 0; ok && i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].unit) == 0) {
            cfg->rate_limit = (size_t)v;
            cfg->rate_window_s = units[i].seconds;
            return true;
        }
    }
    return odm_error_set(err, ODM_ERR_CONFIG,
                         "'%.*s' is not N/s, N/m or N/h with N a whole number from %zu to %zu",
                         ECHO_MAX, value, opt->min, opt->max);
}

/* The workers' scheduling policy: "normal" or "batch" (a bool field: batch). */
static bool parse_sched(const struct option *opt, const char *value, odm_config_t *cfg,
                        odm_error_t *err)
{
    bool *batch = field(cfg, opt);
    if (strcmp(value, "normal") == 0 || strcmp(value, "batch") == 0) {
        *batch = value[0] == 'b';
        return true;
    }
    return odm_error_set(err, ODM_ERR_CONFIG, "'%.*s' is not one of normal, batch", ECHO_MAX,
                         value);
}

/* Fills the socket address for host (no brackets) and port. */
static bool fill_addr(struct sockaddr_storage *out, socklen_t *out_len, const char *host, bool v6,
                      uint16_t port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
            return false;
        *out_len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
            return false;
        *out_len = sizeof *a;
    }
    *out = ss;
    return true;
}

/* "A.B.C.D:PORT" or "[V6]:PORT", port 0..65535 (0: any free port), into host_buf (the address
 * without brackets), *out and *out_len (the socket address) and *port_out. */
static bool parse_address(const char *value, char host_buf[INET6_ADDRSTRLEN],
                          struct sockaddr_storage *out, socklen_t *out_len, uint16_t *port_out,
                          odm_error_t *err)
{
    bool v6 = value[0] == '[';
    const char *host = v6 ? value + 1 : value;
    const char *host_end = v6 ? strchr(value, ']') : strchr(value, ':');
    const char *port_text = host_end != NULL ? host_end + (v6 ? 1 : 0) : NULL;
    size_t host_len = host_end != NULL ? (size_t)(host_end - host) : 0;
    const char *end;
    uint64_t port;
    if (port_text == NULL || *port_text != ':' || host_len == 0 || host_len >= INET6_ADDRSTRLEN)
        goto bad_form;
    memcpy(host_buf, host, host_len);
    host_buf[host_len] = '\0';
    if (!read_digits(port_text + 1, &end, &port) || *end != '\0' || port > 65535)
        return odm_error_set(err, ODM_ERR_CONFIG, "port in '%.*s' is not from 0 to 65535", ECHO_MAX,
                             value);
    if (!fill_addr(out, out_len, host_buf, v6, (uint16_t)port))
        goto bad_form;
    *port_out = (uint16_t)port;
    return true;

bad_form:
    return odm_error_set(err, ODM_ERR_CONFIG,
                         "'%.*s' is not IPV4:PORT or [IPV6]:PORT with a numeric address", ECHO_MAX,
                         value);
}

/* --listen: fills every listen_* field (opt is unused: may be NULL). */
static bool parse_listen(const struct option *opt, const char *value, odm_config_t *cfg,
                         odm_error_t *err)
{
    char host_buf[INET6_ADDRSTRLEN];
    return parse_address(value, host_buf, &cfg->listen_addr, &cfg->listen_addr_len,
                         &cfg->listen_port, err) &&
           set_string(&cfg->listen_host, host_buf, err) && set_string(&cfg->listen, value, err);
}

/* --metrics-listen: an address as --listen's; /metrics is then served there only. */
static bool parse_metrics_listen(const struct option *opt, const char *value, odm_config_t *cfg,
                                 odm_error_t *err)
{
    char host_buf[INET6_ADDRSTRLEN];
    uint16_t port;
    return parse_address(value, host_buf, &cfg->metrics_addr, &cfg->metrics_addr_len, &port, err) &&
           set_string(&cfg->metrics_listen, value, err);
}

/* on or off (any case). */
static bool parse_switch(const struct option *opt, const char *value, odm_config_t *cfg,
                         odm_error_t *err)
{
    bool on = strcasecmp(value, "on") == 0;
    if (!on && strcasecmp(value, "off") != 0)
        return odm_error_set(err, ODM_ERR_CONFIG, "'%.*s' is not on or off", ECHO_MAX, value);
    *(bool *)field(cfg, opt) = on;
    return true;
}

static size_t default_workers(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t n = cores > 0 ? 2 * (size_t)cores : 4;
    if (n < 4)
        n = 4;
    return n > ODM_CONFIG_WORKERS_MAX ? ODM_CONFIG_WORKERS_MAX : n;
}

static bool set_defaults(odm_config_t *cfg, odm_error_t *err)
{
    cfg->workers = default_workers();
    cfg->max_body = 1048576;
    cfg->request_timeout_ms = 5000;
    cfg->log_level = ODM_LOG_INFO;
    cfg->queue_max = 1024;
    cfg->max_connections = 1000;
    cfg->idle_timeout_s = 60;
    cfg->read_timeout_s = 30;
    cfg->bulk_max = 1000;
    cfg->expand_max_ids = 1000;
    cfg->expand_max_docs = 5000;
    cfg->export_timeout_s = 600;
    cfg->idempotency_ttl_s = 86400;
    cfg->jwt_leeway_s = 30;
    cfg->metrics = true;
    cfg->rate_table = 4096;
    cfg->connection_memory = ODM_CONFIG_CONN_MEMORY_DEFAULT;
    return set_string(&cfg->mongo_uri, DEFAULT_MONGO_URI, err) &&
           set_string(&cfg->schemas_dir, DEFAULT_SCHEMAS, err) &&
           parse_listen(NULL, DEFAULT_LISTEN, cfg, err);
}

static const struct option *find_option(const char *name, size_t len)
{
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        if (strlen(options[i].name) == len && strncmp(options[i].name, name, len) == 0)
            return &options[i];
    }
    return NULL;
}

/* Sorts argv into values[i] for options[i] (the last occurrence wins) and the help and version
 * switches. */
static bool scan_flags(odm_config_t *cfg, int argc, char **argv, const char **values,
                       odm_error_t *err)
{
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            cfg->help = true;
            continue;
        }
        if (strcmp(arg, "--version") == 0) {
            cfg->version = true;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0)
            return odm_error_set(err, ODM_ERR_CONFIG, "unexpected argument '%.*s'", ECHO_MAX, arg);
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t name_len = eq != NULL ? (size_t)(eq - name) : strlen(name);
        const struct option *opt = find_option(name, name_len);
        if (opt == NULL)
            return odm_error_set(err, ODM_ERR_CONFIG, "unknown option '--%.*s'",
                                 (int)(name_len < ECHO_MAX ? name_len : ECHO_MAX), name);
        if (eq == NULL && i + 1 >= argc)
            return odm_error_set(err, ODM_ERR_CONFIG, "option '--%s' needs a value", opt->name);
        values[opt - options] = eq != NULL ? eq + 1 : argv[++i];
    }
    return true;
}

static const char *env_lookup(char **envp, const char *name)
{
    if (envp == NULL)
        return getenv(name);
    size_t len = strlen(name);
    for (char **e = envp; *e != NULL; e++) {
        if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
            return *e + len + 1;
    }
    return NULL;
}

/* Parses each option's value from its flag, else its non-empty variable; the rest keep their
 * defaults. The message names where a bad value came from. */
static bool apply_options(odm_config_t *cfg, const char **flag_values, char **envp,
                          odm_error_t *err)
{
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        const struct option *opt = &options[i];
        const char *value = flag_values[i];
        bool from_env = value == NULL;
        if (from_env)
            value = env_lookup(envp, opt->env);
        if (value == NULL || (from_env && value[0] == '\0'))
            continue;
        if (opt->parse(opt, value, cfg, err))
            continue;
        if (from_env)
            odm_error_prefix(err, "variable %s (option '--%s')", opt->env, opt->name);
        else
            odm_error_prefix(err, "option '--%s'", opt->name);
        return false;
    }
    return true;
}

/* The JWT options that only make sense together: one key, and iss or aud only with a key. */
static bool check_jwt(const odm_config_t *cfg, odm_error_t *err)
{
    if (cfg->jwt_secret != NULL && cfg->jwt_public_key != NULL)
        return odm_error_set(err, ODM_ERR_CONFIG,
                             "options '--jwt-secret' and '--jwt-public-key' exclude each other");
    if (cfg->jwt_secret == NULL && cfg->jwt_public_key == NULL &&
        (cfg->jwt_issuer != NULL || cfg->jwt_audience != NULL))
        return odm_error_set(err, ODM_ERR_CONFIG,
                             "options '--jwt-issuer' and '--jwt-audience' need '--jwt-secret' or "
                             "'--jwt-public-key'");
    return true;
}

bool odm_config_parse(odm_config_t *cfg, int argc, char **argv, char **envp, odm_error_t *err)
{
    const char *flag_values[OPTION_COUNT] = {0};
    memset(cfg, 0, sizeof *cfg);
    if (!scan_flags(cfg, argc, argv, flag_values, err) || !set_defaults(cfg, err))
        goto fail;
    /* --help and --version print and exit: a bad value elsewhere must not hide them */
    if (!cfg->help && !cfg->version &&
        (!apply_options(cfg, flag_values, envp, err) || !check_jwt(cfg, err)))
        goto fail;
    if (!cfg->help && !cfg->version && (cfg->tls_cert == NULL) != (cfg->tls_key == NULL)) {
        odm_error_set(err, ODM_ERR_CONFIG, "options '--tls-cert' and '--tls-key' go together");
        goto fail;
    }
    if (cfg->max_client_connections == 0) /* not given: half of the connection limit */
        cfg->max_client_connections = cfg->max_connections > 1 ? cfg->max_connections / 2 : 1;
    if (cfg->rate_burst == 0) /* not given: one unit's worth */
        cfg->rate_burst = cfg->rate_limit;
    return true;

fail:
    odm_config_release(cfg);
    return false;
}

void odm_config_release(odm_config_t *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->mongo_uri);
    free(cfg->db);
    free(cfg->schemas_dir);
    free(cfg->listen);
    free(cfg->listen_host);
    free(cfg->api_key);
    free(cfg->cursor_key);
    free(cfg->keys_file);
    free(cfg->jwt_secret);
    free(cfg->jwt_public_key);
    free(cfg->jwt_issuer);
    free(cfg->jwt_audience);
    free(cfg->tls_cert);
    free(cfg->tls_key);
    free(cfg->metrics_listen);
    free(cfg->cors_origin);
    memset(cfg, 0, sizeof *cfg);
}

const char *odm_config_usage(void)
{
    return "usage: odmd [serve] [options]  serve the REST API (serve is the default)\n"
           "       odmd check [DIR]        compile the model files in DIR (or --schemas)\n"
           "       odmd check --mongo-uri URI [DIR]\n"
           "                               the same, then the models' indexes against the\n"
           "                               database (read only)\n"
           "       odmd schema infer --mongo-uri URI COLLECTION [--sample N] [--out FILE]\n"
           "                               a draft model from a collection's documents\n"
           "       odmd validate ...       check documents against the models\n"
           "       odmd health URL         ask a running odmd whether it is healthy\n"
           "       odmd key-hash           the SHA-256 of the key on stdin, for --keys\n"
           "       odmd --help | --version\n"
           "\n"
           "Options. Each may also come from the environment variable shown; a flag wins\n"
           "over its variable, and an empty variable counts as unset. --name VALUE and\n"
           "--name=VALUE are the same.\n"
           "\n"
           "  --mongo-uri URI, ODMD_MONGO_URI\n"
           "      MongoDB connection string (default " DEFAULT_MONGO_URI ")\n"
           "  --db NAME, ODMD_DB\n"
           "      database (default: the URI's database, else odmd)\n"
           "  --schemas DIR, ODMD_SCHEMAS\n"
           "      folder of model files (default " DEFAULT_SCHEMAS ")\n"
           "  --listen HOST:PORT, ODMD_LISTEN\n"
           "      IPv4 or [IPv6] address and port 0-65535 (default " DEFAULT_LISTEN ")\n"
           "  --workers N, ODMD_WORKERS\n"
           "      worker threads, 1-256 (default 2 per online core, at least 4)\n"
           "  --worker-sched POLICY, ODMD_WORKER_SCHED\n"
           "      normal, or batch: a woken worker waits for a busy core's turn instead of\n"
           "      preempting it (less CPU per request, more latency on busy cores;\n"
           "      Linux) (default normal)\n"
           "  --max-body BYTES, ODMD_MAX_BODY\n"
           "      request body cap, up to 64MiB; KiB or MiB may follow the number\n"
           "      (default 1048576)\n"
           "  --connection-memory BYTES, ODMD_CONNECTION_MEMORY\n"
           "      memory of one connection for its request line, header fields and the\n"
           "      answer's header fields, zeroed after every request; a longer request head\n"
           "      is refused (414/431), 8KiB-1MiB (default 32KiB)\n"
           "  --request-timeout MS, ODMD_REQUEST_TIMEOUT\n"
           "      milliseconds from a complete request to its answer, 100-600000\n"
           "      (default 5000)\n"
           "  --api-key KEY, ODMD_API_KEY\n"
           "      accept \"Authorization: Bearer KEY\" as the key \"api-key\" with every scope\n"
           "      (default: none)\n"
           "  --keys FILE, ODMD_KEYS\n"
           "      API keys file (JSON: SHA-256 hashes, names, scopes; docs/auth.md),\n"
           "      read again on SIGHUP (default: none; without --keys and --api-key,\n"
           "      no authentication)\n"
           "  --cursor-key KEY, ODMD_CURSOR_KEY\n"
           "      secret of at least 32 bytes that signs the after= tokens of list pages;\n"
           "      replicas behind one address share it (default: random at each start)\n"
           "  --log-level LEVEL, ODMD_LOG_LEVEL\n"
           "      debug, info, warn, error or off (default info)\n"
           "  --queue-max N, ODMD_QUEUE_MAX\n"
           "      requests waiting for a worker before a 503, 1-1048576 (default 1024)\n"
           "  --max-connections N, ODMD_MAX_CONNECTIONS\n"
           "      open connections, 1-100000 (default 1000)\n"
           "  --idle-timeout SECONDS, ODMD_IDLE_TIMEOUT\n"
           "      close keep-alive connections idle this long, 1-86400 (default 60)\n"
           "  --read-timeout SECONDS, ODMD_READ_TIMEOUT\n"
           "      close a connection whose request head and body take longer to arrive,\n"
           "      1-86400 (default 30)\n"
           "  --max-connections-per-client N, ODMD_MAX_CONNECTIONS_PER_CLIENT\n"
           "      open connections from one client address; more are refused at once,\n"
           "      1-100000 (default: half of --max-connections)\n"
           "  --bulk-max N, ODMD_BULK_MAX\n"
           "      documents in one bulk POST, or matched by one bulk PATCH, 1-100000\n"
           "      (default 1000)\n"
           "  --expand-max-ids N, ODMD_EXPAND_MAX_IDS\n"
           "      distinct ids one expand path may name in one answer (one $in), 1-100000\n"
           "      (default 1000)\n"
           "  --expand-max-docs N, ODMD_EXPAND_MAX_DOCS\n"
           "      referenced documents one answer may expand, 1-100000 (default 5000)\n"
           "  --export-timeout SECONDS, ODMD_EXPORT_TIMEOUT\n"
           "      one streaming export (Accept: application/x-ndjson or text/csv) is cut\n"
           "      after this long, 1-86400 (default 600)\n"
           "  --idempotency-ttl SECONDS, ODMD_IDEMPOTENCY_TTL\n"
           "      how long an Idempotency-Key's record (and its replayed answer) is kept,\n"
           "      1-2592000 (default 86400)\n"
           "  --jwt-secret SECRET, ODMD_JWT_SECRET\n"
           "      accept bearer tokens that are JWTs signed HS256 with this secret of at\n"
           "      least 32 bytes (default: none)\n"
           "  --jwt-public-key FILE, ODMD_JWT_PUBLIC_KEY\n"
           "      accept JWTs signed RS256 (an RSA key of 2048 bits or more) or ES256 (an EC\n"
           "      P-256 key) by this PEM public key, read at startup; not with --jwt-secret\n"
           "      (default: none)\n"
           "  --jwt-issuer ISS, ODMD_JWT_ISSUER\n"
           "      the iss every JWT must carry (default: not checked)\n"
           "  --jwt-audience AUD, ODMD_JWT_AUDIENCE\n"
           "      the aud every JWT must name (default: a JWT with an aud is refused)\n"
           "  --jwt-leeway SECONDS, ODMD_JWT_LEEWAY\n"
           "      clock skew allowed on a JWT's exp and nbf, 0-300 (default 30)\n"
           "  --tls-cert FILE, ODMD_TLS_CERT\n"
           "      serve HTTPS with this PEM certificate (a chain may follow it); needs\n"
           "      --tls-key (default: plain HTTP)\n"
           "  --tls-key FILE, ODMD_TLS_KEY\n"
           "      the certificate's private key, unencrypted PEM\n"
           "  --metrics on|off, ODMD_METRICS\n"
           "      count requests and serve GET /metrics in Prometheus's text format\n"
           "      (default on)\n"
           "  --metrics-listen HOST:PORT, ODMD_METRICS_LISTEN\n"
           "      serve /metrics on this address only, not on --listen (default: unset,\n"
           "      /metrics on --listen)\n"
           "  --cors-origin ORIGINS, ODMD_CORS_ORIGIN\n"
           "      browser origins allowed to call the API: * (any, never with credentials)\n"
           "      or a comma-separated list such as https://app.example.com (default: none,\n"
           "      no CORS headers)\n"
           "  --rate-limit N/UNIT, ODMD_RATE_LIMIT\n"
           "      requests per second (N/s), minute (N/m) or hour (N/h) for each credential\n"
           "      (checked by --api-key, --keys or a JWT key), or each client address\n"
           "      without one; more get 429 (default: no limit)\n"
           "  --rate-burst N, ODMD_RATE_BURST\n"
           "      requests allowed at once above the rate, 1-1000000 (default: N of\n"
           "      --rate-limit)\n"
           "  --rate-table N, ODMD_RATE_TABLE\n"
           "      clients whose rate is tracked at once, least recently seen forgotten\n"
           "      first, 16-1048576 (default 4096)\n"
           "  -h, --help\n"
           "      print this help and exit\n"
           "  --version\n"
           "      print the version and exit\n";
}
