#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/xalloc.h"

static char *replace_char(const char *s, char from, char to);
static bool is_class_api_name(const char *name, size_t length);

/* The columns of <c>-list without params=: uuid and the names when the
 * class has them, else a few fields that tell objects apart.  Columns the
 * daemon's schema lacks are skipped. */
static const struct cli_class pool_class = {
    "pool",
    "pool",
    "uuid name-label name-description master",
};
static const struct cli_class host_class = {
    "host",
    "host",
    "uuid name-label name-description",
};
static const struct cli_class pif_class = {
    "pif",
    "PIF",
    "uuid device MAC currently-attached VLAN network-uuid host-uuid",
};
static const struct cli_class network_class = {
    "network",
    "network",
    "uuid name-label name-description bridge",
};
static const struct cli_class bond_class = {
    "bond",
    "bond",
    "uuid master slaves mode",
};
static const struct cli_class vlan_class = {
    "vlan",
    "VLAN",
    "uuid tag tagged-PIF untagged-PIF",
};
static const struct cli_class vif_class = {
    "vif",
    "VIF",
    "uuid device MAC VM-uuid network-uuid currently-attached",
};
static const struct cli_class vm_class = {
    "vm",
    "VM",
    "uuid name-label name-description power-state",
};
static const struct cli_class task_class = {
    "task",
    "task",
    "uuid name-label name-description status progress",
};
static const struct cli_class message_class = {
    "message",
    "message",
    "uuid name priority cls obj-uuid timestamp",
};
static const struct cli_class user_class = {
    "user",
    "user",
    "uuid username role",
};

static const struct cli_class sr_class = {
    "sr",
    "SR",
    "uuid name-label name-description type",
};
static const struct cli_class vdi_class = {
    "vdi",
    "VDI",
    "uuid name-label SR-uuid virtual-size format",
};
static const struct cli_class vbd_class = {
    "vbd",
    "VBD",
    "uuid VM-uuid VDI-uuid userdevice mode",
};

static const struct cli_class pbd_class = {
    "pbd",
    "PBD",
    "uuid host-uuid SR-uuid currently-attached connected",
};

static const struct cli_class *const classes[] = {
    &pool_class, &host_class,    &pif_class,  &network_class,
    &bond_class, &vlan_class,    &vif_class,  &vm_class,
    &task_class, &message_class, &user_class, &sr_class,
    &vdi_class,  &vbd_class,     &pbd_class,  NULL,
};

const struct cli_class *const *
cli_classes(void)
{
    return classes;
}

const struct cli_class *
cli_class_find(const char *name)
{
    for (size_t i = 0; classes[i]; i++) {
        if (!strcasecmp(name, classes[i]->cli_name)
            || !strcasecmp(name, classes[i]->api_name)) {
            return classes[i];
        }
    }
    return NULL;
}

char *
cli_name_to_api(const char *name)
{
    return replace_char(name, '-', '_');
}

char *
cli_name_from_api(const char *name)
{
    return replace_char(name, '_', '-');
}

enum cli_kind
cli_kind_from_type(const char *type)
{
    static const struct {
        const char *name;   /* Schema type. */
        enum cli_kind kind; /* What it holds. */
    } types[] = {
        {"int", CLI_KIND_INT},      {"integer", CLI_KIND_INT},
        {"bool", CLI_KIND_BOOL},    {"boolean", CLI_KIND_BOOL},
        {"float", CLI_KIND_FLOAT},  {"double", CLI_KIND_FLOAT},
        {"number", CLI_KIND_FLOAT}, {"set", CLI_KIND_SET},
        {"array", CLI_KIND_SET},    {"map", CLI_KIND_MAP},
        {"object", CLI_KIND_MAP},
    };

    if (!type) {
        return CLI_KIND_STRING;
    }
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        if (!strcasecmp(type, types[i].name)) {
            return types[i].kind;
        }
    }
    /* xapi spells composite types "(string -> string) map" and "string
     * set". */
    if (strcasestr(type, "map")) {
        return CLI_KIND_MAP;
    } else if (strcasestr(type, "set")) {
        return CLI_KIND_SET;
    }
    return CLI_KIND_STRING;
}

char *
cli_field_cli_name(const char *api_name, enum cli_kind kind)
{
    size_t length = strlen(api_name);
    char *plain = cli_name_from_api(api_name);
    char *name;

    if (kind == CLI_KIND_STRING && is_class_api_name(api_name, length)) {
        name = xasprintf("%s-uuid", plain);
    } else if (kind == CLI_KIND_SET && length > 1
               && api_name[length - 1] == 's'
               && is_class_api_name(api_name, length - 1)) {
        name = xasprintf("%.*s-uuids", (int) (length - 1), plain);
    } else {
        return plain;
    }
    free(plain);
    return name;
}

/* Returns a copy of 's' with every 'from' replaced by 'to'. */
static char *
replace_char(const char *s, char from, char to)
{
    char *copy = xstrdup(s);

    for (char *p = copy; *p; p++) {
        if (*p == from) {
            *p = to;
        }
    }
    return copy;
}

/* Returns true if the 'length' bytes at 'name' are a class's API name. */
static bool
is_class_api_name(const char *name, size_t length)
{
    for (size_t i = 0; classes[i]; i++) {
        const char *api = classes[i]->api_name;
        if (strlen(api) == length && !strncmp(api, name, length)) {
            return true;
        }
    }
    return false;
}
