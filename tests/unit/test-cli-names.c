/* Unit tests for the netpool CLI's names and schemas (cli/names.c,
 * cli/schema.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "cli/cli.h"

/* Checks that 'convert' turns 'in' into 'out'. */
static void
check_name(char *(*convert)(const char *), const char *in, const char *out)
{
    char *s = convert(in);

    assert_string_equal(s, out);
    free(s);
}

static void
test_name_conversion(void **state)
{
    (void) state;
    check_name(cli_name_to_api, "name-label", "name_label");
    check_name(cli_name_to_api, "other-config", "other_config");
    check_name(cli_name_to_api, "VLAN-master-of", "VLAN_master_of");
    check_name(cli_name_to_api, "MTU", "MTU");
    check_name(cli_name_to_api, "VLAN", "VLAN");
    check_name(cli_name_from_api, "name_label", "name-label");
    check_name(cli_name_from_api, "VLAN_master_of", "VLAN-master-of");
    check_name(cli_name_from_api, "other_config", "other-config");
    check_name(cli_name_from_api, "MTU", "MTU");
}

static void
test_classes(void **state)
{
    static const char *const pairs[][2] = {
        {"pool", "pool"},       {"host", "host"}, {"pif", "PIF"},
        {"network", "network"}, {"bond", "bond"}, {"vlan", "VLAN"},
        {"vif", "VIF"},         {"vm", "VM"},     {"task", "task"},
        {"message", "message"}, {"user", "user"}, {"sr", "SR"},
        {"vdi", "VDI"},         {"vbd", "VBD"},   {"pbd", "PBD"},
    };
    const struct cli_class *const *classes = cli_classes();
    size_t n = 0;

    (void) state;
    while (classes[n]) {
        n++;
    }
    assert_int_equal(n, sizeof pairs / sizeof *pairs);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(classes[i]->cli_name, pairs[i][0]);
        assert_string_equal(classes[i]->api_name, pairs[i][1]);
        assert_ptr_equal(cli_class_find(pairs[i][0]), classes[i]);
        assert_ptr_equal(cli_class_find(pairs[i][1]), classes[i]);
    }
    assert_ptr_equal(cli_class_find("Pif"), cli_class_find("PIF"));
    assert_null(cli_class_find("session"));
    assert_null(cli_class_find("frob"));
}

static void
test_kinds(void **state)
{
    (void) state;
    assert_int_equal(cli_kind_from_type("string"), CLI_KIND_STRING);
    assert_int_equal(cli_kind_from_type("enum"), CLI_KIND_STRING);
    assert_int_equal(cli_kind_from_type("ref"), CLI_KIND_STRING);
    assert_int_equal(cli_kind_from_type("datetime"), CLI_KIND_STRING);
    assert_int_equal(cli_kind_from_type("int"), CLI_KIND_INT);
    assert_int_equal(cli_kind_from_type("bool"), CLI_KIND_BOOL);
    assert_int_equal(cli_kind_from_type("float"), CLI_KIND_FLOAT);
    assert_int_equal(cli_kind_from_type("set"), CLI_KIND_SET);
    assert_int_equal(cli_kind_from_type("string set"), CLI_KIND_SET);
    assert_int_equal(cli_kind_from_type("map"), CLI_KIND_MAP);
    assert_int_equal(cli_kind_from_type("(string -> string) map"),
                     CLI_KIND_MAP);
    assert_int_equal(cli_kind_from_type(NULL), CLI_KIND_STRING);
}

static void
test_field_cli_names(void **state)
{
    static const struct {
        const char *api;
        enum cli_kind kind;
        const char *cli;
    } cases[] = {
        {"name_label", CLI_KIND_STRING, "name-label"},
        {"network", CLI_KIND_STRING, "network-uuid"},
        {"host", CLI_KIND_STRING, "host-uuid"},
        {"VM", CLI_KIND_STRING, "VM-uuid"},
        {"PIFs", CLI_KIND_SET, "PIF-uuids"},
        {"VIFs", CLI_KIND_SET, "VIF-uuids"},
        {"VLAN_master_of", CLI_KIND_SET, "VLAN-master-of"},
        {"master", CLI_KIND_STRING, "master"},
        {"slaves", CLI_KIND_SET, "slaves"},
        {"VLAN", CLI_KIND_INT, "VLAN"},
        {"other_config", CLI_KIND_MAP, "other-config"},
    };

    (void) state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *s = cli_field_cli_name(cases[i].api, cases[i].kind);
        assert_string_equal(s, cases[i].cli);
        free(s);
    }
}

/* The schema of PIF as netpoold's PIF.get_schema describes it, in part. */
static const char pif_schema_json[] =
    "[{\"name\":\"device\",\"type\":\"string\",\"mode\":\"RO\"},"
    " {\"name\":\"MTU\",\"type\":\"int\",\"mode\":\"RO\"},"
    " {\"name\":\"currently_attached\",\"type\":\"bool\",\"mode\":\"RO\"},"
    " {\"name\":\"network\",\"type\":\"ref\",\"mode\":\"RO\","
    "  \"class\":\"network\"},"
    " {\"name\":\"VLAN_master_of\",\"type\":\"set\",\"mode\":\"RO\"},"
    " {\"name\":\"password_hash\",\"type\":\"string\",\"mode\":\"RO\"},"
    " {\"name\":\"hidden\",\"type\":\"string\",\"secret\":true},"
    " {\"name\":\"other_config\",\"type\":\"map\",\"mode\":\"RW\"},"
    " {\"name\":\"tags\",\"type\":\"set\",\"mode\":\"RW\"},"
    " {\"type\":\"string\"}]";

static void
test_schema(void **state)
{
    struct json_object *json = json_tokener_parse(pif_schema_json);
    struct cli_schema *schema;
    const struct cli_field *f;

    (void) state;
    assert_non_null(json);
    schema = cli_schema_from_json(cli_class_find("pif"), json);
    json_object_put(json);
    assert_non_null(schema);

    /* uuid first; the password hash, the secret field and the nameless
     * entry dropped. */
    assert_int_equal(schema->n_fields, 8);
    assert_string_equal(schema->fields[0].api_name, "uuid");
    assert_string_equal(cli_field_mode(&schema->fields[0]), "RO");

    f = cli_schema_find(schema, "currently-attached");
    assert_non_null(f);
    assert_string_equal(f->api_name, "currently_attached");
    assert_int_equal(f->kind, CLI_KIND_BOOL);
    assert_string_equal(cli_field_mode(f), "RO");

    /* A reference is reached by its xe name, its plain name and its API
     * name. */
    f = cli_schema_find(schema, "network-uuid");
    assert_non_null(f);
    assert_string_equal(f->api_name, "network");
    assert_ptr_equal(cli_schema_find(schema, "network"), f);
    assert_ptr_equal(cli_schema_find(schema, "NETWORK-UUID"), f);
    assert_ptr_equal(cli_schema_find_api(schema, "network"), f);

    assert_string_equal(
        cli_field_mode(cli_schema_find(schema, "other-config")), "MRW");
    assert_ptr_equal(cli_schema_find(schema, "other_config"),
                     cli_schema_find(schema, "other-config"));
    assert_string_equal(
        cli_field_mode(cli_schema_find(schema, "VLAN-master-of")), "SRO");
    assert_string_equal(cli_field_mode(cli_schema_find(schema, "tags")),
                        "SRW");
    assert_string_equal(cli_field_mode(cli_schema_find(schema, "MTU")), "RO");

    assert_null(cli_schema_find(schema, "password-hash"));
    assert_null(cli_schema_find(schema, "hidden"));
    assert_null(cli_schema_find(schema, "nope"));
    cli_schema_destroy(schema);

    json = json_object_new_object();
    assert_null(cli_schema_from_json(cli_class_find("pif"), json));
    json_object_put(json);
    cli_schema_destroy(NULL);
}

static void
test_strip_secrets(void **state)
{
    struct json_object *record =
        json_tokener_parse("{\"username\":\"a\",\"password_hash\":\"$6$x\","
                           "\"password\":\"p\",\"role\":\"read-only\"}");

    (void) state;
    cli_record_strip_secrets(record);
    assert_int_equal(json_object_object_length(record), 2);
    assert_true(json_object_object_get_ex(record, "username", NULL));
    assert_true(json_object_object_get_ex(record, "role", NULL));
    json_object_put(record);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_conversion),
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_field_cli_names),
        cmocka_unit_test(test_schema),
        cmocka_unit_test(test_strip_secrets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
