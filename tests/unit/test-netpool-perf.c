/*
 * Unit tests of netpool-perf's pure part (perf/netpool-perf-frame.c): the
 * test frame, echo, sequence accounting, the latency histogram, pacing and
 * the report lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "perf/netpool-perf.h"

static struct npp_frame_spec
spec_of(size_t size)
{
    struct npp_frame_spec spec = {
        .src_mac = {0x02, 0, 0, 0, 0, 0x01},
        .dst_mac = {0x02, 0, 0, 0, 0, 0x02},
        .src_ip = 0xc6121401, /* 198.18.20.1 */
        .dst_ip = 0xc6121402, /* 198.18.20.2 */
        .src_port = 9000,
        .dst_port = 9001,
        .flows = 4,
        .size = size,
    };
    return spec;
}

/* A 64-byte frame: Ethernet, IPv4 with a valid checksum, UDP, magic. */
static void
test_frame_layout(void **state)
{
    struct npp_frame_spec spec = spec_of(64);
    uint8_t buf[128];

    (void) state;
    assert_int_equal(npp_frame_build(buf, sizeof buf, &spec), 64);
    assert_memory_equal(buf, spec.dst_mac, 6);
    assert_memory_equal(buf + 6, spec.src_mac, 6);
    assert_int_equal(buf[12], 0x08);
    assert_int_equal(buf[13], 0x00);
    assert_int_equal(buf[14], 0x45);
    assert_int_equal(buf[16] << 8 | buf[17], 50); /* 64 - 14 */
    assert_int_equal(buf[23], 17);
    static const uint8_t addrs[8] = {198, 18, 20, 1, 198, 18, 20, 2};
    assert_memory_equal(buf + 26, addrs, 8);
    /* The header sums to 0xffff with its checksum. */
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2) {
        sum += (uint32_t) (buf[14 + i] << 8 | buf[15 + i]);
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    assert_int_equal(sum, 0xffff);
    assert_int_equal(buf[36] << 8 | buf[37], 9001);
    assert_int_equal(buf[38] << 8 | buf[39], 30); /* UDP length */
    assert_int_equal(buf[40] << 8 | buf[41], 0);  /* no UDP checksum */
    static const uint8_t magic[4] = {'N', 'P', 'P', 'F'};
    assert_memory_equal(buf + 42, magic, 4);
}

/* Sizes outside 64..9000, or larger than the buffer, build nothing. */
static void
test_frame_sizes(void **state)
{
    static uint8_t buf[NPP_FRAME_MAX + 16];
    struct npp_frame_spec spec;

    (void) state;
    spec = spec_of(63);
    assert_int_equal(npp_frame_build(buf, sizeof buf, &spec), 0);
    spec = spec_of(9001);
    assert_int_equal(npp_frame_build(buf, sizeof buf, &spec), 0);
    spec = spec_of(1500);
    assert_int_equal(npp_frame_build(buf, 1499, &spec), 0);
    assert_int_equal(npp_frame_build(buf, sizeof buf, &spec), 1500);
    spec = spec_of(9000);
    assert_int_equal(npp_frame_build(buf, sizeof buf, &spec), 9000);
    assert_int_equal(buf[16] << 8 | buf[17], 9000 - 14);
}

/* Stamping writes sequence, timestamp and the flow's source port; parsing
 * reads them back. */
static void
test_stamp_parse(void **state)
{
    struct npp_frame_spec spec = spec_of(64);
    uint8_t buf[64];
    uint64_t seq, ts;

    (void) state;
    npp_frame_build(buf, sizeof buf, &spec);
    npp_frame_stamp(buf, &spec, 0x0102030405060707ull, 123456789012345ull);
    assert_true(npp_frame_parse(buf, sizeof buf, &seq, &ts));
    assert_true(seq == 0x0102030405060707ull);
    assert_true(ts == 123456789012345ull);
    /* 0x...0707 % 4 = 3 */
    assert_int_equal(buf[34] << 8 | buf[35], 9003);
    npp_frame_stamp(buf, &spec, 8, 1);
    assert_int_equal(buf[34] << 8 | buf[35], 9000);
}

/* Not a test frame: other ethertype, not UDP, a fragment, no magic, too
 * short.  An IPv4 header with options still parses. */
static void
test_parse_rejects(void **state)
{
    struct npp_frame_spec spec = spec_of(128);
    uint8_t buf[128], copy[132];
    uint64_t seq = 7, ts = 7;

    (void) state;
    npp_frame_build(buf, sizeof buf, &spec);
    npp_frame_stamp(buf, &spec, 5, 6);
    assert_false(npp_frame_parse(buf, 60, &seq, &ts));

    memcpy(copy, buf, sizeof buf);
    copy[12] = 0x86;
    copy[13] = 0xdd;
    assert_false(npp_frame_parse(copy, sizeof buf, &seq, &ts));
    memcpy(copy, buf, sizeof buf);
    copy[23] = 6;
    assert_false(npp_frame_parse(copy, sizeof buf, &seq, &ts));
    memcpy(copy, buf, sizeof buf);
    copy[20] |= 0x20; /* more fragments */
    assert_false(npp_frame_parse(copy, sizeof buf, &seq, &ts));
    memcpy(copy, buf, sizeof buf);
    copy[42] = 'X';
    assert_false(npp_frame_parse(copy, sizeof buf, &seq, &ts));
    assert_true(seq == 7 && ts == 7);

    /* Four bytes of IPv4 options: the payload moves along. */
    memcpy(copy, buf, 34);
    copy[14] = 0x46;
    memset(copy + 34, 1, 4);
    memcpy(copy + 38, buf + 34, sizeof buf - 34);
    assert_true(npp_frame_parse(copy, sizeof copy, &seq, &ts));
    assert_true(seq == 5 && ts == 6);
}

/* Echo swaps MACs, addresses and ports, keeps the checksum and payload, and
 * swapping twice gives the frame back. */
static void
test_echo(void **state)
{
    struct npp_frame_spec spec = spec_of(64);
    uint8_t buf[64], orig[64];
    uint64_t seq, ts;

    (void) state;
    npp_frame_build(buf, sizeof buf, &spec);
    npp_frame_stamp(buf, &spec, 42, 99);
    memcpy(orig, buf, sizeof buf);
    assert_true(npp_frame_echo(buf, sizeof buf));
    assert_memory_equal(buf, orig + 6, 6);
    assert_memory_equal(buf + 6, orig, 6);
    assert_memory_equal(buf + 26, orig + 30, 4);
    assert_memory_equal(buf + 30, orig + 26, 4);
    assert_memory_equal(buf + 34, orig + 36, 2);
    assert_memory_equal(buf + 36, orig + 34, 2);
    assert_memory_equal(buf + 24, orig + 24, 2); /* checksum */
    assert_true(npp_frame_parse(buf, sizeof buf, &seq, &ts));
    assert_true(seq == 42 && ts == 99);
    assert_true(npp_frame_echo(buf, sizeof buf));
    assert_memory_equal(buf, orig, sizeof buf);

    buf[23] = 1; /* ICMP: not answered */
    memcpy(orig, buf, sizeof buf);
    assert_false(npp_frame_echo(buf, sizeof buf));
    assert_memory_equal(buf, orig, sizeof buf);
}

/* An ARP request for our address becomes our reply to the requester;
 * a request for another address, or a reply, is left alone. */
static void
test_arp(void **state)
{
    static const uint8_t ours[6] = {0x02, 0x4e, 0x50, 0, 0, 0x01};
    static const uint8_t request[42] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff,         /* broadcast */
        0x02, 0,    0,    0,    0,    0x09,         /* requester */
        0x08, 0x06,                                 /* ARP */
        0,    1,    0x08, 0,    6,    4,    0,   1, /* Ethernet/IPv4 request */
        0x02, 0,    0,    0,    0,    0x09, 198, 18, 20, 2, /* sender */
        0,    0,    0,    0,    0,    0,    198, 18, 20, 1, /* target */
    };
    static const uint8_t reply[42] = {
        0x02, 0,    0,    0,  0,    0x09, /* to the requester */
        0x02, 0x4e, 0x50, 0,  0,    1,    /* from us */
        0x08, 0x06, 0,    1,  0x08, 0,    6, 4, 0, 2, 0x02, 0x4e, 0x50, 0,  0,
        1,    198,  18,   20, 1,    0x02, 0, 0, 0, 0, 0x09, 198,  18,   20, 2,
    };
    uint8_t buf[60];

    (void) state;
    memset(buf, 0, sizeof buf);
    memcpy(buf, request, sizeof request);
    assert_true(npp_arp_answer(buf, sizeof buf, 0xc6121401, ours));
    assert_memory_equal(buf, reply, sizeof reply);
    /* Now a reply: not answered. */
    assert_false(npp_arp_answer(buf, sizeof buf, 0xc6121401, ours));

    memcpy(buf, request, sizeof request);
    assert_false(npp_arp_answer(buf, sizeof buf, 0xc6121403, ours));
    assert_memory_equal(buf, request, sizeof request);
    assert_false(npp_arp_answer(buf, 41, 0xc6121401, ours));
}

/* A gratuitous ARP: broadcast from our MAC, sender and target our
 * address, padded to 60 bytes; a request for that address is answered by
 * the same MAC, so it is one well-formed ARP request. */
static void
test_arp_announce(void **state)
{
    static const uint8_t ours[6] = {0x02, 0x4e, 0x50, 0, 0, 0x07};
    static const uint8_t want[42] = {
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff,                 /* broadcast */
        0x02, 0x4e, 0x50, 0,    0,    0x07,                 /* from us */
        0x08, 0x06, 0,    1,    0x08, 0,    6,   4,  0,  1, /* request */
        0x02, 0x4e, 0x50, 0,    0,    0x07, 198, 18, 20, 2, /* sender */
        0,    0,    0,    0,    0,    0,    198, 18, 20, 2, /* target */
    };
    uint8_t buf[NPP_ARP_SIZE + 4];

    (void) state;
    memset(buf, 0xaa, sizeof buf);
    assert_int_equal(npp_arp_announce(buf, sizeof buf, 0xc6121402, ours),
                     NPP_ARP_SIZE);
    assert_memory_equal(buf, want, sizeof want);
    for (size_t i = sizeof want; i < NPP_ARP_SIZE; i++) {
        assert_int_equal(buf[i], 0);
    }
    assert_int_equal(buf[NPP_ARP_SIZE], 0xaa);
    assert_int_equal(npp_arp_announce(buf, NPP_ARP_SIZE - 1, 1, ours), 0);
    /* It is no question anyone answers, not even we. */
    uint8_t copy[NPP_ARP_SIZE];
    memcpy(copy, buf, sizeof copy);
    assert_false(npp_arp_answer(copy, sizeof copy, 0xc6121402, ours));
    assert_memory_equal(copy, buf, sizeof copy);
}

/* The window holds at most its size in flight, counted from the highest
 * sequence number received (a frame lost below it frees its place); a
 * window full with the receiver idle for the stall time is written off,
 * but not while frames still arrive or before the stall time. */
static void
test_window(void **state)
{
    struct npp_window w;
    struct npp_seq s;
    uint64_t t = 1000;

    (void) state;
    npp_seq_init(&s);
    npp_window_init(&w, 0);
    assert_true(npp_window_room(&w, 1000000, &s, t, true) == UINT64_MAX);

    npp_window_init(&w, 64);
    assert_int_equal(npp_window_room(&w, 0, &s, t, true), 64);
    assert_int_equal(npp_window_room(&w, 40, &s, t, true), 24);
    assert_int_equal(npp_window_room(&w, 64, &s, t, true), 0);
    for (uint64_t i = 0; i < 10; i++) {
        npp_seq_add(&s, i);
    }
    npp_seq_add(&s, 20); /* 10..19 lost: they no longer count. */
    assert_int_equal(npp_window_room(&w, 64, &s, t, false), 21);
    assert_int_equal(npp_window_room(&w, 85, &s, t, false), 0);
    /* Full: nothing written off before the stall time, nor while the
     * receiver still finds frames. */
    assert_int_equal(
        npp_window_room(&w, 85, &s, t + NPP_WINDOW_STALL_NS / 2, true), 0);
    assert_int_equal(
        npp_window_room(&w, 85, &s, t + 2 * NPP_WINDOW_STALL_NS, false), 0);
    assert_int_equal(w.stalls, 0);
    assert_int_equal(
        npp_window_room(&w, 85, &s, t + 2 * NPP_WINDOW_STALL_NS, true), 64);
    assert_int_equal(w.stalls, 1);
    assert_int_equal(npp_window_room(&w, 100, &s, t, false), 49);
    /* Frames written off that arrive after all change nothing. */
    npp_seq_add(&s, 84);
    assert_int_equal(npp_window_room(&w, 100, &s, t, false), 49);
}

/* MACs and addresses from the command line; only 198.18.0.0/15. */
static void
test_parse_args(void **state)
{
    uint8_t mac[6];
    uint32_t ip;

    (void) state;
    assert_true(npp_parse_mac("02:4e:50:00:0a:FF", mac));
    assert_int_equal(mac[0], 2);
    assert_int_equal(mac[5], 0xff);
    assert_false(npp_parse_mac("02:4e:50:00:0a", mac));
    assert_false(npp_parse_mac("02:4e:50:00:0a:ff:00", mac));
    assert_false(npp_parse_mac("zz:4e:50:00:0a:ff", mac));
    assert_true(npp_parse_ip("198.18.20.1", &ip));
    assert_int_equal(ip, 0xc6121401);
    assert_true(npp_parse_ip("198.19.255.254", &ip));
    assert_false(npp_parse_ip("198.20.0.1", &ip));
    assert_false(npp_parse_ip("10.0.0.1", &ip));
    assert_false(npp_parse_ip("198.18.1", &ip));
}

/* In order: no loss.  A hole: one gap, its frames missing until they come
 * late.  Loss at the tail only shows against the sender's count. */
static void
test_seq(void **state)
{
    struct npp_seq s;

    (void) state;
    npp_seq_init(&s);
    for (uint64_t i = 0; i < 10; i++) {
        npp_seq_add(&s, i);
    }
    assert_int_equal(s.received, 10);
    assert_int_equal(s.gaps, 0);
    assert_int_equal(npp_seq_lost(&s, 0), 0);
    assert_int_equal(npp_seq_lost(&s, 10), 0);
    assert_int_equal(npp_seq_lost(&s, 12), 2);

    npp_seq_add(&s, 13); /* 10, 11, 12 missing */
    assert_int_equal(s.gaps, 1);
    assert_int_equal(npp_seq_lost(&s, 0), 3);
    npp_seq_add(&s, 11); /* late */
    assert_int_equal(s.late, 1);
    assert_int_equal(npp_seq_lost(&s, 0), 2);
    assert_int_equal(npp_seq_lost(&s, 20), 8);
    npp_seq_add(&s, 14);
    npp_seq_add(&s, 17);
    assert_int_equal(s.gaps, 2);
    assert_int_equal(npp_seq_lost(&s, 18), 4); /* 10 12 15 16 */
    assert_int_equal(s.received, 14);
}

/* Percentiles land within the histogram's precision; min and max are
 * exact; an empty histogram says 0. */
static void
test_hist(void **state)
{
    static struct npp_hist h;

    (void) state;
    npp_hist_init(&h);
    assert_int_equal(npp_hist_percentile(&h, 50), 0);
    for (uint64_t v = 1; v <= 1000; v++) {
        npp_hist_add(&h, v * 1000); /* 1 us .. 1 ms */
    }
    assert_int_equal(h.count, 1000);
    assert_int_equal(h.min, 1000);
    assert_int_equal(h.max, 1000000);
    uint64_t p50 = npp_hist_percentile(&h, 50);
    uint64_t p99 = npp_hist_percentile(&h, 99);
    assert_true(p50 > 500000 * 15 / 16 && p50 < 500000 * 17 / 16);
    assert_true(p99 > 990000 * 15 / 16 && p99 <= 1000000);
    assert_int_equal(npp_hist_percentile(&h, 100), 1000000);

    npp_hist_init(&h);
    npp_hist_add(&h, 7);
    npp_hist_add(&h, UINT64_MAX);
    assert_int_equal(npp_hist_percentile(&h, 50), 7);
    assert_true(npp_hist_percentile(&h, 100) == UINT64_MAX);
}

/* Pacing: frames due after a time at a rate; 0 means unlimited. */
static void
test_pace(void **state)
{
    (void) state;
    assert_true(npp_pace_due(123, 0) == UINT64_MAX);
    assert_int_equal(npp_pace_due(0, 10000), 0);
    assert_int_equal(npp_pace_due(99999, 10000), 0);
    assert_int_equal(npp_pace_due(100000, 10000), 1);
    assert_int_equal(npp_pace_due(1500000000, 10000), 15000);
    /* A day at 100 Mpps does not overflow. */
    assert_true(npp_pace_due(86400ull * 1000000000ull, 100000000)
                == 8640000000000ull);
}

/* The report: "key value" lines in a fixed order, and one summary line. */
static void
test_report(void **state)
{
    struct npp_seq s;
    static struct npp_hist h;
    char *text = NULL, *summary = NULL;
    size_t size = 0, summary_size = 0;

    (void) state;
    npp_seq_init(&s);
    npp_hist_init(&h);
    for (uint64_t i = 0; i < 1000; i++) {
        if (i != 500) {
            npp_seq_add(&s, i);
            npp_hist_add(&h, 10000);
        }
    }
    struct npp_result r = {
        .mode = "loop",
        .size = 64,
        .sent = 1000,
        .received = 999,
        .rx_bytes = 999 * 64,
        .tx_seconds = 0.001,
        .rx_seconds = 0.001,
        .seq = &s,
        .hist = &h,
    };
    FILE *out = open_memstream(&text, &size);
    FILE *human = open_memstream(&summary, &summary_size);
    npp_report(out, human, &r);
    fclose(out);
    fclose(human);
    assert_string_equal(text, "mode loop\n"
                              "size 64\n"
                              "sent 1000\n"
                              "tx_mpps 1.0000\n"
                              "tx_gbps 0.5120\n"
                              "received 999\n"
                              "other 0\n"
                              "rx_mpps 0.9990\n"
                              "rx_gbps 0.5115\n"
                              "lost 1\n"
                              "loss_pct 0.1000\n"
                              "gaps 1\n"
                              "late 0\n"
                              "lat_kind one-way\n"
                              "lat_samples 999\n"
                              "lat_min_us 10.000\n"
                              "lat_p50_us 10.000\n"
                              "lat_p99_us 10.000\n"
                              "lat_max_us 10.000\n");
    assert_non_null(strstr(summary, "lost 1 (0.100%)"));
    assert_non_null(strstr(summary, "p50 10.0 us"));
    free(text);
    free(summary);

    /* tx reports only what it sent. */
    struct npp_result tx = {
        .mode = "tx", .size = 1500, .sent = 100, .tx_seconds = 1};
    out = open_memstream(&text, &size);
    npp_report(out, NULL, &tx);
    fclose(out);
    assert_string_equal(text, "mode tx\nsize 1500\nsent 100\n"
                              "tx_mpps 0.0001\ntx_gbps 0.0012\n");
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_layout),
        cmocka_unit_test(test_frame_sizes),
        cmocka_unit_test(test_stamp_parse),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_echo),
        cmocka_unit_test(test_arp),
        cmocka_unit_test(test_arp_announce),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_parse_args),
        cmocka_unit_test(test_seq),
        cmocka_unit_test(test_hist),
        cmocka_unit_test(test_pace),
        cmocka_unit_test(test_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
