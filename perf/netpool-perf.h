/*
 * netpool-perf's pure part: the test frame, its sequence and timestamp, the
 * receiver's loss and gap accounting, the latency histogram, the pacing of
 * a sender and the report lines.
 *
 * A test frame is Ethernet / IPv4 / UDP (no VLAN tag, IPv4 header checksum
 * set, UDP checksum 0) whose UDP payload opens with a 4-byte magic, a 64-bit
 * sequence number and a 64-bit transmit timestamp in nanoseconds (all in
 * network byte order), then zero padding up to the frame size.  The frame
 * size counts the bytes a port hands over (Ethernet header to the end of the
 * payload, no FCS), as testpmd counts them: 64 to 9000.
 *
 * This module owns no memory and does no I/O: the DPDK application
 * (netpool-perf.c) calls it on its packet buffers, and the unit tests
 * (tests/unit/test-netpool-perf.c) call it on plain arrays.
 */
#ifndef NETPOOL_PERF_H
#define NETPOOL_PERF_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NPP_MAGIC 0x4e505046u /* "NPPF" */
#define NPP_FRAME_MIN 64
#define NPP_FRAME_MAX 9000
#define NPP_HEADERS_SIZE 42 /* Ethernet 14 + IPv4 20 + UDP 8. */
#define NPP_PAYLOAD_SIZE 20 /* Magic 4 + sequence 8 + timestamp 8. */

/* What a test frame carries besides its sequence number and timestamp. */
struct npp_frame_spec {
    uint8_t src_mac[6]; /* Ethernet source. */
    uint8_t dst_mac[6]; /* Ethernet destination. */
    uint32_t src_ip;    /* IPv4 source, host byte order. */
    uint32_t dst_ip;    /* IPv4 destination, host byte order. */
    uint16_t src_port;  /* First UDP source port (flow 0). */
    uint16_t dst_port;  /* UDP destination port. */
    uint32_t flows;     /* Flows: source ports src_port .. + flows - 1. */
    size_t size;        /* Frame size, NPP_FRAME_MIN .. NPP_FRAME_MAX. */
};

/* Writes the whole test frame of 'spec' (headers, magic, zero padding)
 * into 'buf' of 'cap' bytes, with sequence number 0, timestamp 0 and
 * flow 0.  Returns the frame size, or 0 when the size is out of range or
 * does not fit 'cap'. */
size_t npp_frame_build(uint8_t *buf, size_t cap,
                       const struct npp_frame_spec *spec);

/* Stamps a frame made by npp_frame_build(): its sequence number 'seq',
 * transmit timestamp 'ts_ns' and the UDP source port of flow
 * 'seq % spec->flows'.  Touches only those fields. */
void npp_frame_stamp(uint8_t *buf, const struct npp_frame_spec *spec,
                     uint64_t seq, uint64_t ts_ns);

/* Reads a received frame of 'size' bytes.  When it is an IPv4 UDP frame
 * (any IPv4 header length, not a fragment) whose payload starts with the
 * magic, stores its sequence number and timestamp and returns true;
 * otherwise returns false and leaves them alone. */
bool npp_frame_parse(const uint8_t *buf, size_t size, uint64_t *seq,
                     uint64_t *ts_ns);

/* Turns a received IPv4 UDP frame of 'size' bytes into its answer in
 * place: Ethernet, IPv4 and UDP source and destination swapped (the IPv4
 * checksum stays valid, the payload untouched).  Returns false, changing
 * nothing, when the frame is not IPv4 UDP. */
bool npp_frame_echo(uint8_t *buf, size_t size);

/* When 'buf' of 'size' bytes is an ARP request for 'ip' (host byte order),
 * turns it in place into the reply that 'mac' has 'ip' (addressed to the
 * requester) and returns true, so that a guest's kernel can answer
 * netpool-perf's frames.  Otherwise (a gratuitous ARP announcing 'ip'
 * included) returns false, changing nothing. */
bool npp_arp_answer(uint8_t *buf, size_t size, uint32_t ip,
                    const uint8_t mac[6]);

/* Size of the frame npp_arp_announce() writes: an ARP packet padded to the
 * Ethernet minimum (no FCS). */
#define NPP_ARP_SIZE 60

/* Writes into 'buf' of 'cap' bytes a gratuitous ARP request from 'mac'
 * announcing that 'mac' has 'ip' (host byte order): broadcast, sender and
 * target address 'ip'.  A learning switch learns 'mac' on the port it
 * came from, so frames to 'mac' go there alone instead of flooding every
 * port, as they do once a guest has spoken.  Returns NPP_ARP_SIZE, or 0
 * when 'cap' is too small. */
size_t npp_arp_announce(uint8_t *buf, size_t cap, uint32_t ip,
                        const uint8_t mac[6]);

/* Parses "aa:bb:cc:dd:ee:ff" into 'mac'.  Returns false on anything else. */
bool npp_parse_mac(const char *text, uint8_t mac[6]);

/* Parses a dotted IPv4 address inside 198.18.0.0/15 into host byte order.
 * Returns false for anything else (netpool-perf sends only there). */
bool npp_parse_ip(const char *text, uint32_t *ip);

/* A receiver's sequence accounting.  The sender numbers frames 0, 1, 2...;
 * the receiver sees each number once unless the path loses, reorders or
 * duplicates frames. */
struct npp_seq {
    uint64_t received;  /* Test frames seen, duplicates included. */
    uint64_t next;      /* One past the highest sequence number seen. */
    uint64_t gaps;      /* Times a frame came with a number above 'next'. */
    uint64_t missing;   /* Numbers below 'next' not (yet) seen. */
    uint64_t late;      /* Frames below 'next' (reordered or duplicated). */
    uint64_t last_seen; /* Sequence number of the last frame seen. */
};

/* Zeroes 's'. */
void npp_seq_init(struct npp_seq *s);

/* Accounts one received frame with sequence number 'seq'. */
void npp_seq_add(struct npp_seq *s, uint64_t seq);

/* Frames lost out of 'sent' (the sender's count; 0: judge by the highest
 * number seen, which cannot see loss at the tail): the numbers never seen,
 * never negative. */
uint64_t npp_seq_lost(const struct npp_seq *s, uint64_t sent);

/* A latency histogram in nanoseconds: exact below 16 ns, then 16 buckets
 * per power of two (at most 1/16 relative error). */
#define NPP_HIST_BUCKETS (61 * 16)
struct npp_hist {
    uint64_t count;                    /* Samples. */
    uint64_t min;                      /* Smallest sample (ns). */
    uint64_t max;                      /* Largest sample (ns). */
    double sum;                        /* Sum of samples, for the mean. */
    uint64_t bucket[NPP_HIST_BUCKETS]; /* Samples per bucket. */
};

/* Zeroes 'h'. */
void npp_hist_init(struct npp_hist *h);

/* Adds one sample of 'ns' nanoseconds. */
void npp_hist_add(struct npp_hist *h, uint64_t ns);

/* The 'pct' percentile (0 < pct <= 100) of 'h' in nanoseconds: the middle
 * of the bucket that holds it, clamped to [min, max] (the largest sample
 * itself for the last rank); 0 when empty. */
uint64_t npp_hist_percentile(const struct npp_hist *h, double pct);

/* How many frames a sender at 'rate' frames per second should have sent
 * 'elapsed_ns' after it started (rate 0: unlimited, returns UINT64_MAX). */
uint64_t npp_pace_due(uint64_t elapsed_ns, uint64_t rate);

/* A sender's window: at most 'size' frames in flight between it and its
 * own receiver (loop mode), so that a receiver sharing the sender's core
 * is never overrun and loss counts only frames the path dropped.  In
 * flight are the frames sent after the highest sequence number received:
 * a frame lost before that one frees its place at once.  When the window
 * stays full past NPP_WINDOW_STALL_NS while the receiver finds nothing
 * (the frames at the tail were lost), what is in flight is written off. */
#define NPP_WINDOW_STALL_NS 50000000u /* 50 ms. */
struct npp_window {
    uint64_t size;        /* Frames in flight at most; 0: no window. */
    uint64_t written_off; /* Sent frames below this are no longer awaited. */
    uint64_t full_since;  /* When the window filled (ns), or 0. */
    uint64_t stalls;      /* Times frames in flight were written off. */
};

/* Makes 'w' a window of 'size' frames (0: unlimited). */
void npp_window_init(struct npp_window *w, uint64_t size);

/* Returns how many more frames the sender may send now, having sent
 * 'sent', with receiver accounting 's' (its 'next'), at 'now_ns';
 * 'rx_idle' says the receiver's last poll found nothing.  UINT64_MAX for
 * no window. */
uint64_t npp_window_room(struct npp_window *w, uint64_t sent,
                         const struct npp_seq *s, uint64_t now_ns,
                         bool rx_idle);

/* What one run measured, for npp_report(). */
struct npp_result {
    const char *mode;          /* "tx", "rx", "echo", "latency" or "loop". */
    size_t size;               /* Frame size (0 when frames of any size). */
    uint64_t sent;             /* Frames sent. */
    uint64_t expected;         /* rx: frames the sender sent (0: unknown). */
    uint64_t received;         /* Test frames received (or echoed). */
    uint64_t other;            /* Other frames received and ignored. */
    uint64_t rx_bytes;         /* Bytes of the test frames received. */
    double tx_seconds;         /* From the first to the last frame sent. */
    double rx_seconds;         /* From the first to the last frame received. */
    const struct npp_seq *seq; /* Receiver's accounting, or NULL. */
    const struct npp_hist *hist; /* Latency samples, or NULL. */
    bool round_trip;             /* Latency is a round trip (else one way). */
};

/* Writes 'r' to 'out' as "key value" lines (one per key, keys in a fixed
 * order, rates as plain decimals), then one human summary line to 'human'
 * (NULL: none).  Keys: mode, size, sent, tx_mpps, tx_gbps, expected,
 * received, other, rx_mpps, rx_gbps, lost, loss_pct, gaps, late,
 * lat_kind, lat_samples, lat_min_us, lat_p50_us, lat_p99_us, lat_max_us;
 * the ones a mode has no value for are left out. */
void npp_report(FILE *out, FILE *human, const struct npp_result *r);

#endif /* netpool-perf.h */
