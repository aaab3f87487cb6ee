/* Model lifecycle rules of the API: writes that x-requireIfMatch makes conditional (428). */
#include "api/internal.h"

#include <string.h>

/* Whether a precondition header is "*" (spaces around allowed). */
static bool only_star(const char *header)
{
    header += strspn(header, " ");
    return header[0] == '*' && header[1 + strspn(header + 1, " ")] == '\0';
}

bool api__refuse_unconditional(api_call_t *call)
{
    unsigned writes = ODM_METHOD_PUT | ODM_METHOD_PATCH | ODM_METHOD_DELETE;
    if (!call->model->require_if_match || !(odm_request_method(call->req) & writes))
        return false;
    const char *if_match = odm_request_header(call->req, "If-Match");
    if (call->route == API_DOCUMENT) {
        if (if_match != NULL && !only_star(if_match))
            return false;
        return api__failf(call->req, ODM_ERR_PRECONDITION_REQUIRED,
                          "writes to '%s' need If-Match with the document's ETag (from GET "
                          "/api/%s/ID)",
                          call->model->name, call->model->name);
    }
    if (if_match != NULL)
        return false; /* "*" goes on; an entity-tag is the collection's 412 */
    return api__failf(call->req, ODM_ERR_PRECONDITION_REQUIRED,
                      "writes to '%s' need If-Match: a document's ETag at /api/%s/ID, or "
                      "If-Match: * to write every document the filter matches",
                      call->model->name, call->model->name);
}
