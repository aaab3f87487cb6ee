/* Test tokens from outside odmd: openssl-made keys, tokens signed by jwt_mint.py. */
#include "support/jwtmint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool quiet(const char *cmd)
{
    char line[4096];
    snprintf(line, sizeof line, "(%s) >/dev/null 2>&1", cmd);
    return system(line) == 0;
}

bool odm_test_jwtmint_in_ci(void)
{
    const char *ci = getenv("CI");
    return ci != NULL && strcmp(ci, "true") == 0;
}

bool odm_test_jwtmint_init(odm_test_jwtmint_t *m, const char *source_dir)
{
    static char script[1024];
    memset(m, 0, sizeof *m);
    snprintf(script, sizeof script, "%s/tests/support/jwt_mint.py", source_dir);
    m->script = script;
    /* Debian's python3 first: it has python3-cryptography (scripts/packages.sh) */
    if (quiet("/usr/bin/python3 -c 'import cryptography'"))
        m->python = "/usr/bin/python3";
    else if (quiet("python3 -c 'import cryptography'"))
        m->python = "python3";
    if (m->python == NULL || !quiet("openssl version")) {
        printf("SKIP: needs the openssl command and python3 with cryptography "
               "(scripts/packages.sh: openssl, python3-cryptography)\n");
        return false;
    }
    snprintf(m->dir, sizeof m->dir, "/tmp/odmd-jwt-XXXXXX");
    if (mkdtemp(m->dir) == NULL) {
        perror("jwtmint: mkdtemp");
        return false;
    }
    return true;
}

const char *odm_test_jwtmint_path(const odm_test_jwtmint_t *m, const char *file, char *out,
                                  size_t n)
{
    snprintf(out, n, "%s/%s", m->dir, file);
    return out;
}

bool odm_test_jwtmint_key(odm_test_jwtmint_t *m, const char *name, const char *genpkey_options)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "openssl genpkey %s -out '%s/%s.pem' && openssl pkey -in '%s/%s.pem' -pubout "
             "-out '%s/%s.pub'",
             genpkey_options, m->dir, name, m->dir, name, m->dir, name);
    if (!quiet(cmd)) {
        fprintf(stderr, "jwtmint: failed: %s\n", cmd);
        return false;
    }
    return true;
}

json_t *odm_test_jwtmint_run(odm_test_jwtmint_t *m, const json_t *specs)
{
    char in[512], out[512], cmd[2048];
    odm_test_jwtmint_path(m, "specs.json", in, sizeof in);
    odm_test_jwtmint_path(m, "tokens.json", out, sizeof out);
    if (json_dump_file(specs, in, 0) != 0) {
        fprintf(stderr, "jwtmint: cannot write %s\n", in);
        return NULL;
    }
    snprintf(cmd, sizeof cmd, "%s '%s' '%s' >'%s'", m->python, m->script, in, out);
    if (system(cmd) != 0) {
        fprintf(stderr, "jwtmint: failed: %s\n", cmd);
        return NULL;
    }
    json_error_t jerr;
    json_t *tokens = json_load_file(out, 0, &jerr);
    if (!json_is_object(tokens)) {
        fprintf(stderr, "jwtmint: %s: %s\n", out, jerr.text);
        json_decref(tokens);
        return NULL;
    }
    return tokens;
}

void odm_test_jwtmint_cleanup(odm_test_jwtmint_t *m)
{
    char cmd[512];
    if (m->dir[0] == '\0')
        return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", m->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "jwtmint: could not remove %s\n", m->dir);
    m->dir[0] = '\0';
}
