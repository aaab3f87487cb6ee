/* Measures what a request body costs on the polling thread (parse, model rules, validation,
 * conversion to BSON) by size, to pick the size above which bodies go to a worker. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "odmd/buf.h"
#include "odmd/codec.h"
#include "odmd/model.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* An order with `lines` item lines: about 60 bytes a line. */
static char *make_order(size_t lines, size_t *len)
{
    odm_buf_t b;
    odm_buf_init(&b, 64u << 20);
    odm_buf_puts(&b, "{\"userId\":\"65a1b2c3d4e5f60718293a4b\",\"total\":19.99,"
                     "\"placedAt\":\"2024-05-02T09:30:00Z\",\"items\":[");
    for (size_t i = 0; i < lines; i++)
        odm_buf_printf(&b, "%s{\"sku\":\"SKU-%06zu\",\"qty\":%zu,\"price\":%zu.25}", i ? "," : "",
                       i, i % 7 + 1, i % 100);
    odm_buf_puts(&b, "]}");
    return odm_buf_steal(&b, len);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "schemas";
    odm_error_t err;
    odm_models_t *models = odm_models_load(dir, &err);
    if (models == NULL) {
        fprintf(stderr, "%s\n", err.message);
        return 2;
    }
    const odm_model_t *orders = odm_models_find(models, "orders", 6);
    printf("%10s %8s %12s %10s\n", "bytes", "lines", "us/body", "MB/s");
    static const size_t sizes[] = {1, 10, 50, 100, 250, 1000, 4000, 16000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t len;
        char *text = make_order(sizes[s], &len);
        int reps = (int)(2000000 / (len + 100)) + 5;
        double t0 = now_us();
        for (int r = 0; r < reps; r++) {
            json_t *doc = odm_json_parse(text, len, ODM_JSON_DOCUMENT, &err);
            json_t *errors = json_array();
            odm_model_check_read_only(orders, doc, false, errors);
            odm_model_apply_defaults(orders, doc);
            bool ok = odm_schema_validate(orders->schema, doc, NULL);
            bson_t out;
            bson_init(&out);
            if (ok)
                odm_codec_to_bson(orders, doc, &out, errors, &err);
            bson_destroy(&out);
            json_decref(errors);
            json_decref(doc);
        }
        double us = (now_us() - t0) / reps;
        printf("%10zu %8zu %12.1f %10.1f\n", len, sizes[s], us, len / us);
        free(text);
    }
    odm_models_free(models);
    return 0;
}
