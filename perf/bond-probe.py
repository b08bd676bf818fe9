#!/usr/bin/env python3
"""A sequence-numbered UDP stream for measuring loss windows.

    bond-probe.py send DST PORT PPS SECONDS
    bond-probe.py recv PORT SECONDS

send: sends PPS datagrams a second to DST:PORT for SECONDS (0: until
SIGTERM or SIGINT), each carrying its sequence number (8 bytes, big
endian), paced against the clock (bursts of the datagrams that are due,
then a short sleep) so that it keeps the rate without spinning a core.
It prints JSON: {"sent": datagrams sent, "start": the wall-clock time
(seconds since the epoch) at which datagram 0 was due}, so that datagram
N left at start + N / PPS.

recv: listens on PORT for SECONDS after the first datagram (0: until
SIGTERM or SIGINT) and prints JSON: {"received": distinct sequence
numbers, "highest": the highest + 1, "missing": numbers below it never
received, "missing_ranges": those numbers as [first, last + 1] pairs,
"max_gap_ms": the longest silence between two datagrams, "gap_start":
seconds from the first datagram to the start of that silence}.

The loss window of a failure is the number of datagrams lost over PPS:
known to 1/PPS.  With the sender's start time, missing_ranges says when
each loss happened, which separates the loss of a failure from the loss
when the failed member comes back within one stream.  Ping would
under-count it (it slows down when replies stop).
"""
import json
import signal
import socket
import struct
import sys
import time


class Stop(Exception):
    """Raised by the signal handler to end a run that has no duration."""


def on_signal(signum, frame):
    raise Stop()


def send(dst, port, pps, seconds):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    payload = bytearray(64)
    start = time.monotonic()
    wall = time.time()
    sent = 0
    try:
        while True:
            elapsed = time.monotonic() - start
            if seconds and elapsed >= seconds:
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
    except Stop:
        pass
    print(json.dumps({"sent": sent, "start": round(wall, 6)}), flush=True)


def recv(port, seconds):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(("0.0.0.0", port))
    sock.settimeout(seconds + 5 if seconds else None)
    seen = set()
    first = last = None
    max_gap = 0.0
    gap_start = 0.0
    deadline = None
    print("ready", file=sys.stderr, flush=True)
    try:
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
                deadline = now + seconds if seconds else None
            elif now - last > max_gap:
                max_gap = now - last
                gap_start = last - first
            last = now
    except Stop:
        pass
    highest = max(seen) + 1 if seen else 0
    print(json.dumps({
        "received": len(seen),
        "highest": highest,
        "missing": highest - len(seen),
        "missing_ranges": missing_ranges(seen, highest),
        "max_gap_ms": round(max_gap * 1000, 1),
        "gap_start": round(gap_start, 3),
    }), flush=True)


def missing_ranges(seen, highest):
    """The numbers below 'highest' absent from 'seen', as [first, end)."""
    ranges = []
    start = None
    for n in range(highest):
        if n not in seen:
            if start is None:
                start = n
        elif start is not None:
            ranges.append([start, n])
            start = None
    if start is not None:
        ranges.append([start, highest])
    return ranges


def main():
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
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
