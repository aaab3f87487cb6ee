/* The standard process_* metrics of Prometheus's client libraries, read from Linux's /proc. */
#include "odmd/metrics.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define STAT_MAX 4096 /* /proc/self/stat is one line of a few hundred bytes */

/* What /proc/self/stat and /proc/stat give. */
typedef struct {
    bool ok;
    double cpu_seconds;
    double start_time; /* since the epoch */
    unsigned long long vsize;
    unsigned long long rss_pages;
} proc_stat_t;

/* Reads a small /proc file whole into buf (NUL-terminated). Returns: false when it cannot. */
static bool read_small(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    size_t len = 0;
    ssize_t n;
    while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) > 0)
        len += (size_t)n;
    close(fd);
    buf[len] = '\0';
    return len > 0;
}

/* The boot time (btime of /proc/stat), seconds since the epoch; 0 when unknown. */
static unsigned long long boot_time(void)
{
    FILE *f = fopen("/proc/stat", "re");
    if (f == NULL)
        return 0;
    char line[256];
    unsigned long long btime = 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "btime %llu", &btime) == 1)
            break;
    fclose(f);
    return btime;
}

/* Fields 14-15 (utime, stime), 22 (starttime), 23 (vsize) and 24 (rss) of proc(5), counted
 * after the command name, which may itself hold spaces and parentheses. */
static proc_stat_t read_stat(void)
{
    proc_stat_t st = {0};
    char buf[STAT_MAX];
    long ticks = sysconf(_SC_CLK_TCK);
    if (!read_small("/proc/self/stat", buf, sizeof buf) || ticks <= 0)
        return st;
    const char *p = strrchr(buf, ')');
    unsigned long long utime, stime, start, vsize, rss;
    if (p == NULL || sscanf(p + 2,
                            "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d "
                            "%*d %*d %*d %llu %llu %llu",
                            &utime, &stime, &start, &vsize, &rss) != 5)
        return st;
    st.ok = true;
    st.cpu_seconds = (double)(utime + stime) / (double)ticks;
    st.start_time = (double)boot_time() + (double)start / (double)ticks;
    st.vsize = vsize;
    st.rss_pages = rss;
    return st;
}

/* Open descriptors: the entries of /proc/self/fd, less the one reading it. -1 when unknown. */
static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;
}

static bool gauge(odm_buf_t *out, const char *name, const char *type, const char *help, double v)
{
    return odm_metrics_family(out, name, type, help) && odm_metrics_sample_f64(out, name, NULL, v);
}

bool odm_metrics_write_process(odm_buf_t *out)
{
    proc_stat_t st = read_stat();
    long page = sysconf(_SC_PAGESIZE);
    bool ok = true;
    if (st.ok)
        ok = gauge(out, "process_cpu_seconds_total", "counter",
                   "Total user and system CPU time spent in seconds", st.cpu_seconds) &&
             gauge(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes",
                   (double)st.rss_pages * (double)(page > 0 ? page : 4096)) &&
             gauge(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes",
                   (double)st.vsize) &&
             gauge(out, "process_start_time_seconds", "gauge",
                   "Start time of the process since unix epoch in seconds", st.start_time);
    long fds = open_fds();
    if (ok && fds >= 0)
        ok =
            gauge(out, "process_open_fds", "gauge", "Number of open file descriptors", (double)fds);
    struct rlimit lim;
    if (ok && getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY)
        ok = gauge(out, "process_max_fds", "gauge", "Maximum number of open file descriptors",
                   (double)lim.rlim_cur);
    return ok;
}
