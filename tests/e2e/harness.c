/* The end-to-end harness: odmd as a child process, libcurl requests, temp folders, strings. */
#include "harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef ODMD_BIN
#error "ODMD_BIN (the odmd binary) must be defined by the build"
#endif
#ifndef ODMD_SOURCE_DIR
#error "ODMD_SOURCE_DIR (the repository root) must be defined by the build"
#endif

#define MAX_TEMP_DIRS 128
#define MAX_BODY_BYTES (64u << 20)

static char test_name[64] = "e2e";
static char *temp_dirs[MAX_TEMP_DIRS];
static size_t n_temp_dirs;
static int odmd_serial;

/* Every variable whose name starts with this is left out of odmd's environment (the test's
 * own "K=V" extras excepted), so that no setting of a developer's, known or added later, leaks
 * into a test. */
#define ODMD_ENV_PREFIX "ODMD_"
#define MAX_CHILD_ENV 1024

/* ---- set-up -------------------------------------------------------------------------------- */

void e2e_init(const char *name)
{
    snprintf(test_name, sizeof test_name, "%s", name);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    json_object_seed(0);
    e2e_mongo_global_init();
    setvbuf(stdout, NULL, _IOLBF, 0);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

int e2e_finish(int check_status)
{
    for (size_t i = 0; i < n_temp_dirs; i++) {
        if (check_status == 0)
            nftw(temp_dirs[i], remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        else
            fprintf(stderr, "%s: kept %s for inspection\n", test_name, temp_dirs[i]);
        free(temp_dirs[i]);
    }
    n_temp_dirs = 0;
    e2e_mongo_global_cleanup();
    curl_global_cleanup();
    return check_status;
}

const char *e2e_source_dir(void)
{
    return ODMD_SOURCE_DIR;
}

const char *e2e_odmd_bin(void)
{
    return ODMD_BIN;
}

bool e2e_is_ferretdb(void)
{
    const char *b = getenv("ODMD_TEST_BACKEND");
    return b && strcmp(b, "ferretdb") == 0;
}

int64_t e2e_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void e2e_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int e2e_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

const char *e2e_temp_dir(const char *tag)
{
    if (n_temp_dirs == MAX_TEMP_DIRS) {
        fprintf(stderr, "e2e: too many temp folders\n");
        abort();
    }
    const char *tmp = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/odmd-e2e-%s-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", test_name,
             tag);
    if (!mkdtemp(tmpl)) {
        perror("e2e: mkdtemp");
        abort();
    }
    temp_dirs[n_temp_dirs] = strdup(tmpl);
    return temp_dirs[n_temp_dirs++];
}

bool e2e_write_file(const char *dir, const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    size_t n = strlen(text);
    bool ok = fwrite(text, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

char *e2e_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

static bool copy_json_files(const char *from, const char *to)
{
    DIR *d = opendir(from);
    if (!d)
        return false;
    struct dirent *e;
    bool ok = true;
    while (ok && (e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", from, e->d_name);
        char *text = e2e_read_file(path);
        ok = text && e2e_write_file(to, e->d_name, text);
        free(text);
    }
    closedir(d);
    return ok;
}

const char *e2e_schemas_with_extras(void)
{
    static const char *dir;
    if (dir)
        return dir;
    dir = e2e_temp_dir("schemas");
    char from[1024];
    snprintf(from, sizeof from, "%s/schemas", e2e_source_dir());
    bool ok = copy_json_files(from, dir);
    snprintf(from, sizeof from, "%s/tests/e2e/schemas", e2e_source_dir());
    if (!ok || !copy_json_files(from, dir)) {
        fprintf(stderr, "e2e: cannot assemble the schema folder %s\n", dir);
        abort();
    }
    return dir;
}

/* ---- child processes ----------------------------------------------------------------------- */

/* True when "K=V" entry a names the same variable as b. */
static bool same_name(const char *a, const char *b)
{
    size_t n = strcspn(a, "=");
    return strncmp(a, b, n) == 0 && b[n] == '=';
}

/* Fills envp (cap entries, NULL-terminated) with this process's environment less every ODMD_*
 * variable and less what `extra` redefines, then `extra`. No allocation: it runs in a forked
 * child of a threaded process. Returns false when it does not fit. */
static bool child_environment(char **envp, size_t cap, const char *const *extra)
{
    size_t n = 0;
    for (char **e = environ; *e; e++) {
        bool dropped = strncmp(*e, ODMD_ENV_PREFIX, strlen(ODMD_ENV_PREFIX)) == 0;
        for (const char *const *x = extra; !dropped && x && *x; x++)
            dropped = same_name(*x, *e);
        if (dropped)
            continue;
        if (n + 1 >= cap)
            return false;
        envp[n++] = *e;
    }
    for (const char *const *x = extra; x && *x; x++) {
        if (n + 1 >= cap)
            return false;
        envp[n++] = (char *)*x;
    }
    envp[n] = NULL;
    return true;
}

/* In a forked child: environment without ODMD_* (plus `env`), stdin from /dev/null,
 * stdout/stderr to files, die with the parent, then exec. Never returns. */
static void exec_child(const char *const *argv, const char *const *env, const char *cwd,
                       const char *out_path, const char *err_path)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    char *envp[MAX_CHILD_ENV];
    if (!child_environment(envp, MAX_CHILD_ENV, env))
        _exit(125);
    int in = open("/dev/null", O_RDONLY);
    int out = open(out_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    int err = open(err_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in < 0 || out < 0 || err < 0)
        _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    if (cwd && chdir(cwd) != 0)
        _exit(126);
    execve(argv[0], (char *const *)argv, envp);
    _exit(127);
}

static int decode_status(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

/* Waits for pid up to timeout_ms: its decoded status, or -2 when it is still running. */
static int wait_pid(pid_t pid, int timeout_ms)
{
    int64_t deadline = e2e_now_ms() + timeout_ms;
    for (;;) {
        int status;
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid)
            return decode_status(status);
        if (got < 0 && errno != EINTR)
            return -1;
        if (e2e_now_ms() >= deadline)
            return -2;
        e2e_sleep_ms(20);
    }
}

int e2e_run_odmd(const char *const *argv, const char *const *env, const char *cwd, int timeout_ms,
                 char **output)
{
    static const char *dir;
    static int runs;
    if (!dir)
        dir = e2e_temp_dir("run");
    runs++;
    char out_path[600], err_path[600];
    snprintf(out_path, sizeof out_path, "%s/%d.stdout", dir, runs);
    snprintf(err_path, sizeof err_path, "%s/%d.stderr", dir, runs);
    const char *full[E2E_MAX_ARGS + 2];
    size_t n = 0;
    full[n++] = e2e_odmd_bin();
    for (const char *const *a = argv; a && *a && n < E2E_MAX_ARGS; a++)
        full[n++] = *a;
    full[n] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0)
        exec_child(full, env, cwd, out_path, err_path);
    int status = wait_pid(pid, timeout_ms);
    if (status == -2) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    if (output) {
        char *o = e2e_read_file(out_path), *e = e2e_read_file(err_path);
        size_t lo = o ? strlen(o) : 0, le = e ? strlen(e) : 0;
        *output = malloc(lo + le + 1);
        if (*output) {
            memcpy(*output, o ? o : "", lo);
            memcpy(*output + lo, e ? e : "", le);
            (*output)[lo + le] = '\0';
        }
        free(o);
        free(e);
    }
    return status;
}

/* ---- odmd ---------------------------------------------------------------------------------- */

bool e2e_odmd_alive(e2e_odmd_t *o)
{
    if (o->pid <= 0)
        return false;
    int status;
    pid_t got = waitpid(o->pid, &status, WNOHANG);
    if (got == o->pid) {
        o->exit_status = decode_status(status);
        o->pid = 0;
        return false;
    }
    return true;
}

static bool wait_healthy(e2e_odmd_t *o, int timeout_ms)
{
    int64_t deadline = e2e_now_ms() + timeout_ms;
    e2e_client_t c;
    e2e_client_init(&c, o->url);
    c.timeout_ms = 1000;
    e2e_resp_t r = {0};
    bool ok = false;
    while (!ok && e2e_now_ms() < deadline && e2e_odmd_alive(o)) {
        ok = e2e_get(&c, &r, "/healthz") && r.status == 200;
        if (!ok)
            e2e_sleep_ms(50);
    }
    e2e_resp_free(&r);
    e2e_client_release(&c);
    return ok;
}

/* Listening TCP sockets on this port (any local address) in /proc/net/tcp and tcp6. More than
 * one: processes share it (SO_REUSEPORT). */
static int listeners_on_port(int port)
{
    const char *tables[] = {"/proc/net/tcp", "/proc/net/tcp6"};
    int n = 0;
    for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
        FILE *f = fopen(tables[i], "r");
        char line[512];
        unsigned lport, state;
        while (f != NULL && fgets(line, sizeof line, f) != NULL) {
            /* "  0: 0100007F:1F90 00000000:0000 0A ..." (IPv6 addresses are 32 digits) */
            if (sscanf(line, " %*d: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", &lport, &state) == 2 &&
                state == 0x0A && (int)lport == port)
                n++;
        }
        if (f != NULL)
            fclose(f);
    }
    return n;
}

/* True when the odmd answering on o->port is this one, alone: a probe's request id shows up in
 * this process's access log, and no other socket listens on the port. (A port picked free can
 * be taken by another test's server before odmd binds it; with SO_REUSEPORT two servers could
 * share it, and a probe could reach either.) */
static bool answers_as_itself(e2e_odmd_t *o)
{
    int listeners = listeners_on_port(o->port);
    if (listeners > 1) {
        fprintf(stderr, "e2e: %d sockets listen on port %d\n", listeners, o->port);
        return false;
    }

    char id[80], header[100];
    snprintf(id, sizeof id, "e2e-own-%d-%d-%lld", (int)getpid(), odmd_serial,
             (long long)e2e_now_ms());
    snprintf(header, sizeof header, "X-Request-Id: %s", id);
    e2e_client_t c;
    e2e_client_init(&c, o->url);
    c.timeout_ms = 5000;
    e2e_resp_t r = {0};
    bool found = false;
    for (int probe = 0; probe < 3 && !found; probe++) {
        const char *headers[] = {header, NULL};
        e2e_request(&c, &r, "GET", "/healthz", headers, NULL, 0);
        int64_t deadline = e2e_now_ms() + 2000;
        while (!found && e2e_now_ms() < deadline) {
            char *log = e2e_read_file(o->log_path);
            found = log && strstr(log, id);
            free(log);
            if (!found)
                e2e_sleep_ms(20);
        }
        e2e_client_release(&c); /* a new connection: SO_REUSEPORT spreads connections */
        e2e_client_init(&c, o->url);
    }
    e2e_resp_free(&r);
    e2e_client_release(&c);
    return found;
}

static void kill_odmd(e2e_odmd_t *o)
{
    if (o->pid > 0) {
        kill(o->pid, SIGKILL);
        waitpid(o->pid, NULL, 0);
        o->pid = 0;
    }
}

static bool start_once(e2e_odmd_t *o, const e2e_odmd_opts_t *opts, bool last_try);

bool e2e_odmd_start(e2e_odmd_t *o, const e2e_odmd_opts_t *opts)
{
    int tries = opts->port ? 1 : 3; /* a port the harness picked may be lost to a race */
    for (int i = 1; i <= tries; i++) {
        if (start_once(o, opts, i == tries))
            return true;
        if (i < tries)
            fprintf(stderr, "e2e: odmd did not start on port %d; trying another port\n", o->port);
    }
    return false;
}

static bool start_once(e2e_odmd_t *o, const e2e_odmd_opts_t *opts, bool last_try)
{
    memset(o, 0, sizeof *o);
    o->exit_status = -1;
    o->port = opts->port ? opts->port : e2e_free_port();
    snprintf(o->url, sizeof o->url, "http://127.0.0.1:%d", o->port);
    if (opts->db_name)
        snprintf(o->db_name, sizeof o->db_name, "%s", opts->db_name);
    else
        snprintf(o->db_name, sizeof o->db_name, "e2e_%s_%d_%d", test_name, (int)getpid(),
                 ++odmd_serial);
    const char *dir = e2e_temp_dir("odmd");
    snprintf(o->log_path, sizeof o->log_path, "%s/stderr.log", dir);
    snprintf(o->out_path, sizeof o->out_path, "%s/stdout.log", dir);

    char listen[64], schemas[600];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", o->port);
    if (opts->schemas)
        snprintf(schemas, sizeof schemas, "%s", opts->schemas);
    else
        snprintf(schemas, sizeof schemas, "%s/schemas", e2e_source_dir());
    const char *argv[E2E_MAX_ARGS + 12];
    size_t n = 0;
    argv[n++] = e2e_odmd_bin();
    if (!opts->omit_listen) {
        argv[n++] = "--listen";
        argv[n++] = listen;
    }
    if (!opts->omit_mongo_uri) {
        argv[n++] = "--mongo-uri";
        argv[n++] = opts->mongo_uri;
    }
    if (!opts->omit_db) {
        argv[n++] = "--db";
        argv[n++] = o->db_name;
    }
    argv[n++] = "--schemas";
    argv[n++] = schemas;
    for (size_t i = 0; i < E2E_MAX_ARGS && opts->args[i]; i++)
        argv[n++] = opts->args[i];
    argv[n] = NULL;

    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0)
        exec_child(argv, opts->env, NULL, o->out_path, o->log_path);
    o->pid = pid;
    if (opts->no_wait)
        return true;
    if (!wait_healthy(o, 30000)) {
        if (last_try) {
            fprintf(stderr, "e2e: odmd on port %d did not answer /healthz (exit status %d)\n",
                    o->port, o->exit_status);
            e2e_odmd_dump_log(o, 40);
        }
        kill_odmd(o);
        return false;
    }
    if (!answers_as_itself(o)) {
        fprintf(stderr, "e2e: another server answers on port %d\n", o->port);
        kill_odmd(o);
        return false;
    }
    return true;
}

int e2e_odmd_wait(e2e_odmd_t *o, int timeout_ms)
{
    if (o->pid <= 0)
        return o->exit_status;
    int status = wait_pid(o->pid, timeout_ms);
    if (status != -2) {
        o->exit_status = status;
        o->pid = 0;
    }
    return status;
}

int e2e_odmd_stop(e2e_odmd_t *o, int timeout_ms)
{
    if (o->pid <= 0)
        return o->exit_status;
    kill(o->pid, SIGTERM);
    int status = e2e_odmd_wait(o, timeout_ms);
    if (status == -2) {
        fprintf(stderr, "e2e: odmd did not exit within %d ms of SIGTERM; killing it\n", timeout_ms);
        e2e_odmd_dump_log(o, 30);
        kill(o->pid, SIGKILL);
        waitpid(o->pid, NULL, 0);
        o->pid = 0;
        o->exit_status = -2;
    }
    return o->exit_status;
}

void e2e_odmd_dump_log(const e2e_odmd_t *o, int lines)
{
    char *text = e2e_read_file(o->log_path);
    if (!text)
        return;
    size_t len = strlen(text);
    const char *start = text;
    int seen = 0;
    for (size_t i = len; i > 0; i--) {
        if (text[i - 1] == '\n' && i != len && ++seen == lines) {
            start = text + i;
            break;
        }
    }
    fprintf(stderr, "---- odmd stderr (%s), last lines ----\n%s---- end ----\n", o->log_path,
            start);
    free(text);
}

json_t *e2e_odmd_access_log(const e2e_odmd_t *o)
{
    json_t *out = json_array();
    char *text = e2e_read_file(o->log_path);
    if (!text)
        return out;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_t *v = json_loads(line, 0, NULL);
        if (json_is_object(v) && json_object_get(v, "path") && json_object_get(v, "status"))
            json_array_append(out, v);
        json_decref(v);
    }
    free(text);
    return out;
}

/* ---- HTTP ---------------------------------------------------------------------------------- */

void e2e_client_init(e2e_client_t *c, const char *base_url)
{
    memset(c, 0, sizeof *c);
    c->curl = curl_easy_init();
    snprintf(c->base, sizeof c->base, "%s", base_url);
    c->timeout_ms = 30000;
}

void e2e_client_release(e2e_client_t *c)
{
    if (c->curl)
        curl_easy_cleanup(c->curl);
    c->curl = NULL;
}

typedef struct {
    e2e_resp_t *r;
    size_t cap;
    bool too_big;
} sink_t;

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    sink_t *s = arg;
    size_t n = size * nmemb;
    e2e_resp_t *r = s->r;
    if (r->body_len + n + 1 > MAX_BODY_BYTES) {
        s->too_big = true;
        return 0;
    }
    if (r->body_len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < r->body_len + n + 1)
            cap *= 2;
        char *bigger = realloc(r->body, cap);
        if (!bigger)
            return 0;
        r->body = bigger;
        s->cap = cap;
    }
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return n;
}

static void clear_headers(e2e_resp_t *r)
{
    for (size_t i = 0; i < r->n_headers; i++) {
        free(r->header_names[i]);
        free(r->header_values[i]);
    }
    r->n_headers = 0;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    sink_t *s = arg;
    e2e_resp_t *r = s->r;
    size_t n = size * nmemb;
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        clear_headers(r); /* a new response (after 100 Continue, for instance) */
        return n;
    }
    const char *colon = memchr(data, ':', n);
    if (!colon || r->n_headers == E2E_MAX_HEADERS)
        return n;
    size_t name_len = (size_t)(colon - data);
    const char *v = colon + 1, *end = data + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    r->header_names[r->n_headers] = strndup(data, name_len);
    r->header_values[r->n_headers] = strndup(v, (size_t)(end - v));
    r->n_headers++;
    return n;
}

void e2e_resp_free(e2e_resp_t *r)
{
    clear_headers(r);
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

const char *e2e_header(const e2e_resp_t *r, const char *name)
{
    for (size_t i = r->n_headers; i > 0; i--)
        if (strcasecmp(r->header_names[i - 1], name) == 0)
            return r->header_values[i - 1];
    return NULL;
}

static bool has_header(const char *const *headers, const char *name)
{
    size_t n = strlen(name);
    for (const char *const *h = headers; h && *h; h++)
        if (strncasecmp(*h, name, n) == 0 && (*h)[n] == ':')
            return true;
    return false;
}

typedef struct {
    size_t total, sent, piece;
} chunk_src_t;

static size_t on_read(char *buf, size_t size, size_t nitems, void *arg)
{
    chunk_src_t *src = arg;
    size_t room = size * nitems, left = src->total - src->sent;
    size_t n = left < src->piece ? left : src->piece;
    if (n > room)
        n = room;
    static const char head[] = "{\"title\":\"";
    for (size_t i = 0; i < n; i++) {
        size_t at = src->sent + i;
        if (at < sizeof head - 1)
            buf[i] = head[at];
        else if (at == src->total - 2)
            buf[i] = '"';
        else if (at == src->total - 1)
            buf[i] = '}';
        else
            buf[i] = 'a';
    }
    src->sent += n;
    return n;
}

static int on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
    (void)h;
    (void)data;
    (void)size;
    if (type == CURLINFO_HEADER_OUT)
        atomic_fetch_add((_Atomic int *)arg, 1);
    return 0;
}

static bool perform(e2e_client_t *c, e2e_resp_t *r, const char *method, const char *path,
                    const char *const *headers, const char *body, size_t body_len,
                    chunk_src_t *chunks)
{
    e2e_resp_free(r);
    snprintf(r->method, sizeof r->method, "%s", method);
    snprintf(r->path, sizeof r->path, "%s", path);
    CURL *h = c->curl;
    curl_easy_reset(h);
    char url[8192];
    snprintf(url, sizeof url, "%s%s", c->base, path);
    sink_t sink = {.r = r};
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    if (c->ca_file != NULL)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &sink);
    if (c->sent) {
        curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug);
        curl_easy_setopt(h, CURLOPT_DEBUGDATA, c->sent);
        curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
    }

    struct curl_slist *list = NULL;
    for (const char *const *hd = headers; hd && *hd; hd++)
        list = curl_slist_append(list, *hd);
    if ((body || chunks) && !has_header(headers, "Content-Type"))
        list = curl_slist_append(list, "Content-Type:");
    if (!has_header(headers, "Expect"))
        list = curl_slist_append(list, "Expect:");
    char auth[300];
    if (c->api_key && !has_header(headers, "Authorization")) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->api_key);
        list = curl_slist_append(list, auth);
    }
    if (chunks)
        list = curl_slist_append(list, "Transfer-Encoding: chunked");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);

    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "GET") == 0 && !body) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        if (chunks) {
            curl_easy_setopt(h, CURLOPT_POST, 1L);
            curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
            curl_easy_setopt(h, CURLOPT_READDATA, chunks);
        } else if (body) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        }
    }
    int64_t t0 = e2e_now_ms();
    r->code = curl_easy_perform(h);
    r->elapsed_ms = e2e_now_ms() - t0;
    curl_slist_free_all(list);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &r->num_connects);
    if (!r->body) {
        r->body = calloc(1, 1);
        r->body_len = 0;
    }
    if (r->body_len > 0)
        r->json = json_loadb(r->body, r->body_len, JSON_DECODE_ANY, NULL);
    return r->code == CURLE_OK && r->status != 0;
}

bool e2e_request(e2e_client_t *c, e2e_resp_t *r, const char *method, const char *path,
                 const char *const *headers, const char *body, size_t body_len)
{
    if (body && body_len == (size_t)-1)
        body_len = strlen(body);
    return perform(c, r, method, path, headers, body, body_len, NULL);
}

bool e2e_request_chunked(e2e_client_t *c, e2e_resp_t *r, const char *method, const char *path,
                         const char *content_type, size_t total, size_t piece)
{
    chunk_src_t src = {.total = total, .piece = piece ? piece : 4096};
    char ct[200];
    snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
    const char *headers[] = {ct, NULL};
    return perform(c, r, method, path, headers, NULL, 0, &src);
}

bool e2e_get(e2e_client_t *c, e2e_resp_t *r, const char *path)
{
    return e2e_request(c, r, "GET", path, NULL, NULL, 0);
}

bool e2e_head(e2e_client_t *c, e2e_resp_t *r, const char *path)
{
    return e2e_request(c, r, "HEAD", path, NULL, NULL, 0);
}

bool e2e_delete(e2e_client_t *c, e2e_resp_t *r, const char *path, const char *extra)
{
    const char *headers[] = {extra, NULL};
    return e2e_request(c, r, "DELETE", path, headers, NULL, 0);
}

static bool send_json(e2e_client_t *c, e2e_resp_t *r, const char *method, const char *path,
                      const char *type, const char *json, const char *extra)
{
    const char *headers[] = {type, extra, NULL};
    return e2e_request(c, r, method, path, headers, json, (size_t)-1);
}

bool e2e_post(e2e_client_t *c, e2e_resp_t *r, const char *path, const char *json)
{
    return send_json(c, r, "POST", path, "Content-Type: application/json", json, NULL);
}

bool e2e_put(e2e_client_t *c, e2e_resp_t *r, const char *path, const char *json, const char *extra)
{
    return send_json(c, r, "PUT", path, "Content-Type: application/json", json, extra);
}

bool e2e_patch(e2e_client_t *c, e2e_resp_t *r, const char *path, const char *json,
               const char *extra)
{
    return send_json(c, r, "PATCH", path, "Content-Type: application/merge-patch+json", json,
                     extra);
}

bool e2e_is_problem(const e2e_resp_t *r, long status)
{
    const char *why = NULL;
    const char *ct = e2e_header(r, "Content-Type");
    json_t *st = json_object_get(r->json, "status");
    if (r->status != status)
        why = "wrong status";
    else if (!ct || strncasecmp(ct, "application/problem+json", 24) != 0)
        why = "Content-Type is not application/problem+json";
    else if (!json_is_object(r->json))
        why = "body is not a JSON object";
    else if (!json_is_string(json_object_get(r->json, "type")) ||
             json_string_length(json_object_get(r->json, "type")) == 0)
        why = "no \"type\" string";
    else if (!json_is_string(json_object_get(r->json, "title")))
        why = "no \"title\" string";
    else if (!json_is_string(json_object_get(r->json, "detail")))
        why = "no \"detail\" string";
    else if (!json_is_integer(st) || json_integer_value(st) != status)
        why = "\"status\" member differs from the HTTP status";
    if (!why)
        return true;
    fprintf(stderr, "  %s %s: not a %ld problem (%s): status %ld, Content-Type %s, body %.300s\n",
            r->method, r->path, status, why, r->status, ct ? ct : "(none)", r->body ? r->body : "");
    return false;
}

const char *e2e_str(const e2e_resp_t *r, const char *key)
{
    return json_string_value(json_object_get(r->json, key));
}

bool e2e_json_lacks_key(const json_t *v, const char *key)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)v, k, m)
        {
            if (strcmp(k, key) == 0 || !e2e_json_lacks_key(m, key))
                return false;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m)
        {
            if (!e2e_json_lacks_key(m, key))
                return false;
        }
    }
    return true;
}

bool e2e_wait_status(const char *base_url, const char *path, long status, int timeout_ms)
{
    int64_t deadline = e2e_now_ms() + timeout_ms;
    e2e_client_t c;
    e2e_client_init(&c, base_url);
    c.timeout_ms = 5000;
    e2e_resp_t r = {0};
    bool ok = false;
    while (!ok && e2e_now_ms() < deadline) {
        ok = e2e_get(&c, &r, path) && r.status == status;
        if (!ok)
            e2e_sleep_ms(100);
    }
    e2e_resp_free(&r);
    e2e_client_release(&c);
    return ok;
}

/* ---- strings ------------------------------------------------------------------------------- */

#define RING 32
static char *ring[RING];
static unsigned ring_next;

static char *ring_slot(size_t size)
{
    unsigned i = ring_next++ % RING;
    char *p = realloc(ring[i], size);
    if (!p)
        abort();
    ring[i] = p;
    return p;
}

const char *Q(const char *s)
{
    size_t n = strlen(s);
    char *out = ring_slot(n + 1);
    for (size_t i = 0; i <= n; i++)
        out[i] = s[i] == '\'' ? '"' : s[i];
    return out;
}

const char *U(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = ring_slot(3 * n + 1), *p = out;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            *p++ = (char)ch;
        } else {
            *p++ = '%';
            *p++ = hex[ch >> 4];
            *p++ = hex[ch & 15];
        }
    }
    *p = '\0';
    return out;
}

const char *F(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *out = ring_slot((size_t)(n < 0 ? 0 : n) + 1);
    va_start(ap, fmt);
    vsnprintf(out, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return out;
}

/* ---- the usual set-up ---------------------------------------------------------------------- */

bool e2e_env_up(e2e_env_t *env, const char *const *args)
{
    memset(env, 0, sizeof *env);
    env->db = e2e_db_start();
    if (!env->db) {
        fprintf(stderr, "e2e: the test database did not start\n");
        return false;
    }
    e2e_odmd_opts_t opts = {.mongo_uri = e2e_db_uri(env->db), .schemas = e2e_schemas_with_extras()};
    for (size_t i = 0; args && args[i] && i + 1 < E2E_MAX_ARGS; i++)
        opts.args[i] = args[i];
    if (!e2e_odmd_start(&env->odmd, &opts))
        return false;
    e2e_client_init(&env->c, env->odmd.url);
    if (!e2e_wait_status(env->odmd.url, "/readyz", 200, 30000)) {
        fprintf(stderr, "e2e: /readyz did not answer 200\n");
        return false;
    }
    int64_t deadline = e2e_now_ms() + 30000;
    while (!e2e_mongo_has_unique_index(e2e_db_uri(env->db), env->odmd.db_name, "users", "email")) {
        if (e2e_now_ms() > deadline) {
            fprintf(stderr, "e2e: no unique index on users.email 30 s after startup\n");
            return false;
        }
        e2e_sleep_ms(50);
    }
    return true;
}

int e2e_env_down(e2e_env_t *env)
{
    int status = env->odmd.pid > 0 ? e2e_odmd_stop(&env->odmd, 20000) : env->odmd.exit_status;
    e2e_client_release(&env->c);
    e2e_db_stop(env->db);
    env->db = NULL;
    return status;
}
