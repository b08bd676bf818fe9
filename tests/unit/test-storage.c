/*
 * Unit tests of the pure part of shared SRs (storage/storage.h): checking
 * an NFS SR's device_config, its nfs:// URLs, and the PIF a host reaches
 * the server from; an iSCSI SR's device_config, its LUNs' iscsi:// URLs
 * and a LUN's SCSI id.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/error.h"
#include "storage/storage.h"
#include "tests/unit/fixture.h"

/* Checks 'json' and returns the error's "CODE PARAM PARAM" ("" if none),
 * a new string. */
static char *
check(const char *json, struct storage_nfs_config *config)
{
    struct json_object *device_config = fixture_json("%s", json);
    struct np_error *error = storage_nfs_check_config(device_config, config);
    char *text = xstrdup("");

    if (error) {
        free(text);
        text = xasprintf("%s %s %s", error->code,
                         error->n_params > 0 ? error->params[0] : "",
                         error->n_params > 1 ? error->params[1] : "");
    }
    np_error_destroy(error);
    json_object_put(device_config);
    return text;
}

static void
test_config(void **state)
{
    struct storage_nfs_config c;
    static const struct {
        const char *json;
        const char *error;
    } cases[] = {
        {"{'server': '198.18.20.1', 'serverpath': '/srv/sr'}", ""},
        {"{'server': '198.18.20.1', 'serverpath': '/srv/sr/',"
         " 'nfsversion': '3'}",
         ""},
        {"{'serverpath': '/srv'}", "INVALID_VALUE device_config:server "},
        {"{'server': 'nfs.example', 'serverpath': '/srv'}",
         "INVALID_VALUE device_config:server nfs.example"},
        {"{'server': '198.18.20.1'}",
         "INVALID_VALUE device_config:serverpath "},
        {"{'server': '198.18.20.1', 'serverpath': 'srv'}",
         "INVALID_VALUE device_config:serverpath srv"},
        {"{'server': '198.18.20.1', 'serverpath': '/srv/../etc'}",
         "INVALID_VALUE device_config:serverpath /srv/../etc"},
        {"{'server': '198.18.20.1', 'serverpath': '/srv//sr'}",
         "INVALID_VALUE device_config:serverpath /srv//sr"},
        {"{'server': '198.18.20.1', 'serverpath': '/srv',"
         " 'nfsversion': '4'}",
         "INVALID_VALUE device_config:nfsversion 4"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *got = check(cases[i].json, &c);
        assert_string_equal(got, cases[i].error);
        free(got);
    }
    char *got =
        check("{'server': '198.18.20.1', 'serverpath': '/srv/sr/'}", &c);
    assert_string_equal(got, "");
    free(got);
    assert_string_equal(c.server, "198.18.20.1");
    assert_string_equal(c.path, "/srv/sr");
}

static void
test_url(void **state)
{
    struct storage_nfs_config c = {"198.18.20.1", "/srv/sr"};
    char *url = storage_nfs_url(&c, "a.qcow2");
    assert_string_equal(url, "nfs://198.18.20.1/srv/sr/a.qcow2");
    free(url);
    url = storage_nfs_url(&c, "");
    assert_string_equal(url, "nfs://198.18.20.1/srv/sr");
    free(url);
    struct storage_nfs_config root = {"198.18.20.1", "/"};
    url = storage_nfs_url(&root, "a.raw");
    assert_string_equal(url, "nfs://198.18.20.1/a.raw");
    free(url);
}

/* h1 has the management PIF on 198.18.0.0/24 and a storage VLAN PIF on
 * 198.18.20.0/24; an unplugged PIF and h2's PIF are on the storage subnet
 * too. */
static struct json_object *
records(void)
{
    return fixture_json(
        "{'PIF': {"
        "  'mgmt': {'host': 'h1', 'currently_attached': true,"
        "           'management': true, 'ip_configuration_mode': 'DHCP',"
        "           'IP': '198.18.0.11', 'netmask': '255.255.255.0',"
        "           'network': 'n0', 'bond_slave_of': ''},"
        "  'vlan': {'host': 'h1', 'currently_attached': true,"
        "           'management': false, 'ip_configuration_mode': 'Static',"
        "           'IP': '198.18.20.11', 'netmask': '255.255.255.0',"
        "           'network': 'n20', 'bond_slave_of': ''},"
        "  'down': {'host': 'h1', 'currently_attached': false,"
        "           'management': false, 'ip_configuration_mode': 'Static',"
        "           'IP': '198.18.21.11', 'netmask': '255.255.255.0',"
        "           'network': 'n21', 'bond_slave_of': ''},"
        "  'other': {'host': 'h2', 'currently_attached': true,"
        "           'management': false, 'ip_configuration_mode': 'Static',"
        "           'IP': '198.18.22.12', 'netmask': '255.255.255.0',"
        "           'network': 'n22', 'bond_slave_of': ''}},"
        " 'network': {"
        "  'n0': {'name_label': 'management', 'bridge': 'xenbr0', 'MTU': "
        "1500},"
        "  'n20': {'name_label': 'storage', 'bridge': 'xapi1', 'MTU': 9000},"
        "  'n21': {'name_label': 's21', 'bridge': 'xapi2', 'MTU': 9000},"
        "  'n22': {'name_label': 's22', 'bridge': 'xapi3', 'MTU': 9000}}}");
}

static void
test_pick_path(void **state)
{
    struct json_object *r = records();
    struct storage_path p;

    assert_true(storage_pick_path(r, "h1", "198.18.20.1", &p));
    assert_string_equal(p.pif, "vlan");
    assert_string_equal(p.interface, "xapi1");
    assert_string_equal(p.source, "198.18.20.11");
    assert_string_equal(p.network_name, "storage");
    assert_int_equal(p.mtu, 9000);

    /* A server on the management subnet: the management PIF, routed by
     * the host (no interface to bind to). */
    assert_true(storage_pick_path(r, "h1", "198.18.0.5", &p));
    assert_string_equal(p.pif, "mgmt");
    assert_string_equal(p.interface, "");
    assert_int_equal(p.mtu, 1500);

    /* Never an unplugged PIF, another host's, or a subnet nobody has. */
    assert_false(storage_pick_path(r, "h1", "198.18.21.1", &p));
    assert_false(storage_pick_path(r, "h1", "198.18.22.1", &p));
    assert_false(storage_pick_path(r, "h1", "198.19.1.1", &p));
    assert_true(storage_pick_path(r, "h2", "198.18.22.1", &p));
    assert_string_equal(p.pif, "other");
    json_object_put(r);
}

/* When the management PIF and a storage PIF share the server's subnet,
 * the storage PIF wins, whichever comes first. */
static void
test_pick_path_prefers_storage(void **state)
{
    struct json_object *r = fixture_json(
        "{'PIF': {"
        "  'a': {'host': 'h1', 'currently_attached': true,"
        "        'management': false, 'ip_configuration_mode': 'Static',"
        "        'IP': '198.18.0.21', 'netmask': '255.255.255.0',"
        "        'network': 'n1'},"
        "  'b': {'host': 'h1', 'currently_attached': true,"
        "        'management': true, 'ip_configuration_mode': 'Static',"
        "        'IP': '198.18.0.11', 'netmask': '255.255.255.0',"
        "        'network': 'n0'},"
        "  'c': {'host': 'h1', 'currently_attached': true,"
        "        'management': false, 'ip_configuration_mode': 'None',"
        "        'IP': '198.18.0.31', 'netmask': '255.255.255.0',"
        "        'network': 'n2'}},"
        " 'network': {'n0': {'bridge': 'xenbr0'}, 'n1': {'bridge': 'xapi1'},"
        "             'n2': {'bridge': 'xapi2'}}}");
    struct storage_path p;

    assert_true(storage_pick_path(r, "h1", "198.18.0.1", &p));
    assert_string_equal(p.pif, "a");
    assert_string_equal(p.interface, "xapi1");
    json_object_put(r);
}

/* Checks iSCSI device_config 'json'; returns the error as check() does. */
static char *
check_iscsi(const char *json, struct storage_iscsi_config *config)
{
    struct json_object *device_config = fixture_json("%s", json);
    struct np_error *error = storage_iscsi_check_config(device_config, config);
    char *text = xstrdup("");

    if (error) {
        free(text);
        text = xasprintf("%s %s %s", error->code,
                         error->n_params > 0 ? error->params[0] : "",
                         error->n_params > 1 ? error->params[1] : "");
    }
    np_error_destroy(error);
    json_object_put(device_config);
    return text;
}

static void
test_iscsi_config(void **state)
{
    struct storage_iscsi_config c;
    static const struct {
        const char *json;
        const char *error;
    } cases[] = {
        {"{'target': '198.18.20.1', 'targetIQN': 'iqn.2026-12.org.x:st'}", ""},
        {"{'target': '198.18.20.1', 'port': '3261',"
         " 'targetIQN': 'eui.0123456789abcdef', 'SCSIid': '1IET_0001'}",
         ""},
        {"{'targetIQN': 'iqn.2026-12.org.x'}",
         "INVALID_VALUE device_config:target "},
        {"{'target': 'san.example', 'targetIQN': 'iqn.2026-12.org.x'}",
         "INVALID_VALUE device_config:target san.example"},
        {"{'target': '198.18.20.1', 'port': '0',"
         " 'targetIQN': 'iqn.2026-12.org.x'}",
         "INVALID_VALUE device_config:port 0"},
        {"{'target': '198.18.20.1', 'port': '3260x',"
         " 'targetIQN': 'iqn.2026-12.org.x'}",
         "INVALID_VALUE device_config:port 3260x"},
        {"{'target': '198.18.20.1'}",
         "INVALID_VALUE device_config:targetIQN "},
        {"{'target': '198.18.20.1', 'targetIQN': 'storage'}",
         "INVALID_VALUE device_config:targetIQN storage"},
        {"{'target': '198.18.20.1', 'targetIQN': 'iqn.26-12.org.x'}",
         "INVALID_VALUE device_config:targetIQN iqn.26-12.org.x"},
        {"{'target': '198.18.20.1', 'targetIQN': 'IQN.2026-12.ORG.X'}",
         "INVALID_VALUE device_config:targetIQN IQN.2026-12.ORG.X"},
        {"{'target': '198.18.20.1', 'targetIQN': 'eui.0123'}",
         "INVALID_VALUE device_config:targetIQN eui.0123"},
        {"{'target': '198.18.20.1', 'targetIQN': 'iqn.2026-12.org.x',"
         " 'SCSIid': 'a b'}",
         "INVALID_VALUE device_config:SCSIid a b"},
        {"{'target': '198.18.20.1', 'targetIQN': 'iqn.2026-12.org.x',"
         " 'SCSIid': 'a/b'}",
         "INVALID_VALUE device_config:SCSIid a/b"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *text = check_iscsi(cases[i].json, &c);
        assert_string_equal(text, cases[i].error);
        free(text);
    }
    char *text = check_iscsi(
        "{'target': '198.18.20.1', 'targetIQN': 'iqn.2026-12.org.x:st'}", &c);
    free(text);
    assert_int_equal(c.port, 3260);
    assert_string_equal(c.scsi_id, "");
    char *url = storage_iscsi_url(&c, 2);
    assert_string_equal(url,
                        "iscsi://198.18.20.1:3260/iqn.2026-12.org.x:st/2");
    assert_true(storage_location_is_iscsi(url));
    assert_false(storage_location_is_nfs(url));
    free(url);
    struct json_object *stored = storage_iscsi_device_config(&c);
    assert_string_equal(
        json_object_to_json_string_ext(stored, JSON_C_TO_STRING_PLAIN),
        "{\"target\":\"198.18.20.1\",\"targetIQN\":"
        "\"iqn.2026-12.org.x:st\",\"port\":\"3260\"}");
    json_object_put(stored);
}

static void
test_scsi_id(void **state)
{
    static const unsigned char naa[] = {0x60, 0x01, 0x40, 0x5a,
                                        0xbc, 0xde, 0xf0, 0x12};
    static const unsigned char t10[] = "IET     00010001  ";
    static const unsigned char eui[] = {0x01, 0x02, 0x03, 0x04,
                                        0x05, 0x06, 0x07, 0x08};
    struct storage_scsi_designator d[] = {
        {.type = 1, .binary = false, .length = 18, .data = t10},
        {.type = 2, .binary = true, .length = 8, .data = eui},
        {.type = 3, .binary = true, .length = 8, .data = naa},
    };
    char *id;

    id = storage_iscsi_scsi_id(d, 3);
    assert_string_equal(id, "36001405abcdef012");
    free(id);
    id = storage_iscsi_scsi_id(d, 2);
    assert_string_equal(id, "20102030405060708");
    free(id);
    id = storage_iscsi_scsi_id(d, 1);
    assert_string_equal(id, "1IET_00010001");
    free(id);
    id = storage_iscsi_scsi_id(d, 0);
    assert_string_equal(id, "");
    free(id);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_url),
        cmocka_unit_test(test_pick_path),
        cmocka_unit_test(test_pick_path_prefers_storage),
        cmocka_unit_test(test_iscsi_config),
        cmocka_unit_test(test_scsi_id),
    };
    return cmocka_run_group_tests_name("storage", tests, NULL, NULL);
}
