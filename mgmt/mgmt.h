/*
 * mgmt: the internals of netpoold — configuration, the JSON-RPC API with
 * its sessions, roles, tasks and events, the HTTP listeners and the host
 * certificate.  Only files in mgmt/ include this header; the other modules
 * see the object store (mgmt/store.h) and nothing else of mgmt/.
 *
 * The API owns request handling from a request body to a response; it
 * never reads sockets.  The listeners own sockets and TLS; they never look
 * inside a request.
 */
#ifndef NETPOOL_MGMT_MGMT_H
#define NETPOOL_MGMT_MGMT_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/log.h"

struct event_base;
struct json_object;
struct np_error;
struct store;
struct mgmt_watch;
struct mgmt_dhcp;

/* Configuration (config.c). */

/* Everything netpoold can be told, from its configuration file and its
 * command line (the command line wins). */
struct config {
    char *config_file;          /* File read at start and on SIGHUP. */
    char *state_dir;            /* Database, certificate, root password. */
    char *unix_socket;          /* Path of the local API socket. */
    char *https_address;        /* Address HTTPS binds; "" for any. */
    int https_port;             /* HTTPS port; 0 disables HTTPS. */
    char *pidfile;              /* Pidfile path. */
    char *log_file;             /* Log file; NULL for stderr. */
    bool syslog;                /* Log to syslog instead. */
    enum log_level log_level;   /* Least severe level logged. */
    bool detach;                /* Run in the background once ready. */
    char *management_interface; /* Device of the management PIF; NULL for
                                 * the first PIF. */
    char *pif_match;            /* Space-separated globs for NIC names. */
    int resync_interval;        /* Seconds between full resyncs. */
    char *ovs_db;               /* OVSDB remote of the host's OVS. */
    char *datapath_type;        /* Datapath of netpool's bridges: "netdev"
                                 * (userspace), "system" (kernel). */
    char *metrics_address;      /* Address /metrics binds; "" for any. */
    int metrics_port;           /* Port of /metrics; 0 disables it. */
    bool metrics_tls;           /* Serve /metrics over TLS. */
    char *snmp_agentx_socket;   /* AgentX master socket; "" disables the
                                 * SNMP subagent. */
    size_t change_log_keep;     /* Changes kept for event.from. */
    bool store_sync_full;       /* --store-sync full: the store flushes each
                                 * commit to the disk before the answer,
                                 * instead of at most 100 ms after it
                                 * (interval, the default). */
    const unsigned char *cmdline_mask; /* Options the command line set,
                                         * which a reload keeps. */
};

/* Fills 'config' with defaults, then the file named by --config (if any),
 * then the command line.  Returns NULL or a typed error naming the bad
 * option (INVALID_VALUE(option, value)). */
struct np_error *config_load(struct config *config, int argc, char *argv[]);

/* Re-reads the configuration file into 'config', keeping command-line
 * values; used on SIGHUP.  Returns NULL or a typed error, leaving 'config'
 * unchanged on error. */
struct np_error *config_reload(struct config *config);

/* Frees what 'config' owns. */
void config_clear(struct config *config);

/* Prints the option summary to stdout. */
void config_usage(void);

/* File modes of the state folder (state-modes.c). */

/* Takes every group and other permission off the folder 'dir', everything
 * under it (symbolic links are neither followed nor changed) and each of
 * the 'n' files in 'paths' that exists, so that folders end 0700 and files
 * 0600 (0700 if executable).  Logs each change at info level.  Returns the
 * number of modes it changed. */
int mgmt_state_secure(const char *dir, const char *const paths[], size_t n);

/* Passwords and users (password.c). */

/* Returns a new salted PBKDF2-SHA256 hash of 'password' in the form
 * "pbkdf2-sha256$ITERATIONS$SALT$HASH", or NULL on failure. */
char *password_hash(const char *password);

/* Returns true if 'password' matches 'hash' (from password_hash()). */
bool password_verify(const char *password, const char *hash);

/* Writes a new random password of 'length' characters into 'out' (which
 * holds length + 1 bytes).  Returns 0 or EIO. */
int password_generate(char *out, size_t length);

/* Roles (rbac.c). */

/* Returns the rank of role 'name' (read-only = 0 … pool-admin = 5), or -1
 * for an unknown role. */
int rbac_role_rank(const char *name);

/* Returns the least role (its name) allowed to call 'method' ("network.
 * create"), from the method's class and verb alone. */
const char *rbac_required_role(const char *method);

/* Returns true if 'role' may call 'method'. */
bool rbac_allows(const char *role, const char *method);

/* The API (api.c, api-generic.c, api-session.c, api-task.c,
 * api-event.c). */

struct api;
struct api_call;

/* Delivers the response to a call: a JSON-RPC response object (ownership
 * passes to the callee) for the transport to send. */
typedef void api_reply_cb(void *aux, struct json_object *response);

/* Returns a new API over 'store', scheduling deferred work on 'base', for
 * the host 'host_uuid'. */
struct api *api_create(struct store *store, struct event_base *base,
                       const char *host_uuid);

/* Frees 'api', answering every waiting call with an error first.  Accepts
 * NULL. */
void api_destroy(struct api *api);

/* Handles one request of 'size' bytes at 'body' that arrived on a local
 * (unix socket) listener if 'local'.  Calls 'reply' exactly once, with
 * 'aux', either before returning (and then returns NULL) or later (and
 * then returns a handle that api_call_abandon() cancels if the client goes
 * away first). */
struct api_call *api_handle(struct api *api, const char *body, size_t size,
                            bool local, api_reply_cb *reply, void *aux);

/* Like api_handle() for a request over HTTPS whose client presented the
 * certificate 'peer_cert' (PEM): if the pool's CA signed it, the caller is
 * the pool member its name says, with root's rights and no session needed
 * (its writes are recorded as "host:UUID"); otherwise the certificate is
 * ignored. */
struct api_call *api_handle_peer(struct api *api, const char *body,
                                 size_t size, const char *peer_cert,
                                 api_reply_cb *reply, void *aux);

/* Cancels a deferred call: its reply callback will not run. */
void api_call_abandon(struct api_call *call);

/* Gives 'api' this host's pool agent and HTTPS port (the default port of
 * the pool member pool-join asks). */
struct ha_pool;
void api_set_pool(struct api *api, struct ha_pool *pool, int https_port,
                  const char *state_dir);

/* Makes sure a root user exists.  On creating it, writes its generated
 * password into 'password' (PASSWORD_LENGTH + 1 bytes) and returns 1;
 * returns 0 if root already existed, or a negative errno on failure. */
#define PASSWORD_LENGTH 20
int api_ensure_root(struct api *api, char *password);

/* Returns a new JSON-RPC error response for 'error' with a null id; for
 * transports that reject a request before the API sees it. */
struct json_object *api_error_response(const struct np_error *error);

/* The largest request body the API accepts, in bytes. */
#define API_MAX_REQUEST_SIZE (1024 * 1024)

/* What the exporters may show (export-filter.c). */

/* other_config key that keeps an object out of /metrics and SNMP when it
 * is "true". */
#define EXPORT_HIDDEN_KEY "netpool-hidden"

/* Removes in place from 'records' (class → (UUID → record), as the
 * exporters read them; classes it lacks are skipped) every object the
 * exporters of host 'host' do not show: those marked other_config
 * netpool-hidden=true; hosts other than 'host'; PIFs of other hosts; VMs
 * resident on other hosts (a VM resident nowhere only on the master of
 * the pool in records["pool"]); VIFs of VMs removed; bonds and VLANs whose
 * master or VLAN PIF was removed. */
void export_filter_records(struct json_object *records, const char *host);

/* Returns true if 'record' is marked other_config netpool-hidden=true. */
bool export_hidden(struct json_object *record);

/* Returns true if object 'uuid' of 'class' ('record' its record) is one
 * export_filter_records() would keep in 'records' (class → (UUID →
 * record), unfiltered) for host 'host', without changing 'records'. */
bool export_visible(struct json_object *records, const char *class,
                    const char *uuid, struct json_object *record,
                    const char *host);

/* Prometheus exporter (metrics.c). */

struct dp_iface_counters;
struct dp_ovs_counters;
struct dp_reconciler_stats;

/* Facts about the daemon for the exporter. */
struct metrics_info {
    const char *version;             /* netpoold version. */
    const char *host;                /* This host's UUID. */
    double start_time;               /* Start, seconds since the epoch. */
    double now;                      /* Now, seconds since the epoch. */
    unsigned long long memory_total; /* Host memory, bytes (0: unknown). */
    unsigned long long memory_free;  /* Available memory, bytes. */
    const struct dp_ovs_counters *counters; /* Interface counters, or
                                             * NULL. */
    const struct dp_iface_counters *ifaces; /* Without 'counters': the
                                             * interfaces to show. */
    size_t n_ifaces;                        /* Entries in 'ifaces'. */
    struct json_object *ovs_stats;          /* dp_ovs_stats_get(), or NULL. */
    const struct dp_reconciler_stats *reconciler; /* Or NULL. */
    const char *tail; /* Lines that end the page (the HA families), or
                       * NULL. */
};

struct metrics;

/* Returns a new exporter of the objects of 'store' that host 'host' shows:
 * it keeps the records it needs (this host's and unowned ones) and the
 * object counts current from the store's change feed, so that a scrape
 * reads nothing from the store. */
struct metrics *metrics_create(struct store *store, const char *host);

/* Frees 'metrics'.  Accepts NULL. */
void metrics_destroy(struct metrics *metrics);

/* Returns the Prometheus text exposition (a new string) of the objects
 * 'metrics' keeps, and of the interface counters, OVS statistics and
 * reconciler counters in 'info', followed by 'info->tail'.  Never shows a
 * secret class. */
char *metrics_render(struct metrics *metrics, const struct metrics_info *info);

/* Takes back 'page', a page metrics_render() returned, once it is sent: the
 * exporter keeps the last one for the next scrape (whose memory is then
 * already mapped: at 1000 VIFs a fresh 2 MB page costs 500 page faults)
 * and frees any other. */
void metrics_release_page(struct metrics *metrics, char *page);

/* The management interface (api-management.c, management.c). */

/* Writes host 'host''s management fields in 'store': 'rollback' as the
 * pending change (borrowed; NULL for none), 'retire' added to
 * management_retired (unless NULL; 'address' leaves that list) and
 * 'address' as the host's address.  Returns 0 or a positive errno. */
int mgmt_write_host_management(struct store *store, const char *host,
                               struct json_object *rollback,
                               const char *retire, const char *address);

/* Watches host 'host' of 'store' for a pending management change and
 * confirms or rolls it back (see management.c), on 'base'. */
struct mgmt_watch *mgmt_watch_create(struct event_base *base,
                                     struct store *store, const char *host);

/* Stops watching.  Accepts NULL. */
void mgmt_watch_destroy(struct mgmt_watch *watch);

/* Runs a DHCP client (busybox udhcpc) for host 'host''s management PIF
 * while it is in DHCP mode, storing its leases (see dhcp.c); hook and
 * lease files go in 'state_dir'. */
struct mgmt_dhcp *mgmt_dhcp_create(struct event_base *base,
                                   struct store *store, const char *host,
                                   const char *state_dir);

/* Stops the client, if any.  Accepts NULL. */
void mgmt_dhcp_destroy(struct mgmt_dhcp *dhcp);

/* A lease as the DHCP hook records it. */
struct mgmt_dhcp_lease {
    char ip[16];     /* Dotted quad. */
    char subnet[16]; /* Dotted netmask. */
    char router[16]; /* First router, or "". */
    char dns[192];   /* Comma-separated servers, or "". */
};

/* Parses the hook's "key=value" lines in 'text' (ip, subnet, router, dns;
 * others are ignored) into '*lease'.  Returns true if it has a valid IPv4
 * address and netmask; a router that is not an IPv4 address is dropped.
 * Pure. */
bool mgmt_dhcp_parse_lease(const char *text, struct mgmt_dhcp_lease *lease);

/* Domains (vm-hooks.c). */

struct vm_host_hooks;

/* Fills 'hooks' with what the fabric decides about the domains of the
 * hosts in 'store' (port-name index, vhost-user sockets and shared memory
 * on a dpdk host), for vm/'s controller. */
void mgmt_vm_hooks(struct store *store, struct vm_host_hooks *hooks);

/* High availability glue (ha-hooks.c): this host's HA monitor (ha/),
 * with the fence that ends every domain and stops the VM controller, and
 * the clear that starts it again. */

struct mgmt_ha;
struct vm_controller;

/* Starts the HA monitor of host 'host' ('state_dir' its state folder,
 * 'pool' its pool agent) and gives it to 'api' (host.ha_clear,
 * host.emergency_ha_disable).  '*vms' is netpoold's VM controller and
 * '*migrate' its migration agent (on 'fabric'), which a fence destroys
 * and a clear creates again; unless the host starts fenced, the caller
 * creates them after this call. */
struct mgmt_migrate;
struct dp_reconciler;
struct mgmt_ha *mgmt_ha_create(struct event_base *base, struct store *store,
                               struct api *api, const char *state_dir,
                               const char *host, struct ha_pool *pool,
                               struct vm_controller **vms,
                               struct mgmt_migrate **migrate,
                               struct dp_reconciler *fabric);

/* Returns true if this host starts fenced: no VM controller. */
bool mgmt_ha_fenced(const struct mgmt_ha *ha);

/* Returns the HA lines of /metrics (a new string). */
char *mgmt_ha_metrics(const struct mgmt_ha *ha);

/* Stops the monitor.  Accepts NULL. */
void mgmt_ha_destroy(struct mgmt_ha *ha);

/* SNMP AgentX subagent (snmp.c). */

struct snmp_agent;

/* Returns what the host's OVS reports now, a new JSON object in
 * dp_ovs_observe()'s form. */
typedef struct json_object *snmp_observe_cb(void *aux);

/* Starts the SNMP subagent of host 'host' on 'base': it connects to the
 * AgentX master (snmpd) at 'socket_path' ("/path" or "unix:/path",
 * "tcp:HOST:PORT"), retrying every second while it is away, serves IF-MIB
 * (ifTable, ifXTable, ifStackTable), IEEE8023-LAG-MIB and NETPOOL-MIB
 * from 'store' and from 'observe' (with 'aux'), keeps stable ifIndex
 * values in 'state_dir', reads LACP details from the ovs-vswitchd of
 * 'ovs_db', and sends linkDown/linkUp, netpoolBondStatusChanged and
 * the notifications of the messages snmp_message_note() maps (VM crashes,
 * HA restarts, MTU mismatches, management rollbacks).  One per process.
 * Returns 0 and sets '*agentp', or EBUSY. */
int snmp_agent_start(struct event_base *base, struct store *store,
                     const char *host, const char *socket_path,
                     const char *state_dir, const char *ovs_db,
                     snmp_observe_cb *observe, void *aux,
                     struct snmp_agent **agentp);

/* Disconnects and frees 'agent'.  Accepts NULL. */
void snmp_agent_stop(struct snmp_agent *agent);

/* Calls to another host's API (peer.c). */

struct peer_call;

/* Called once with the JSON-RPC response (borrowed; NULL on failure),
 * 'failure' saying why there is none (else NULL), and the SHA-256
 * fingerprint of the server's certificate (hex, "" if unknown). */
typedef void peer_reply_cb(void *aux, struct json_object *response,
                           const char *failure, const char *fingerprint);

/* POSTs 'request' (borrowed, a JSON-RPC request) to
 * https://ADDRESS:PORT/jsonrpc on 'base'.  With 'server_cert' (PEM) the
 * server must present exactly that certificate; without, it is not
 * checked (a first contact, authenticated by credentials).  With
 * 'client_cert' and 'client_key' (files) the call presents that
 * certificate.  'cb' (with 'aux') hears the answer.  Returns the call, or
 * NULL if it could not start. */
struct peer_call *peer_call_start(struct event_base *base, const char *address,
                                  int port, const char *server_cert,
                                  const char *client_cert,
                                  const char *client_key,
                                  struct json_object *request,
                                  peer_reply_cb *cb, void *aux);

/* Forgets the caller of 'call': its callback will not run.  Accepts
 * NULL. */
void peer_call_cancel(struct peer_call *call);

/* The pool's certificates (pool-cert.c). */

/* Makes a certificate authority named 'name': its certificate and key as
 * new PEM strings.  Returns 0 or EIO. */
int cert_make_ca(const char *name, char **cert_pem, char **key_pem);

/* Issues a client certificate for 'common_name' signed by the CA
 * ('ca_cert_pem', 'ca_key_pem'): certificate and new key as new PEM
 * strings.  Returns 0 or EIO. */
int cert_issue(const char *ca_cert_pem, const char *ca_key_pem,
               const char *common_name, char **cert_pem, char **key_pem);

/* Issues a certificate for 'common_name' signed by the CA that serves
 * both ends of a TLS connection (server and client authentication, key
 * encipherment, subject alternative name DNS:common_name), as QEMU's
 * tls-creds-x509 wants for the migration stream.  Returns 0 or EIO. */
int cert_issue_tls(const char *ca_cert_pem, const char *ca_key_pem,
                   const char *common_name, char **cert_pem, char **key_pem);

/* Returns true if certificate 'peer_pem' is a client certificate signed
 * by 'ca_pem', and copies its common name into 'common_name' ('size'
 * bytes). */
bool cert_verify_peer(const char *peer_pem, const char *ca_pem,
                      char *common_name, size_t size);

/* Returns a new, unsigned certificate for 'key' named 'common_name'
 * (O=netpool), valid for ten years from an hour ago, with a random serial
 * and no issuer yet: what the host certificate and the pool's share. */
struct evp_pkey_st;
struct x509_st;
struct x509_st *cert_new(struct evp_pkey_st *key, const char *common_name);

/* Returns the contents of file 'path' (a new string), or NULL. */
char *cert_read_file(const char *path);

/* Certificate (cert.c). */

/* Makes sure 'cert_path' and 'key_path' hold a certificate and its key,
 * generating a self-signed ECDSA P-256 certificate valid for 10 years with
 * CN = 'common_name' (an IP address also goes into subjectAltName) if
 * either file is missing.  Returns 0 or a positive errno. */
int cert_ensure(const char *cert_path, const char *key_path,
                const char *common_name);

/* Listeners (http.c). */

struct http_server;

/* Starts the API listeners: the unix socket at 'unix_path' (mode 0600) and,
 * if 'https_port' is not 0, HTTPS on 'https_address' with the certificate
 * and key files.  Returns 0 and sets '*serverp', or a positive errno. */
int http_server_start(struct event_base *base, struct api *api,
                      const char *unix_path, const char *https_address,
                      int https_port, const char *cert_path,
                      const char *key_path, struct http_server **serverp);

/* Stops listening and frees 'server'.  Accepts NULL. */
void http_server_stop(struct http_server *server);

struct http_metrics;

/* Renders the /metrics page: returns a new string. */
typedef char *http_metrics_cb(void *aux);

/* Takes back a page of http_metrics_cb once it is sent. */
typedef void http_metrics_release_cb(void *aux, char *page);

/* Serves GET /metrics on 'address' ("" for any) and 'port', over TLS with
 * the certificate and key files if 'cert_path' is not NULL, plain HTTP
 * otherwise; 'cb' (with 'aux') renders each scrape, and 'release' (with
 * 'aux'; NULL: free()) takes each page back once it is sent.  Returns 0
 * and sets '*metricsp', or a positive errno. */
int http_metrics_start(struct event_base *base, const char *address, int port,
                       const char *cert_path, const char *key_path,
                       http_metrics_cb *cb, http_metrics_release_cb *release,
                       void *aux, struct http_metrics **metricsp);

/* Stops and frees 'metrics'.  Accepts NULL. */
void http_metrics_stop(struct http_metrics *metrics);

/* Live migration (migrate.c, api-migrate.c). */

struct mgmt_migrate;
struct dp_reconciler;
struct vm_controller;
struct dp_reconciler;

/* Starts the migration agent of host 'host' of 'store' on 'base': it runs
 * this host's part (source or destination) of every live migration of the
 * pool that names it, through the domains of 'vms' and the switch of
 * 'fabric', and finishes or rolls back the ones a previous run left in
 * flight, once this host's replica is in step with the pool 'pool' (NULL,
 * or a host in no pool: at once): until then it does nothing. */
struct ha_pool;
struct mgmt_migrate *mgmt_migrate_create(struct event_base *base,
                                         struct store *store, const char *host,
                                         struct vm_controller *vms,
                                         struct dp_reconciler *fabric,
                                         struct ha_pool *pool);

/* Stops and frees 'agent'.  Accepts NULL.  Domains keep running; a
 * migration in flight is recovered by the next start. */
void mgmt_migrate_destroy(struct mgmt_migrate *agent);

/* Returns the address (a new string) host 'host' takes live migrations
 * on: its PIF's on the pool's migration_network, or, with none set, its
 * management PIF's (its pool address when that PIF has no static
 * address).  NULL if it has none. */
char *mgmt_migration_address(struct store *store, const char *host);

#endif
