/* odmd's logger: one JSON object per line on stderr, filtered by level. Thread-safe. */
#ifndef ODMD_LOG_H
#define ODMD_LOG_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    ODM_LOG_DEBUG,
    ODM_LOG_INFO,
    ODM_LOG_WARN,
    ODM_LOG_ERROR,
    ODM_LOG_OFF
} odm_log_level_t;

void odm_log_set_level(odm_log_level_t level);
bool odm_log_enabled(odm_log_level_t level);

/* Parses "debug", "info", "warn", "error", "off"; false when unknown. */
bool odm_log_parse_level(const char *s, odm_log_level_t *out);

/* Writes {"time", "level", "msg"} with msg formatted; one write(2) per line. */
void odm_log(odm_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes whole preformatted lines (each ending in '\n') in one write(2), regardless of the
 * level. Up to PIPE_BUF (4096) bytes they reach a pipe unsplit, so that batching lines keeps
 * them from interleaving with other threads' lines. */
void odm_log_write_lines(const char *lines, size_t len);

/* Formats the current UTC time as RFC 3339 with milliseconds into out (at least 32 bytes). */
void odm_log_time(char *out, unsigned size);

#define odm_debug(...) odm_log(ODM_LOG_DEBUG, __VA_ARGS__)
#define odm_info(...) odm_log(ODM_LOG_INFO, __VA_ARGS__)
#define odm_warn(...) odm_log(ODM_LOG_WARN, __VA_ARGS__)
#define odm_err(...) odm_log(ODM_LOG_ERROR, __VA_ARGS__)

#endif
