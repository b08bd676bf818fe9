/*
 * Unit tests of the xen backend's translation (vm/xen.c): a domain
 * configuration built from VM and VIF records becomes libxl's domain
 * configuration.  Without libxl (HAVE_LIBXL unset) there is nothing to
 * test and the program says so.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "lib/error.h"
#include "vm/vm.h"

#ifdef HAVE_LIBXL
#include <libxl.h>
#include <libxl_utils.h>

#define VM1 "11111111-1111-4111-8111-111111111111"
#define NET "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define JUMBO "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
#define VIFA "cccccccc-cccc-4ccc-8ccc-cccccccccccc"
#define VIFB "dddddddd-dddd-4ddd-8ddd-dddddddddddd"
#define MIB (1024LL * 1024)

static struct vm_config *
config_from(const char *vm_text, const char *vifs_text)
{
    struct json_object *vm = json_tokener_parse(vm_text);
    struct json_object *vifs = json_tokener_parse(vifs_text);
    struct json_object *networks = json_tokener_parse(
        "{\"" NET "\": {\"MTU\": 1500, \"bridge\": \"xenbr0\"},"
        " \"" JUMBO "\": {\"MTU\": 9000, \"bridge\": \"xapi3\"}}");
    struct vm_config *config = NULL;

    assert_null(vm_config_from_records(vm, vifs, networks, 4, &config));
    json_object_put(vm);
    json_object_put(vifs);
    json_object_put(networks);
    return config;
}

static const char vm_json[] =
    "{\"uuid\": \"" VM1 "\", \"name_label\": \"web\", \"VCPUs_max\": 2,"
    " \"memory_static_max\": 268435456, \"memory_dynamic_max\": 134217728,"
    " \"PV_kernel\": \"/g/vmlinux\", \"PV_ramdisk\": \"/g/initrd.img\","
    " \"PV_args\": \"quiet\"}";
static const char vifs_json[] =
    "{\"" VIFA "\": {\"VM\": \"" VM1 "\", \"device\": \"1\","
    "   \"network\": \"" JUMBO "\", \"MAC\": \"02:00:00:00:00:0b\"},"
    " \"" VIFB "\": {\"VM\": \"" VM1 "\", \"device\": \"0\","
    "   \"network\": \"" NET "\", \"MAC\": \"02:00:00:00:00:0a\"}}";

static void
test_domain(void **state)
{
    struct vm_config *config = config_from(vm_json, vifs_json);
    libxl_domain_config d;
    libxl_uuid uuid;
    char why[VM_WHY_SIZE];

    assert_int_equal(vm_xen_domain_config(config, &d, why), 0);
    assert_int_equal(d.c_info.type, LIBXL_DOMAIN_TYPE_PVH);
    assert_string_equal(d.c_info.name, "netpool-11111111");
    assert_int_equal(libxl_uuid_from_string(&uuid, VM1), 0);
    assert_int_equal(libxl_uuid_compare(&d.c_info.uuid, &uuid), 0);
    assert_int_equal(d.b_info.type, LIBXL_DOMAIN_TYPE_PVH);
    assert_int_equal(d.b_info.max_vcpus, 2);
    assert_int_equal(d.b_info.max_memkb, 256 * 1024);
    assert_int_equal(d.b_info.target_memkb, 128 * 1024);
    assert_string_equal(d.b_info.kernel, "/g/vmlinux");
    assert_string_equal(d.b_info.ramdisk, "/g/initrd.img");
    assert_string_equal(d.b_info.cmdline, "console=hvc0 quiet");
    assert_int_equal(d.on_poweroff, LIBXL_ACTION_ON_SHUTDOWN_DESTROY);
    assert_int_equal(d.on_reboot, LIBXL_ACTION_ON_SHUTDOWN_RESTART);
    assert_int_equal(d.on_crash, LIBXL_ACTION_ON_SHUTDOWN_DESTROY);
    assert_int_equal(d.num_disks, 0);
    libxl_domain_config_dispose(&d);
    vm_config_destroy(config);
}

static void
test_vifs(void **state)
{
    struct vm_config *config = config_from(vm_json, vifs_json);
    libxl_domain_config d;
    char why[VM_WHY_SIZE];

    assert_int_equal(vm_xen_domain_config(config, &d, why), 0);
    assert_int_equal(d.num_nics, 2);
    /* In device order, each on its network's bridge through the
     * vif-openvswitch script, named as the VIF's port. */
    assert_int_equal(d.nics[0].devid, 0);
    assert_int_equal(d.nics[0].nictype, LIBXL_NIC_TYPE_VIF);
    assert_string_equal(d.nics[0].bridge, "xenbr0");
    assert_string_equal(d.nics[0].ifname, "vif4.0");
    assert_string_equal(d.nics[0].script, "vif-openvswitch");
    assert_int_equal(d.nics[0].mtu, 1500);
    assert_int_equal(d.nics[0].mac[0], 0x02);
    assert_int_equal(d.nics[0].mac[5], 0x0a);
    assert_int_equal(d.nics[1].devid, 1);
    assert_string_equal(d.nics[1].bridge, "xapi3");
    assert_string_equal(d.nics[1].ifname, "vif4.1");
    assert_int_equal(d.nics[1].mtu, 9000);
    assert_int_equal(d.nics[1].mac[5], 0x0b);
    libxl_domain_config_dispose(&d);
    vm_config_destroy(config);
}

static void
test_disks_and_defaults(void **state)
{
    struct vm_config *config = config_from(
        "{\"uuid\": \"" VM1 "\", \"memory_static_max\": 134217728}", "{}");
    libxl_domain_config d;
    char why[VM_WHY_SIZE];

    config->disks = calloc(2, sizeof *config->disks);
    config->disks[0] =
        (struct vm_disk){strdup("/sr/a.qcow2"), strdup("qcow2"), 0, false};
    config->disks[1] =
        (struct vm_disk){strdup("/sr/b.img"), strdup("raw"), 1, true};
    config->n_disks = 2;
    assert_int_equal(vm_xen_domain_config(config, &d, why), 0);
    /* No kernel: no kernel, ramdisk or command line. */
    assert_null(d.b_info.kernel);
    assert_null(d.b_info.ramdisk);
    assert_null(d.b_info.cmdline);
    assert_int_equal(d.b_info.max_vcpus, 1);
    assert_int_equal(d.b_info.target_memkb, 128 * 1024);
    assert_int_equal(d.num_nics, 0);
    assert_int_equal(d.num_disks, 2);
    assert_string_equal(d.disks[0].pdev_path, "/sr/a.qcow2");
    assert_string_equal(d.disks[0].vdev, "xvda");
    assert_int_equal(d.disks[0].format, LIBXL_DISK_FORMAT_QCOW2);
    assert_int_equal(d.disks[0].backend, LIBXL_DISK_BACKEND_QDISK);
    assert_int_equal(d.disks[0].readwrite, 1);
    assert_string_equal(d.disks[1].vdev, "xvdb");
    assert_int_equal(d.disks[1].format, LIBXL_DISK_FORMAT_RAW);
    assert_int_equal(d.disks[1].readwrite, 0);
    libxl_domain_config_dispose(&d);
    vm_config_destroy(config);
}

/* On a host without a Xen hypervisor the backend cannot start, and a host
 * choosing it hears why. */
static void
test_backend_check(void **state)
{
    char why[VM_WHY_SIZE] = "";
    struct vm_backend *xen = vm_xen_backend_create(NULL, "/nonexistent", why);
    struct np_error *error = vm_backend_check("xen");
    (void) state;

    if (xen) {
        /* A Xen host. */
        assert_null(error);
        vm_backend_destroy(xen);
        return;
    }
    assert_non_null(strstr(why, "Xen"));
    assert_non_null(error);
    assert_string_equal(error->code, ERR_HOST_VM_BACKEND_UNAVAILABLE);
    assert_string_equal(error->params[0], "xen");
    np_error_destroy(error);
    assert_null(vm_backend_check("qemu"));
    error = vm_backend_check("vmware");
    assert_string_equal(error->code, ERR_INVALID_VALUE);
    np_error_destroy(error);
}

static void
test_bad_mac(void **state)
{
    struct vm_config *config = config_from(vm_json, vifs_json);
    libxl_domain_config d;
    char why[VM_WHY_SIZE] = "";

    snprintf(config->nics[1].mac, sizeof config->nics[1].mac, "nonsense");
    assert_int_equal(vm_xen_domain_config(config, &d, why), EINVAL);
    assert_non_null(strstr(why, "nonsense"));
    libxl_domain_config_dispose(&d);
    vm_config_destroy(config);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_domain),
        cmocka_unit_test(test_vifs),
        cmocka_unit_test(test_disks_and_defaults),
        cmocka_unit_test(test_bad_mac),
        cmocka_unit_test(test_backend_check),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

#else /* !HAVE_LIBXL */

static void
test_no_libxl(void **state)
{
    char why[VM_WHY_SIZE];

    assert_null(vm_xen_backend_create(NULL, "/nonexistent", why));
    assert_non_null(vm_backend_check("xen"));
    skip();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_libxl),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
