/*
 * netpool-perf: a DPDK traffic tool for netpool's data-plane benchmarks.
 *
 * It attaches to a VIF's vhost-user socket as a virtio-user device (a guest
 * without a VM), to a tap, AF_PACKET or AF_XDP port, or to any virtual
 * device, and sends, receives or answers the test frames of netpool-perf.h
 * on one lcore.  Modes:
 *   tx       send frames on the port (size, rate, flows, count/duration)
 *   rx       count frames, loss, sequence gaps, one-way latency
 *   echo     answer every IPv4 UDP frame (addresses and ports swapped)
 *   latency  send at a rate to an echo peer, measure round trips
 *   loop     send on the first port, receive on the second, in one process
 * Results are "key value" lines on stdout and a summary line on stderr.
 * Everything about frames, accounting and the report is in
 * netpool-perf-frame.c; this file is the DPDK I/O around it.
 */
#include "perf/netpool-perf.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#define BURST 32
#define RING_SIZE 1024
#define POOL_SIZE 8191
#define MAX_PORTS 2
#define MAX_EAL_ARGS 64
#define MAX_QUEUES 8         /* Queue pairs of a port (--queues). */
#define ANNOUNCE_SETTLE 0.05 /* Seconds for the switch to learn a MAC. */
#define AF_PACKET_HEADER 32  /* What net_af_packet keeps before a frame. */

enum mode { MODE_TX, MODE_RX, MODE_ECHO, MODE_LATENCY, MODE_LOOP };

/* What kind of port a command line option asked for. */
enum port_kind {
    PORT_VHOST,        /* --vhost: a virtio-user device serving a socket. */
    PORT_VHOST_CLIENT, /* --vhost-client: one connecting to a socket. */
    PORT_OTHER,        /* Any other device, its vdev as given. */
};

/* A port as asked for on the command line. */
struct port_arg {
    enum port_kind kind; /* What it is. */
    char *vdev;          /* EAL --vdev argument. */
    char *name;          /* Its device name (the vdev up to the first
                          * comma). */
    uint8_t mac[6];      /* --mac after it, if 'has_mac'. */
    bool has_mac;        /* --mac was given for it. */
};

/* Everything the command line says. */
struct options {
    enum mode mode;                  /* What to do. */
    const char *mode_name;           /* Its name, for the report. */
    struct port_arg port[MAX_PORTS]; /* Ports in command line order. */
    int n_ports;                     /* Ports given. */
    struct npp_frame_spec spec;      /* Frames sent. */
    uint64_t rate;                   /* Frames per second, 0: max. */
    bool rate_given;                 /* --rate was on the command line. */
    uint64_t count;                  /* tx: frames; rx: expected. */
    double duration;                 /* Seconds of sending / running. */
    double idle;                     /* Stop after this long quiet. */
    double wait;            /* Seconds to wait for a link or a first frame. */
    double delay;           /* Seconds to sleep once the links are up. */
    double linger;          /* tx: seconds to keep the port open after. */
    unsigned lcore;         /* The one lcore. */
    char *file_prefix;      /* EAL --file-prefix. */
    const char *socket_mem; /* EAL --socket-mem, or NULL. */
    bool no_huge;           /* EAL --no-huge. */
    bool in_memory;         /* EAL --in-memory. */
    const char *eal_extra;  /* More EAL arguments. */
    char *eal_words;        /* eal_extra split into words. */
    bool quiet;             /* No summary line. */
    bool dst_mac_given;     /* --dst-mac was on the command line. */
    unsigned queues;        /* Queue pairs per port. */
    unsigned queue_size;    /* virtio-user ring size. */
    bool mrg_rxbuf;         /* virtio-user mergeable receive buffers. */
    uint64_t window;        /* loop: frames in flight at most (0: none). */
    bool window_given;      /* --window was on the command line. */
};

/* An opened port. */
struct port {
    uint16_t id;       /* DPDK port id. */
    const char *name;  /* Device name. */
    uint16_t n_queues; /* Queue pairs. */
    uint16_t rxd;      /* Descriptors of each receive ring. */
    uint8_t mac[6];    /* Its MAC. */
};

static volatile sig_atomic_t stopping;

static void usage(FILE *out);
static int parse_options(int argc, char **argv, struct options *o);
static void options_destroy(struct options *o);
static int add_port(struct options *o, enum port_kind kind, const char *fmt,
                    const char *arg);
static int finish_ports(struct options *o);
static int start_eal(struct options *o, const char *argv0);
static int open_port(struct options *o, const struct port_arg *arg,
                     struct rte_mempool *rx_pool, struct port *port);
static int wait_link(const struct options *o, const struct port *port);
static struct rte_mempool *make_pool(const char *name, size_t size,
                                     unsigned n_rings);
static size_t jumbo_buffer_size(size_t size);
static void fill_template(struct rte_mempool *mp, void *opaque, void *obj,
                          unsigned idx);
static void run_send_recv(const struct options *o, const struct port *tx,
                          const struct port *rx, struct rte_mempool *tx_pool);
static void run_rx(const struct options *o, const struct port *rx);
static void run_echo(const struct options *o, const struct port *port);
static bool answer_arp(const struct port *port, uint32_t ip,
                       const uint8_t mac[6], struct rte_mbuf *m);
static void announce(const struct port *port, struct rte_mempool *pool,
                     const uint8_t mac[6], uint32_t ip);
static void free_unsent(struct rte_mbuf **burst, uint16_t n);
static void flush_tx(const struct port *port);
static void linger(const struct options *o, const struct port *port);
static uint64_t now_ns(void);
static void on_signal(int signo);
static bool parse_u64(const char *text, uint64_t *value);
static bool parse_seconds(const char *text, double *value);

int
main(int argc, char **argv)
{
    struct options o;
    struct port ports[MAX_PORTS];
    int error;

    error = parse_options(argc, argv, &o);
    if (error) {
        options_destroy(&o);
        return error < 0 ? 0 : 2;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (start_eal(&o, argv[0])) {
        options_destroy(&o);
        return 1;
    }

    /* Enough buffers to fill every receive ring of every port, and every
     * transmit ring of the sending one. */
    size_t room = o.spec.size;
    struct rte_mempool *rx_pool =
        make_pool("npp_rx", room, (unsigned) o.n_ports * o.queues);
    struct rte_mempool *tx_pool = NULL;
    if (o.mode == MODE_TX || o.mode == MODE_LATENCY || o.mode == MODE_LOOP) {
        tx_pool = make_pool("npp_tx", room, o.queues);
    }
    if (!rx_pool || (!tx_pool && o.mode != MODE_RX && o.mode != MODE_ECHO)) {
        fprintf(stderr, "netpool-perf: cannot make packet buffers: %s\n",
                rte_strerror(rte_errno));
        error = 1;
        goto out;
    }
    for (int i = 0; i < o.n_ports; i++) {
        if (open_port(&o, &o.port[i], rx_pool, &ports[i])) {
            error = 1;
            goto out;
        }
    }
    for (int i = 0; i < o.n_ports; i++) {
        if (wait_link(&o, &ports[i])) {
            error = 1;
            goto out;
        }
    }
    if (o.mode == MODE_LOOP) {
        if (!o.dst_mac_given) {
            /* To the receiving port's MAC, as a guest sends to a peer
             * whose MAC it learnt by ARP. */
            memcpy(o.spec.dst_mac, ports[1].mac, 6);
        }
        if (!o.window_given) {
            /* What one receive ring holds: the switch may put every
             * frame into the same queue. */
            o.window = (uint64_t) (ports[1].rxd - BURST);
        }
    }
    /* Each port says who it is, as a guest does when its link comes up,
     * so that a learning switch sends the test frames to their port
     * alone instead of flooding them (to every port of the bridge,
     * copying each frame once more per port). */
    announce(&ports[0], rx_pool, o.spec.src_mac, o.spec.src_ip);
    if (o.mode == MODE_LOOP) {
        announce(&ports[1], rx_pool, ports[1].mac, o.spec.dst_ip);
    }
    double delay = o.delay > ANNOUNCE_SETTLE ? o.delay : ANNOUNCE_SETTLE;
    /* Asleep, not polling: on a small machine the switch's own threads
     * need the cores to apply an MTU, place queues or learn a MAC. */
    usleep((useconds_t) (delay * 1e6));
    if (tx_pool) {
        /* Every buffer holds the test frame from the start (with the
         * port's MAC, known now), so that the sender only stamps it. */
        rte_mempool_obj_iter(tx_pool, fill_template, &o.spec);
    }
    fprintf(stderr, "netpool-perf: ready\n");

    switch (o.mode) {
    case MODE_TX:
        run_send_recv(&o, &ports[0], NULL, tx_pool);
        linger(&o, &ports[0]);
        break;
    case MODE_LATENCY:
        run_send_recv(&o, &ports[0], &ports[0], tx_pool);
        break;
    case MODE_LOOP:
        run_send_recv(&o, &ports[0], &ports[1], tx_pool);
        break;
    case MODE_RX:
        run_rx(&o, &ports[0]);
        break;
    case MODE_ECHO:
        run_echo(&o, &ports[0]);
        break;
    }

out:
    for (int i = 0; i < o.n_ports && !error; i++) {
        rte_eth_dev_stop(ports[i].id);
        rte_eth_dev_close(ports[i].id);
    }
    rte_eal_cleanup();
    options_destroy(&o);
    return error;
}

static void
usage(FILE *out)
{
    fprintf(
        out,
        "usage: netpool-perf MODE PORT [PORT] [OPTION...]\n"
        "DPDK traffic tool for netpool's data-plane benchmarks.\n"
        "\n"
        "Modes:\n"
        "  tx       send test frames on the port\n"
        "  rx       receive: count, loss, sequence gaps, one-way latency\n"
        "  echo     answer each IPv4 UDP frame (MACs, IPs, ports swapped)\n"
        "  latency  send at --rate to an echo peer, round-trip latency\n"
        "  loop     send on the first port, receive on the second\n"
        "Every mode answers ARP requests for --src-ip with the port's MAC,\n"
        "so that a guest's kernel (a UDP echo service) can answer too, and\n"
        "announces its address (a gratuitous ARP) before it sends, so that\n"
        "a switch learns where it is; loop sends to its second port's MAC.\n"
        "\n"
        "Ports (one; two for loop):\n"
        "  --vhost PATH         virtio-user device serving the vhost-user\n"
        "                       socket PATH (OVS dpdkvhostuserclient "
        "connects)\n"
        "  --vhost-client PATH  virtio-user device connecting to PATH\n"
        "  --tap NAME           a tap device (net_tap)\n"
        "  --af-packet IFACE    an AF_PACKET socket on IFACE\n"
        "  --af-xdp IFACE       an AF_XDP socket on IFACE\n"
        "  --vdev ARGS          any DPDK virtual device\n"
        "  --mac MAC            the MAC of the port given just before\n"
        "\n"
        "vhost-user ports, set up as netpool sets up a guest's NIC:\n"
        "  --queues N           queue pairs, 1-8 (default 1); frames are\n"
        "                       sent on each in turn, received from all\n"
        "  --queue-size N       ring size, 256, 512 or 1024 (default "
        "1024)\n"
        "  --mrg-rxbuf on|off   mergeable receive buffers (default on)\n"
        "\n"
        "Traffic:\n"
        "  --size BYTES         frame size without FCS, 64-9000 (default 64;\n"
        "                       rx/echo: the largest frame expected)\n"
        "  --rate PPS|max       frames per second (default max; latency "
        "10000)\n"
        "  --flows N            vary the UDP source port over N values\n"
        "  --count N            tx: frames to send; rx: frames expected\n"
        "  --duration SECONDS   seconds to send (tx default 5), or to run\n"
        "  --idle SECONDS       rx/echo/loop: stop when quiet that long "
        "after\n"
        "                       a frame (default 1; echo 0: never)\n"
        "  --wait SECONDS       wait that long for the link and the first\n"
        "                       frame (default 30)\n"
        "  --delay SECONDS      sleep that long once the links are up, for\n"
        "                       the switch to finish setting up its ports\n"
        "  --window N           loop: at most N frames in flight, so that\n"
        "                       the receiver is never overrun (default:\n"
        "                       what one receive ring holds; 0: none)\n"
        "  --linger SECONDS     tx: keep the port open that long after the\n"
        "                       last frame, for the switch to take it\n"
        "                       (default 1)\n"
        "  --src-mac MAC --dst-mac MAC   (default the port's / "
        "02:4e:50:00:00:02)\n"
        "  --src-ip IP --dst-ip IP       in 198.18.0.0/15 (default "
        "198.18.20.1 /.2)\n"
        "  --src-port N --dst-port N     UDP ports (default 9000 / 9001)\n"
        "\n"
        "DPDK:\n"
        "  --lcore N            the lcore to run on (default 0)\n"
        "  --file-prefix NAME   EAL file prefix (default netpool-perf-PID)\n"
        "  --socket-mem MB      preallocate hugepage memory\n"
        "  --no-huge            256 MB without hugepages (memfd, which\n"
        "                       vhost-user can share)\n"
        "  --in-memory          no files in /dev/hugepages (memfd pages)\n"
        "  --eal 'ARGS'         more EAL arguments\n"
        "  --quiet              no summary line on stderr\n"
        "\n"
        "Output: \"key value\" lines (mode size sent tx_mpps tx_gbps "
        "received\n"
        "other rx_mpps rx_gbps lost loss_pct gaps late lat_kind lat_samples\n"
        "lat_min_us lat_p50_us lat_p99_us lat_max_us); Gbit/s count the\n"
        "frame bytes.  Exit status 0, 1 on a DPDK failure, 2 on bad "
        "usage.\n");
}

/* Returns 0 to run, -1 when --help was answered, 1 on a bad command line
 * (after saying why). */
static int
parse_options(int argc, char **argv, struct options *o)
{
    enum {
        OPT_VHOST = 256,
        OPT_VHOST_CLIENT,
        OPT_TAP,
        OPT_AF_PACKET,
        OPT_AF_XDP,
        OPT_VDEV,
        OPT_MAC,
        OPT_QUEUES,
        OPT_QUEUE_SIZE,
        OPT_MRG_RXBUF,
        OPT_WINDOW,
        OPT_SIZE,
        OPT_RATE,
        OPT_FLOWS,
        OPT_COUNT,
        OPT_DURATION,
        OPT_IDLE,
        OPT_DELAY,
        OPT_LINGER,
        OPT_WAIT,
        OPT_SRC_MAC,
        OPT_DST_MAC,
        OPT_SRC_IP,
        OPT_DST_IP,
        OPT_SRC_PORT,
        OPT_DST_PORT,
        OPT_LCORE,
        OPT_FILE_PREFIX,
        OPT_SOCKET_MEM,
        OPT_NO_HUGE,
        OPT_IN_MEMORY,
        OPT_EAL,
        OPT_QUIET,
        OPT_HELP
    };
    static const struct option longopts[] = {
        {"vhost", required_argument, NULL, OPT_VHOST},
        {"vhost-client", required_argument, NULL, OPT_VHOST_CLIENT},
        {"tap", required_argument, NULL, OPT_TAP},
        {"af-packet", required_argument, NULL, OPT_AF_PACKET},
        {"af-xdp", required_argument, NULL, OPT_AF_XDP},
        {"vdev", required_argument, NULL, OPT_VDEV},
        {"mac", required_argument, NULL, OPT_MAC},
        {"queues", required_argument, NULL, OPT_QUEUES},
        {"queue-size", required_argument, NULL, OPT_QUEUE_SIZE},
        {"mrg-rxbuf", required_argument, NULL, OPT_MRG_RXBUF},
        {"window", required_argument, NULL, OPT_WINDOW},
        {"size", required_argument, NULL, OPT_SIZE},
        {"rate", required_argument, NULL, OPT_RATE},
        {"flows", required_argument, NULL, OPT_FLOWS},
        {"count", required_argument, NULL, OPT_COUNT},
        {"duration", required_argument, NULL, OPT_DURATION},
        {"idle", required_argument, NULL, OPT_IDLE},
        {"wait", required_argument, NULL, OPT_WAIT},
        {"delay", required_argument, NULL, OPT_DELAY},
        {"linger", required_argument, NULL, OPT_LINGER},
        {"src-mac", required_argument, NULL, OPT_SRC_MAC},
        {"dst-mac", required_argument, NULL, OPT_DST_MAC},
        {"src-ip", required_argument, NULL, OPT_SRC_IP},
        {"dst-ip", required_argument, NULL, OPT_DST_IP},
        {"src-port", required_argument, NULL, OPT_SRC_PORT},
        {"dst-port", required_argument, NULL, OPT_DST_PORT},
        {"lcore", required_argument, NULL, OPT_LCORE},
        {"file-prefix", required_argument, NULL, OPT_FILE_PREFIX},
        {"socket-mem", required_argument, NULL, OPT_SOCKET_MEM},
        {"no-huge", no_argument, NULL, OPT_NO_HUGE},
        {"in-memory", no_argument, NULL, OPT_IN_MEMORY},
        {"eal", required_argument, NULL, OPT_EAL},
        {"quiet", no_argument, NULL, OPT_QUIET},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    static const uint8_t default_dst[6] = {0x02, 0x4e, 0x50, 0, 0, 0x02};
    bool src_mac_given = false;
    bool duration_given = false;
    bool idle_given = false;
    uint64_t value;
    int c;

    memset(o, 0, sizeof *o);
    memcpy(o->spec.dst_mac, default_dst, 6);
    o->spec.src_ip = 0xc6121401; /* 198.18.20.1 */
    o->spec.dst_ip = 0xc6121402; /* 198.18.20.2 */
    o->spec.src_port = 9000;
    o->spec.dst_port = 9001;
    o->spec.flows = 1;
    o->spec.size = 64;
    o->duration = 5;
    o->idle = 1;
    o->wait = 30;
    o->linger = 1;
    o->queues = 1;
    o->queue_size = RING_SIZE;
    o->mrg_rxbuf = true;

    if (argc >= 2 && !strcmp(argv[1], "--help")) {
        usage(stdout);
        return -1;
    }
    if (argc < 2 || argv[1][0] == '-') {
        usage(stderr);
        return 1;
    }
    o->mode_name = argv[1];
    if (!strcmp(argv[1], "tx")) {
        o->mode = MODE_TX;
    } else if (!strcmp(argv[1], "rx")) {
        o->mode = MODE_RX;
    } else if (!strcmp(argv[1], "echo")) {
        o->mode = MODE_ECHO;
    } else if (!strcmp(argv[1], "latency")) {
        o->mode = MODE_LATENCY;
    } else if (!strcmp(argv[1], "loop")) {
        o->mode = MODE_LOOP;
    } else {
        fprintf(stderr, "netpool-perf: unknown mode %s\n", argv[1]);
        return 1;
    }

    optind = 2;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        int error = 0;

        switch (c) {
        case OPT_VHOST:
        case OPT_VHOST_CLIENT:
            /* Its device arguments are known only at the end. */
            error =
                add_port(o, c == OPT_VHOST ? PORT_VHOST : PORT_VHOST_CLIENT,
                         "net_virtio_user%d,path=%s", optarg);
            break;
        case OPT_TAP:
            error = add_port(o, PORT_OTHER, "net_tap%d,iface=%s", optarg);
            break;
        case OPT_AF_PACKET:
            /* The frame size is known only at the end: see below. */
            error =
                add_port(o, PORT_OTHER,
                         "net_af_packet%d,iface=%s,qdisc_bypass=1", optarg);
            break;
        case OPT_AF_XDP:
            error = add_port(o, PORT_OTHER, "net_af_xdp%d,iface=%s", optarg);
            break;
        case OPT_VDEV:
            error = add_port(o, PORT_OTHER, NULL, optarg);
            break;
        case OPT_MAC:
            if (!o->n_ports) {
                fprintf(stderr, "netpool-perf: --mac follows a port\n");
                return 1;
            }
            if (!npp_parse_mac(optarg, o->port[o->n_ports - 1].mac)) {
                fprintf(stderr, "netpool-perf: %s is not a MAC address\n",
                        optarg);
                return 1;
            }
            o->port[o->n_ports - 1].has_mac = true;
            break;
        case OPT_QUEUES:
            if (!parse_u64(optarg, &value) || !value || value > MAX_QUEUES) {
                fprintf(stderr, "netpool-perf: --queues: %s is not 1-%d\n",
                        optarg, MAX_QUEUES);
                return 1;
            }
            o->queues = (unsigned) value;
            break;
        case OPT_QUEUE_SIZE:
            if (!parse_u64(optarg, &value)
                || (value != 256 && value != 512 && value != 1024)) {
                fprintf(stderr,
                        "netpool-perf: --queue-size: %s is not 256, 512 or "
                        "1024\n",
                        optarg);
                return 1;
            }
            o->queue_size = (unsigned) value;
            break;
        case OPT_MRG_RXBUF:
            if (strcmp(optarg, "on") && strcmp(optarg, "off")) {
                fprintf(stderr,
                        "netpool-perf: --mrg-rxbuf: %s is not on or "
                        "off\n",
                        optarg);
                return 1;
            }
            o->mrg_rxbuf = !strcmp(optarg, "on");
            break;
        case OPT_WINDOW:
            o->window_given = true;
            error = !parse_u64(optarg, &o->window);
            break;
        case OPT_SIZE:
            if (!parse_u64(optarg, &value) || value < NPP_FRAME_MIN
                || value > NPP_FRAME_MAX) {
                fprintf(stderr, "netpool-perf: --size: %s is not %d to %d\n",
                        optarg, NPP_FRAME_MIN, NPP_FRAME_MAX);
                return 1;
            }
            o->spec.size = value;
            break;
        case OPT_RATE:
            o->rate_given = true;
            if (!strcmp(optarg, "max")) {
                o->rate = 0;
            } else if (!parse_u64(optarg, &o->rate) || !o->rate) {
                fprintf(stderr, "netpool-perf: --rate: %s is not a rate\n",
                        optarg);
                return 1;
            }
            break;
        case OPT_FLOWS:
            if (!parse_u64(optarg, &value) || !value || value > 65535) {
                fprintf(stderr, "netpool-perf: --flows: %s is not 1-65535\n",
                        optarg);
                return 1;
            }
            o->spec.flows = (uint32_t) value;
            break;
        case OPT_COUNT:
            if (!parse_u64(optarg, &o->count)) {
                fprintf(stderr, "netpool-perf: --count: %s\n", optarg);
                return 1;
            }
            break;
        case OPT_DURATION:
            duration_given = true;
            error = !parse_seconds(optarg, &o->duration);
            break;
        case OPT_IDLE:
            idle_given = true;
            error = !parse_seconds(optarg, &o->idle);
            break;
        case OPT_WAIT:
            error = !parse_seconds(optarg, &o->wait);
            break;
        case OPT_DELAY:
            error = !parse_seconds(optarg, &o->delay);
            break;
        case OPT_LINGER:
            error = !parse_seconds(optarg, &o->linger);
            break;
        case OPT_SRC_MAC:
        case OPT_DST_MAC:
            if (!npp_parse_mac(optarg, c == OPT_SRC_MAC ? o->spec.src_mac
                                                        : o->spec.dst_mac)) {
                fprintf(stderr, "netpool-perf: %s is not a MAC address\n",
                        optarg);
                return 1;
            }
            src_mac_given |= c == OPT_SRC_MAC;
            o->dst_mac_given |= c == OPT_DST_MAC;
            break;
        case OPT_SRC_IP:
        case OPT_DST_IP:
            if (!npp_parse_ip(optarg, c == OPT_SRC_IP ? &o->spec.src_ip
                                                      : &o->spec.dst_ip)) {
                fprintf(stderr,
                        "netpool-perf: %s is not an address in "
                        "198.18.0.0/15\n",
                        optarg);
                return 1;
            }
            break;
        case OPT_SRC_PORT:
        case OPT_DST_PORT:
            if (!parse_u64(optarg, &value) || !value || value > 65535) {
                fprintf(stderr, "netpool-perf: %s is not a UDP port\n",
                        optarg);
                return 1;
            }
            if (c == OPT_SRC_PORT) {
                o->spec.src_port = (uint16_t) value;
            } else {
                o->spec.dst_port = (uint16_t) value;
            }
            break;
        case OPT_LCORE:
            if (!parse_u64(optarg, &value) || value >= RTE_MAX_LCORE) {
                fprintf(stderr, "netpool-perf: --lcore: %s\n", optarg);
                return 1;
            }
            o->lcore = (unsigned) value;
            break;
        case OPT_FILE_PREFIX:
            free(o->file_prefix);
            o->file_prefix = strdup(optarg);
            break;
        case OPT_SOCKET_MEM:
            o->socket_mem = optarg;
            break;
        case OPT_NO_HUGE:
            o->no_huge = true;
            break;
        case OPT_IN_MEMORY:
            o->in_memory = true;
            break;
        case OPT_EAL:
            o->eal_extra = optarg;
            break;
        case OPT_QUIET:
            o->quiet = true;
            break;
        case OPT_HELP:
            usage(stdout);
            return -1;
        default:
            usage(stderr);
            return 1;
        }
        if (error) {
            fprintf(stderr, "netpool-perf: bad value %s\n", optarg);
            return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "netpool-perf: unexpected argument %s\n",
                argv[optind]);
        return 1;
    }

    if (finish_ports(o)) {
        return 1;
    }

    /* AF_PACKET's rings: deep enough (4096 frames, 1024 jumbo ones) to
     * ride out a while without the CPU on a busy machine.  Jumbo frames fit
     * only when a ring frame is as big as a packet buffer (make_pool())
     * plus its header; the PMD finds its frames back to back, so each
     * block is one frame. */
    for (int i = 0; i < o->n_ports; i++) {
        struct port_arg *p = &o->port[i];
        size_t frame = jumbo_buffer_size(o->spec.size) + AF_PACKET_HEADER;
        char *vdev;
        int n;
        if (strncmp(p->name, "net_af_packet", 13)) {
            continue;
        }
        if (o->spec.size > 2048) {
            n = asprintf(&vdev, "%s,blocksz=%zu,framesz=%zu,framecnt=1024",
                         p->vdev, frame, frame);
        } else {
            n = asprintf(&vdev, "%s,framecnt=4096", p->vdev);
        }
        if (n > 0) {
            free(p->vdev);
            p->vdev = vdev;
        }
    }

    int want = o->mode == MODE_LOOP ? 2 : 1;
    if (o->n_ports != want) {
        fprintf(stderr, "netpool-perf: %s needs %d port%s, %d given\n",
                o->mode_name, want, want > 1 ? "s" : "", o->n_ports);
        return 1;
    }
    if (o->mode == MODE_LATENCY && !o->rate_given) {
        o->rate = 10000;
    }
    if (o->mode == MODE_ECHO && !idle_given) {
        o->idle = 0;
    }
    if ((o->mode == MODE_RX || o->mode == MODE_ECHO) && !duration_given) {
        o->duration = 0;
    }
    if (o->mode == MODE_TX && o->count && !duration_given) {
        o->duration = 0;
    }
    if (!src_mac_given) {
        /* Filled in from the port when it opens. */
        memset(o->spec.src_mac, 0, 6);
    }
    if (!o->file_prefix) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "netpool-perf-%ld", (long) getpid());
        o->file_prefix = strdup(prefix);
    }
    return 0;
}

/* Frees what parse_options() and start_eal() allocated in 'o'. */
static void
options_destroy(struct options *o)
{
    for (int i = 0; i < o->n_ports; i++) {
        free(o->port[i].vdev);
        free(o->port[i].name);
    }
    free(o->file_prefix);
    free(o->eal_words);
}

/* Adds a port of 'kind' made from 'fmt' (with its index and 'arg'), or
 * 'arg' itself when 'fmt' is NULL.  Returns 0 or 1 (too many ports). */
static int
add_port(struct options *o, enum port_kind kind, const char *fmt,
         const char *arg)
{
    struct port_arg *p;
    char *vdev;

    if (o->n_ports >= MAX_PORTS) {
        fprintf(stderr, "netpool-perf: at most %d ports\n", MAX_PORTS);
        return 1;
    }
    p = &o->port[o->n_ports];
    if (fmt) {
        if (asprintf(&vdev, fmt, o->n_ports, arg) < 0) {
            return 1;
        }
    } else {
        vdev = strdup(arg);
    }
    p->kind = kind;
    p->vdev = vdev;
    p->name = strndup(vdev, strcspn(vdev, ","));
    p->has_mac = false;
    o->n_ports++;
    return 0;
}

/* Completes the device arguments of the vhost-user ports with the queue
 * settings and MACs of the whole command line, the way netpool sets up
 * a guest's virtio-net NIC (queue pairs, ring size, mergeable receive
 * buffers).  Returns 0 or 1 (after saying why). */
static int
finish_ports(struct options *o)
{
    for (int i = 0; i < o->n_ports; i++) {
        struct port_arg *p = &o->port[i];
        char mac[32] = "";
        char *vdev;

        if (p->kind == PORT_OTHER) {
            continue;
        }
        if (p->has_mac) {
            snprintf(mac, sizeof mac, ",mac=%02x:%02x:%02x:%02x:%02x:%02x",
                     p->mac[0], p->mac[1], p->mac[2], p->mac[3], p->mac[4],
                     p->mac[5]);
        }
        if (asprintf(&vdev, "%s%s,queues=%u,queue_size=%u,mrg_rxbuf=%d%s",
                     p->vdev, p->kind == PORT_VHOST ? ",server=1" : "",
                     o->queues, o->queue_size, o->mrg_rxbuf, mac)
            < 0) {
            return 1;
        }
        free(p->vdev);
        p->vdev = vdev;
    }
    for (int i = 0; i < o->n_ports; i++) {
        if (o->queues > 1 && o->port[i].kind == PORT_OTHER) {
            fprintf(stderr, "netpool-perf: --queues is for vhost-user "
                            "ports\n");
            return 1;
        }
    }
    return 0;
}

/* Starts DPDK's EAL on one lcore, without PCI, with the ports as virtual
 * devices.  Returns 0 or 1 (after saying why). */
static int
start_eal(struct options *o, const char *argv0)
{
    char *argv[MAX_EAL_ARGS];
    char lcore[16];
    int argc = 0;

    snprintf(lcore, sizeof lcore, "%u", o->lcore);
    argv[argc++] = (char *) argv0;
    argv[argc++] = "-l";
    argv[argc++] = lcore;
    argv[argc++] = "--no-pci";
    argv[argc++] = "--file-prefix";
    argv[argc++] = o->file_prefix;
    argv[argc++] = "--log-level";
    argv[argc++] = "lib.eal:error";
    /* Few memory regions for vhost-user, which can pass only so many. */
    argv[argc++] = "--single-file-segments";
    if (o->socket_mem && !o->no_huge) {
        argv[argc++] = "--socket-mem";
        argv[argc++] = (char *) o->socket_mem;
    }
    if (o->no_huge) {
        /* Enough for two jumbo-frame pools; with --single-file-segments
         * it is one memfd, which a vhost-user peer can map. */
        argv[argc++] = "--no-huge";
        argv[argc++] = "-m";
        argv[argc++] = "256";
    }
    if (o->in_memory) {
        argv[argc++] = "--in-memory";
    }
    for (int i = 0; i < o->n_ports; i++) {
        argv[argc++] = "--vdev";
        argv[argc++] = o->port[i].vdev;
    }
    if (o->eal_extra) {
        o->eal_words = strdup(o->eal_extra);
        for (char *save = NULL, *tok = strtok_r(o->eal_words, " ", &save);
             tok && argc < MAX_EAL_ARGS - 1;
             tok = strtok_r(NULL, " ", &save)) {
            argv[argc++] = tok;
        }
    }
    argv[argc] = NULL;

    int n = rte_eal_init(argc, argv);
    if (n < 0) {
        fprintf(stderr, "netpool-perf: DPDK initialization failed: %s\n",
                rte_strerror(rte_errno));
        return 1;
    }
    return 0;
}

/* Configures and starts one port with --queues receive and transmit
 * queues (vhost-user ports; others have one), with its --mac if given.
 * Fills in the frame's source MAC from the first port when none was
 * given.  Returns 0 or 1 (after saying why). */
static int
open_port(struct options *o, const struct port_arg *arg,
          struct rte_mempool *rx_pool, struct port *port)
{
    struct rte_eth_conf conf;
    struct rte_eth_dev_info info;
    uint16_t id;
    int error;

    if (rte_eth_dev_get_port_by_name(arg->name, &id)) {
        fprintf(stderr, "netpool-perf: no port %s (from %s)\n", arg->name,
                arg->vdev);
        return 1;
    }
    port->id = id;
    port->name = arg->name;

    memset(&conf, 0, sizeof conf);
    error = rte_eth_dev_info_get(id, &info);
    if (error) {
        goto fail;
    }
    uint32_t mtu = o->spec.size > 1514 ? (uint32_t) o->spec.size - 14 : 1500;
    /* Ask for jumbo frames where the device takes them (virtio-user);
     * AF_PACKET's frames are sized by its devargs instead. */
    if (mtu > 1500 && info.max_mtu >= mtu
        && info.max_rx_pktlen >= mtu + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN) {
        conf.rxmode.mtu = mtu;
    }
    if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) {
        conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
    }
    uint16_t n_queues = arg->kind == PORT_OTHER ? 1 : (uint16_t) o->queues;
    error = rte_eth_dev_configure(id, n_queues, n_queues, &conf);
    if (error) {
        goto fail;
    }
    uint16_t rxd = RING_SIZE, txd = RING_SIZE;
    error = rte_eth_dev_adjust_nb_rx_tx_desc(id, &rxd, &txd);
    if (error) {
        goto fail;
    }
    for (uint16_t q = 0; q < n_queues; q++) {
        error = rte_eth_rx_queue_setup(id, q, rxd, rte_eth_dev_socket_id(id),
                                       NULL, rx_pool);
        if (error) {
            goto fail;
        }
        error = rte_eth_tx_queue_setup(id, q, txd, rte_eth_dev_socket_id(id),
                                       NULL);
        if (error) {
            goto fail;
        }
    }
    if (arg->has_mac && arg->kind == PORT_OTHER) {
        struct rte_ether_addr mac;
        memcpy(mac.addr_bytes, arg->mac, 6);
        error = rte_eth_dev_default_mac_addr_set(id, &mac);
        if (error) {
            goto fail;
        }
    }
    error = rte_eth_dev_start(id);
    if (error) {
        goto fail;
    }
    rte_eth_promiscuous_enable(id);
    port->n_queues = n_queues;
    port->rxd = rxd;

    struct rte_ether_addr port_mac;
    memset(&port_mac, 0, sizeof port_mac);
    rte_eth_macaddr_get(id, &port_mac);
    memcpy(port->mac, port_mac.addr_bytes, 6);

    static const uint8_t zero[6];
    if (!memcmp(o->spec.src_mac, zero, 6)) {
        memcpy(o->spec.src_mac, port->mac, 6);
    }
    return 0;

fail:
    fprintf(stderr, "netpool-perf: cannot start %s: %s\n", arg->vdev,
            rte_strerror(error < 0 ? -error : error));
    return 1;
}

/* Waits up to --wait seconds for the port's link (a vhost-user peer that
 * connected, for virtio-user).  Returns 0 or 1. */
static int
wait_link(const struct options *o, const struct port *port)
{
    uint64_t deadline = now_ns() + (uint64_t) (o->wait * 1e9);
    struct rte_eth_link link;

    for (;;) {
        memset(&link, 0, sizeof link);
        if (!rte_eth_link_get_nowait(port->id, &link) && link.link_status) {
            return 0;
        }
        if (stopping || now_ns() > deadline) {
            fprintf(stderr, "netpool-perf: %s: no link\n", port->name);
            return 1;
        }
        usleep(10000);
    }
}

/* Makes a pool of packet buffers big enough for 'size'-byte frames, and
 * for 'n_rings' rings of RING_SIZE besides the frames in flight.  Returns
 * NULL on failure (rte_errno). */
static struct rte_mempool *
make_pool(const char *name, size_t size, unsigned n_rings)
{
    uint16_t room = RTE_MBUF_DEFAULT_BUF_SIZE;
    unsigned n = n_rings * RING_SIZE + 4095;

    if (size > 2048) {
        room = (uint16_t) (jumbo_buffer_size(size) + RTE_PKTMBUF_HEADROOM);
        n = n_rings * RING_SIZE + 2047;
    } else if (n < POOL_SIZE) {
        n = POOL_SIZE;
    }
    return rte_pktmbuf_pool_create(name, n, 256, 0, room, rte_socket_id());
}

/* The data room of a packet buffer for frames of 'size' bytes above 2048:
 * with AF_PACKET's frame header, a whole number of pages. */
static size_t
jumbo_buffer_size(size_t size)
{
    return RTE_ALIGN_CEIL(size + AF_PACKET_HEADER, 4096) - AF_PACKET_HEADER;
}

/* rte_mempool_obj_iter() callback: writes the test frame into a buffer. */
static void
fill_template(struct rte_mempool *mp, void *opaque, void *obj, unsigned idx)
{
    const struct npp_frame_spec *spec = opaque;
    struct rte_mbuf *m = obj;

    (void) mp;
    (void) idx;
    npp_frame_build(rte_pktmbuf_mtod(m, uint8_t *),
                    rte_pktmbuf_data_room_size(m->pool) - RTE_PKTMBUF_HEADROOM,
                    spec);
}

/* tx, latency and loop: sends at the rate on 'tx' until --count frames or
 * --duration, each burst on the next of its queues; with 'rx', also
 * receives there (every queue) and measures latency (round trips when
 * rx == tx, else one way), until --idle after the last frame sent.  In
 * loop mode at most --window frames are in flight. */
static void
run_send_recv(const struct options *o, const struct port *tx,
              const struct port *rx, struct rte_mempool *tx_pool)
{
    struct npp_frame_spec spec = o->spec;
    struct rte_mbuf *burst[BURST];
    struct npp_seq seq;
    static struct npp_hist hist;
    uint64_t sent = 0, received = 0, other = 0, rx_bytes = 0;
    uint64_t first_rx = 0, last_rx = 0, last_tx = 0;
    uint64_t start, now, tx_end = 0;
    uint64_t stop_at = o->duration > 0 ? (uint64_t) (o->duration * 1e9) : 0;
    bool sending = true;
    bool rx_idle = true;
    uint16_t txq = 0, rxq = 0;
    struct npp_window window;

    npp_seq_init(&seq);
    npp_hist_init(&hist);
    npp_window_init(&window, rx && rx != tx ? o->window : 0);
    /* The receiving port of loop mode has the destination address. */
    uint32_t rx_ip = rx && rx != tx ? spec.dst_ip : spec.src_ip;
    const uint8_t *rx_mac = rx && rx != tx ? rx->mac : spec.src_mac;
    start = now_ns();
    now = start;
    while (!stopping) {
        if (sending) {
            uint64_t due = npp_pace_due(now - start, o->rate);
            uint64_t want = due - sent;
            if (o->count && want > o->count - sent) {
                want = o->count - sent;
            }
            if (want > BURST) {
                want = BURST;
            }
            uint64_t room = npp_window_room(&window, sent, &seq, now, rx_idle);
            if (want > room) {
                want = room;
            }
            if (want && !rte_pktmbuf_alloc_bulk(tx_pool, burst, want)) {
                for (uint64_t i = 0; i < want; i++) {
                    struct rte_mbuf *m = burst[i];
                    npp_frame_stamp(rte_pktmbuf_mtod(m, uint8_t *), &spec,
                                    sent + i, now);
                    m->data_len = (uint16_t) spec.size;
                    m->pkt_len = (uint32_t) spec.size;
                }
                /* What the port does not take now is freed unsent, and
                 * its sequence numbers go to the next frames: the rate
                 * is what the port accepted. */
                uint16_t done =
                    rte_eth_tx_burst(tx->id, txq, burst, (uint16_t) want);
                txq = (uint16_t) ((txq + 1) % tx->n_queues);
                if (done < want) {
                    rte_pktmbuf_free_bulk(burst + done,
                                          (unsigned) (want - done));
                }
                sent += done;
                last_tx = now;
            }
            if ((o->count && sent >= o->count)
                || (stop_at && now - start >= stop_at)) {
                sending = false;
                tx_end = now;
                if (!rx) {
                    break;
                }
            }
        }
        if (rx) {
            uint16_t n = 0;
            for (uint16_t q = 0; q < rx->n_queues && !n; q++) {
                n = rte_eth_rx_burst(rx->id, rxq, burst, BURST);
                rxq = (uint16_t) ((rxq + 1) % rx->n_queues);
            }
            rx_idle = !n;
            if (n) {
                uint64_t t = now_ns();
                for (uint16_t i = 0; i < n; i++) {
                    uint64_t s, ts;
                    if (npp_frame_parse(
                            rte_pktmbuf_mtod(burst[i], const uint8_t *),
                            burst[i]->data_len, &s, &ts)) {
                        npp_seq_add(&seq, s);
                        npp_hist_add(&hist, t > ts ? t - ts : 0);
                        rx_bytes += burst[i]->pkt_len;
                        received++;
                    } else {
                        other++;
                        if (answer_arp(rx, rx_ip, rx_mac, burst[i])) {
                            burst[i] = NULL;
                        }
                    }
                }
                free_unsent(burst, n);
                if (!first_rx) {
                    first_rx = t;
                }
                last_rx = t;
            }
            if (!sending) {
                /* 'now' is read after the last frame came: a stale one
                 * would make the quiet time negative, which unsigned
                 * arithmetic turns into forever, and the frames still in
                 * flight would be counted lost. */
                uint64_t quiet = last_rx > tx_end ? last_rx : tx_end;
                flush_tx(tx);
                now = now_ns();
                if (received >= sent
                    || now - quiet > (uint64_t) (o->idle * 1e9)) {
                    break;
                }
            }
        }
        now = now_ns();
    }

    struct npp_result r = {
        .mode = o->mode_name,
        .size = spec.size,
        .sent = sent,
        .received = received,
        .other = other,
        .rx_bytes = rx_bytes,
        .tx_seconds = (double) (last_tx - start) / 1e9,
        .rx_seconds = (double) (last_rx - first_rx) / 1e9,
        .seq = rx ? &seq : NULL,
        .hist = rx ? &hist : NULL,
        .round_trip = rx == tx,
    };
    if (sent && r.tx_seconds <= 0) {
        r.tx_seconds = 1e-9;
    }
    npp_report(stdout, o->quiet ? NULL : stderr, &r);
}

/* rx: receives test frames until --count of them, --idle after the last
 * one, --duration, or --wait without any. */
static void
run_rx(const struct options *o, const struct port *rx)
{
    struct rte_mbuf *burst[BURST];
    struct npp_seq seq;
    static struct npp_hist hist;
    uint64_t received = 0, other = 0, rx_bytes = 0;
    uint64_t first = 0, last = 0;
    uint64_t start = now_ns(), now = start;

    uint16_t q = 0;

    npp_seq_init(&seq);
    npp_hist_init(&hist);
    while (!stopping) {
        uint16_t n = rte_eth_rx_burst(rx->id, q, burst, BURST);
        q = (uint16_t) ((q + 1) % rx->n_queues);
        now = now_ns();
        for (uint16_t i = 0; i < n; i++) {
            uint64_t s, ts;
            if (npp_frame_parse(rte_pktmbuf_mtod(burst[i], const uint8_t *),
                                burst[i]->data_len, &s, &ts)) {
                npp_seq_add(&seq, s);
                npp_hist_add(&hist, now > ts ? now - ts : 0);
                rx_bytes += burst[i]->pkt_len;
                received++;
                if (!first) {
                    first = now;
                }
                last = now;
            } else {
                other++;
                if (answer_arp(rx, o->spec.src_ip, o->spec.src_mac,
                               burst[i])) {
                    burst[i] = NULL;
                }
            }
        }
        free_unsent(burst, n);
        if (o->count && received >= o->count) {
            break;
        }
        if (o->duration > 0 && now - start > (uint64_t) (o->duration * 1e9)) {
            break;
        }
        if (!first && now - start > (uint64_t) (o->wait * 1e9)) {
            break;
        }
        if (first && o->idle > 0 && now - last > (uint64_t) (o->idle * 1e9)) {
            break;
        }
    }

    struct npp_result r = {
        .mode = o->mode_name,
        .size = 0,
        .expected = o->count,
        .received = received,
        .other = other,
        .rx_bytes = rx_bytes,
        .rx_seconds = (double) (last - first) / 1e9,
        .seq = &seq,
        .hist = &hist,
    };
    npp_report(stdout, o->quiet ? NULL : stderr, &r);
}

/* echo: answers every IPv4 UDP frame on the port until --duration, or
 * --idle after the last one (with --idle, also --wait without any), or a
 * signal. */
static void
run_echo(const struct options *o, const struct port *port)
{
    struct rte_mbuf *burst[BURST];
    struct rte_mbuf *answer[BURST];
    uint64_t echoed = 0, other = 0, rx_bytes = 0, sent = 0;
    uint64_t first = 0, last = 0;
    uint64_t start = now_ns(), now = start;
    uint16_t q = 0;

    while (!stopping) {
        uint16_t n = rte_eth_rx_burst(port->id, q, burst, BURST);
        uint16_t k = 0;
        now = now_ns();
        for (uint16_t i = 0; i < n; i++) {
            struct rte_mbuf *m = burst[i];
            if (m->nb_segs == 1
                && npp_frame_echo(rte_pktmbuf_mtod(m, uint8_t *),
                                  m->data_len)) {
                rx_bytes += m->pkt_len;
                answer[k++] = m;
            } else {
                other++;
                if (!answer_arp(port, o->spec.src_ip, o->spec.src_mac, m)) {
                    rte_pktmbuf_free(m);
                }
            }
        }
        if (k) {
            uint16_t done = rte_eth_tx_burst(port->id, q, answer, k);
            if (done < k) {
                rte_pktmbuf_free_bulk(answer + done, k - done);
            }
            echoed += k;
            sent += done;
            if (!first) {
                first = now;
            }
            last = now;
        }
        q = (uint16_t) ((q + 1) % port->n_queues);
        if (o->duration > 0 && now - start > (uint64_t) (o->duration * 1e9)) {
            break;
        }
        if (first && o->idle > 0 && now - last > (uint64_t) (o->idle * 1e9)) {
            break;
        }
        if (!first && o->idle > 0
            && now - start > (uint64_t) (o->wait * 1e9)) {
            break;
        }
    }

    struct npp_result r = {
        .mode = o->mode_name,
        .sent = sent,
        .received = echoed,
        .other = other,
        .rx_bytes = rx_bytes,
        .tx_seconds = (double) (last - first) / 1e9,
        .rx_seconds = (double) (last - first) / 1e9,
    };
    npp_report(stdout, o->quiet ? NULL : stderr, &r);
}

/* Answers an ARP request for 'ip' on 'port' (that 'mac' has it) with 'm'
 * itself.  Returns true when 'm' was used up (sent or freed). */
static bool
answer_arp(const struct port *port, uint32_t ip, const uint8_t mac[6],
           struct rte_mbuf *m)
{
    if (m->nb_segs != 1
        || !npp_arp_answer(rte_pktmbuf_mtod(m, uint8_t *), m->data_len, ip,
                           mac)) {
        return false;
    }
    if (!rte_eth_tx_burst(port->id, 0, &m, 1)) {
        rte_pktmbuf_free(m);
    }
    return true;
}

/* Asks the port to send what it still holds: AF_PACKET kicks the kernel
 * only from a transmit call, so frames left in its ring after the last
 * burst wait for one. */
static void
flush_tx(const struct port *port)
{
    struct rte_mbuf *none[1];

    for (uint16_t q = 0; q < port->n_queues; q++) {
        rte_eth_tx_burst(port->id, q, none, 0);
    }
}

/* Sends on 'port' a gratuitous ARP from 'mac' for 'ip', in a buffer of
 * 'pool'.  A switch that learns MACs then knows the port of 'mac'. */
static void
announce(const struct port *port, struct rte_mempool *pool,
         const uint8_t mac[6], uint32_t ip)
{
    struct rte_mbuf *m = rte_pktmbuf_alloc(pool);

    if (!m) {
        return;
    }
    size_t size = npp_arp_announce(rte_pktmbuf_mtod(m, uint8_t *),
                                   rte_pktmbuf_tailroom(m), ip, mac);
    m->data_len = (uint16_t) size;
    m->pkt_len = (uint32_t) size;
    if (!size || !rte_eth_tx_burst(port->id, 0, &m, 1)) {
        rte_pktmbuf_free(m);
    }
    flush_tx(port);
}

/* tx: keeps the port open for --linger seconds after the last frame,
 * flushing it: the last frames may still wait in its ring (a virtqueue the
 * switch has not emptied yet, an AF_PACKET ring not yet sent), and closing
 * now would drop them. */
static void
linger(const struct options *o, const struct port *port)
{
    uint64_t end = now_ns() + (uint64_t) (o->linger * 1e9);

    while (!stopping && now_ns() < end) {
        flush_tx(port);
        usleep(1000);
    }
}

/* Frees the buffers of 'burst' that are not NULL. */
static void
free_unsent(struct rte_mbuf **burst, uint16_t n)
{
    for (uint16_t i = 0; i < n; i++) {
        if (burst[i]) {
            rte_pktmbuf_free(burst[i]);
        }
    }
}

/* CLOCK_MONOTONIC in nanoseconds: the clock of the timestamps in frames, the
 * same for every process on the machine. */
static uint64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static void
on_signal(int signo)
{
    (void) signo;
    stopping = 1;
}

static bool
parse_u64(const char *text, uint64_t *value)
{
    char *end;

    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-') {
        return false;
    }
    *value = v;
    return true;
}

static bool
parse_seconds(const char *text, double *value)
{
    char *end;

    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || v < 0 || v > 86400) {
        return false;
    }
    *value = v;
    return true;
}
