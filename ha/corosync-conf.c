/*
 * corosync's configuration for a pool: corosync.conf and the authkey,
 * derived from what the replicated store says of the pool and its hosts.
 */
#include "ha/ha.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <json-c/json.h>

#include "lib/record.h"
#include "lib/xalloc.h"

char *
ha_corosync_conf(const struct ha_corosync_settings *s)
{
    size_t size = 4096 + s->n_nodes * 256;
    char *text = xmalloc(size);
    size_t n = 0;

#define ADD(...) n += snprintf(text + n, size - n, __VA_ARGS__)
    ADD("# Written by netpoold for its pool; changes are overwritten.\n"
        "totem {\n"
        "    version: 2\n"
        "    cluster_name: %s\n"
        "    transport: knet\n"
        "    crypto_cipher: aes256\n"
        "    crypto_hash: sha256\n"
        "    keyfile: %s\n"
        "    token: %d\n"
        "    token_coefficient: 0\n"
        "    interface {\n"
        "        linknumber: 0\n"
        "    }\n"
        "}\n"
        "nodelist {\n",
        s->cluster_name, s->keyfile, s->token_ms);
    for (size_t i = 0; i < s->n_nodes; i++) {
        /* No "name": corosync would resolve it, and a host without DNS
         * waits for the resolver's timeout at every start and reload.
         * The host's UUID goes in a comment instead. */
        ADD("    node {\n"
            "        # host %s\n"
            "        nodeid: %u\n"
            "        ring0_addr: %s\n"
            "    }\n",
            s->nodes[i].name, s->nodes[i].id, s->nodes[i].address);
    }
    ADD("}\n"
        "quorum {\n"
        "    provider: corosync_votequorum\n");
    if (s->two_node) {
        ADD("    two_node: 1\n");
    }
    ADD("}\n"
        "system {\n"
        "    state_dir: %s\n"
        "}\n"
        "logging {\n"
        "    to_logfile: yes\n"
        "    logfile: %s\n"
        "    to_syslog: no\n"
        "    to_stderr: no\n"
        "    timestamp: hires\n"
        "}\n",
        s->state_dir, s->log_file);
#undef ADD
    return text;
}

int
ha_token_ms(int token_timeout_ms, bool ha_enabled, int ha_timeout_s)
{
    int token = token_timeout_ms > 0 ? token_timeout_ms : HA_TOKEN_DEFAULT_MS;
    if (!ha_enabled) {
        return token;
    }
    int timeout_s = ha_timeout_s > 0 ? ha_timeout_s : HA_TIMEOUT_DEFAULT_S;
    int derived = timeout_s * 1000 / 4;
    if (derived < HA_TOKEN_MIN_MS) {
        derived = HA_TOKEN_MIN_MS;
    }
    return derived < token ? derived : token;
}

int
ha_pool_token_ms(struct json_object *pool)
{
    if (!pool) {
        return ha_token_ms(0, false, 0);
    }
    return ha_token_ms((int) record_int(pool, "token_timeout", 0),
                       record_bool(pool, "ha_enabled"),
                       (int) record_int(pool, "ha_timeout", 0));
}

void
ha_authkey(const char *secret, unsigned char key[HA_AUTHKEY_SIZE])
{
    for (size_t done = 0, block = 1; done < HA_AUTHKEY_SIZE; block++) {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int size = 0;
        char label[48];
        int length =
            snprintf(label, sizeof label, "netpool corosync %zu", block);

        HMAC(EVP_sha256(), secret, (int) strlen(secret),
             (const unsigned char *) label, (size_t) length, digest, &size);
        size_t take =
            HA_AUTHKEY_SIZE - done < size ? HA_AUTHKEY_SIZE - done : size;
        memcpy(key + done, digest, take);
        done += take;
    }
}

char *
ha_cluster_name(const char *pool)
{
    return xasprintf("np-%.8s", pool);
}

bool
ha_nodes_readdressed(struct json_object *old, struct json_object *new)
{
    for (size_t i = 0; i < json_object_array_length(old); i++) {
        struct json_object *a = json_object_array_get_idx(old, i);
        for (size_t j = 0; j < json_object_array_length(new); j++) {
            struct json_object *b = json_object_array_get_idx(new, j);
            if (record_int(a, "id", -1) == record_int(b, "id", -2)
                && strcmp(record_string(a, "address"),
                          record_string(b, "address"))) {
                return true;
            }
        }
    }
    return false;
}
