/*
 * Calls to another host's API over HTTPS, without blocking the loop: a
 * JSON-RPC request POSTed to https://ADDRESS:PORT/jsonrpc, its answer
 * delivered to a callback.  Used between pool members (pool-join asks the
 * pool to admit this host).
 */
#include "mgmt/mgmt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <json-c/json.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "lib/log.h"
#include "lib/xalloc.h"

#define LOG_MODULE "peer"

#define PEER_TIMEOUT_S 30

struct peer_call {
    struct evhttp_connection *connection;      /* To the other host. */
    SSL_CTX *ssl_ctx;                          /* Its TLS context. */
    peer_reply_cb *cb;                         /* Told the answer. */
    void *aux;                                 /* Its argument. */
    char fingerprint[2 * EVP_MAX_MD_SIZE + 1]; /* The server's certificate,
                                                * SHA-256. */
};

static void request_done(struct evhttp_request *, void *call_);
static void finish(struct peer_call *, struct json_object *response,
                   const char *failure);

struct peer_call *
peer_call_start(struct event_base *base, const char *address, int port,
                const char *server_cert, const char *client_cert,
                const char *client_key, struct json_object *request,
                peer_reply_cb *cb, void *aux)
{
    struct peer_call *call = xzalloc(sizeof *call);
    SSL *ssl = NULL;
    struct bufferevent *bev = NULL;

    call->cb = cb;
    call->aux = aux;
    call->ssl_ctx = SSL_CTX_new(TLS_client_method());
    if (!call->ssl_ctx
        || !SSL_CTX_set_min_proto_version(call->ssl_ctx, TLS1_2_VERSION)) {
        goto fail;
    }
    if (server_cert) {
        /* The server's own (self-signed) certificate, as the pool
         * recorded it, is the only one trusted. */
        BIO *bio = BIO_new_mem_buf(server_cert, -1);
        X509 *pinned = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        BIO_free(bio);
        bool added = pinned
                     && X509_STORE_add_cert(
                            SSL_CTX_get_cert_store(call->ssl_ctx), pinned)
                            == 1;
        X509_free(pinned);
        if (!added) {
            goto fail;
        }
        SSL_CTX_set_verify(call->ssl_ctx, SSL_VERIFY_PEER, NULL);
    } else {
        /* A first contact: the administrator's credentials authenticate
         * the call; the server's certificate is reported to the caller. */
        SSL_CTX_set_verify(call->ssl_ctx, SSL_VERIFY_NONE, NULL);
    }
    if (client_cert
        && (SSL_CTX_use_certificate_file(call->ssl_ctx, client_cert,
                                         SSL_FILETYPE_PEM)
                != 1
            || SSL_CTX_use_PrivateKey_file(call->ssl_ctx, client_key,
                                           SSL_FILETYPE_PEM)
                   != 1)) {
        goto fail;
    }
    ssl = SSL_new(call->ssl_ctx);
    if (!ssl) {
        goto fail;
    }
    SSL_set_tlsext_host_name(ssl, address);
    bev = bufferevent_openssl_socket_new(
        base, -1, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        SSL_free(ssl);
        goto fail;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    call->connection = evhttp_connection_base_bufferevent_new(
        base, NULL, bev, address, (unsigned short) port);
    if (!call->connection) {
        goto fail;
    }
    evhttp_connection_set_timeout(call->connection, PEER_TIMEOUT_S);

    struct evhttp_request *req = evhttp_request_new(request_done, call);
    const char *body =
        json_object_to_json_string_ext(request, JSON_C_TO_STRING_PLAIN);
    struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
    char host[300];
    snprintf(host, sizeof host, "%s:%d", address, port);
    evhttp_add_header(headers, "Host", host);
    evhttp_add_header(headers, "Content-Type", "application/json");
    evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
    if (evhttp_make_request(call->connection, req, EVHTTP_REQ_POST,
                            "/jsonrpc")) {
        goto fail;
    }
    return call;

fail:
    log_warn("cannot call %s:%d", address, port);
    if (call->connection) {
        evhttp_connection_free(call->connection);
    }
    SSL_CTX_free(call->ssl_ctx);
    free(call);
    return NULL;
}

void
peer_call_cancel(struct peer_call *call)
{
    if (call) {
        call->cb = NULL;
    }
}

/* Helpers. */

static void
request_done(struct evhttp_request *req, void *call_)
{
    struct peer_call *call = call_;

    if (!req || evhttp_request_get_response_code(req) == 0) {
        finish(call, NULL, "no answer");
        return;
    }
    struct bufferevent *bev =
        evhttp_connection_get_bufferevent(call->connection);
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    X509 *cert = ssl ? SSL_get1_peer_certificate(ssl) : NULL;
    if (cert) {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int size = 0;
        X509_digest(cert, EVP_sha256(), digest, &size);
        for (unsigned int i = 0; i < size; i++) {
            snprintf(&call->fingerprint[2 * i], 3, "%02x", digest[i]);
        }
        X509_free(cert);
    }
    if (evhttp_request_get_response_code(req) != 200) {
        finish(call, NULL, "HTTP error");
        return;
    }
    struct evbuffer *buffer = evhttp_request_get_input_buffer(req);
    size_t length = evbuffer_get_length(buffer);
    char *text = xmalloc(length + 1);
    evbuffer_remove(buffer, text, length);
    text[length] = '\0';
    struct json_object *response = json_tokener_parse(text);
    free(text);
    finish(call, response, response ? NULL : "not JSON");
    json_object_put(response);
}

/* Tells the caller and frees 'call' with its connection.  libevent has
 * taken the request off the connection before its callback, which may
 * therefore free the connection; and it would never free one whose request
 * failed without an answer (refused, unreachable, timed out), even marked
 * to be freed on completion. */
static void
finish(struct peer_call *call, struct json_object *response,
       const char *failure)
{
    if (call->cb) {
        call->cb(call->aux, response, failure, call->fingerprint);
    }
    evhttp_connection_free(call->connection);
    SSL_CTX_free(call->ssl_ctx);
    free(call);
}
