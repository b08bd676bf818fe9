#include "cli/cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include <json-c/json.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "lib/error.h"
#include "lib/jsonrpc.h"
#include "lib/xalloc.h"

#define API_PATH "/jsonrpc"
#define CONNECT_TIMEOUT_S 30 /* Also bounds each blocked write. */
#define MAX_REPLY_SIZE (256u << 20)

/* One open connection, plain or TLS. */
struct channel {
    int fd;       /* Connected socket, or -1. */
    SSL_CTX *ctx; /* TLS context, NULL for the unix socket. */
    SSL *ssl;     /* TLS connection, NULL likewise. */
    char *peer;   /* "host:port" or the socket path, for
                                 * error messages. */
};

static struct np_error *channel_open(const struct cli_target *target,
                                     struct channel *channel);
static void channel_close(struct channel *channel);
static struct np_error *connect_unix(const char *path,
                                     struct channel *channel);
static struct np_error *connect_tcp(const char *host, int port,
                                    struct channel *channel);
static struct np_error *start_tls(const struct cli_target *target,
                                  const char *host, struct channel *channel);
static struct np_error *channel_write(struct channel *channel,
                                      const char *data, size_t size);
static struct np_error *channel_read(struct channel *channel,
                                     struct cli_http_response *response);
static struct np_error *io_error(const struct channel *channel,
                                 const char *what);
static char *strip_brackets(const char *host);
static bool is_ip_address(const char *host);

struct np_error *
cli_transport_post(const struct cli_target *target, const char *body,
                   size_t size, char **replyp, size_t *reply_sizep)
{
    struct channel channel = {-1, NULL, NULL, NULL};
    struct cli_http_response response = {0, NULL, NULL, 0};
    struct np_error *error;
    char *host_header, *request;
    size_t request_size;

    *replyp = NULL;
    *reply_sizep = 0;
    error = channel_open(target, &channel);
    if (error) {
        goto out;
    }

    if (!target->host) {
        host_header = xstrdup("localhost");
    } else if (strchr(target->host, ':') && target->host[0] != '[') {
        host_header = xasprintf("[%s]:%d", target->host, target->port);
    } else {
        host_header = xasprintf("%s:%d", target->host, target->port);
    }
    request = cli_http_format_request(host_header, API_PATH, body, size,
                                      &request_size);
    free(host_header);
    error = channel_write(&channel, request, request_size);
    free(request);
    if (error) {
        /* A server that refuses a request (413) may answer and close
         * before reading all of it: its answer says more than EPIPE. */
        struct np_error *read_error = channel_read(&channel, &response);
        if (read_error) {
            np_error_destroy(read_error);
            goto out;
        }
        np_error_destroy(error);
        error = NULL;
    } else {
        error = channel_read(&channel, &response);
    }
    if (error) {
        goto out;
    }

    error = cli_http_status_error(response.status, response.reason);
    if (error) {
        /* A daemon may answer a bad request with a JSON-RPC error body and
         * a 4xx status: its typed error says more than the status does. */
        struct json_object *result;
        struct np_error *body_error;
        if (!jsonrpc_parse_response(response.body, response.body_size, &result,
                                    &body_error)
            && body_error) {
            np_error_destroy(body_error);
            np_error_destroy(error);
            error = NULL;
        }
        json_object_put(result);
    }
    if (!error) {
        *replyp = response.body;
        *reply_sizep = response.body_size;
        response.body = NULL;
    }

out:
    cli_http_response_clear(&response);
    channel_close(&channel);
    return error;
}

/* Connecting. */

/* Opens 'channel' to 'target', with TLS for a remote host. */
static struct np_error *
channel_open(const struct cli_target *target, struct channel *channel)
{
    struct np_error *error;
    char *host;

    if (!target->host) {
        channel->peer = xstrdup(target->socket_path);
        return connect_unix(target->socket_path, channel);
    }

    host = strip_brackets(target->host);
    channel->peer =
        (strchr(host, ':') ? xasprintf("[%s]:%d", host, target->port)
                           : xasprintf("%s:%d", host, target->port));
    error = connect_tcp(host, target->port, channel);
    if (!error) {
        error = start_tls(target, host, channel);
    }
    free(host);
    return error;
}

/* Closes what 'channel' holds.  Accepts a channel never opened. */
static void
channel_close(struct channel *channel)
{
    if (channel->ssl) {
        if (SSL_is_init_finished(channel->ssl)) {
            SSL_shutdown(channel->ssl);
        }
        SSL_free(channel->ssl);
        ERR_clear_error();
    }
    SSL_CTX_free(channel->ctx);
    if (channel->fd >= 0) {
        close(channel->fd);
    }
    free(channel->peer);
    memset(channel, 0, sizeof *channel);
    channel->fd = -1;
}

/* Connects to the unix socket at 'path'. */
static struct np_error *
connect_unix(const char *path, struct channel *channel)
{
    struct sockaddr_un sun;

    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sun.sun_path) {
        return np_error_new(ERR_INVALID_VALUE, "socket", path, NULL);
    }
    strcpy(sun.sun_path, path);

    channel->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (channel->fd < 0
        || connect(channel->fd, (struct sockaddr *) &sun, sizeof sun) < 0) {
        return io_error(channel, NULL);
    }
    return NULL;
}

/* Connects over TCP to 'host' (a name or an IP address) and 'port', trying
 * each address in turn. */
static struct np_error *
connect_tcp(const char *host, int port, struct channel *channel)
{
    struct addrinfo hints, *addrs, *ai;
    struct timeval timeout = {CONNECT_TIMEOUT_S, 0};
    char service[16];
    int retval, saved_errno = ECONNREFUSED;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(service, sizeof service, "%d", port);
    retval = getaddrinfo(host, service, &hints, &addrs);
    if (retval) {
        return np_error_new(ERR_CONNECTION_FAILED, channel->peer,
                            gai_strerror(retval), NULL);
    }

    for (ai = addrs; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                        ai->ai_protocol);
        if (fd < 0) {
            saved_errno = errno;
            continue;
        }
        /* Linux bounds connect() by the send timeout too. */
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
        if (!connect(fd, ai->ai_addr, ai->ai_addrlen)) {
            channel->fd = fd;
            break;
        }
        saved_errno = errno == EINPROGRESS ? ETIMEDOUT : errno;
        close(fd);
    }
    freeaddrinfo(addrs);

    if (channel->fd < 0) {
        return np_error_new(ERR_CONNECTION_FAILED, channel->peer,
                            strerror(saved_errno), NULL);
    }
    return NULL;
}

/* Runs the TLS handshake on the connected 'channel', verifying the
 * certificate against the CA file or the system store and its name
 * against 'host' unless verification is off. */
static struct np_error *
start_tls(const struct cli_target *target, const char *host,
          struct channel *channel)
{
    X509_VERIFY_PARAM *param;
    unsigned long ssl_error;
    char reason[256];
    long verify;

    channel->ctx = SSL_CTX_new(TLS_client_method());
    if (!channel->ctx
        || !SSL_CTX_set_min_proto_version(channel->ctx, TLS1_2_VERSION)) {
        return np_error_new(ERR_CONNECTION_FAILED, channel->peer,
                            "cannot set up TLS", NULL);
    }
    SSL_CTX_set_options(channel->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);

    if (target->ssl_verify) {
        int ok = (target->cafile
                      ? SSL_CTX_load_verify_locations(channel->ctx,
                                                      target->cafile, NULL)
                      : SSL_CTX_set_default_verify_paths(channel->ctx));
        if (!ok) {
            ERR_clear_error();
            return np_error_new(ERR_INVALID_VALUE, "cafile",
                                target->cafile ? target->cafile : "", NULL);
        }
        SSL_CTX_set_verify(channel->ctx, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_set_verify(channel->ctx, SSL_VERIFY_NONE, NULL);
    }

    channel->ssl = SSL_new(channel->ctx);
    if (!channel->ssl || !SSL_set_fd(channel->ssl, channel->fd)) {
        return np_error_new(ERR_CONNECTION_FAILED, channel->peer,
                            "cannot set up TLS", NULL);
    }
    if (!is_ip_address(host)) {
        SSL_set_tlsext_host_name(channel->ssl, host);
    }
    if (target->ssl_verify) {
        param = SSL_get0_param(channel->ssl);
        X509_VERIFY_PARAM_set_hostflags(param,
                                        X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        if (is_ip_address(host)
                ? !X509_VERIFY_PARAM_set1_ip_asc(param, host)
                : !X509_VERIFY_PARAM_set1_host(param, host, 0)) {
            return np_error_new(ERR_INVALID_VALUE, "host", host, NULL);
        }
    }

    if (SSL_connect(channel->ssl) == 1) {
        return NULL;
    }
    verify = SSL_get_verify_result(channel->ssl);
    if (target->ssl_verify && verify != X509_V_OK) {
        ERR_clear_error();
        return np_error_new(ERR_SSL_VERIFY_ERROR, channel->peer,
                            X509_verify_cert_error_string(verify), NULL);
    }
    ssl_error = ERR_get_error();
    ERR_clear_error();
    if (ssl_error) {
        ERR_error_string_n(ssl_error, reason, sizeof reason);
    } else {
        snprintf(reason, sizeof reason, "TLS handshake failed: %s",
                 errno ? strerror(errno) : "connection closed");
    }
    return np_error_new(ERR_CONNECTION_FAILED, channel->peer, reason, NULL);
}

/* I/O. */

/* Writes all 'size' bytes at 'data'. */
static struct np_error *
channel_write(struct channel *channel, const char *data, size_t size)
{
    while (size) {
        ssize_t n;

        if (channel->ssl) {
            size_t written = 0;
            n = SSL_write_ex(channel->ssl, data, size, &written) > 0
                    ? (ssize_t) written
                    : -1;
            if (n < 0) {
                ERR_clear_error();
            }
        } else {
            n = send(channel->fd, data, size, MSG_NOSIGNAL);
        }
        if (n < 0) {
            if (!channel->ssl && errno == EINTR) {
                continue;
            }
            return io_error(channel, "sending the request");
        }
        data += n;
        size -= n;
    }
    return NULL;
}

/* Reads one whole response into 'response'. */
static struct np_error *
channel_read(struct channel *channel, struct cli_http_response *response)
{
    size_t capacity = 16384, size = 0;
    char *buf = xmalloc(capacity);
    struct np_error *error = NULL;

    for (;;) {
        bool eof = false;
        ssize_t n;
        int retval;

        if (size == capacity) {
            if (capacity >= MAX_REPLY_SIZE) {
                error = np_error_new(ERR_CONNECTION_FAILED, channel->peer,
                                     "response too large", NULL);
                break;
            }
            capacity *= 2;
            buf = xrealloc(buf, capacity);
        }
        if (channel->ssl) {
            size_t got = 0;
            errno = 0;
            if (SSL_read_ex(channel->ssl, buf + size, capacity - size, &got)
                > 0) {
                n = got;
            } else {
                int e = SSL_get_error(channel->ssl, 0);
                ERR_clear_error();
                n = (e == SSL_ERROR_ZERO_RETURN
                     || (e == SSL_ERROR_SYSCALL && !errno))
                        ? 0
                        : -1;
            }
        } else {
            n = recv(channel->fd, buf + size, capacity - size, 0);
            if (n < 0 && errno == EINTR) {
                continue;
            }
        }
        if (n < 0) {
            error = io_error(channel, "reading the response");
            break;
        }
        eof = n == 0;
        size += n;

        retval = cli_http_parse_response(buf, size, eof, response);
        if (!retval) {
            break;
        } else if (retval != EAGAIN) {
            error = np_error_new(ERR_CONNECTION_FAILED, channel->peer,
                                 size ? "malformed HTTP response"
                                      : "connection closed without a "
                                        "response",
                                 NULL);
            break;
        }
    }
    free(buf);
    return error;
}

/* Returns CONNECTION_FAILED for the failure in errno, while doing
 * 'what'. */
static struct np_error *
io_error(const struct channel *channel, const char *what)
{
    char *reason = (what ? xasprintf("%s: %s", what, strerror(errno))
                         : xstrdup(strerror(errno)));
    struct np_error *error =
        np_error_new(ERR_CONNECTION_FAILED, channel->peer, reason, NULL);
    free(reason);
    return error;
}

/* Helpers. */

/* Returns a copy of 'host' without the brackets of "[::1]". */
static char *
strip_brackets(const char *host)
{
    size_t length = strlen(host);

    if (length >= 2 && host[0] == '[' && host[length - 1] == ']') {
        return xasprintf("%.*s", (int) (length - 2), host + 1);
    }
    return xstrdup(host);
}

/* Returns true if 'host' is an IPv4 or IPv6 address literal. */
static bool
is_ip_address(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return (inet_pton(AF_INET, host, buf) == 1
            || inet_pton(AF_INET6, host, buf) == 1);
}
