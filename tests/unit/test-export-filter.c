/*
 * Unit tests of what the exporters may show (mgmt/export-filter.c): only
 * this host's objects, halted VMs on the pool master only, nothing marked
 * netpool-hidden, and nothing hanging off an object removed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mgmt/mgmt.h"
#include "tests/unit/fixture.h"

#define H1 "11111111-1111-1111-1111-111111111111"
#define H2 "22222222-2222-2222-2222-222222222222"

static bool
has(struct json_object *records, const char *class, const char *uuid)
{
    return json_object_object_get_ex(json_object_object_get(records, class),
                                     uuid, NULL);
}

static struct json_object *
records(const char *master)
{
    return fixture_json(
        "{'pool': {'p': {'master': '%s'}},"
        " 'host': {'" H1 "': {}, '" H2 "': {}},"
        " 'PIF': {'pif1': {'host': '" H1 "'}, 'pif2': {'host': '" H2 "'},"
        "         'pif3': {'host': '" H1 "',"
        "                  'other_config': {'netpool-hidden': 'true'}},"
        "         'bond1': {'host': '" H1 "'}},"
        " 'bond': {'b1': {'master': 'bond1'}, 'b2': {'master': 'pif2'}},"
        " 'VLAN': {'v1': {'untagged_PIF': 'pif3'}},"
        " 'VM': {'here': {'resident_on': '" H1 "'},"
        "        'there': {'resident_on': '" H2 "'},"
        "        'halted': {'resident_on': ''},"
        "        'secret': {'resident_on': '" H1 "',"
        "                   'other_config': {'netpool-hidden': 'true'}}},"
        " 'VIF': {'vif1': {'VM': 'here'}, 'vif2': {'VM': 'there'},"
        "         'vif3': {'VM': 'secret'}, 'vif4': {'VM': 'here',"
        "                  'other_config': {'netpool-hidden': 'true'}}},"
        " 'network': {'n1': {}, 'n2': {'other_config': "
        "             {'netpool-hidden': 'false'}}}}",
        master);
}

static void
test_this_host(void **state)
{
    struct json_object *r = records(H1);
    (void) state;

    export_filter_records(r, H1);
    assert_true(has(r, "host", H1));
    assert_false(has(r, "host", H2));
    assert_true(has(r, "PIF", "pif1"));
    assert_false(has(r, "PIF", "pif2"));
    assert_true(has(r, "bond", "b1"));
    assert_false(has(r, "bond", "b2"));
    assert_true(has(r, "VM", "here"));
    assert_false(has(r, "VM", "there"));
    assert_true(has(r, "VM", "halted"));
    assert_true(has(r, "VIF", "vif1"));
    assert_false(has(r, "VIF", "vif2"));
    assert_true(has(r, "network", "n1"));
    assert_true(has(r, "network", "n2"));
    json_object_put(r);
}

static void
test_hidden(void **state)
{
    struct json_object *r = records(H1);
    (void) state;

    export_filter_records(r, H1);
    assert_false(has(r, "PIF", "pif3"));
    assert_false(has(r, "VLAN", "v1"));
    assert_false(has(r, "VM", "secret"));
    assert_false(has(r, "VIF", "vif3"));
    assert_false(has(r, "VIF", "vif4"));
    json_object_put(r);
}

static void
test_halted_on_master_only(void **state)
{
    struct json_object *r = records(H2);
    (void) state;

    export_filter_records(r, H1);
    assert_false(has(r, "VM", "halted"));
    assert_true(has(r, "VM", "here"));
    json_object_put(r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_this_host),
        cmocka_unit_test(test_hidden),
        cmocka_unit_test(test_halted_on_master_only),
    };
    return cmocka_run_group_tests_name("export-filter", tests, NULL, NULL);
}
