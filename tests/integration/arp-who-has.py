#!/usr/bin/env python3
"""arp-who-has.py DEVICE ADDRESS [SECONDS]: broadcast one ARP request for
ADDRESS out of DEVICE and print the sender MAC of every reply that comes
back within SECONDS (default 1), one per line, sorted and unique."""
import socket
import struct
import sys
import time


def main():
    device, address = sys.argv[1], sys.argv[2]
    wait = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                         socket.htons(0x0806))
    sock.bind((device, 0))
    mac = sock.getsockname()[4][:6]
    source = socket.inet_aton("0.0.0.0")
    target = socket.inet_aton(address)
    frame = (b"\xff" * 6 + mac + struct.pack("!H", 0x0806)
             + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1)
             + mac + source + b"\x00" * 6 + target)
    sock.send(frame.ljust(60, b"\x00"))
    senders = set()
    deadline = time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            data = sock.recv(128)
        except socket.timeout:
            break
        op = struct.unpack("!H", data[20:22])[0]
        if op == 2 and data[28:32] == target and data[32:38] == mac:
            senders.add(":".join(f"{b:02x}" for b in data[22:28]))
    for sender in sorted(senders):
        print(sender)


main()
