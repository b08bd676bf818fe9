/*
 * The host certificate: self-signed ECDSA P-256, 10 years, generated at
 * first start with CN = the management address.
 */
#include "mgmt/mgmt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lib/xalloc.h"

#define LOG_MODULE "cert"

static int write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert);
static bool add_extension(X509 *cert, int nid, const char *value);

int
cert_ensure(const char *cert_path, const char *key_path,
            const char *common_name)
{
    if (access(cert_path, R_OK) == 0 && access(key_path, R_OK) == 0) {
        return 0;
    }

    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = key ? cert_new(key, common_name) : NULL;
    int error = EIO;

    if (!cert) {
        goto out;
    }
    X509_set_issuer_name(cert, X509_get_subject_name(cert));

    /* Clients check the name against subjectAltName: an address goes in
     * as IP, anything else as DNS. */
    unsigned char addr[16];
    bool is_ip = inet_pton(AF_INET, common_name, addr) == 1
                 || inet_pton(AF_INET6, common_name, addr) == 1;
    char *san = xasprintf("%s:%s", is_ip ? "IP" : "DNS", common_name);
    bool ok = add_extension(cert, NID_subject_alt_name, san)
              && add_extension(cert, NID_basic_constraints, "critical,CA:TRUE")
              && add_extension(cert, NID_key_usage,
                               "critical,digitalSignature,keyCertSign")
              && add_extension(cert, NID_ext_key_usage, "serverAuth");
    free(san);
    if (!ok || !X509_sign(cert, key, EVP_sha256())) {
        goto out;
    }

    error = write_pem(key_path, 0600, key, NULL);
    if (!error) {
        error = write_pem(cert_path, 0600, NULL, cert);
    }

out:
    X509_free(cert);
    EVP_PKEY_free(key);
    return error;
}

static bool
add_extension(X509 *cert, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);

    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext) {
        return false;
    }
    bool ok = X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

/* Writes 'key' or 'cert' to 'path' through a temporary file renamed into
 * place, so a crash never leaves half a file. */
static int
write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert)
{
    char *tmp = xasprintf("%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
    int error = 0;

    if (fd < 0) {
        error = errno;
        goto out;
    }
    FILE *file = fdopen(fd, "w");
    if (!file) {
        error = errno;
        close(fd);
        goto out;
    }
    bool ok = key ? PEM_write_PrivateKey(file, key, NULL, NULL, 0, NULL, NULL)
                  : PEM_write_X509(file, cert);
    if (!ok || fflush(file) || fsync(fd)) {
        error = EIO;
    }
    fclose(file);
    if (!error && rename(tmp, path)) {
        error = errno;
    }

out:
    if (error) {
        unlink(tmp);
    }
    free(tmp);
    return error;
}
