/*
 * netpool-perf's pure part (see netpool-perf.h): test frames, sequence
 * accounting, the latency histogram, pacing and the report.
 */
#include "perf/netpool-perf.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define ETH_TYPE_IPV4 0x0800
#define ETH_TYPE_ARP 0x0806
#define IP_PROTO_UDP 17
#define OFF_ETHERTYPE 12
#define OFF_IP 14
#define OFF_UDP (OFF_IP + 20)
#define OFF_PAYLOAD (OFF_UDP + 8)

static void put16(uint8_t *p, uint16_t v);
static void put32(uint8_t *p, uint32_t v);
static void put64(uint8_t *p, uint64_t v);
static uint16_t get16(const uint8_t *p);
static uint32_t get32(const uint8_t *p);
static uint64_t get64(const uint8_t *p);
static uint16_t ip_checksum(const uint8_t *hdr, size_t size);
static void swap_bytes(uint8_t *a, uint8_t *b, size_t size);
static int hist_index(uint64_t ns);
static uint64_t hist_low(int index);
static uint64_t hist_high(int index);
static double rate(uint64_t count, double seconds);

size_t
npp_frame_build(uint8_t *buf, size_t cap, const struct npp_frame_spec *spec)
{
    size_t size = spec->size;

    if (size < NPP_FRAME_MIN || size > NPP_FRAME_MAX || size > cap) {
        return 0;
    }
    memset(buf, 0, size);
    memcpy(buf, spec->dst_mac, 6);
    memcpy(buf + 6, spec->src_mac, 6);
    put16(buf + OFF_ETHERTYPE, ETH_TYPE_IPV4);

    uint8_t *ip = buf + OFF_IP;
    ip[0] = 0x45;                              /* Version 4, 20-byte header. */
    put16(ip + 2, (uint16_t) (size - OFF_IP)); /* Total length. */
    put16(ip + 6, 0x4000);                     /* Don't fragment. */
    ip[8] = 64;                                /* TTL. */
    ip[9] = IP_PROTO_UDP;
    put32(ip + 12, spec->src_ip);
    put32(ip + 16, spec->dst_ip);
    put16(ip + 10, ip_checksum(ip, 20));

    uint8_t *udp = buf + OFF_UDP;
    put16(udp, spec->src_port);
    put16(udp + 2, spec->dst_port);
    put16(udp + 4, (uint16_t) (size - OFF_UDP));
    /* UDP checksum 0: none, as IPv4 allows. */

    put32(buf + OFF_PAYLOAD, NPP_MAGIC);
    return size;
}

void
npp_frame_stamp(uint8_t *buf, const struct npp_frame_spec *spec, uint64_t seq,
                uint64_t ts_ns)
{
    uint32_t flows = spec->flows ? spec->flows : 1;

    put16(buf + OFF_UDP, (uint16_t) (spec->src_port + seq % flows));
    put64(buf + OFF_PAYLOAD + 4, seq);
    put64(buf + OFF_PAYLOAD + 12, ts_ns);
}

bool
npp_frame_parse(const uint8_t *buf, size_t size, uint64_t *seq,
                uint64_t *ts_ns)
{
    if (size < OFF_IP + 20 || get16(buf + OFF_ETHERTYPE) != ETH_TYPE_IPV4) {
        return false;
    }
    const uint8_t *ip = buf + OFF_IP;
    size_t ihl = (size_t) (ip[0] & 0x0f) * 4;
    if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != IP_PROTO_UDP
        || (get16(ip + 6) & 0x3fff) != 0) {
        return false;
    }
    size_t payload = OFF_IP + ihl + 8;
    if (size < payload + NPP_PAYLOAD_SIZE
        || get32(buf + payload) != NPP_MAGIC) {
        return false;
    }
    *seq = get64(buf + payload + 4);
    *ts_ns = get64(buf + payload + 12);
    return true;
}

bool
npp_frame_echo(uint8_t *buf, size_t size)
{
    if (size < OFF_IP + 20 || get16(buf + OFF_ETHERTYPE) != ETH_TYPE_IPV4) {
        return false;
    }
    uint8_t *ip = buf + OFF_IP;
    size_t ihl = (size_t) (ip[0] & 0x0f) * 4;
    if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != IP_PROTO_UDP
        || size < OFF_IP + ihl + 8) {
        return false;
    }
    swap_bytes(buf, buf + 6, 6);
    swap_bytes(ip + 12, ip + 16, 4);
    swap_bytes(ip + ihl, ip + ihl + 2, 2);
    return true;
}

bool
npp_arp_answer(uint8_t *buf, size_t size, uint32_t ip, const uint8_t mac[6])
{
    uint8_t *arp = buf + OFF_IP;

    if (size < OFF_IP + 28 || get16(buf + OFF_ETHERTYPE) != ETH_TYPE_ARP
        || get16(arp) != 1 || get16(arp + 2) != ETH_TYPE_IPV4 || arp[4] != 6
        || arp[5] != 4 || get16(arp + 6) != 1 || get32(arp + 24) != ip
        || get32(arp + 14) == ip) {
        /* Not a request for 'ip', or someone announcing it. */
        return false;
    }
    memcpy(buf, arp + 8, 6);       /* To the requester... */
    memcpy(buf + 6, mac, 6);       /* ...from us. */
    put16(arp + 6, 2);             /* Reply. */
    memcpy(arp + 18, arp + 8, 10); /* Target: the requester's MAC and IP. */
    memcpy(arp + 8, mac, 6);
    put32(arp + 14, ip);
    return true;
}

size_t
npp_arp_announce(uint8_t *buf, size_t cap, uint32_t ip, const uint8_t mac[6])
{
    uint8_t *arp = buf + OFF_IP;

    if (cap < NPP_ARP_SIZE) {
        return 0;
    }
    memset(buf, 0, NPP_ARP_SIZE);
    memset(buf, 0xff, 6); /* Broadcast... */
    memcpy(buf + 6, mac, 6);
    put16(buf + OFF_ETHERTYPE, ETH_TYPE_ARP);
    put16(arp, 1);                 /* Ethernet... */
    put16(arp + 2, ETH_TYPE_IPV4); /* ...and IPv4 addresses. */
    arp[4] = 6;
    arp[5] = 4;
    put16(arp + 6, 1); /* A request whose sender and target are 'ip'. */
    memcpy(arp + 8, mac, 6);
    put32(arp + 14, ip);
    put32(arp + 24, ip);
    return NPP_ARP_SIZE;
}

bool
npp_parse_mac(const char *text, uint8_t mac[6])
{
    unsigned int b[6];
    char extra;

    if (sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
               &b[4], &b[5], &extra)
        != 6) {
        return false;
    }
    for (int i = 0; i < 6; i++) {
        mac[i] = (uint8_t) b[i];
    }
    return strlen(text) == 17;
}

bool
npp_parse_ip(const char *text, uint32_t *ip)
{
    struct in_addr addr;

    if (inet_pton(AF_INET, text, &addr) != 1) {
        return false;
    }
    uint32_t host = ntohl(addr.s_addr);
    if ((host & 0xfffe0000u) != 0xc6120000u) { /* 198.18.0.0/15 */
        return false;
    }
    *ip = host;
    return true;
}

void
npp_seq_init(struct npp_seq *s)
{
    memset(s, 0, sizeof *s);
}

void
npp_seq_add(struct npp_seq *s, uint64_t seq)
{
    s->received++;
    s->last_seen = seq;
    if (seq == s->next) {
        s->next = seq + 1;
    } else if (seq > s->next) {
        s->gaps++;
        s->missing += seq - s->next;
        s->next = seq + 1;
    } else {
        /* Below 'next': a reordered frame fills a hole; a duplicate finds
         * none left (only counted, since holes are not remembered one by
         * one). */
        s->late++;
        if (s->missing) {
            s->missing--;
        }
    }
}

uint64_t
npp_seq_lost(const struct npp_seq *s, uint64_t sent)
{
    if (!sent) {
        return s->missing;
    }
    uint64_t unique = s->next - s->missing;
    if (s->next > sent) {
        /* More numbers than were sent: count only the sent range. */
        unique = unique > sent ? sent : unique;
    }
    return unique >= sent ? 0 : sent - unique;
}

void
npp_hist_init(struct npp_hist *h)
{
    memset(h, 0, sizeof *h);
}

void
npp_hist_add(struct npp_hist *h, uint64_t ns)
{
    if (!h->count || ns < h->min) {
        h->min = ns;
    }
    if (ns > h->max) {
        h->max = ns;
    }
    h->count++;
    h->sum += (double) ns;
    h->bucket[hist_index(ns)]++;
}

uint64_t
npp_hist_percentile(const struct npp_hist *h, double pct)
{
    if (!h->count) {
        return 0;
    }
    /* The rank of the sample: ceil(pct% of count), at least 1. */
    double want = pct / 100.0 * (double) h->count;
    uint64_t rank = (uint64_t) want;
    if ((double) rank < want) {
        rank++;
    }
    if (rank < 1) {
        rank = 1;
    }
    if (rank >= h->count) {
        return h->max; /* The largest sample is known exactly. */
    }
    uint64_t seen = 0;
    for (int i = 0; i < NPP_HIST_BUCKETS; i++) {
        seen += h->bucket[i];
        if (seen >= rank) {
            uint64_t mid = hist_low(i) + (hist_high(i) - hist_low(i)) / 2;
            return mid < h->min ? h->min : mid > h->max ? h->max : mid;
        }
    }
    return h->max;
}

void
npp_window_init(struct npp_window *w, uint64_t size)
{
    memset(w, 0, sizeof *w);
    w->size = size;
}

uint64_t
npp_window_room(struct npp_window *w, uint64_t sent, const struct npp_seq *s,
                uint64_t now_ns, bool rx_idle)
{
    if (!w->size) {
        return UINT64_MAX;
    }
    uint64_t done = s->next > w->written_off ? s->next : w->written_off;
    uint64_t in_flight = sent > done ? sent - done : 0;
    if (in_flight < w->size) {
        w->full_since = 0;
        return w->size - in_flight;
    }
    if (!w->full_since) {
        w->full_since = now_ns ? now_ns : 1;
    } else if (rx_idle && now_ns - w->full_since >= NPP_WINDOW_STALL_NS) {
        w->written_off = sent;
        w->full_since = 0;
        w->stalls++;
        return w->size;
    }
    return 0;
}

uint64_t
npp_pace_due(uint64_t elapsed_ns, uint64_t rate_pps)
{
    if (!rate_pps) {
        return UINT64_MAX;
    }
    /* Split the product so that long runs at high rates do not overflow. */
    uint64_t secs = elapsed_ns / 1000000000u;
    uint64_t rest = elapsed_ns % 1000000000u;
    return secs * rate_pps + rest * rate_pps / 1000000000u;
}

void
npp_report(FILE *out, FILE *human, const struct npp_result *r)
{
    double tx_mpps = rate(r->sent, r->tx_seconds) / 1e6;
    double tx_gbps = tx_mpps * 1e6 * (double) r->size * 8 / 1e9;
    double rx_mpps = rate(r->received, r->rx_seconds) / 1e6;
    double rx_gbps =
        r->rx_seconds > 0 ? (double) r->rx_bytes * 8 / r->rx_seconds / 1e9 : 0;
    bool sends = strcmp(r->mode, "rx") != 0;
    bool receives = strcmp(r->mode, "tx") != 0;
    uint64_t sent = sends ? r->sent : r->expected;
    uint64_t lost = 0;
    double loss_pct = 0;

    fprintf(out, "mode %s\n", r->mode);
    if (r->size) {
        fprintf(out, "size %zu\n", r->size);
    }
    if (sends) {
        fprintf(out, "sent %" PRIu64 "\n", r->sent);
        fprintf(out, "tx_mpps %.4f\n", tx_mpps);
        if (r->size) {
            fprintf(out, "tx_gbps %.4f\n", tx_gbps);
        }
    }
    if (receives) {
        if (!sends && r->expected) {
            fprintf(out, "expected %" PRIu64 "\n", r->expected);
        }
        fprintf(out, "received %" PRIu64 "\n", r->received);
        fprintf(out, "other %" PRIu64 "\n", r->other);
        fprintf(out, "rx_mpps %.4f\n", rx_mpps);
        fprintf(out, "rx_gbps %.4f\n", rx_gbps);
    }
    if (r->seq) {
        lost = npp_seq_lost(r->seq, sent);
        uint64_t base = sent ? sent : r->seq->next;
        loss_pct = base ? 100.0 * (double) lost / (double) base : 0;
        fprintf(out, "lost %" PRIu64 "\n", lost);
        fprintf(out, "loss_pct %.4f\n", loss_pct);
        fprintf(out, "gaps %" PRIu64 "\n", r->seq->gaps);
        fprintf(out, "late %" PRIu64 "\n", r->seq->late);
    }
    if (r->hist) {
        fprintf(out, "lat_kind %s\n",
                r->round_trip ? "round-trip" : "one-way");
        fprintf(out, "lat_samples %" PRIu64 "\n", r->hist->count);
        fprintf(out, "lat_min_us %.3f\n", (double) r->hist->min / 1e3);
        fprintf(out, "lat_p50_us %.3f\n",
                (double) npp_hist_percentile(r->hist, 50) / 1e3);
        fprintf(out, "lat_p99_us %.3f\n",
                (double) npp_hist_percentile(r->hist, 99) / 1e3);
        fprintf(out, "lat_max_us %.3f\n", (double) r->hist->max / 1e3);
    }
    fflush(out);

    if (!human) {
        return;
    }
    fprintf(human, "netpool-perf %s:", r->mode);
    if (sends) {
        fprintf(human, " sent %" PRIu64 " (%.3f Mpps, %.3f Gbit/s)", r->sent,
                tx_mpps, tx_gbps);
    }
    if (receives) {
        fprintf(human, " received %" PRIu64 " (%.3f Mpps, %.3f Gbit/s)",
                r->received, rx_mpps, rx_gbps);
    }
    if (r->seq) {
        fprintf(human, ", lost %" PRIu64 " (%.3f%%), %" PRIu64 " gaps", lost,
                loss_pct, r->seq->gaps);
    }
    if (r->hist && r->hist->count) {
        fprintf(human, ", %s latency p50 %.1f us p99 %.1f us",
                r->round_trip ? "round-trip" : "one-way",
                (double) npp_hist_percentile(r->hist, 50) / 1e3,
                (double) npp_hist_percentile(r->hist, 99) / 1e3);
    }
    fprintf(human, "\n");
    fflush(human);
}

static void
put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t) (v >> 8);
    p[1] = (uint8_t) v;
}

static void
put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t) (v >> 16));
    put16(p + 2, (uint16_t) v);
}

static void
put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t) (v >> 32));
    put32(p + 4, (uint32_t) v);
}

static uint16_t
get16(const uint8_t *p)
{
    return (uint16_t) (p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
    return (uint32_t) get16(p) << 16 | get16(p + 2);
}

static uint64_t
get64(const uint8_t *p)
{
    return (uint64_t) get32(p) << 32 | get32(p + 4);
}

/* The Internet checksum of an IPv4 header whose checksum field is 0. */
static uint16_t
ip_checksum(const uint8_t *hdr, size_t size)
{
    uint32_t sum = 0;

    for (size_t i = 0; i + 1 < size; i += 2) {
        sum += get16(hdr + i);
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t) ~sum;
}

static void
swap_bytes(uint8_t *a, uint8_t *b, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        uint8_t t = a[i];
        a[i] = b[i];
        b[i] = t;
    }
}

/* Buckets 0..15 hold 0..15 ns exactly; above, bucket (e - 3) * 16 + m holds
 * the values whose highest set bit is e and next four bits are m. */
static int
hist_index(uint64_t ns)
{
    if (ns < 16) {
        return (int) ns;
    }
    int e = 63 - __builtin_clzll(ns);
    int m = (int) ((ns >> (e - 4)) & 15);
    return (e - 3) * 16 + m;
}

static uint64_t
hist_low(int index)
{
    if (index < 16) {
        return (uint64_t) index;
    }
    int e = index / 16 + 3;
    return (uint64_t) (16 + index % 16) << (e - 4);
}

static uint64_t
hist_high(int index)
{
    if (index < 16) {
        return (uint64_t) index;
    }
    int e = index / 16 + 3;
    return ((uint64_t) (16 + index % 16 + 1) << (e - 4)) - 1;
}

static double
rate(uint64_t count, double seconds)
{
    return seconds > 0 ? (double) count / seconds : 0;
}
