/* HTTPS (part of the http module): the certificate and key odmd serves with, read and checked
 * once at startup.
 *
 * libmicrohttpd does the TLS itself (through GnuTLS); this module reads the two PEM files,
 * bounded in size, and checks them with libcrypto before the daemon starts, so that a missing
 * file, a file that is not PEM or a key that does not belong to the certificate stops odmd with
 * a message naming the file and the reason instead of a bare "cannot start serving". */
#ifndef ODMD_HTTP_TLS_H
#define ODMD_HTTP_TLS_H

#include <stdbool.h>

#include "odmd/error.h"

#define ODM_HTTP_TLS_FILE_MAX (1024 * 1024) /* bytes of one PEM file (a long chain fits) */

typedef struct {
    char *cert_pem; /* the certificate, then any intermediates: NUL-terminated PEM text */
    char *key_pem;  /* its private key, unencrypted PEM */
} odm_http_tls_t;

/* Reads cert_path and key_path into tls (new strings: odm_http_tls_release frees them) and checks
 * that the first is a PEM certificate (a chain may follow), the second an unencrypted PEM
 * private key, and that the key is the certificate's.
 * Returns: false with ODM_ERR_CONFIG and a message naming the option, the file and the reason
 * ("cannot read: ...", "larger than 1048576 bytes", "not a PEM certificate", "not an
 * unencrypted PEM private key", "does not match the certificate in '...'"); tls then holds
 * nothing. */
bool odm_http_tls_load(odm_http_tls_t *tls, const char *cert_path, const char *key_path,
                       odm_error_t *err);

/* Frees tls's strings (the key wiped first) and zeroes it. NULL does nothing. */
void odm_http_tls_release(odm_http_tls_t *tls);

#endif
