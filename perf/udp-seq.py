#!/usr/bin/env python3
"""A sequence-numbered UDP stream, to count loss and measure rates.

    udp-seq.py send DST PORT [--pps N] [--seconds S] [--size BYTES]
    udp-seq.py recv PORT [--seconds S] [--idle S]

send: sends datagrams of --size bytes (default 64) carrying a sequence
number (8 bytes, big endian) to DST:PORT, --pps per second (default 1000;
0 sends as fast as it can) for --seconds (default 5), then prints JSON
{"sent": N, "seconds": T}.

recv: counts datagrams on PORT until --seconds have passed (default 30)
or, once something arrived, nothing more came for --idle seconds (default
2), then prints JSON {"received": distinct sequence numbers, "duplicates",
"highest": the highest sequence number + 1, "missing": numbers below it
never received, "bytes", "seconds": first to last datagram, "kbps": payload
rate over that time, "max_gap_ms": the longest silence between two
datagrams}.  It prints "ready" on stderr once it listens.

Loss is measured with sequence numbers rather than ping, which slows down
when replies stop and so under-counts it.
"""
import argparse
import json
import socket
import struct
import sys
import time


def send(args):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    payload = bytearray(max(args.size, 8))
    start = time.monotonic()
    end = start + args.seconds
    sent = 0
    while True:
        now = time.monotonic()
        if now >= end:
            break
        if args.pps:
            due = start + sent / args.pps
            if due > now:
                time.sleep(due - now)
        struct.pack_into("!Q", payload, 0, sent)
        try:
            sock.sendto(payload, (args.dst, args.port))
            sent += 1
        except OSError:
            # A full queue under a flood: the datagram was not sent.
            pass
    print(json.dumps({"sent": sent, "seconds": time.monotonic() - start}))


def recv(args):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.bind(("0.0.0.0", args.port))
    sock.settimeout(0.1)
    print("ready", file=sys.stderr, flush=True)
    seen = set()
    duplicates = 0
    nbytes = 0
    first = last = None
    max_gap = 0.0
    deadline = time.monotonic() + args.seconds
    while True:
        now = time.monotonic()
        if now >= deadline or (last is not None and now - last > args.idle):
            break
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        now = time.monotonic()
        if len(data) < 8:
            continue
        seq = struct.unpack_from("!Q", data, 0)[0]
        if seq in seen:
            duplicates += 1
        seen.add(seq)
        nbytes += len(data)
        if last is not None:
            max_gap = max(max_gap, now - last)
        first = now if first is None else first
        last = now
    highest = max(seen) + 1 if seen else 0
    seconds = (last - first) if seen else 0.0
    print(json.dumps({
        "received": len(seen),
        "duplicates": duplicates,
        "highest": highest,
        "missing": highest - len(seen),
        "bytes": nbytes,
        "seconds": seconds,
        "kbps": nbytes * 8 / 1000 / seconds if seconds > 0 else 0,
        "max_gap_ms": max_gap * 1000,
    }))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("send")
    s.add_argument("dst")
    s.add_argument("port", type=int)
    s.add_argument("--pps", type=float, default=1000)
    s.add_argument("--seconds", type=float, default=5)
    s.add_argument("--size", type=int, default=64)
    r = sub.add_parser("recv")
    r.add_argument("port", type=int)
    r.add_argument("--seconds", type=float, default=30)
    r.add_argument("--idle", type=float, default=2)
    args = parser.parse_args()
    send(args) if args.mode == "send" else recv(args)


if __name__ == "__main__":
    main()
