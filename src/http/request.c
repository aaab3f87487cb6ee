/* Request contexts: accessors for the handler and preparation of the response. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/internal.h"
#include "odmd/clock.h"
#include "odmd/log.h"

odm_method_t odm_request_method(const odm_request_t *req)
{
    return req->method;
}

const char *odm_request_path(const odm_request_t *req)
{
    return req->path;
}

const char *odm_request_raw_path(const odm_request_t *req)
{
    return req->raw_path ? req->raw_path : req->path;
}

const char *odm_request_header(const odm_request_t *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *odm_request_query(const odm_request_t *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

struct each_query {
    bool (*fn)(const char *, const char *, void *);
    void *arg;
    bool ok;
};

static enum MHD_Result each_query_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    struct each_query *eq = cls;
    (void)kind;
    if (!eq->fn(key, value ? value : "", eq->arg)) {
        eq->ok = false;
        return MHD_NO;
    }
    return MHD_YES;
}

bool odm_request_each_query(const odm_request_t *req,
                            bool (*fn)(const char *key, const char *value, void *arg), void *arg)
{
    struct each_query eq = {fn, arg, true};
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, each_query_cb, &eq);
    return eq.ok;
}

const char *odm_request_body(const odm_request_t *req, size_t *len)
{
    *len = req->body.len;
    return req->body.data ? req->body.data : "";
}

bool odm_request_has_body(const odm_request_t *req)
{
    return req->body_seen > 0 || req->declared_body;
}

bool odm_request_body_too_large(const odm_request_t *req)
{
    return req->body_too_large;
}

const char *odm_request_id(const odm_request_t *req)
{
    return req->request_id;
}

int64_t odm_request_deadline_ms(const odm_request_t *req)
{
    return req->deadline_ms;
}

void odm_request_set_state(odm_request_t *req, void *state, void (*free_fn)(void *))
{
    if (req->state_free)
        req->state_free(req->state);
    req->state = state;
    req->state_free = free_fn;
}

void odm_request_add_header(odm_request_t *req, const char *name, const char *value)
{
    if (req->n_headers == HTTP__MAX_HEADERS) {
        odm_warn("response header '%s' dropped: at most %d", name, HTTP__MAX_HEADERS);
        return;
    }
    char *copy = strdup(value);
    if (copy == NULL)
        return;
    req->headers[req->n_headers].name = name;
    req->headers[req->n_headers].value = copy;
    req->n_headers++;
}

void odm_request_reply(odm_request_t *req, int status, const char *content_type, char *body,
                       size_t len)
{
    free(req->resp_body);
    req->status = status;
    req->content_type = content_type;
    req->resp_body = body;
    req->resp_len = body ? len : 0;
}

int odm_request_response(const odm_request_t *req, const char **content_type, const char **body,
                         size_t *len)
{
    *content_type = req->content_type;
    *body = req->resp_body;
    *len = req->resp_len;
    return req->status;
}

const char *odm_request_response_header(const odm_request_t *req, const char *name)
{
    for (unsigned i = 0; i < req->n_headers; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

void odm_request_reply_json(odm_request_t *req, int status, const json_t *value)
{
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    if (text == NULL) {
        odm_error_t err;
        odm_error_set(&err, ODM_ERR_INTERNAL, "out of memory");
        odm_request_fail(req, &err, NULL);
        return;
    }
    odm_request_reply(req, status, "application/json", text, strlen(text));
}

void odm_request_fail_with(odm_request_t *req, const odm_error_t *err, odm_problem_errors_fn *write,
                           const void *errors)
{
    size_t len = 0;
    int status = odm_error_status(err->kind);
    odm_error_t hidden;
    if (status == 500) {
        /* an internal message may quote the database or the code: it goes to the log only */
        odm_err("request %s: %s", req->request_id, err->message);
        odm_error_set(&hidden, ODM_ERR_INTERNAL, "internal error: the log has request %s",
                      req->request_id);
        err = &hidden;
    }
    const char *content_type = "application/problem+json";
    char *body = req->fail_body != NULL
                     ? req->fail_body(req, err, write, errors, &status, &content_type, &len)
                     : odm_problem_body_with(err, write, errors, &len);
    if (err->kind == ODM_ERR_UNAVAILABLE)
        odm_request_add_header(req, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    if (err->kind == ODM_ERR_UNAUTHORIZED &&
        odm_request_response_header(req, MHD_HTTP_HEADER_WWW_AUTHENTICATE) == NULL)
        odm_request_add_header(req, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    odm_request_reply(req, status, content_type, body, body ? len : 0);
}

void odm_request_set_fail_body(odm_request_t *req, odm_fail_body_fn *fn)
{
    req->fail_body = fn;
}

void odm_request_fail(odm_request_t *req, const odm_error_t *err, const json_t *errors)
{
    odm_request_fail_with(req, err, errors != NULL ? odm_problem_put_json : NULL, errors);
}

void odm_request_suspend(odm_request_t *req)
{
    atomic_fetch_add(&req->server->suspended, 1);
    req->phase = HTTP__SUSPENDED;
    http__conns_busy(req->server, req->conn); /* before: the bounds never touch it again */
    MHD_suspend_connection(req->conn);
}

void odm_request_resume(odm_request_t *req)
{
    odm_http_server_t *server = req->server;
    MHD_resume_connection(req->conn);
    /* req may be gone from here on: only the server is touched */
    atomic_fetch_sub(&server->suspended, 1);
}
