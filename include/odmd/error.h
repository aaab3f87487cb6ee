/* odmd's one error type: a kind (which fixes the HTTP status and problem type) and a message. */
#ifndef ODMD_ERROR_H
#define ODMD_ERROR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "odmd/buf.h"

/* Every kind maps to one HTTP status and one problem type URI through one table (error.c). */
typedef enum {
    ODM_ERR_NONE = 0,
    ODM_ERR_BAD_REQUEST,        /* 400 generic malformed request */
    ODM_ERR_MALFORMED_JSON,     /* 400 body is not JSON (line/column in the message) */
    ODM_ERR_BAD_QUERY,          /* 400 limit/skip/sort/fields/filter */
    ODM_ERR_BAD_ID,             /* 400 id malformed for the model's _id type */
    ODM_ERR_UNAUTHORIZED,       /* 401 */
    ODM_ERR_NOT_FOUND,          /* 404 unknown model, route or document */
    ODM_ERR_METHOD_NOT_ALLOWED, /* 405 */
    ODM_ERR_CONFLICT,           /* 409 duplicate key, exhausted retries */
    ODM_ERR_PRECONDITION,       /* 412 If-Match does not match */
    ODM_ERR_TOO_LARGE,          /* 413 */
    ODM_ERR_MEDIA_TYPE,         /* 415 */
    ODM_ERR_VALIDATION,         /* 422 schema or model-rule violation */
    ODM_ERR_INTERNAL,           /* 500 */
    ODM_ERR_UNAVAILABLE,        /* 503 database unreachable, queue full, draining */
    ODM_ERR_TIMEOUT,            /* 504 deadline passed */
    ODM_ERR_CONFIG,             /* startup: bad option or model file (exit 2) */
    ODM_ERR_SCHEMA,             /* a schema that cannot be compiled (exit 2) */
    ODM_ERR_IO,                 /* a file that cannot be read */
    /* 428 a PUT, PATCH or DELETE without the If-Match its model requires */
    ODM_ERR_PRECONDITION_REQUIRED,
    ODM_ERR_FORBIDDEN,         /* 403 the caller lacks the scope the request needs */
    ODM_ERR_TOO_MANY_REQUESTS, /* 429 a rate limit (--rate-limit) is spent */
    ODM_ERR__COUNT
} odm_error_kind_t;

#define ODM_ERROR_MSG_MAX 512

typedef struct {
    odm_error_kind_t kind;
    char message[ODM_ERROR_MSG_MAX]; /* lowercase, no final period, subject quoted */
} odm_error_t;

/* Sets kind and a formatted message; err may be NULL (then nothing happens). Returns false so
 * that `return odm_error_set(...)` reads as a failure. */
bool odm_error_set(odm_error_t *err, odm_error_kind_t kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool odm_error_setv(odm_error_t *err, odm_error_kind_t kind, const char *fmt, va_list ap);

/* Prepends "prefix: " to the message, keeping the kind (for "file: pointer: reason"). */
void odm_error_prefix(odm_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void odm_error_clear(odm_error_t *err);

/* The HTTP status of a kind (500 for kinds that never reach HTTP). */
int odm_error_status(odm_error_kind_t kind);

/* Returns: a new application/problem+json body {type, title, status, detail[, errors]} as a
 * malloc'd NUL-terminated string (caller frees), *len set to its length; NULL on out of memory.
 * type is the kind's stable URI ("urn:odmd:problem:validation"), title its short title
 * ("Validation failed"), status odm_error_status, detail the message (else the title).
 * `errors` (borrowed, may be NULL) is the validator's array of violations, added as "errors".
 * The bytes are json_dumps's with JSON_COMPACT. */
char *odm_problem_body(const odm_error_t *err, const json_t *errors, size_t *len);

/* Writes the value of a problem's "errors" member from `errors` (borrowed) into b. Returns
 * false when it does not fit or on out of memory. */
typedef bool odm_problem_errors_fn(odm_buf_t *b, const void *errors);

/* The odm_problem_errors_fn of a jansson value (a const json_t *), as odm_problem_body writes
 * it. */
bool odm_problem_put_json(odm_buf_t *b, const void *errors);

/* odm_problem_body with the "errors" member written by `write` (none when `write` is NULL):
 * violations kept in another form than jansson's go straight into the body. */
char *odm_problem_body_with(const odm_error_t *err, odm_problem_errors_fn *write,
                            const void *errors, size_t *len);

#endif
