/* `odmd validate`: validate JSON instances against a JSON Schema (draft 2020-12) file. */
#ifndef ODMD_SCHEMA_CLI_H
#define ODMD_SCHEMA_CLI_H

/* Runs `validate [--formats=assert|annotate] [--map PREFIX=DIR]... SCHEMA.json [INSTANCE ...]`
 * with argv[0] = "validate" (argv borrowed). "--formats" defaults to assert; "--map" (repeatable)
 * loads references under PREFIX from files under DIR; an instance "-" is read from stdin; with
 * no instance the schema is only compiled. The schema's URI is its "$id" when it has one, and
 * its file:// absolute path otherwise (an alias either way); references to file:// URIs in the
 * schema's own folder are loaded from there (after the --map folders).
 *
 * Writes one JSON line per validated instance on stdout:
 *   {"instance": PATH, "valid": BOOL, "errors": [the validator's basic output units]}
 * and messages on stderr.
 *
 * Returns: the exit status: 0 when every instance is valid (or there is none), 1 when some
 * instance is invalid, 2 on bad usage, an unreadable or invalid schema, or an instance that
 * cannot be read or is not JSON (the other instances are still validated and printed). */
int odm_schema_cli_validate(int argc, char **argv);

#endif
