/* x-owner in the API: every query on a model with an owner field is narrowed on the server to the
 * caller's documents (admin sees all), a create sets the field to the caller's name, and a
 * write keeps the stored value. */
#include <string.h>

#include "api/internal.h"
#include "odmd/log.h"

/* Whether the caller's view of `model` is narrowed to its own documents. */
static bool narrowed(const api_call_t *call, const odm_model_t *model)
{
    return model->owner != NULL && !odm_principal_is_admin(&call->caller);
}

void api__owner_filter(const api_call_t *call, const odm_model_t *model, bson_t *filter)
{
    if (!narrowed(call, model))
        return;
    const char *name = call->caller.name;
    if (!bson_has_field(filter, model->owner)) {
        BSON_APPEND_UTF8(filter, model->owner, name);
        return;
    }
    /* the client's filter names the field itself: both must hold */
    bson_t owned = BSON_INITIALIZER, and, cond;
    BSON_APPEND_ARRAY_BEGIN(&owned, "$and", &and);
    BSON_APPEND_DOCUMENT(&and, "0", filter);
    BSON_APPEND_DOCUMENT_BEGIN(&and, "1", &cond);
    BSON_APPEND_UTF8(&cond, model->owner, name);
    bson_append_document_end(&and, &cond);
    bson_append_array_end(&owned, &and);
    bson_reinit(filter);
    bson_concat(filter, &owned);
    bson_destroy(&owned);
}

bool api__owner_stamp(const api_call_t *call, json_t *doc)
{
    const char *field = call->model->owner;
    if (field == NULL || !json_is_object(doc))
        return true;
    if (!narrowed(call, call->model) && json_object_get(doc, field) != NULL)
        return true; /* admin may create a document for another owner */
    return json_object_set_new(doc, field, json_string(call->caller.name)) == 0;
}

bool api__owner_keep(const api_call_t *call, const bson_t *stored, json_t *doc)
{
    const char *field = call->model->owner;
    if (field == NULL || !json_is_object(doc))
        return true;
    json_t *old = odm_codec_to_tree(call->model, stored);
    if (old == NULL)
        return false;
    json_t *value = json_object_get(old, field);
    bool ok = value != NULL ? json_object_set(doc, field, value) == 0
                            : (json_object_del(doc, field), true);
    json_decref(old);
    return ok;
}

void odm_api_warn_owners(const odm_models_t *models, const odm_auth_t *auth)
{
    for (size_t i = 0; !odm_auth_enabled(auth) && i < models->n; i++)
        if (models->items[i]->owner != NULL)
            odm_warn("model '%s' has x-owner but no authentication is configured (--keys, "
                     "--api-key): every caller is '%s' with admin and sees every document",
                     models->items[i]->name, ODM_AUTH_ANONYMOUS);
}
