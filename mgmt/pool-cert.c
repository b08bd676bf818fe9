/*
 * The pool's certificate authority: made when a standalone host admits the
 * first member, kept in the replicated pool record, it signs each member's
 * client certificate (CN = the host's UUID), which host-to-host API calls
 * present over mutual TLS.  A member's server certificate stays its own
 * self-signed host certificate, which the pool records so that a caller
 * can pin it.
 */
#include "mgmt/mgmt.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lib/xalloc.h"

#define VALIDITY_DAYS (10 * 365 + 3)

static bool add_extension(X509 *cert, X509 *issuer, int nid,
                          const char *value);
static int issue(const char *ca_cert_pem, const char *ca_key_pem,
                 const char *common_name, bool both_ends, char **cert_pem,
                 char **key_pem);
static char *key_to_pem(EVP_PKEY *key);
static char *cert_to_pem(X509 *cert);
static X509 *pem_to_cert(const char *pem);
static EVP_PKEY *pem_to_key(const char *pem);

int
cert_make_ca(const char *name, char **cert_pem, char **key_pem)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = key ? cert_new(key, name) : NULL;
    int error = EIO;

    *cert_pem = *key_pem = NULL;
    if (cert) {
        X509_set_issuer_name(cert, X509_get_subject_name(cert));
        if (add_extension(cert, cert, NID_basic_constraints,
                          "critical,CA:TRUE,pathlen:0")
            && add_extension(cert, cert, NID_key_usage,
                             "critical,keyCertSign,cRLSign")
            && X509_sign(cert, key, EVP_sha256())) {
            *cert_pem = cert_to_pem(cert);
            *key_pem = key_to_pem(key);
            error = *cert_pem && *key_pem ? 0 : EIO;
        }
    }
    X509_free(cert);
    EVP_PKEY_free(key);
    return error;
}

int
cert_issue(const char *ca_cert_pem, const char *ca_key_pem,
           const char *common_name, char **cert_pem, char **key_pem)
{
    return issue(ca_cert_pem, ca_key_pem, common_name, false, cert_pem,
                 key_pem);
}

int
cert_issue_tls(const char *ca_cert_pem, const char *ca_key_pem,
               const char *common_name, char **cert_pem, char **key_pem)
{
    return issue(ca_cert_pem, ca_key_pem, common_name, true, cert_pem,
                 key_pem);
}

/* cert_issue(), or with 'both_ends' cert_issue_tls(). */
static int
issue(const char *ca_cert_pem, const char *ca_key_pem, const char *common_name,
      bool both_ends, char **cert_pem, char **key_pem)
{
    X509 *ca = pem_to_cert(ca_cert_pem);
    EVP_PKEY *ca_key = pem_to_key(ca_key_pem);
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = key ? cert_new(key, common_name) : NULL;
    int error = EIO;

    *cert_pem = *key_pem = NULL;
    if (ca && ca_key && cert) {
        X509_set_issuer_name(cert, X509_get_subject_name(ca));
        char *san = xasprintf("DNS:%s", common_name);
        bool made =
            add_extension(cert, ca, NID_basic_constraints, "critical,CA:FALSE")
            && add_extension(cert, ca, NID_key_usage,
                             both_ends ? "critical,digitalSignature,"
                                         "keyEncipherment"
                                       : "critical,digitalSignature")
            && add_extension(cert, ca, NID_ext_key_usage,
                             both_ends ? "serverAuth,clientAuth"
                                       : "clientAuth")
            && (!both_ends
                || add_extension(cert, ca, NID_subject_alt_name, san))
            && X509_sign(cert, ca_key, EVP_sha256());
        free(san);
        if (made) {
            *cert_pem = cert_to_pem(cert);
            *key_pem = key_to_pem(key);
            error = *cert_pem && *key_pem ? 0 : EIO;
        }
    }
    X509_free(cert);
    EVP_PKEY_free(key);
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    return error;
}

bool
cert_verify_peer(const char *peer_pem, const char *ca_pem, char *common_name,
                 size_t size)
{
    X509 *peer = pem_to_cert(peer_pem);
    X509 *ca = pem_to_cert(ca_pem);
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    bool verified = false;

    if (peer && ca && store && ctx && X509_STORE_add_cert(store, ca) == 1
        && X509_STORE_CTX_init(ctx, store, peer, NULL) == 1) {
        X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
        verified = X509_verify_cert(ctx) == 1;
    }
    if (verified) {
        X509_NAME *name = X509_get_subject_name(peer);
        verified = X509_NAME_get_text_by_NID(name, NID_commonName, common_name,
                                             (int) size)
                   > 0;
    }
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    X509_free(ca);
    X509_free(peer);
    return verified;
}

char *
cert_read_file(const char *path)
{
    FILE *file = fopen(path, "r");
    char *text = NULL;
    size_t size = 0;

    if (!file) {
        return NULL;
    }
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof buffer, file)) > 0) {
        text = xrealloc(text, size + n + 1);
        memcpy(text + size, buffer, n);
        size += n;
        text[size] = '\0';
    }
    fclose(file);
    return text;
}

/* Helpers. */

X509 *
cert_new(EVP_PKEY *key, const char *common_name)
{
    X509 *cert = X509_new();
    unsigned char serial[16];

    if (!cert || RAND_bytes(serial, sizeof serial) != 1) {
        X509_free(cert);
        return NULL;
    }
    serial[0] &= 0x7f;
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
    BN_free(bn);
    X509_set_version(cert, 2);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert),
                    (long) VALIDITY_DAYS * 24 * 3600);
    X509_set_pubkey(cert, key);
    X509_NAME *name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               (const unsigned char *) "netpool", -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *) common_name, -1, -1, 0);
    return cert;
}

static bool
add_extension(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);

    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext) {
        return false;
    }
    bool ok = X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

static char *
bio_to_string(BIO *bio)
{
    char *data;
    long size = BIO_get_mem_data(bio, &data);
    char *text = size > 0 ? xmalloc((size_t) size + 1) : NULL;

    if (text) {
        memcpy(text, data, (size_t) size);
        text[size] = '\0';
    }
    BIO_free(bio);
    return text;
}

static char *
key_to_pem(EVP_PKEY *key)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (!PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)) {
        BIO_free(bio);
        return NULL;
    }
    return bio_to_string(bio);
}

static char *
cert_to_pem(X509 *cert)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (!PEM_write_bio_X509(bio, cert)) {
        BIO_free(bio);
        return NULL;
    }
    return bio_to_string(bio);
}

static X509 *
pem_to_cert(const char *pem)
{
    if (!pem || !*pem) {
        return NULL;
    }
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    return cert;
}

static EVP_PKEY *
pem_to_key(const char *pem)
{
    if (!pem || !*pem) {
        return NULL;
    }
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    return key;
}
