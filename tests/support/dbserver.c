/* Test database server as a child process: start, wait until ready, pause, kill, restart. */
#include "support/dbserver.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef ODMD_SOURCE_DIR
#define ODMD_SOURCE_DIR "."
#endif

enum { STOP_GRACE_MS = 5000, DEFAULT_START_MS = 120000, LINE_MAX_BYTES = 512 };

static bool fail(odm_test_db_t *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool fail(odm_test_db_t *db, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(db->error, sizeof db->error, fmt, ap);
    va_end(ap);
    return false;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int start_timeout_ms(void)
{
    const char *s = getenv("ODMD_TEST_DB_START_MS");
    int v = s ? atoi(s) : 0;
    return v > 0 ? v : DEFAULT_START_MS;
}

/* Reaps the child if it exited; true when it is gone. */
static bool child_gone(odm_test_db_t *db, int *status)
{
    pid_t r = waitpid(db->pid, status, WNOHANG);
    if (r == db->pid || (r < 0 && errno == ECHILD)) {
        db->pid = 0;
        return true;
    }
    return false;
}

/* Waits up to ms for the child to exit; true when it did (and was reaped). */
static bool wait_gone(odm_test_db_t *db, int ms)
{
    int status;
    long long until = now_ms() + ms;
    while (!child_gone(db, &status)) {
        if (now_ms() >= until)
            return false;
        sleep_ms(10);
    }
    return true;
}

/* fork + exec argv with stdout to out_fd and stderr to the server's log (each inherited when
 * -1), in a process that dies with its parent (a crashed test leaves no server behind). */
static pid_t spawn(char *const argv[], int out_fd, int err_fd, bool no_telemetry)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (out_fd >= 0 && dup2(out_fd, STDOUT_FILENO) < 0)
        _exit(127);
    if (err_fd >= 0 && dup2(err_fd, STDERR_FILENO) < 0)
        _exit(127);
    if (no_telemetry)
        setenv("DO_NOT_TRACK", "1", 1);
    execv(argv[0], argv);
    _exit(127);
}

/* Reads the launcher's "listening 127.0.0.1:PORT" line within the start timeout. */
static bool read_listening(odm_test_db_t *db)
{
    char line[LINE_MAX_BYTES];
    size_t len = 0;
    long long until = now_ms() + start_timeout_ms();
    for (;;) {
        char *nl = memchr(line, '\n', len);
        if (nl != NULL) {
            *nl = '\0';
            int port = 0;
            if (sscanf(line, "listening 127.0.0.1:%d", &port) == 1 && port > 0) {
                db->port = port;
                return true;
            }
            memmove(line, nl + 1, len - (size_t)(nl + 1 - line));
            len -= (size_t)(nl + 1 - line);
            continue;
        }
        long long left = until - now_ms();
        if (left <= 0)
            return fail(db, "no 'listening' line from the launcher within %d ms",
                        start_timeout_ms());
        if (len == sizeof line)
            return fail(db, "launcher line too long");
        struct pollfd p = {.fd = db->out_fd, .events = POLLIN};
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return fail(db, "poll: %s", strerror(errno));
        if (r == 0)
            continue;
        ssize_t n = read(db->out_fd, line + len, sizeof line - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return fail(db, "the launcher exited before it listened");
        len += (size_t)n;
    }
}

/* The server's stderr: dir/server.log (appended across restarts), or the test's own stderr
 * with ODMD_TEST_DB_VERBOSE=1. Returns: a descriptor to close, or -1. */
static int open_log(const odm_test_db_t *db)
{
    const char *verbose = getenv("ODMD_TEST_DB_VERBOSE");
    if (verbose != NULL && strcmp(verbose, "1") == 0)
        return -1;
    char path[sizeof db->dir + 16];
    snprintf(path, sizeof path, "%s/server.log", db->dir);
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

/* Appends the end of the server's log to db->error: why it did not start. */
static void append_log_tail(odm_test_db_t *db)
{
    char path[sizeof db->dir + 16];
    snprintf(path, sizeof path, "%s/server.log", db->dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char tail[160];
    off_t end = lseek(fd, 0, SEEK_END);
    off_t from = end > (off_t)sizeof tail - 1 ? end - (off_t)sizeof tail + 1 : 0;
    ssize_t n = pread(fd, tail, sizeof tail - 1, from);
    close(fd);
    if (n <= 0)
        return;
    tail[n] = '\0';
    for (char *p = tail; *p; p++)
        if (*p == '\n')
            *p = ' ';
    size_t len = strlen(db->error);
    snprintf(db->error + len, sizeof db->error - len, " (log: ...%s)", tail);
}

/* ---- readiness: a MongoDB wire-protocol ping answered with ok: 1 ---- */

enum { OP_MSG = 2013, PING_TIMEOUT_MS = 2000, REPLY_MAX_BYTES = 64 * 1024 };

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* An OP_MSG carrying {ping: 1, $db: "admin"} (a command MongoDB, FerretDB and
 * mongo-java-server all answer; the latter has no "hello"); returns its length (51). */
static size_t build_ping(unsigned char *msg)
{
    static const unsigned char doc[] = {
        30,   0,   0,   0,                       /* document length */
        0x10, 'p', 'i', 'n', 'g', 0, 1, 0, 0, 0, /* ping: int32 1 */
        0x02, '$', 'd', 'b', 0,   6, 0, 0, 0,    /* $db: string of 6 bytes */
        'a',  'd', 'm', 'i', 'n', 0,             /* "admin" */
        0};
    size_t len = 16 + 4 + 1 + sizeof doc;
    put_le32(msg, (uint32_t)len);
    put_le32(msg + 4, 1); /* requestID */
    put_le32(msg + 8, 0); /* responseTo */
    put_le32(msg + 12, OP_MSG);
    put_le32(msg + 16, 0); /* flagBits */
    msg[20] = 0;           /* section kind 0: the body */
    memcpy(msg + 21, doc, sizeof doc);
    return len;
}

/* *size gets the size of a BSON value of this type at p (end: the document's end). Returns:
 * false for a type this reader does not know, or a length running past end. */
static bool bson_value_size(unsigned char type, const unsigned char *p, const unsigned char *end,
                            size_t *size)
{
    static const signed char fixed[] = {[0x01] = 8, [0x07] = 12, [0x08] = 1, [0x09] = 8, [0x0A] = 0,
                                        [0x10] = 4, [0x11] = 8,  [0x12] = 8, [0x13] = 16};
    size_t left = (size_t)(end - p);
    if (type < sizeof fixed && (fixed[type] > 0 || type == 0x0A)) {
        *size = (size_t)fixed[type];
    } else if (left >= 4 && (type == 0x02 || type == 0x0D || type == 0x0E)) {
        *size = 4 + (size_t)get_le32(p); /* string, code, symbol */
    } else if (left >= 4 && (type == 0x03 || type == 0x04)) {
        *size = get_le32(p); /* document, array */
    } else if (left >= 4 && type == 0x05) {
        *size = 4 + 1 + (size_t)get_le32(p); /* binary */
    } else {
        return false;
    }
    return *size <= left;
}

/* True when the value of this type at p is the number 1 (a double, int32 or int64). */
static bool bson_is_one(unsigned char type, const unsigned char *p)
{
    if (type == 0x10)
        return get_le32(p) == 1;
    if (type != 0x01 && type != 0x12)
        return false;
    uint64_t u = (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
    double d;
    memcpy(&d, &u, sizeof d); /* IEEE 754 doubles, little-endian on the wire */
    return type == 0x12 ? u == 1 : d == 1.0;
}

/* True when the BSON document [doc, end) has "ok" equal to 1. */
static bool bson_ok_is_one(const unsigned char *doc, const unsigned char *end)
{
    if (end - doc < 5 || get_le32(doc) > (size_t)(end - doc))
        return false;
    end = doc + get_le32(doc) - 1; /* the terminating 0 */
    const unsigned char *p = doc + 4;
    while (p < end) {
        unsigned char type = *p++;
        const unsigned char *key = p;
        p = memchr(p, '\0', (size_t)(end - p));
        if (p == NULL)
            return false;
        p++;
        size_t size;
        if (!bson_value_size(type, p, end, &size))
            return false;
        if (strcmp((const char *)key, "ok") == 0)
            return bson_is_one(type, p); /* its size was checked against end */
        p += size;
    }
    return false;
}

/* Reads exactly n bytes; false on error, timeout (SO_RCVTIMEO) or end of stream. */
static bool read_full(int s, unsigned char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(s, buf + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

/* Connects to 127.0.0.1:port, sends a ping and reads the answer within PING_TIMEOUT_MS.
 * Returns: true when the answer is an OP_MSG whose body says ok: 1; false when nothing listens,
 * or what listens does not answer the MongoDB wire protocol in time. */
static bool answers_ping(int port)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return false;
    struct timeval tv = {PING_TIMEOUT_MS / 1000, (PING_TIMEOUT_MS % 1000) * 1000};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    unsigned char msg[64], header[16];
    unsigned char *reply = NULL;
    bool ok = false;
    size_t len = build_ping(msg);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0 ||
        send(s, msg, len, MSG_NOSIGNAL) != (ssize_t)len || !read_full(s, header, sizeof header))
        goto close_socket;
    uint32_t total = get_le32(header);
    if (get_le32(header + 12) != OP_MSG || total < 16 + 4 + 1 + 5 || total > REPLY_MAX_BYTES)
        goto close_socket;
    reply = malloc(total - 16);
    if (reply == NULL || !read_full(s, reply, total - 16))
        goto free_reply;
    /* flagBits (4), section kind 0 (1), then the body document */
    ok = reply[4] == 0 && bson_ok_is_one(reply + 5, reply + (total - 16));
free_reply:
    free(reply);
close_socket:
    close(s);
    return ok;
}

static bool start_java(odm_test_db_t *db)
{
    char path[512];
    snprintf(path, sizeof path, "%s", ODMD_SOURCE_DIR "/scripts/mongo-java-server");
    char port[16];
    snprintf(port, sizeof port, "%d", db->port);
    char *argv[] = {path, "--memory", "--port", port, NULL};
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return fail(db, "pipe: %s", strerror(errno));
    int log_fd = open_log(db);
    db->pid = spawn(argv, fds[1], log_fd, false);
    close(fds[1]);
    if (log_fd >= 0)
        close(log_fd);
    db->out_fd = fds[0];
    if (db->pid < 0) {
        db->pid = 0;
        return fail(db, "fork: %s", strerror(errno));
    }
    if (!read_listening(db))
        return false;
    return answers_ping(db->port) ||
           fail(db, "the launcher listens on port %d but does not answer a ping with ok: 1",
                db->port);
}

/* A port the kernel considers free now (FerretDB cannot report the one it picked). */
static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return 0;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    int port = 0;
    if (bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(s, (struct sockaddr *)&a, &alen) == 0)
        port = ntohs(a.sin_port);
    close(s);
    return port;
}

static bool start_ferretdb(odm_test_db_t *db)
{
    const char *bin = getenv("ODMD_FERRETDB_BIN");
    if (bin == NULL || bin[0] == '\0')
        return fail(db, "ODMD_TEST_BACKEND=ferretdb needs ODMD_FERRETDB_BIN");
    if (db->port == 0 && (db->port = free_port()) == 0)
        return fail(db, "no free port");
    char prog[512], sqlite[128], listen[64], state[96];
    snprintf(prog, sizeof prog, "%s", bin);
    snprintf(sqlite, sizeof sqlite, "--sqlite-url=file:%s/", db->dir);
    snprintf(listen, sizeof listen, "--listen-addr=127.0.0.1:%d", db->port);
    snprintf(state, sizeof state, "--state-dir=%s", db->dir);
    char *argv[] = {prog,  "--handler=sqlite", sqlite, listen, "--telemetry=disable",
                    state, "--debug-addr=-",   NULL};
    int log_fd = open_log(db);
    db->pid = spawn(argv, -1, log_fd, true);
    if (log_fd >= 0)
        close(log_fd);
    if (db->pid < 0) {
        db->pid = 0;
        return fail(db, "fork: %s", strerror(errno));
    }
    long long until = now_ms() + start_timeout_ms();
    int status;
    while (!answers_ping(db->port)) {
        if (child_gone(db, &status))
            return fail(db, "ferretdb exited at start (status %d)", status);
        if (now_ms() >= until)
            return fail(db, "ferretdb did not answer a ping with ok: 1 on port %d in time",
                        db->port);
        sleep_ms(50);
    }
    return true;
}

static bool launch(odm_test_db_t *db)
{
    db->error[0] = '\0';
    db->paused = false;
    if (db->dir[0] == '\0') {
        snprintf(db->dir, sizeof db->dir, "/tmp/odmd-testdb-XXXXXX");
        if (mkdtemp(db->dir) == NULL) {
            db->dir[0] = '\0';
            return fail(db, "mkdtemp: %s", strerror(errno));
        }
    }
    bool ok = db->ferretdb ? start_ferretdb(db) : start_java(db);
    if (ok) {
        snprintf(db->uri, sizeof db->uri, "mongodb://127.0.0.1:%d", db->port);
        return true;
    }
    append_log_tail(db);
    if (db->pid > 0) {
        kill(db->pid, SIGKILL);
        wait_gone(db, STOP_GRACE_MS);
    }
    if (db->out_fd >= 0) {
        close(db->out_fd);
        db->out_fd = -1;
    }
    return false;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    remove(path); /* keep going on failure: a leftover temp file is harmless */
    return 0;
}

static void remove_dir(odm_test_db_t *db)
{
    if (db->dir[0] != '\0') {
        nftw(db->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        db->dir[0] = '\0';
    }
}

bool odm_test_db_start(odm_test_db_t *db)
{
    const char *backend = getenv("ODMD_TEST_BACKEND");
    memset(db, 0, sizeof *db);
    db->out_fd = -1;
    if (backend != NULL && strcmp(backend, "ferretdb") == 0)
        db->ferretdb = true;
    else if (backend != NULL && backend[0] != '\0' && strcmp(backend, "mongo-java-server") != 0)
        return fail(db, "unknown ODMD_TEST_BACKEND '%s'", backend);
    if (launch(db))
        return true;
    remove_dir(db);
    return false;
}

bool odm_test_db_restart(odm_test_db_t *db)
{
    if (db->pid != 0)
        return fail(db, "the server still runs (pid %d)", (int)db->pid);
    if (db->port == 0)
        return fail(db, "never started");
    if (db->out_fd >= 0) {
        close(db->out_fd);
        db->out_fd = -1;
    }
    /* A port just freed by a killed server can be taken by nothing else but may linger in
     * the kernel for a moment: try for a while. */
    long long until = now_ms() + 10000;
    while (!launch(db)) {
        if (now_ms() >= until)
            return false;
        sleep_ms(200);
    }
    return true;
}

static bool send_signal(odm_test_db_t *db, int sig)
{
    if (db->pid == 0)
        return fail(db, "no server runs");
    if (kill(db->pid, sig) < 0)
        return fail(db, "kill(%d): %s", sig, strerror(errno));
    return true;
}

/* True when every thread of pid is in the stopped state ('T' in /proc/PID/task/TID/stat). */
static bool all_threads_stopped(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return false;
    bool stopped = true;
    struct dirent *e;
    while (stopped && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char stat_path[384], buf[512];
        snprintf(stat_path, sizeof stat_path, "%s/%s/stat", path, e->d_name);
        FILE *f = fopen(stat_path, "r");
        if (!f)
            continue; /* the thread just ended */
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        const char *close = strrchr(buf, ')'); /* "TID (comm) STATE ..." */
        stopped = close && close[1] == ' ' && (close[2] == 'T' || close[2] == 't');
    }
    closedir(d);
    return stopped;
}

bool odm_test_db_pause(odm_test_db_t *db)
{
    if (!send_signal(db, SIGSTOP))
        return false;
    db->paused = true;
    /* SIGSTOP takes effect asynchronously: wait until every thread has actually stopped, so
     * that nothing a test sends next can still be answered. */
    long long until = now_ms() + 5000;
    while (!all_threads_stopped(db->pid)) {
        if (now_ms() > until)
            return fail(db, "the database (pid %d) did not stop within 5 s of SIGSTOP",
                        (int)db->pid);
        struct timespec ms = {0, 1000 * 1000};
        nanosleep(&ms, NULL);
    }
    return true;
}

bool odm_test_db_resume(odm_test_db_t *db)
{
    if (!send_signal(db, SIGCONT))
        return false;
    db->paused = false;
    return true;
}

bool odm_test_db_kill(odm_test_db_t *db)
{
    if (!send_signal(db, SIGKILL))
        return false;
    db->paused = false;
    if (!wait_gone(db, STOP_GRACE_MS))
        return fail(db, "the server survived SIGKILL");
    return true;
}

void odm_test_db_stop(odm_test_db_t *db)
{
    if (db->pid > 0) {
        if (db->paused)
            kill(db->pid, SIGCONT);
        kill(db->pid, SIGTERM);
        if (!wait_gone(db, STOP_GRACE_MS)) {
            kill(db->pid, SIGKILL);
            wait_gone(db, STOP_GRACE_MS);
        }
    }
    db->pid = 0;
    db->paused = false;
    if (db->out_fd >= 0) {
        close(db->out_fd);
        db->out_fd = -1;
    }
    remove_dir(db);
}
