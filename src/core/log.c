/* The logger: JSON lines on stderr, one write(2) per line so that threads never interleave. */
#include "odmd/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "odmd/buf.h"

static atomic_int current_level = ODM_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void odm_log_set_level(odm_log_level_t level)
{
    atomic_store(&current_level, (int)level);
}

bool odm_log_enabled(odm_log_level_t level)
{
    return level != ODM_LOG_OFF && (int)level >= atomic_load(&current_level);
}

bool odm_log_parse_level(const char *s, odm_log_level_t *out)
{
    for (int i = 0; i <= ODM_LOG_OFF; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (odm_log_level_t)i;
            return true;
        }
    }
    return false;
}

/* The calendar part of a time is made once a second per thread (gmtime_r and strftime cost
 * about 2k instructions, on every access-log line). */
void odm_log_time(char *out, unsigned size)
{
    static _Thread_local time_t cached_second = -1;
    static _Thread_local char cached[24]; /* "YYYY-MM-DDTHH:MM:SS" */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != cached_second) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        if (strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
            cached[0] = '\0';
        cached_second = ts.tv_sec;
    }
    size_t n = strlen(cached);
    if (size < n + 6) { /* ".mmmZ" and the NUL: never with the documented 32 bytes */
        snprintf(out, size, "%s", cached);
        return;
    }
    long ms = ts.tv_nsec / 1000000;
    memcpy(out, cached, n);
    out[n] = '.';
    out[n + 1] = (char)('0' + ms / 100);
    out[n + 2] = (char)('0' + ms / 10 % 10);
    out[n + 3] = (char)('0' + ms % 10);
    out[n + 4] = 'Z';
    out[n + 5] = '\0';
}

static void write_line(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, p, n);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

void odm_log_write_lines(const char *lines, size_t len)
{
    write_line(lines, len);
}

void odm_log(odm_log_level_t level, const char *fmt, ...)
{
    if (!odm_log_enabled(level))
        return;
    char msg[1024], now[40];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    odm_log_time(now, sizeof now);
    odm_buf_t b;
    odm_buf_init(&b, 8192);
    odm_buf_printf(&b, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":", now, level_names[level]);
    odm_buf_json_string(&b, msg, strlen(msg));
    odm_buf_putc(&b, '}');
    odm_buf_putc(&b, '\n');
    write_line(odm_buf_cstr(&b), b.len);
    odm_buf_release(&b);
}
