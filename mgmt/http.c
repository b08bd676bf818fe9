/*
 * The API listeners: JSON-RPC over HTTP on a unix socket (local root, no
 * login) and over HTTPS (TLS 1.2+, login required), both on libevent's
 * evhttp.  Each request body goes to the API; the API's response comes back
 * through a callback, at once or later (event.from).
 */
#include "mgmt/mgmt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <json-c/json.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "lib/error.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#define LOG_MODULE "http"

#define MAX_BODY_SIZE (2 * API_MAX_REQUEST_SIZE) /* Beyond: HTTP 413. */
#define IDLE_TIMEOUT 90 /* Seconds; above event.from's limit. */

struct http_server {
    struct event_base *base; /* The loop. */
    struct api *api;         /* Where requests go. */
    struct evhttp *local;    /* Unix socket listener. */
    struct evhttp *https;    /* HTTPS listener, or NULL. */
    SSL_CTX *ssl_ctx;        /* TLS context for 'https'. */
    char *unix_path;         /* Socket path, removed at stop. */
};

/* One request in flight. */
struct http_exchange {
    struct evhttp_request *req; /* The HTTP request. */
    struct api_call *call;      /* Deferred API call, or NULL. */
};

static struct evhttp *new_evhttp(struct http_server *, bool local);
static void handle_local(struct evhttp_request *, void *server_);
static void handle_https(struct evhttp_request *, void *server_);
static void handle(struct http_server *, struct evhttp_request *, bool local);
static void send_response(void *exchange_, struct json_object *response);
static void connection_closed(struct evhttp_connection *, void *exchange_);
static struct bufferevent *make_ssl_bufferevent(struct event_base *,
                                                void *server_);
static int accept_any_client(int preverified, X509_STORE_CTX *);
static char *peer_certificate(struct evhttp_request *);
static int open_unix_socket(const char *path);

int
http_server_start(struct event_base *base, struct api *api,
                  const char *unix_path, const char *https_address,
                  int https_port, const char *cert_path, const char *key_path,
                  struct http_server **serverp)
{
    struct http_server *server = xzalloc(sizeof *server);
    int error = 0;

    server->base = base;
    server->api = api;
    server->unix_path = xstrdup(unix_path);
    *serverp = NULL;

    int fd = open_unix_socket(unix_path);
    if (fd < 0) {
        error = -fd;
        goto fail;
    }
    struct evconnlistener *listener = evconnlistener_new(
        base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1,
        fd);
    server->local = new_evhttp(server, true);
    if (!listener || !evhttp_bind_listener(server->local, listener)) {
        error = EIO;
        goto fail;
    }

    if (https_port) {
        server->ssl_ctx = SSL_CTX_new(TLS_server_method());
        if (!server->ssl_ctx
            || !SSL_CTX_set_min_proto_version(server->ssl_ctx, TLS1_2_VERSION)
            || SSL_CTX_use_certificate_chain_file(server->ssl_ctx, cert_path)
                   != 1
            || SSL_CTX_use_PrivateKey_file(server->ssl_ctx, key_path,
                                           SSL_FILETYPE_PEM)
                   != 1
            || SSL_CTX_check_private_key(server->ssl_ctx) != 1) {
            log_error("TLS setup with %s failed: %s", cert_path,
                      ERR_reason_error_string(ERR_get_error()));
            error = EINVAL;
            goto fail;
        }
        SSL_CTX_set_options(server->ssl_ctx,
                            SSL_OP_NO_COMPRESSION
                                | SSL_OP_CIPHER_SERVER_PREFERENCE);
        /* A pool member presents its pool certificate; the API checks it
         * against the pool's CA.  Anyone else presents none. */
        SSL_CTX_set_verify(server->ssl_ctx, SSL_VERIFY_PEER,
                           accept_any_client);
        server->https = new_evhttp(server, false);
        evhttp_set_bevcb(server->https, make_ssl_bufferevent, server);
        const char *address = *https_address ? https_address : "::";
        if (evhttp_bind_socket(server->https, address,
                               (ev_uint16_t) https_port)
            && (*https_address
                || evhttp_bind_socket(server->https, "0.0.0.0",
                                      (ev_uint16_t) https_port))) {
            error = errno ? errno : EADDRINUSE;
            log_error("cannot listen on HTTPS port %d: %s", https_port,
                      strerror(error));
            goto fail;
        }
        log_info("HTTPS API on [%s]:%d", address, https_port);
    }
    log_info("local API on %s", unix_path);
    *serverp = server;
    return 0;

fail:
    http_server_stop(server);
    return error;
}

void
http_server_stop(struct http_server *server)
{
    if (!server) {
        return;
    }
    if (server->local) {
        evhttp_free(server->local);
        unlink(server->unix_path);
    }
    if (server->https) {
        evhttp_free(server->https);
    }
    SSL_CTX_free(server->ssl_ctx);
    free(server->unix_path);
    free(server);
}

/* Helpers. */

static struct evhttp *
new_evhttp(struct http_server *server, bool local)
{
    struct evhttp *http = evhttp_new(server->base);

    evhttp_set_max_body_size(http, MAX_BODY_SIZE);
    evhttp_set_max_headers_size(http, 64 * 1024);
    evhttp_set_timeout(http, IDLE_TIMEOUT);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_POST | EVHTTP_REQ_GET);
    evhttp_set_gencb(http, local ? handle_local : handle_https, server);
    return http;
}

static void
handle_local(struct evhttp_request *req, void *server_)
{
    handle(server_, req, true);
}

static void
handle_https(struct evhttp_request *req, void *server_)
{
    handle(server_, req, false);
}

static void
handle(struct http_server *server, struct evhttp_request *req, bool local)
{
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    if (!path || (strcmp(path, "/jsonrpc") && strcmp(path, "/"))) {
        evhttp_send_error(req, HTTP_NOTFOUND, "use POST /jsonrpc");
        return;
    }
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        evhttp_send_error(req, HTTP_BADMETHOD, "use POST /jsonrpc");
        return;
    }

    struct evbuffer *body = evhttp_request_get_input_buffer(req);
    size_t size = evbuffer_get_length(body);
    const char *data = (const char *) evbuffer_pullup(body, -1);
    struct http_exchange *exchange = xzalloc(sizeof *exchange);
    exchange->req = req;

    char *peer = local ? NULL : peer_certificate(req);
    struct api_call *call =
        peer ? api_handle_peer(server->api, data ? data : "", size, peer,
                               send_response, exchange)
             : api_handle(server->api, data ? data : "", size, local,
                          send_response, exchange);
    free(peer);
    if (call) {
        exchange->call = call;
        evhttp_connection_set_closecb(evhttp_request_get_connection(req),
                                      connection_closed, exchange);
    }
}

static void
send_response(void *exchange_, struct json_object *response)
{
    struct http_exchange *exchange = exchange_;
    struct evhttp_request *req = exchange->req;
    struct evbuffer *out = evbuffer_new();
    const char *text =
        json_object_to_json_string_ext(response, JSON_C_TO_STRING_PLAIN);

    if (exchange->call) {
        evhttp_connection_set_closecb(evhttp_request_get_connection(req), NULL,
                                      NULL);
    }
    evbuffer_add(out, text, strlen(text));
    evbuffer_add(out, "\n", 1);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    evhttp_send_reply(req, HTTP_OK, "OK", out);
    evbuffer_free(out);
    json_object_put(response);
    free(exchange);
}

/* The client went away while its call waited. */
static void
connection_closed(struct evhttp_connection *conn, void *exchange_)
{
    struct http_exchange *exchange = exchange_;

    api_call_abandon(exchange->call);
    free(exchange);
}

/* Lets every client certificate through the handshake: whether it makes
 * its client a pool member is the API's question. */
static int
accept_any_client(int preverified, X509_STORE_CTX *ctx)
{
    (void) preverified;
    (void) ctx;
    return 1;
}

/* Returns the certificate the client of 'req' presented, as a new PEM
 * string, or NULL. */
static char *
peer_certificate(struct evhttp_request *req)
{
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    struct bufferevent *bev =
        conn ? evhttp_connection_get_bufferevent(conn) : NULL;
    SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
    X509 *cert = ssl ? SSL_get1_peer_certificate(ssl) : NULL;
    char *pem = NULL;

    if (cert) {
        BIO *bio = BIO_new(BIO_s_mem());
        if (PEM_write_bio_X509(bio, cert)) {
            char *data;
            long size = BIO_get_mem_data(bio, &data);
            pem = xmalloc((size_t) size + 1);
            memcpy(pem, data, (size_t) size);
            pem[size] = '\0';
        }
        BIO_free(bio);
        X509_free(cert);
    }
    return pem;
}

static struct bufferevent *
make_ssl_bufferevent(struct event_base *base, void *server_)
{
    struct http_server *server = server_;

    return bufferevent_openssl_socket_new(base, -1, SSL_new(server->ssl_ctx),
                                          BUFFEREVENT_SSL_ACCEPTING,
                                          BEV_OPT_CLOSE_ON_FREE);
}

/* Returns a listening unix socket at 'path' (mode 0600), replacing a stale
 * one, or a negative errno. */
static int
open_unix_socket(const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int fd;

    if (strlen(path) >= sizeof sun.sun_path) {
        log_error("%s: socket path too long", path);
        return -ENAMETOOLONG;
    }
    strcpy(sun.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return -errno;
    }
    unlink(path);
    mode_t old = umask(0177);
    int retval = bind(fd, (struct sockaddr *) &sun, sizeof sun);
    umask(old);
    if (retval || chmod(path, 0600) || listen(fd, 128)) {
        int error = errno;
        log_error("%s: cannot listen: %s", path, strerror(error));
        close(fd);
        return -error;
    }
    return fd;
}

/* The Prometheus listener. */

struct http_metrics {
    struct evhttp *http;              /* Listener. */
    SSL_CTX *ssl_ctx;                 /* For TLS, else NULL. */
    http_metrics_cb *cb;              /* Renders the page. */
    http_metrics_release_cb *release; /* Takes a sent page back. */
    void *aux;                        /* Argument for both. */
    size_t pages_out;                 /* Pages handed to libevent. */
    bool stopped;                     /* http_metrics_stop() was called. */
};

static void handle_metrics(struct evhttp_request *, void *metrics_);
static void free_page(const void *data, size_t length, void *aux);
static struct bufferevent *make_metrics_ssl_bufferevent(struct event_base *,
                                                        void *metrics_);

int
http_metrics_start(struct event_base *base, const char *address, int port,
                   const char *cert_path, const char *key_path,
                   http_metrics_cb *cb, http_metrics_release_cb *release,
                   void *aux, struct http_metrics **metricsp)
{
    struct http_metrics *m = xzalloc(sizeof *m);
    int error = 0;

    m->cb = cb;
    m->release = release;
    m->aux = aux;
    m->http = evhttp_new(base);
    evhttp_set_timeout(m->http, 30);
    evhttp_set_max_body_size(m->http, 4096);
    evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    evhttp_set_gencb(m->http, handle_metrics, m);
    if (cert_path) {
        m->ssl_ctx = SSL_CTX_new(TLS_server_method());
        if (!m->ssl_ctx
            || !SSL_CTX_set_min_proto_version(m->ssl_ctx, TLS1_2_VERSION)
            || SSL_CTX_use_certificate_chain_file(m->ssl_ctx, cert_path) != 1
            || SSL_CTX_use_PrivateKey_file(m->ssl_ctx, key_path,
                                           SSL_FILETYPE_PEM)
                   != 1) {
            error = EINVAL;
            goto fail;
        }
        evhttp_set_bevcb(m->http, make_metrics_ssl_bufferevent, m);
    }
    const char *bind_address = *address ? address : "::";
    if (evhttp_bind_socket(m->http, bind_address, (ev_uint16_t) port)
        && (*address
            || evhttp_bind_socket(m->http, "0.0.0.0", (ev_uint16_t) port))) {
        error = errno ? errno : EADDRINUSE;
        log_error("cannot listen for Prometheus on port %d: %s", port,
                  strerror(error));
        goto fail;
    }
    log_info("Prometheus metrics on %s[%s]:%d/metrics",
             cert_path ? "https://" : "http://", bind_address, port);
    *metricsp = m;
    return 0;

fail:
    http_metrics_stop(m);
    *metricsp = NULL;
    return error;
}

void
http_metrics_stop(struct http_metrics *m)
{
    if (!m) {
        return;
    }
    if (m->http) {
        evhttp_free(m->http);
        m->http = NULL;
    }
    SSL_CTX_free(m->ssl_ctx);
    m->ssl_ctx = NULL;
    /* A TLS connection's buffers, and a page in them, may be freed only
     * later (libevent defers it to the loop or to event_base_free()):
     * the last page back frees what is left. */
    m->stopped = true;
    if (!m->pages_out) {
        free(m);
    }
}

static void
handle_metrics(struct evhttp_request *req, void *metrics_)
{
    struct http_metrics *m = metrics_;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));

    if (!path || strcmp(path, "/metrics")) {
        evhttp_send_error(req, HTTP_NOTFOUND, "see /metrics");
        return;
    }
    char *text = m->cb(m->aux);
    struct evbuffer *out = evbuffer_new();
    /* Handed over, not copied: at 1000 VIFs the page is 2 MB. */
    evbuffer_add_reference(out, text, strlen(text), free_page, m);
    m->pages_out++;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4; charset=utf-8");
    /* Without Nagle's algorithm, the page's last segment does not wait
     * for the scraper's delayed ACK (40 ms on Linux). */
    struct bufferevent *bev =
        evhttp_connection_get_bufferevent(evhttp_request_get_connection(req));
    int one = 1;
    if (bev) {
        setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one,
                   sizeof one);
    }
    evhttp_send_reply(req, HTTP_OK, "OK", out);
    evbuffer_free(out);
}

/* Gives a /metrics page back once it is sent, or frees it if the
 * listener has stopped (its exporter may be gone by then; a page handed
 * out is the listener's), and the listener with the last page. */
static void
free_page(const void *data, size_t length, void *metrics_)
{
    struct http_metrics *m = metrics_;

    m->pages_out--;
    if (m->release && !m->stopped) {
        m->release(m->aux, (char *) data);
    } else {
        free((void *) data);
    }
    if (m->stopped && !m->pages_out) {
        free(m);
    }
}

static struct bufferevent *
make_metrics_ssl_bufferevent(struct event_base *base, void *metrics_)
{
    struct http_metrics *m = metrics_;

    return bufferevent_openssl_socket_new(base, -1, SSL_new(m->ssl_ctx),
                                          BUFFEREVENT_SSL_ACCEPTING,
                                          BEV_OPT_CLOSE_ON_FREE);
}
