#!/usr/bin/env python3
"""A sequence-numbered UDP stream for measuring loss windows.

    bond-probe.py send DST PORT PPS SECONDS
    bond-probe.py recv PORT SECONDS

send: sends PPS datagrams a second to DST:PORT for SECONDS, each carrying
its sequence number (8 bytes, big endian), paced against the clock (bursts
of the datagrams that are due, then a short sleep) so that it keeps the
rate without spinning a core.

recv: listens on PORT for SECONDS after the first datagram and prints JSON:
{"received": distinct sequence numbers, "highest": the highest + 1,
"missing": numbers below it never received, "max_gap_ms": the longest
silence between two datagrams, "gap_start": seconds from the first
datagram to the start of that silence}.

The loss window of a failure is the longest silence: with PPS datagrams a
second it is known to 1/PPS.  Ping would under-count it (it slows down
when replies stop).
"""
import json
import socket
import struct
import sys
import time


def send(dst, port, pps, seconds):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    payload = bytearray(64)
    start = time.monotonic()
    sent = 0
    while True:
        elapsed = time.monotonic() - start
        if elapsed >= seconds:
            break
        due = int(elapsed * pps) + 1
        while sent < due:
            struct.pack_into("!Q", payload, 0, sent)
            try:
                sock.sendto(payload, (dst, port))
            except OSError:
                pass  # No route for a moment: that datagram is lost.
            sent += 1
        time.sleep(0.0004)
    print(json.dumps({"sent": sent}))


def recv(port, seconds):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(("0.0.0.0", port))
    sock.settimeout(seconds + 5)
    seen = set()
    first = last = None
    max_gap = 0.0
    gap_start = 0.0
    deadline = None
    print("ready", file=sys.stderr, flush=True)
    while True:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            sock.settimeout(remaining)
        try:
            data = sock.recv(2048)
        except socket.timeout:
            break
        now = time.monotonic()
        if len(data) < 8:
            continue
        seen.add(struct.unpack_from("!Q", data, 0)[0])
        if first is None:
            first = now
            deadline = now + seconds
        elif now - last > max_gap:
            max_gap = now - last
            gap_start = last - first
        last = now
    highest = max(seen) + 1 if seen else 0
    print(json.dumps({
        "received": len(seen),
        "highest": highest,
        "missing": highest - len(seen),
        "max_gap_ms": round(max_gap * 1000, 1),
        "gap_start": round(gap_start, 3),
    }))


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "send":
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
             float(sys.argv[5]))
    elif len(sys.argv) == 4 and sys.argv[1] == "recv":
        recv(int(sys.argv[2]), float(sys.argv[3]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
