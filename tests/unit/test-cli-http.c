/* Unit tests for the netpool CLI's HTTP/1.1 framing (cli/http.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli/cli.h"
#include "lib/error.h"

/* Parses the whole of 's' with 'eof'. */
static int
parse(const char *s, bool eof, struct cli_http_response *r)
{
    return cli_http_parse_response(s, strlen(s), eof, r);
}

static void
test_content_length(void **state)
{
    static const char reply[] = "HTTP/1.1 200 OK\r\n"
                                "Content-Type: application/json\r\n"
                                "content-length: 13\r\n"
                                "\r\n"
                                "{\"result\":1}\n";
    struct cli_http_response r;

    (void) state;
    assert_int_equal(parse(reply, false, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.reason, "OK");
    assert_int_equal(r.body_size, 13);
    assert_string_equal(r.body, "{\"result\":1}\n");
    cli_http_response_clear(&r);

    /* Every proper prefix needs more bytes, and is truncated at EOF. */
    for (size_t n = 0; n < strlen(reply); n++) {
        assert_int_equal(cli_http_parse_response(reply, n, false, &r), EAGAIN);
        assert_int_equal(cli_http_parse_response(reply, n, true, &r), EPROTO);
    }

    /* Bytes past Content-Length are not part of the body. */
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
                           "{}garbage",
                           false, &r),
                     0);
    assert_string_equal(r.body, "{}");
    cli_http_response_clear(&r);
}

static void
test_until_close(void **state)
{
    static const char reply[] = "HTTP/1.0 200 OK\r\n\r\n{\"result\":null}";
    struct cli_http_response r;

    (void) state;
    assert_int_equal(parse(reply, false, &r), EAGAIN);
    assert_int_equal(parse(reply, true, &r), 0);
    assert_string_equal(r.body, "{\"result\":null}");
    cli_http_response_clear(&r);

    /* Bare LF line ends are tolerated. */
    assert_int_equal(
        parse("HTTP/1.1 200 OK\nContent-Length: 2\n\n{}", false, &r), 0);
    assert_string_equal(r.body, "{}");
    cli_http_response_clear(&r);
}

static void
test_chunked(void **state)
{
    static const char reply[] = "HTTP/1.1 200 OK\r\n"
                                "Transfer-Encoding: chunked\r\n"
                                "\r\n"
                                "5\r\nhello\r\n"
                                "7;ext=1\r\n, world\r\n"
                                "0\r\n\r\n";
    struct cli_http_response r;

    (void) state;
    assert_int_equal(parse(reply, false, &r), 0);
    assert_int_equal(r.body_size, 12);
    assert_string_equal(r.body, "hello, world");
    cli_http_response_clear(&r);

    for (size_t n = 0; n < strlen(reply) - 4; n++) {
        assert_int_equal(cli_http_parse_response(reply, n, false, &r), EAGAIN);
    }
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
                           "\r\n\r\nzz\r\n",
                           false, &r),
                     EPROTO);
}

static void
test_malformed(void **state)
{
    struct cli_http_response r;

    (void) state;
    assert_int_equal(parse("SMTP 220 hello\r\n\r\n", false, &r), EPROTO);
    assert_int_equal(parse("HTTP/1.1 2x0 OK\r\n\r\n", false, &r), EPROTO);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", false, &r),
                     EPROTO);
    assert_int_equal(
        parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false, &r),
        EPROTO);
    assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
                           "Content-Length: 2\r\n\r\n{}",
                           false, &r),
                     EPROTO);
    assert_int_equal(parse("", true, &r), EPROTO);
}

static void
test_status(void **state)
{
    struct cli_http_response r;
    struct np_error *error;

    (void) state;
    assert_int_equal(parse("HTTP/1.1 413 Payload Too Large\r\n"
                           "Content-Length: 0\r\n\r\n",
                           false, &r),
                     0);
    assert_int_equal(r.status, 413);
    assert_string_equal(r.reason, "Payload Too Large");
    assert_string_equal(r.body, "");
    error = cli_http_status_error(r.status, r.reason);
    assert_non_null(error);
    assert_string_equal(error->code, ERR_REQUEST_TOO_LARGE);
    np_error_destroy(error);
    cli_http_response_clear(&r);

    /* An interim response is skipped. */
    assert_int_equal(parse("HTTP/1.1 100 Continue\r\n\r\n"
                           "HTTP/1.1 204 No Content\r\n\r\n",
                           false, &r),
                     0);
    assert_int_equal(r.status, 204);
    assert_null(cli_http_status_error(r.status, r.reason));
    cli_http_response_clear(&r);

    error = cli_http_status_error(404, "Not Found");
    assert_string_equal(error->code, CLI_ERR_HTTP_ERROR);
    assert_int_equal(error->n_params, 2);
    assert_string_equal(error->params[0], "404");
    assert_string_equal(error->params[1], "Not Found");
    np_error_destroy(error);

    error = cli_http_status_error(401, "Unauthorized");
    assert_string_equal(error->code, ERR_SESSION_AUTHENTICATION_FAILED);
    np_error_destroy(error);
    assert_null(cli_http_status_error(200, "OK"));
}

static void
test_format_request(void **state)
{
    size_t size;
    char *request;

    (void) state;
    request = cli_http_format_request("h:443", "/jsonrpc", "{}", 2, &size);
    assert_int_equal(size, strlen(request));
    assert_true(!strncmp(request, "POST /jsonrpc HTTP/1.1\r\n", 24));
    assert_non_null(strstr(request, "\r\nHost: h:443\r\n"));
    assert_non_null(strstr(request, "\r\nContent-Length: 2\r\n"));
    assert_non_null(strstr(request, "\r\nContent-Type: application/json\r\n"));
    assert_non_null(strstr(request, "\r\nConnection: close\r\n"));
    assert_string_equal(request + size - 6, "\r\n\r\n{}");
    free(request);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_length),
        cmocka_unit_test(test_until_close),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_format_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
