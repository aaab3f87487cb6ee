/* odmd: subcommands, flags and the wiring of the subsystems; nothing else. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "odmd/api.h"
#include "odmd/auth.h"
#include "odmd/config.h"
#include "odmd/http.h"
#include "odmd/jwt.h"
#include "odmd/http_tls.h"
#include "odmd/jarena.h"
#include "odmd/log.h"
#include "odmd/metrics.h"
#include "odmd/model.h"
#if __has_include("odmd/schema_cli.h")
#include "odmd/schema_cli.h"
#define HAVE_VALIDATE 1
#endif
#include "odmd/store.h"
#include "odmd/survey.h"
#include "odmd/work.h"

#define EXIT_USAGE 2
#define INLINE_BODY_MAX (4u * 1024) /* bench/body-cost: ~0.1-0.5 ms of parsing at 4 KiB */
#define HEALTH_TIMEOUT_MS 3000

static int fail_startup(const odm_error_t *err)
{
    fprintf(stderr, "odmd: %s\n", err->message);
    return EXIT_USAGE;
}

/* Blocks the signals that the main thread takes with sigwait, before any thread exists. */
static void block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* The orderly stop: no new connections, 503 for new requests, in-flight requests finished,
 * then the workers, then the daemon (which must never see a suspended connection). */
static void shut_down(odm_http_server_t *http, odm_work_pool_t *pool, int timeout_ms)
{
    odm_info("shutting down: draining requests");
    odm_http_drain(http);
    while (!odm_http_wait_idle(http, timeout_ms))
        odm_warn("still waiting for in-flight requests");
    odm_work_pool_free(pool);
    odm_http_stop(http);
}

/* SIGHUP: the schema folder loaded and checked as at startup (as `odmd check` does); all good,
 * the new set is put in force (requests in flight keep the old) and its indexes are created in
 * the background; any file bad, nothing changes and the log says which and where. */
static void reload(const odm_config_t *cfg, odm_app_t *app)
{
    odm_error_t err;
    odm_models_t *models = odm_models_load(cfg->schemas_dir, &err);
    if (app->metrics)
        odm_metrics_reload(app->metrics, models != NULL);
    if (models == NULL) {
        odm_err("reload refused, the models in force are kept: %s", err.message);
        return;
    }
    odm_api_metrics_label(app->metrics, models);
    size_t n = models->n;
    odm_api_warn_owners(models, app->auth);
    odm_model_set_t *set = odm_model_set_new(models);
    if (set == NULL) {
        odm_models_free(models);
        odm_err("reload refused, the models in force are kept: out of memory");
        return;
    }
    odm_model_set_retain(set); /* ours, past the swap that gives the first away */
    odm_api_models_swap(app->models, set);
    odm_api_indexes_add(app->indexes, set);
    odm_model_set_release(set);
    odm_info("reloaded '%s': %zu models", cfg->schemas_dir, n);
}

/* SIGHUP: the keys file read again as at startup; a bad file changes nothing (the log says
 * why; it never quotes a key or a hash). */
static void reload_keys(const odm_config_t *cfg, odm_auth_t *auth)
{
    odm_error_t err;
    size_t n;
    if (cfg->keys_file == NULL)
        return;
    if (odm_auth_reload(auth, &n, &err))
        odm_info("reloaded keys '%s': %zu keys", cfg->keys_file, n);
    else
        odm_err("keys reload refused, the keys in force are kept: %s", err.message);
}

/* The JWT verifier of --jwt-secret or --jwt-public-key (the key read now), in *out; NULL when
 * neither is set. Returns: false when the key or an option is unusable. */
static bool start_jwt(const odm_config_t *cfg, odm_jwt_verifier_t **out, odm_error_t *err)
{
    *out = NULL;
    if (cfg->jwt_secret == NULL && cfg->jwt_public_key == NULL)
        return true;
    odm_jwt_options_t o = {cfg->jwt_secret, cfg->jwt_public_key, cfg->jwt_issuer, cfg->jwt_audience,
                           (int64_t)cfg->jwt_leeway_s};
    *out = odm_jwt_verifier_new(&o, err);
    if (*out != NULL)
        odm_info("JWT bearer tokens accepted: %s", odm_jwt_verifier_alg(*out));
    return *out != NULL;
}

/* --metrics-listen: a listener of its own answering GET /metrics only (it counts nothing). */
static odm_http_server_t *start_metrics_listener(const odm_config_t *cfg, odm_app_t *app,
                                                 odm_error_t *err)
{
    odm_http_options_t mopts = {
        .listen = cfg->metrics_listen,
        .listen_addr = (const struct sockaddr *)&cfg->metrics_addr,
        .listen_addr_len = cfg->metrics_addr_len,
        .max_connections = 16,
        .max_client_connections = 16,
        .idle_timeout_s = (unsigned)cfg->idle_timeout_s,
        .read_timeout_s = (unsigned)cfg->read_timeout_s,
        .max_body = 4096,
        .request_timeout_ms = (int)cfg->request_timeout_ms,
        .handler = odm_api_metrics_handle,
        .app = app,
    };
    odm_http_server_t *server = odm_http_start(&mopts, err);
    if (server != NULL)
        odm_info("metrics on %s (port %u)", cfg->metrics_listen, odm_http_port(server));
    return server;
}

static int serve(odm_config_t *cfg, sigset_t *signals)
{
    odm_error_t err;
    unsigned char random_key[ODM_API_CURSOR_KEY_RANDOM];
    if (cfg->cursor_key == NULL && !odm_api_cursor_key_random(random_key, sizeof random_key, &err))
        return fail_startup(&err);
    odm_http_tls_t tls = {0};
    if (cfg->tls_cert != NULL && !odm_http_tls_load(&tls, cfg->tls_cert, cfg->tls_key, &err))
        return fail_startup(&err);
    odm_jwt_verifier_t *jwt;
    if (!start_jwt(cfg, &jwt, &err)) {
        odm_http_tls_release(&tls);
        return fail_startup(&err);
    }
    odm_auth_options_t aopts = {.keys_path = cfg->keys_file,
                                .api_key = cfg->api_key,
                                .verify_token = jwt ? odm_jwt_identify : NULL,
                                .verifier = jwt};
    odm_auth_t *auth = odm_auth_new(&aopts, &err);
    if (auth == NULL) {
        odm_jwt_verifier_free(jwt);
        odm_http_tls_release(&tls);
        return fail_startup(&err);
    }
    odm_models_t *models = odm_models_load(cfg->schemas_dir, &err);
    if (models == NULL) {
        odm_auth_free(auth);
        odm_jwt_verifier_free(jwt);
        odm_http_tls_release(&tls);
        return fail_startup(&err);
    }
    size_t n_models = models->n;
    odm_api_warn_owners(models, auth);
    odm_metrics_t *metrics = cfg->metrics ? odm_api_metrics_new() : NULL;
    odm_api_metrics_label(metrics, models);
    odm_model_set_t *set = cfg->metrics && metrics == NULL ? NULL : odm_model_set_new(models);
    odm_api_models_t *live = set ? odm_api_models_new(set) : NULL;
    if (live == NULL) {
        odm_model_set_release(set);
        if (set == NULL)
            odm_models_free(models);
        odm_auth_free(auth);
        odm_jwt_verifier_free(jwt);
        odm_metrics_free(metrics);
        odm_error_set(&err, ODM_ERR_INTERNAL, "out of memory");
        odm_http_tls_release(&tls);
        return fail_startup(&err);
    }
    odm_store_options_t sopts = {cfg->mongo_uri, cfg->db, (int)cfg->request_timeout_ms,
                                 cfg->workers * 2};
    odm_store_t *store = odm_store_new(&sopts, &err);
    if (store == NULL)
        goto fail_models;
    odm_work_pool_t *pool = odm_work_pool_new(cfg->workers, cfg->queue_max, &err);
    if (pool == NULL)
        goto fail_store;
    if (cfg->worker_batch && !odm_work_pool_set_batch(pool, true, &err))
        odm_warn("--worker-sched batch: %s; the workers keep the normal policy", err.message);
    odm_api_indexes_t *indexes = odm_api_indexes_start(set, store, (int)cfg->request_timeout_ms,
                                                       (int64_t)cfg->idempotency_ttl_s);
    odm_app_t app = {
        .store = store,
        .pool = pool,
        .inline_body_max = INLINE_BODY_MAX,
        .indexes = indexes,
        .cursor_key = cfg->cursor_key ? (const unsigned char *)cfg->cursor_key : random_key,
        .cursor_key_len = cfg->cursor_key ? strlen(cfg->cursor_key) : sizeof random_key,
        .bulk_max = cfg->bulk_max,
        .expand_max_ids = cfg->expand_max_ids,
        .expand_max_docs = cfg->expand_max_docs,
        /* an export holds a worker while it streams: at most half of them (none with one) */
        .max_exports = cfg->workers / 2,
        .export_timeout_ms = (int)cfg->export_timeout_s * 1000,
        .models = live,
        .auth = auth,
        .metrics = metrics,
        .metrics_elsewhere = cfg->metrics_listen != NULL,
        .rate_limit = (unsigned)cfg->rate_limit,
    };
    odm_http_options_t hopts = {
        .listen = cfg->listen,
        .listen_addr = (const struct sockaddr *)&cfg->listen_addr,
        .listen_addr_len = cfg->listen_addr_len,
        .max_connections = (unsigned)cfg->max_connections,
        .max_client_connections = (unsigned)cfg->max_client_connections,
        .idle_timeout_s = (unsigned)cfg->idle_timeout_s,
        .read_timeout_s = (unsigned)cfg->read_timeout_s,
        .max_body = cfg->max_body,
        .request_timeout_ms = (int)cfg->request_timeout_ms,
        .handler = odm_api_handle,
        .preflight = odm_api_preflight,
        .app = &app,
        .tls_cert_pem = tls.cert_pem,
        .tls_key_pem = tls.key_pem,
        .metrics = metrics,
        .cors_origin = cfg->cors_origin,
        .rate_limit = (unsigned)cfg->rate_limit,
        .rate_window_s = (unsigned)cfg->rate_window_s,
        .rate_burst = (unsigned)cfg->rate_burst,
        .rate_table = (unsigned)cfg->rate_table,
        /* with a credential configured (--api-key, --keys, a JWT key) a made-up Authorization
         * value is answered 401 (and spends its address's bucket of failures); without one
         * nothing checks the value */
        .rate_by_credential = odm_auth_enabled(auth),
        .connection_memory = cfg->connection_memory,
    };
    odm_http_server_t *http = odm_http_start(&hopts, &err);
    if (http == NULL)
        goto fail_indexes;
    odm_http_server_t *metrics_http = NULL;
    if (metrics && cfg->metrics_listen &&
        (metrics_http = start_metrics_listener(cfg, &app, &err)) == NULL) {
        shut_down(http, NULL, (int)cfg->request_timeout_ms); /* then the pool, below */
        goto fail_indexes;
    }
    odm_info("odmd %s listening on %s (port %u), %zu models, database '%s'", ODMD_VERSION,
             cfg->listen, odm_http_port(http), n_models, odm_store_db_name(store));
    int sig = 0;
    while (sigwait(signals, &sig) == 0 && sig == SIGHUP) {
        reload(cfg, &app);
        reload_keys(cfg, auth);
    }
    odm_info("signal %d received", sig);
    shut_down(http, pool, (int)cfg->request_timeout_ms);
    if (metrics_http)
        shut_down(metrics_http, NULL, (int)cfg->request_timeout_ms);
    odm_api_indexes_stop(indexes); /* after the drain: /readyz reads it */
    odm_store_free(store);
    odm_api_models_free(live); /* the last reference: every call and the index thread are gone */
    odm_auth_free(auth);
    odm_jwt_verifier_free(jwt);
    odm_http_tls_release(&tls);
    odm_metrics_free(metrics);
    odm_info("stopped");
    return 0;

fail_indexes:
    odm_api_indexes_stop(indexes);
    odm_work_pool_free(pool);
fail_store:
    odm_store_free(store);
fail_models:
    odm_api_models_free(live);
    odm_auth_free(auth);
    odm_jwt_verifier_free(jwt);
    odm_http_tls_release(&tls);
    odm_metrics_free(metrics);
    return fail_startup(&err);
}

static int check(int argc, char **argv)
{
    if (odm_survey_cli_wants_db(argc, argv))
        return odm_survey_cli_check(argc, argv);
    const char *dir =
        argc > 1 ? argv[1] : (getenv("ODMD_SCHEMAS") ? getenv("ODMD_SCHEMAS") : "./schemas");
    if (argc > 2) {
        fprintf(stderr, "usage: odmd check [--mongo-uri URI [--db NAME]] [DIR]\n");
        return EXIT_USAGE;
    }
    odm_error_t err;
    odm_models_t *models = odm_models_load(dir, &err);
    if (models == NULL)
        return fail_startup(&err);
    for (size_t i = 0; i < models->n; i++)
        printf("%s: ok (collection '%s')\n", models->items[i]->path, models->items[i]->collection);
    odm_models_free(models);
    return 0;
}

/* The credentials `cfg` configures, as serve() puts them in force (the document describes
 * them). Returns: false with err set. */
static bool openapi_auth(const odm_config_t *cfg, odm_jwt_verifier_t **jwt, odm_auth_t **auth,
                         odm_error_t *err)
{
    if (!start_jwt(cfg, jwt, err))
        return false;
    odm_auth_options_t o = {.keys_path = cfg->keys_file,
                            .api_key = cfg->api_key,
                            .verify_token = *jwt ? odm_jwt_identify : NULL,
                            .verifier = *jwt};
    return (*auth = odm_auth_new(&o, err)) != NULL;
}

/* `odmd openapi [options]`: the document GET /openapi.json serves with the same options (only
 * those that change it matter: --schemas, the credentials, --bulk-max, --metrics,
 * --metrics-listen and --rate-limit), on stdout. */
static int openapi(int argc, char **argv)
{
    odm_config_t cfg;
    odm_error_t err;
    if (!odm_config_parse(&cfg, argc, argv, NULL, &err)) {
        fprintf(stderr, "odmd openapi: %s\nusage: odmd openapi [--schemas DIR] [options]\n",
                err.message);
        return EXIT_USAGE;
    }
    odm_jwt_verifier_t *jwt = NULL;
    odm_auth_t *auth = NULL;
    odm_models_t *models = NULL;
    int status = EXIT_USAGE;
    if (openapi_auth(&cfg, &jwt, &auth, &err) &&
        (models = odm_models_load(cfg.schemas_dir, &err)) != NULL) {
        odm_metrics_t *metrics = cfg.metrics ? odm_api_metrics_new() : NULL;
        odm_app_t app = {.bulk_max = cfg.bulk_max,
                         .auth = auth,
                         .metrics = metrics,
                         .metrics_elsewhere = cfg.metrics_listen != NULL,
                         .rate_limit = (unsigned)cfg.rate_limit};
        json_t *doc = odm_api_openapi(models, &app);
        odm_metrics_free(metrics);
        status = doc != NULL && json_dumpf(doc, stdout, JSON_INDENT(2)) == 0 ? 0 : 1;
        if (status == 0)
            putchar('\n');
        json_decref(doc);
    } else {
        fail_startup(&err);
    }
    odm_models_free(models);
    odm_auth_free(auth);
    odm_jwt_verifier_free(jwt);
    odm_config_release(&cfg);
    return status;
}

static int health(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: odmd health URL\n");
        return EXIT_USAGE;
    }
    odm_error_t err;
    int status = odm_http_probe(argv[1], HEALTH_TIMEOUT_MS, &err);
    if (status < 0) {
        fprintf(stderr, "odmd health: %s\n", err.message);
        return 1;
    }
    printf("%d\n", status);
    return status == 200 ? 0 : 1;
}

/* odmd key-hash: the SHA-256 (hex) of the key on stdin (one trailing newline dropped), the
 * "sha256" of a keys file entry. */
static int key_hash(int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "usage: printf %%s KEY | odmd key-hash\n");
        return EXIT_USAGE;
    }
    char key[ODM_AUTH_KEY_MAX + 3];
    size_t n = fread(key, 1, sizeof key, stdin);
    if (n > 0 && key[n - 1] == '\n')
        n--;
    if (n > 0 && key[n - 1] == '\r')
        n--;
    if (n == 0 || n > ODM_AUTH_KEY_MAX) {
        fprintf(stderr, "odmd key-hash: the key on stdin must be 1 to %d bytes\n",
                ODM_AUTH_KEY_MAX);
        return EXIT_USAGE;
    }
    char hex[ODM_AUTH_HASH_HEX + 1];
    odm_auth_key_hash(key, n, hex);
    printf("%s\n", hex);
    return 0;
}

static int run_server(int argc, char **argv)
{
    sigset_t signals;
    block_signals(&signals);
    odm_config_t cfg;
    odm_error_t err;
    if (!odm_config_parse(&cfg, argc, argv, NULL, &err)) {
        fprintf(stderr, "odmd: %s\nTry 'odmd --help'.\n", err.message);
        return EXIT_USAGE;
    }
    int status = 0;
    if (cfg.help) {
        fputs(odm_config_usage(), stdout);
    } else if (cfg.version) {
        printf("odmd %s\n", ODMD_VERSION);
    } else {
        odm_log_set_level(cfg.log_level);
        json_object_seed(0);
        odm_jarena_install(); /* without its region, the heap serves every jansson value */
        odm_store_global_init();
        status = serve(&cfg, &signals);
        odm_store_global_cleanup();
    }
    odm_config_release(&cfg);
    return status;
}

int main(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    if (strcmp(sub, "check") == 0)
        return check(argc - 1, argv + 1);
#ifdef HAVE_VALIDATE
    if (strcmp(sub, "validate") == 0)
        return odm_schema_cli_validate(argc - 1, argv + 1);
#endif
    if (strcmp(sub, "schema") == 0)
        return odm_survey_cli_schema(argc - 1, argv + 1);
    if (strcmp(sub, "health") == 0)
        return health(argc - 1, argv + 1);
    if (strcmp(sub, "key-hash") == 0)
        return key_hash(argc - 1, argv + 1);
    if (strcmp(sub, "openapi") == 0)
        return openapi(argc - 2, argv + 2);
    if (strcmp(sub, "serve") == 0)
        return run_server(argc - 2, argv + 2);
    return run_server(argc - 1, argv + 1);
}
