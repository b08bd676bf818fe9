/* Unit tests for the netpool CLI's values and xe-style output
 * (cli/value.c, cli/format.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "cli/cli.h"
#include "lib/error.h"

/* Checks that JSON text 'json' prints as 'text'. */
static void
check_format(const char *json, const char *text)
{
    struct json_object *value = json_tokener_parse(json);
    char *s = cli_value_format(value);

    assert_string_equal(s, text);
    free(s);
    json_object_put(value);
}

static void
test_value_format(void **state)
{
    (void) state;
    check_format("\"eth0\"", "eth0");
    check_format("\"\"", "");
    check_format("null", "");
    check_format("9000", "9000");
    check_format("-1", "-1");
    check_format("true", "true");
    check_format("false", "false");
    check_format("0.5", "0.5");
    check_format("1.0", "1");
    check_format("[]", "");
    check_format("[\"a\"]", "a");
    check_format("[\"a\", \"b\", \"c\"]", "a; b; c");
    check_format("{}", "");
    check_format("{\"k1\": \"v1\"}", "k1: v1");
    check_format("{\"k1\": \"v1\", \"k2\": \"v2\"}", "k1: v1; k2: v2");
}

/* Returns a field of 'kind' named 'name' (static storage). */
static struct cli_field *
make_field(const char *name, enum cli_kind kind, bool writable)
{
    static struct cli_field field;

    field.api_name = (char *) name;
    field.cli_name = (char *) name;
    field.kind = kind;
    field.writable = writable;
    return &field;
}

/* Checks that 'text' parses for a field of 'kind' into JSON 'json', or
 * fails when 'json' is NULL. */
static void
check_parse(enum cli_kind kind, const char *text, const char *json)
{
    struct json_object *value, *expected;
    struct np_error *error;

    error = cli_value_parse(make_field("f", kind, true), text, &value);
    if (!json) {
        assert_non_null(error);
        assert_string_equal(error->code, ERR_INVALID_VALUE);
        assert_string_equal(error->params[0], "f");
        assert_string_equal(error->params[1], text);
        assert_null(value);
        np_error_destroy(error);
        return;
    }
    assert_null(error);
    expected = json_tokener_parse(json);
    assert_non_null(expected);
    assert_true(json_object_equal(value, expected));
    json_object_put(expected);
    json_object_put(value);
}

static void
test_value_parse(void **state)
{
    (void) state;
    check_parse(CLI_KIND_STRING, "9000", "\"9000\"");
    check_parse(CLI_KIND_INT, "9000", "9000");
    check_parse(CLI_KIND_INT, "-1", "-1");
    check_parse(CLI_KIND_INT, "9000x", NULL);
    check_parse(CLI_KIND_INT, "", NULL);
    check_parse(CLI_KIND_INT, "99999999999999999999", NULL);
    check_parse(CLI_KIND_BOOL, "true", "true");
    check_parse(CLI_KIND_BOOL, "False", "false");
    check_parse(CLI_KIND_BOOL, "yes", NULL);
    check_parse(CLI_KIND_FLOAT, "0.25", "0.25");
    check_parse(CLI_KIND_FLOAT, "nan", NULL);
    check_parse(CLI_KIND_SET, "a, b,c", "[\"a\", \"b\", \"c\"]");
    check_parse(CLI_KIND_SET, "a; b", "[\"a\", \"b\"]");
    check_parse(CLI_KIND_SET, "", "[]");
    check_parse(CLI_KIND_MAP, "k1: v1; k2: v2",
                "{\"k1\": \"v1\", \"k2\": \"v2\"}");
    check_parse(CLI_KIND_MAP, "k1=v1,k2=v2",
                "{\"k1\": \"v1\", \"k2\": \"v2\"}");
    check_parse(CLI_KIND_MAP, "url: http://x:80/",
                "{\"url\": \"http://x:80/\"}");
    check_parse(CLI_KIND_MAP, "", "{}");
    check_parse(CLI_KIND_MAP, "novalue", NULL);
}

static void
test_record_matches(void **state)
{
    struct json_object *record = json_tokener_parse(
        "{\"device\": \"eth0\", \"MTU\": 9000, \"physical\": true,"
        " \"other_config\": {\"k\": \"v\"}, \"tags\": [\"a\", \"b\"]}");
    struct cli_field device = {"device", "device", CLI_KIND_STRING, false};
    struct cli_field mtu = {"MTU", "MTU", CLI_KIND_INT, true};
    struct cli_field phys = {"physical", "physical", CLI_KIND_BOOL, false};
    struct cli_field oc = {"other_config", "other-config", CLI_KIND_MAP, true};
    struct cli_field tags = {"tags", "tags", CLI_KIND_SET, true};
    struct cli_field missing = {"nope", "nope", CLI_KIND_STRING, false};
    struct cli_filter f[2];

    (void) state;
    assert_true(cli_record_matches(record, NULL, 0));

    f[0] = (struct cli_filter){&device, NULL, "eth0", false};
    f[1] = (struct cli_filter){&mtu, NULL, "9000", false};
    assert_true(cli_record_matches(record, f, 2));
    f[1].value = "1500";
    assert_false(cli_record_matches(record, f, 2));
    f[1].negate = true;
    assert_true(cli_record_matches(record, f, 2));

    f[0] = (struct cli_filter){&phys, NULL, "true", false};
    assert_true(cli_record_matches(record, f, 1));
    f[0] = (struct cli_filter){&oc, "k", "v", false};
    assert_true(cli_record_matches(record, f, 1));
    f[0] = (struct cli_filter){&oc, "other", "", false};
    assert_true(cli_record_matches(record, f, 1));
    f[0] = (struct cli_filter){&tags, NULL, "a; b", false};
    assert_true(cli_record_matches(record, f, 1));
    f[0] = (struct cli_filter){&missing, NULL, "", false};
    assert_true(cli_record_matches(record, f, 1));
    f[0] = (struct cli_filter){&missing, NULL, "x", false};
    assert_false(cli_record_matches(record, f, 1));
    json_object_put(record);
}

/* A network schema and record for the block tests. */
static struct cli_schema *
network_schema(void)
{
    struct json_object *json = json_tokener_parse(
        "[{\"name\":\"name_label\",\"type\":\"string\",\"mode\":\"RW\"},"
        " {\"name\":\"MTU\",\"type\":\"int\",\"mode\":\"RW\"},"
        " {\"name\":\"PIFs\",\"type\":\"set\",\"mode\":\"RO\"},"
        " {\"name\":\"other_config\",\"type\":\"map\",\"mode\":\"RW\"}]");
    struct cli_schema *schema;

    schema = cli_schema_from_json(cli_class_find("network"), json);
    json_object_put(json);
    return schema;
}

static void
test_block(void **state)
{
    struct cli_schema *schema = network_schema();
    struct json_object *record = json_tokener_parse(
        "{\"uuid\": \"7e3a\", \"name_label\": \"storage\", \"MTU\": 9000,"
        " \"PIFs\": [\"p1\", \"p2\"],"
        " \"other_config\": {\"a\": \"1\", \"b\": \"2\"}}");
    const char *params[] = {"uuid", "name-label", "nope", "MTU"};
    char *block;

    (void) state;
    block = cli_format_block(schema, record, NULL, 0);
    assert_string_equal(block, "uuid ( RO)        : 7e3a\n"
                               "  name-label ( RW): storage\n"
                               "         MTU ( RW): 9000\n"
                               "   PIF-uuids (SRO): p1; p2\n"
                               "other-config (MRW): a: 1; b: 2\n"
                               "\n");
    free(block);

    /* Chosen columns, in the order asked, unknown ones skipped. */
    block = cli_format_block(schema, record, params, 4);
    assert_string_equal(block, "uuid ( RO)      : 7e3a\n"
                               "name-label ( RW): storage\n"
                               "       MTU ( RW): 9000\n"
                               "\n");
    free(block);

    /* A single column is left-aligned like xe's first line. */
    block = cli_format_block(schema, record, params + 3, 1);
    assert_string_equal(block, "MTU ( RW): 9000\n\n");
    free(block);

    block = cli_format_block(schema, record, params + 2, 1);
    assert_string_equal(block, "");
    free(block);

    json_object_put(record);
    cli_schema_destroy(schema);
}

/* Returns what cli_print_error() writes for 'error'. */
static char *
error_text(const struct np_error *error, bool json)
{
    char *text = NULL;
    size_t size = 0;
    FILE *stream = open_memstream(&text, &size);

    cli_print_error(stream, error, json);
    fclose(stream);
    return text;
}

static void
test_print_error(void **state)
{
    struct np_error *error =
        np_error_new(ERR_HANDLE_INVALID, "network", "5a1c", NULL);
    struct np_error *bare = np_error_new(ERR_REQUEST_TOO_LARGE, NULL);
    char *text;

    (void) state;
    text = error_text(error, false);
    assert_string_equal(text, "Error code: HANDLE_INVALID\n"
                              "Error parameters: network, 5a1c\n");
    free(text);

    text = error_text(bare, false);
    assert_string_equal(text, "Error code: REQUEST_TOO_LARGE\n");
    free(text);

    text = error_text(error, true);
    assert_string_equal(text, "{\"error\":[\"HANDLE_INVALID\",\"network\","
                              "\"5a1c\"]}\n");
    free(text);

    np_error_destroy(error);
    np_error_destroy(bare);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_format),
        cmocka_unit_test(test_value_parse),
        cmocka_unit_test(test_record_matches),
        cmocka_unit_test(test_block),
        cmocka_unit_test(test_print_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
