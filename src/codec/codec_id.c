/* Ids and versions: _id generated on POST, the id segment of a URL decoded, and the version a
 * new document starts at. */
#include "codec/codec_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "odmd/codec.h"
#include "odmd/text.h"

bool odm_codec_new_id(const odm_model_t *model, json_t *doc, json_t *errors, odm_error_t *err)
{
    if (!model->id_generated) {
        json_t *v = json_pack("{s:s, s:s, s:s}", "instanceLocation", "", "keywordLocation",
                              "/properties/_id", "error",
                              "'_id' is required: this model's ids are given by the client");
        if (v != NULL && errors != NULL)
            json_array_append(errors, v);
        json_decref(v);
        return odm_error_set(err, ODM_ERR_VALIDATION, "'_id' is required");
    }
    bson_oid_t oid;
    char hex[25];
    bson_oid_init(&oid, NULL);
    bson_oid_to_string(&oid, hex);
    if (json_object_set_new(doc, "_id", json_stringn_nocheck(hex, 24)) != 0) /* ASCII hex */
        return odm_error_set(err, ODM_ERR_INTERNAL, "out of memory");
    return true;
}

char *odm_codec_id_decode(const char *segment, size_t len, odm_error_t *err)
{
    char quoted[CODEC__QUOTE_MAX];
    char *out = malloc(len + 1);
    size_t n = 0;
    if (out == NULL) {
        odm_error_set(err, ODM_ERR_INTERNAL, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < len; i++) {
        if (segment[i] != '%') {
            out[n++] = segment[i];
            continue;
        }
        int hi = i + 2 < len ? odm_text_hex_digit((unsigned char)segment[i + 1]) : -1;
        int lo = hi >= 0 ? odm_text_hex_digit((unsigned char)segment[i + 2]) : -1;
        if (lo < 0 || (hi == 0 && lo == 0)) {
            free(out);
            odm_error_set(err, ODM_ERR_BAD_ID, "malformed id '%s': %s",
                          codec__quote(segment, len, quoted),
                          lo < 0 ? "'%' must start a %XX escape" : "NUL in an id");
            return NULL;
        }
        out[n++] = (char)(hi * 16 + lo);
        i += 2;
    }
    out[n] = '\0';
    return out;
}

/* 64 bits from the kernel's generator; should it fail, from the clocks and an address. */
static uint64_t random_bits(void)
{
    uint64_t r;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) == (ssize_t)sizeof r)
        return r;
    struct timespec real, mono;
    clock_gettime(CLOCK_REALTIME, &real);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    r = (uint64_t)real.tv_sec * 1000000007u ^ (uint64_t)real.tv_nsec << 20 ^
        (uint64_t)mono.tv_nsec ^ (uint64_t)(uintptr_t)&r;
    r ^= r >> 33;
    r *= 0xff51afd7ed558ccdu;
    return r ^ (r >> 33);
}

int64_t odm_codec_first_version(void)
{
    return (int64_t)((random_bits() >> 2) | 1);
}
