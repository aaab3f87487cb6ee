/* Test tokens from outside odmd: keys made by the `openssl` command, tokens signed by
 * tests/support/jwt_mint.py (Python's hmac and python3-cryptography), so that odmd's verifier
 * is checked against an implementation it shares no code with. */
#ifndef ODMD_TESTS_JWTMINT_H
#define ODMD_TESTS_JWTMINT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

typedef struct {
    char dir[256];      /* a new temporary folder holding the keys */
    const char *python; /* a Python that imports cryptography */
    const char *script; /* jwt_mint.py */
} odm_test_jwtmint_t;

/* Finds the tools and makes the folder. Returns: false with the reason on stdout when a tool
 * is missing (the caller skips: exit 77, or fails when CI=true) or the folder cannot be made. */
bool odm_test_jwtmint_init(odm_test_jwtmint_t *m, const char *source_dir);

/* Makes NAME.pem (private) and NAME.pub (public, SubjectPublicKeyInfo) in the folder with
 * `openssl genpkey` and the given options, e.g. "-algorithm EC -pkeyopt
 * ec_paramgen_curve:P-256". Returns: false (said on stderr) when openssl fails. */
bool odm_test_jwtmint_key(odm_test_jwtmint_t *m, const char *name, const char *genpkey_options);

/* The path of FILE in the folder, in out (n bytes). Returns: out. */
const char *odm_test_jwtmint_path(const odm_test_jwtmint_t *m, const char *file, char *out,
                                  size_t n);

/* Signs every spec (an array, borrowed; jwt_mint.py's header says what a spec holds).
 * Returns: a new object from spec name to token, or NULL (said on stderr). */
json_t *odm_test_jwtmint_run(odm_test_jwtmint_t *m, const json_t *specs);

/* True when CI=true: a missing tool is then a failure, not a skip. */
bool odm_test_jwtmint_in_ci(void);

/* Removes the folder. */
void odm_test_jwtmint_cleanup(odm_test_jwtmint_t *m);

#endif
