/* Architecture floor: the smallest server of odmd's shape, with no routing, models or validation.
 *
 *   floor PORT URI DB COLLECTION WORKERS [poll]
 *
 * libmicrohttpd's internal polling thread with epoll; a request whose path ends in /ID is
 * suspended on the handler's second call (answering or suspending on the first call would make
 * 0.9.75 close every keep-alive connection), queued to WORKERS threads on a mutex/condition
 * queue; a worker runs one mongoc find by _id (an integer, or an ObjectId for 24 hex digits),
 * turns the document into JSON and resumes the connection; the polling thread queues the
 * response. /healthz is answered on the polling thread. SIGTERM/SIGINT stop it. Built by bench/run.
 *
 * With "poll" the daemon uses poll() instead of epoll: libmicrohttpd 0.9.75's epoll loop calls
 * epoll_wait again, with the blocking timeout, whenever one call returned exactly MAX_EVENTS (128)
 * events, so with 128 or 256 busy connections it can sleep with every request read-ready and
 * unprocessed; poll() has no such loop. */
#include <microhttpd.h>
#include <mongoc/mongoc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct job {
    struct MHD_Connection *conn;
    char id[32];
    unsigned status;
    char *body; /* bson_malloc'd JSON, or NULL */
    size_t body_len;
    struct job *next;
} job_t;

static mongoc_client_pool_t *pool;
static const char *db_name;
static const char *coll_name;
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_ready = PTHREAD_COND_INITIALIZER;
static job_t *queue_head;
static job_t *queue_tail;
static bool stopping;

static void find_one(mongoc_collection_t *coll, job_t *job)
{
    bson_t filter;
    bson_init(&filter);
    if (strlen(job->id) == 24 && bson_oid_is_valid(job->id, 24)) {
        bson_oid_t oid;
        bson_oid_init_from_string(&oid, job->id);
        BSON_APPEND_OID(&filter, "_id", &oid);
    } else {
        char *end = NULL;
        long long v = strtoll(job->id, &end, 10);
        if (end == job->id || *end != '\0') {
            job->status = 400;
            bson_destroy(&filter);
            return;
        }
        if (v >= INT32_MIN && v <= INT32_MAX)
            BSON_APPEND_INT32(&filter, "_id", (int32_t)v);
        else
            BSON_APPEND_INT64(&filter, "_id", v);
    }
    bson_t opts = BSON_INITIALIZER;
    BSON_APPEND_INT64(&opts, "limit", 1);
    BSON_APPEND_INT64(&opts, "maxTimeMS", 5000);
    mongoc_cursor_t *cursor = mongoc_collection_find_with_opts(coll, &filter, &opts, NULL);
    const bson_t *doc;
    job->status = 404;
    if (mongoc_cursor_next(cursor, &doc)) {
        job->body = bson_as_relaxed_extended_json(doc, &job->body_len);
        job->status = 200;
    }
    bson_error_t error;
    if (mongoc_cursor_error(cursor, &error))
        job->status = 503;
    mongoc_cursor_destroy(cursor);
    bson_destroy(&opts);
    bson_destroy(&filter);
}

static void *worker(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&queue_lock);
        while (queue_head == NULL && !stopping)
            pthread_cond_wait(&queue_ready, &queue_lock);
        job_t *job = queue_head;
        if (job == NULL) {
            pthread_mutex_unlock(&queue_lock);
            return NULL;
        }
        queue_head = job->next;
        if (queue_head == NULL)
            queue_tail = NULL;
        pthread_mutex_unlock(&queue_lock);

        mongoc_client_t *client = mongoc_client_pool_pop(pool);
        mongoc_collection_t *coll = mongoc_client_get_collection(client, db_name, coll_name);
        find_one(coll, job);
        mongoc_collection_destroy(coll);
        mongoc_client_pool_push(pool, client);
        MHD_resume_connection(job->conn); /* the last touch of job on this thread */
    }
}

static void free_body(void *cls)
{
    bson_free(cls);
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status, char *body, size_t len)
{
    struct MHD_Response *resp;
    if (body != NULL)
        resp = MHD_create_response_from_buffer_with_free_callback(len, body, free_body);
    else
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **req_cls)
{
    (void)cls, (void)method, (void)version, (void)upload_data;
    static int first_call_marker;
    if (*req_cls == NULL) {
        *req_cls = &first_call_marker; /* return on the first call: keep-alive stays on */
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*req_cls != &first_call_marker) { /* resumed: the worker's answer is ready */
        job_t *job = *req_cls;
        enum MHD_Result ret = answer(conn, job->status, job->body, job->body_len);
        free(job);
        *req_cls = &first_call_marker;
        return ret;
    }
    if (strcmp(url, "/healthz") == 0) {
        static const char ok[] = "{\"status\":\"ok\"}";
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(sizeof ok - 1, (void *)ok, MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, "Content-Type", "application/json");
        enum MHD_Result ret = MHD_queue_response(conn, 200, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    const char *slash = strrchr(url, '/');
    if (slash == NULL || slash[1] == '\0' || strlen(slash + 1) >= sizeof((job_t *)0)->id)
        return answer(conn, 404, NULL, 0);
    job_t *job = calloc(1, sizeof *job);
    if (job == NULL)
        return MHD_NO;
    memcpy(job->id, slash + 1, strlen(slash + 1) + 1);
    job->conn = conn;
    *req_cls = job;
    MHD_suspend_connection(conn);
    pthread_mutex_lock(&queue_lock);
    if (queue_tail)
        queue_tail->next = job;
    else
        queue_head = job;
    queue_tail = job;
    pthread_cond_signal(&queue_ready);
    pthread_mutex_unlock(&queue_lock);
    return MHD_YES;
}

int main(int argc, char **argv)
{
    if (argc != 6 && !(argc == 7 && strcmp(argv[6], "poll") == 0)) {
        fprintf(stderr, "usage: floor PORT URI DB COLLECTION WORKERS [poll]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    db_name = argv[3];
    coll_name = argv[4];
    int workers = atoi(argv[5]);
    if (port <= 0 || port > 65535 || workers < 1 || workers > 256) {
        fprintf(stderr, "floor: bad arguments\n");
        return 2;
    }
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    mongoc_init();
    bson_error_t error;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(argv[2], &error);
    if (uri == NULL) {
        fprintf(stderr, "floor: %s\n", error.message);
        return 2;
    }
    mongoc_uri_set_option_as_int32(uri, MONGOC_URI_MAXPOOLSIZE, workers);
    pool = mongoc_client_pool_new(uri);
    mongoc_client_pool_set_error_api(pool, MONGOC_ERROR_API_VERSION_2);
    pthread_t *tids = calloc((size_t)workers, sizeof *tids);
    for (int i = 0; i < workers; i++)
        pthread_create(&tids[i], NULL, worker, NULL);

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    unsigned loop = argc == 7 ? MHD_USE_POLL : MHD_USE_EPOLL;
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | loop | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_CONNECTION_LIMIT, 1000u, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "floor: cannot listen on 127.0.0.1:%d\n", port);
        return 1;
    }
    printf("listening 127.0.0.1:%d\n", port);
    fflush(stdout);
    int sig;
    sigwait(&sigs, &sig);
    /* A benchmark floor: stop accepting and let in-flight jobs finish before stopping. */
    MHD_quiesce_daemon(d);
    struct timespec pause = {.tv_sec = 0, .tv_nsec = 200 * 1000 * 1000};
    nanosleep(&pause, NULL);
    pthread_mutex_lock(&queue_lock);
    stopping = true;
    pthread_cond_broadcast(&queue_ready);
    pthread_mutex_unlock(&queue_lock);
    for (int i = 0; i < workers; i++)
        pthread_join(tids[i], NULL);
    MHD_stop_daemon(d);
    free(tids);
    mongoc_client_pool_destroy(pool);
    mongoc_uri_destroy(uri);
    mongoc_cleanup();
    return 0;
}
