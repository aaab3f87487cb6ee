/* The TLS certificate and key: read from their files (bounded) and checked with libcrypto at
 * startup; libmicrohttpd's GnuTLS serves them. */
#include "odmd/http_tls.h"

#include "http/internal.h"
#include "odmd/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define PATH_ECHO 256 /* longest part of a path quoted back */

/* Reads the whole file at path into a new NUL-terminated string, at most ODM_HTTP_TLS_FILE_MAX
 * bytes. Returns: NULL with err set (the reason only: the caller names the file). */
static char *read_file(const char *path, odm_error_t *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        odm_error_set(err, ODM_ERR_CONFIG, "cannot read: %s", strerror(errno));
        return NULL;
    }
    char *text = malloc(ODM_HTTP_TLS_FILE_MAX + 2);
    size_t n = text ? fread(text, 1, ODM_HTTP_TLS_FILE_MAX + 1, f) : 0;
    bool failed = text == NULL || ferror(f);
    int saved = errno;
    fclose(f);
    if (failed) {
        odm_error_set(err, ODM_ERR_CONFIG, "cannot read: %s",
                      text == NULL ? "out of memory" : strerror(saved));
    } else if (n > ODM_HTTP_TLS_FILE_MAX) {
        odm_error_set(err, ODM_ERR_CONFIG, "larger than %d bytes", ODM_HTTP_TLS_FILE_MAX);
        failed = true;
    } else if (memchr(text, '\0', n) != NULL) {
        odm_error_set(err, ODM_ERR_CONFIG, "not PEM text (it holds a NUL byte)");
        failed = true;
    }
    if (failed) {
        free(text);
        return NULL;
    }
    text[n] = '\0';
    return text;
}

/* No passphrase is ever asked for (the default callback would prompt on a terminal): an
 * encrypted key is refused. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

static X509 *parse_cert(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, no_passphrase, NULL) : NULL;
    BIO_free(bio);
    return cert;
}

static EVP_PKEY *parse_key(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
    BIO_free(bio);
    return key;
}

/* Reads one of the two files; on failure prefixes the message with the option and the file. */
static char *load_one(const char *option, const char *path, odm_error_t *err)
{
    char *text = read_file(path, err);
    if (text == NULL)
        odm_error_prefix(err, "option '--%s' '%.*s'", option, PATH_ECHO, path);
    return text;
}

/* Checks the certificate, the key and that they belong together. */
static bool check_pair(const odm_http_tls_t *tls, const char *cert_path, const char *key_path,
                       odm_error_t *err)
{
    X509 *cert = parse_cert(tls->cert_pem);
    EVP_PKEY *key = cert ? parse_key(tls->key_pem) : NULL;
    bool ok = false;
    if (cert == NULL)
        odm_error_set(err, ODM_ERR_CONFIG, "option '--tls-cert' '%.*s': not a PEM certificate",
                      PATH_ECHO, cert_path);
    else if (key == NULL)
        odm_error_set(err, ODM_ERR_CONFIG,
                      "option '--tls-key' '%.*s': not an unencrypted PEM private key", PATH_ECHO,
                      key_path);
    else if (X509_check_private_key(cert, key) != 1)
        odm_error_set(err, ODM_ERR_CONFIG,
                      "option '--tls-key' '%.*s': does not match the certificate in '%.*s'",
                      PATH_ECHO, key_path, PATH_ECHO, cert_path);
    else
        ok = true;
    ERR_clear_error(); /* the reasons are in err; none is left for another caller to find */
    EVP_PKEY_free(key);
    X509_free(cert);
    return ok;
}

bool odm_http_tls_load(odm_http_tls_t *tls, const char *cert_path, const char *key_path,
                       odm_error_t *err)
{
    memset(tls, 0, sizeof *tls);
    tls->cert_pem = load_one("tls-cert", cert_path, err);
    if (tls->cert_pem == NULL)
        return false;
    tls->key_pem = load_one("tls-key", key_path, err);
    if (tls->key_pem == NULL || !check_pair(tls, cert_path, key_path, err)) {
        odm_http_tls_release(tls);
        return false;
    }
    odm_info("https: certificate '%.*s', key '%.*s'", PATH_ECHO, cert_path, PATH_ECHO, key_path);
    return true;
}

void odm_http_tls_release(odm_http_tls_t *tls)
{
    if (tls == NULL)
        return;
    if (tls->key_pem != NULL)
        OPENSSL_cleanse(tls->key_pem, strlen(tls->key_pem));
    free(tls->key_pem);
    free(tls->cert_pem);
    tls->cert_pem = tls->key_pem = NULL;
}

bool http__tls_options(const odm_http_options_t *opts, struct MHD_OptionItem items[3])
{
    if (opts->tls_cert_pem == NULL)
        return false;
    /* libmicrohttpd keeps the pointers and reads the PEM text when the daemon starts */
    items[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)opts->tls_key_pem};
    items[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)opts->tls_cert_pem};
    items[2] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    return true;
}

bool http__tls_check(const odm_http_options_t *opts, odm_error_t *err)
{
    if ((opts->tls_cert_pem == NULL) != (opts->tls_key_pem == NULL))
        return odm_error_set(err, ODM_ERR_CONFIG,
                             "a TLS certificate needs its key, and a key its "
                             "certificate");
    if (opts->tls_cert_pem != NULL && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return odm_error_set(err, ODM_ERR_CONFIG,
                             "this libmicrohttpd was built without TLS: serve HTTPS through a "
                             "TLS-terminating proxy instead");
    return true;
}

ssize_t http__tls_send(struct MHD_Connection *conn, const void *data, size_t len)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (info == NULL || info->tls_session == NULL)
        return -1;
    gnutls_session_t session = info->tls_session;
    size_t done = 0;
    while (done < len) { /* the socket is non-blocking: a full one ends it (GNUTLS_E_AGAIN) */
        ssize_t n = gnutls_record_send(session, (const char *)data + done, len - done);
        if (n == GNUTLS_E_INTERRUPTED)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    return done > 0 ? (ssize_t)done : -1;
}
