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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
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

static bool start_java(odm_test_db_t *db)
{
    const char *launcher = getenv("ODMD_MONGO_JAVA_SERVER");
    char path[512];
    snprintf(path, sizeof path, "%s", launcher ? launcher : ODMD_SOURCE_DIR "/scripts/mongo-java-server");
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
    return read_listening(db);
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

static bool accepts(int port)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return false;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = connect(s, (struct sockaddr *)&a, sizeof a) == 0;
    close(s);
    return ok;
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
    while (!accepts(db->port)) {
        if (child_gone(db, &status))
            return fail(db, "ferretdb exited at start (status %d)", status);
        if (now_ms() >= until)
            return fail(db, "ferretdb did not accept on port %d in time", db->port);
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
