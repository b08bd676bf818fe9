#!/usr/bin/env python3
"""A 1000 pps UDP echo probe: the longest silence of a guest's echo.

    echo-probe.py DST [--port 7] [--pps 1000] [--seconds S] [--until FILE]

Sends datagrams carrying a sequence number to DST:PORT (the guest's UDP
echo, tests/guest/udp-echo.c) at --pps from one socket and reads the
echoes on the same socket, for --seconds (default 30) or until FILE
exists (then one more second), and prints JSON {"sent", "received",
"lost": sent - received, "blackout_ms": the longest time between two
echoes received, "blackout_at": seconds from the start to where it
began}.  The blackout is what a flow through the guest sees of a
migration: QEMU's downtime plus the network cutover.
"""
import argparse
import json
import os
import select
import socket
import struct
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dst")
    p.add_argument("--port", type=int, default=7)
    p.add_argument("--pps", type=int, default=1000)
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--until")
    args = p.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    interval = 1.0 / args.pps
    start = time.monotonic()
    end = start + args.seconds
    next_send = start
    sent = received = 0
    seen = set()
    last = None
    gap, gap_at = 0.0, 0.0
    while True:
        now = time.monotonic()
        if now >= end:
            break
        if args.until and os.path.exists(args.until) and end > now + 1:
            end = now + 1
        if now >= next_send:
            try:
                sock.sendto(struct.pack("!Q", sent) + bytes(56),
                            (args.dst, args.port))
            except (BlockingIOError, OSError):
                pass  # Unresolved or full: a datagram the guest never got.
            sent += 1
            next_send += interval
        timeout = max(0.0, next_send - time.monotonic())
        r, _, _ = select.select([sock], [], [], timeout)
        while r:
            try:
                data = sock.recv(2048)
            except BlockingIOError:
                break
            if len(data) < 8:
                continue
            seq = struct.unpack("!Q", data[:8])[0]
            if seq in seen:
                continue
            seen.add(seq)
            received += 1
            t = time.monotonic()
            if last is not None and t - last > gap:
                gap, gap_at = t - last, last - start
            last = t
    print(json.dumps({"sent": sent, "received": received,
                      "lost": sent - received,
                      "blackout_ms": round(gap * 1000, 1),
                      "blackout_at": round(gap_at, 3)}))


if __name__ == "__main__":
    main()
