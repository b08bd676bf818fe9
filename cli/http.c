#include "cli/cli.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/error.h"
#include "lib/xalloc.h"

/* What the headers of a response say about its body. */
struct http_framing {
    bool chunked;    /* Transfer-Encoding: chunked. */
    bool has_length; /* A Content-Length header was present. */
    size_t length;   /* Its value. */
};

static const char *find_header_end(const char *buf, size_t size,
                                   size_t *body_offset);
static int parse_status_line(const char *line, size_t length,
                             struct cli_http_response *response);
static int parse_headers(const char *p, const char *end,
                         struct http_framing *framing);
static int decode_chunked(const char *p, size_t size, bool eof,
                          struct cli_http_response *response);
static const char *find_line_end(const char *p, const char *end);

char *
cli_http_format_request(const char *host, const char *path, const char *body,
                        size_t size, size_t *request_size)
{
    char *head = xasprintf("POST %s HTTP/1.1\r\n"
                           "Host: %s\r\n"
                           "User-Agent: netpool/%s\r\n"
                           "Content-Type: application/json\r\n"
                           "Accept: application/json\r\n"
                           "Content-Length: %zu\r\n"
                           "Connection: close\r\n"
                           "\r\n",
                           path, host, CLI_VERSION, size);
    size_t head_size = strlen(head);
    char *request = xrealloc(head, head_size + size + 1);

    memcpy(request + head_size, body, size);
    request[head_size + size] = '\0';
    *request_size = head_size + size;
    return request;
}

int
cli_http_parse_response(const char *buf, size_t size, bool eof,
                        struct cli_http_response *response)
{
    struct http_framing framing = {false, false, 0};
    const char *header_end, *line_end;
    size_t body_offset;
    int error;

    memset(response, 0, sizeof *response);
    header_end = find_header_end(buf, size, &body_offset);
    if (!header_end) {
        return eof ? EPROTO : EAGAIN;
    }

    line_end = find_line_end(buf, header_end);
    error = parse_status_line(buf, line_end - buf, response);
    if (!error) {
        error = parse_headers(line_end, header_end, &framing);
    }
    if (error) {
        goto fail;
    }

    if (response->status >= 100 && response->status < 200) {
        /* An interim response ("100 Continue"): the real one follows. */
        cli_http_response_clear(response);
        return cli_http_parse_response(buf + body_offset, size - body_offset,
                                       eof, response);
    }

    if (response->status == 204 || response->status == 304) {
        response->body = xstrdup("");
    } else if (framing.chunked) {
        error = decode_chunked(buf + body_offset, size - body_offset, eof,
                               response);
    } else if (framing.has_length) {
        if (size - body_offset < framing.length) {
            error = eof ? EPROTO : EAGAIN;
        } else {
            response->body = xmalloc(framing.length + 1);
            memcpy(response->body, buf + body_offset, framing.length);
            response->body[framing.length] = '\0';
            response->body_size = framing.length;
        }
    } else if (!eof) {
        error = EAGAIN;
    } else {
        response->body_size = size - body_offset;
        response->body = xmalloc(response->body_size + 1);
        memcpy(response->body, buf + body_offset, response->body_size);
        response->body[response->body_size] = '\0';
    }

fail:
    if (error) {
        cli_http_response_clear(response);
    }
    return error;
}

void
cli_http_response_clear(struct cli_http_response *response)
{
    if (!response) {
        return;
    }
    free(response->reason);
    free(response->body);
    memset(response, 0, sizeof *response);
}

struct np_error *
cli_http_status_error(int status, const char *reason)
{
    if (status >= 200 && status < 300) {
        return NULL;
    } else if (status == 413) {
        return np_error_new(ERR_REQUEST_TOO_LARGE, NULL);
    } else if (status == 401) {
        return np_error_new(ERR_SESSION_AUTHENTICATION_FAILED, NULL);
    }
    char number[16];
    snprintf(number, sizeof number, "%d", status);
    return np_error_new(CLI_ERR_HTTP_ERROR, number, reason ? reason : "",
                        NULL);
}

/* Returns the end of the header block (the start of its blank line) in
 * the 'size' bytes at 'buf' and the offset of the body, or NULL if the
 * block is incomplete.  Bare LF line ends are tolerated. */
static const char *
find_header_end(const char *buf, size_t size, size_t *body_offset)
{
    for (size_t i = 0; i < size; i++) {
        if (buf[i] != '\n') {
            continue;
        }
        if (i + 1 < size && buf[i + 1] == '\n') {
            *body_offset = i + 2;
            return buf + i + 1;
        }
        if (i + 2 < size && buf[i + 1] == '\r' && buf[i + 2] == '\n') {
            *body_offset = i + 3;
            return buf + i + 1;
        }
    }
    return NULL;
}

/* Returns the position just after the line starting at 'p' ('end' if it
 * has no line end before 'end'). */
static const char *
find_line_end(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', end - p);

    return nl ? nl + 1 : end;
}

/* Parses "HTTP/1.1 200 OK" in the 'length' bytes at 'line'. */
static int
parse_status_line(const char *line, size_t length,
                  struct cli_http_response *response)
{
    const char *p = line, *end = line + length;
    const char *reason;

    while (end > p && (end[-1] == '\n' || end[-1] == '\r')) {
        end--;
    }
    if (end - p < 12 || strncmp(p, "HTTP/1.", 7) || p[8] != ' ') {
        return EPROTO;
    }
    p += 9;
    for (int i = 0; i < 3; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return EPROTO;
        }
    }
    response->status = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    reason = p + 3;
    if (reason < end && *reason != ' ') {
        return EPROTO;
    }
    while (reason < end && *reason == ' ') {
        reason++;
    }
    response->reason = xasprintf("%.*s", (int) (end - reason), reason);
    return 0;
}

/* Parses the header lines between 'p' and 'end' into 'framing'. */
static int
parse_headers(const char *p, const char *end, struct http_framing *framing)
{
    while (p < end) {
        const char *next = find_line_end(p, end);
        const char *colon = memchr(p, ':', next - p);
        const char *value, *value_end = next;
        size_t name_length;

        if (!colon) {
            return EPROTO;
        }
        name_length = colon - p;
        value = colon + 1;
        while (value < value_end && (*value == ' ' || *value == '\t')) {
            value++;
        }
        while (value_end > value
               && (value_end[-1] == '\n' || value_end[-1] == '\r'
                   || value_end[-1] == ' ' || value_end[-1] == '\t')) {
            value_end--;
        }

        if (name_length == 14 && !strncasecmp(p, "Content-Length", 14)) {
            size_t n = 0;
            if (value == value_end) {
                return EPROTO;
            }
            for (const char *d = value; d < value_end; d++) {
                if (*d < '0' || *d > '9' || n > (SIZE_MAX - 9) / 10) {
                    return EPROTO;
                }
                n = n * 10 + (*d - '0');
            }
            if (framing->has_length && framing->length != n) {
                return EPROTO;
            }
            framing->has_length = true;
            framing->length = n;
        } else if (name_length == 17
                   && !strncasecmp(p, "Transfer-Encoding", 17)) {
            size_t n = value_end - value;
            if (n >= 7 && !strncasecmp(value_end - 7, "chunked", 7)) {
                framing->chunked = true;
            }
        }
        p = next;
    }
    return 0;
}

/* Decodes a chunked body of 'size' bytes at 'p' into 'response'. */
static int
decode_chunked(const char *p, size_t size, bool eof,
               struct cli_http_response *response)
{
    const char *end = p + size;
    char *body = xmalloc(1);
    size_t body_size = 0;

    for (;;) {
        const char *line_end = memchr(p, '\n', end - p);
        size_t chunk = 0;
        const char *d = p;

        if (!line_end) {
            goto incomplete;
        }
        for (; d < line_end && *d != ';' && *d != '\r'; d++) {
            int digit;
            if (*d >= '0' && *d <= '9') {
                digit = *d - '0';
            } else if ((*d | 0x20) >= 'a' && (*d | 0x20) <= 'f') {
                digit = (*d | 0x20) - 'a' + 10;
            } else {
                goto malformed;
            }
            if (chunk > (SIZE_MAX >> 4) - 1) {
                goto malformed;
            }
            chunk = chunk * 16 + digit;
        }
        if (d == p) {
            goto malformed;
        }
        p = line_end + 1;
        if (chunk == 0) {
            /* Trailers end with an empty line; nothing in them matters
             * here, so a closed connection after the last chunk is fine. */
            break;
        }
        if ((size_t) (end - p) < chunk + 1) {
            goto incomplete;
        }
        body = xrealloc(body, body_size + chunk + 1);
        memcpy(body + body_size, p, chunk);
        body_size += chunk;
        p += chunk;
        if (*p == '\r') {
            p++;
        }
        if (p >= end) {
            goto incomplete;
        }
        if (*p != '\n') {
            goto malformed;
        }
        p++;
    }

    body[body_size] = '\0';
    response->body = body;
    response->body_size = body_size;
    return 0;

incomplete:
    free(body);
    return eof ? EPROTO : EAGAIN;

malformed:
    free(body);
    return EPROTO;
}
