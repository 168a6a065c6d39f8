"""The relay QEMU runs for each guest connection of a `guestfwd` rule: its stdin/stdout to one host:port.

`python -m aks_jumpbox.vm.relay HOST PORT`. It connects only where it is told (network.py builds the
rule per allowed host), copies bytes both ways and ends when either side closes.
"""

from __future__ import annotations

import os
import selectors
import socket
import sys

CHUNK = 65536


def relay(host: str, port: int) -> int:
    try:
        sock = socket.create_connection((host, port), timeout=30)
    except OSError as exc:
        print(f"aks-jumpbox relay: cannot connect to {host}:{port}: {exc}", file=sys.stderr)
        return 1
    sock.settimeout(None)
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    sel = selectors.DefaultSelector()
    sel.register(stdin, selectors.EVENT_READ, "in")
    sel.register(sock, selectors.EVENT_READ, "sock")
    open_sides = 2
    while open_sides:
        for key, _ in sel.select():
            if key.data == "in":
                data = os.read(stdin, CHUNK)
                if not data:
                    sel.unregister(stdin)
                    open_sides -= 1
                    try:
                        sock.shutdown(socket.SHUT_WR)
                    except OSError:
                        return 0
                    continue
                sock.sendall(data)
            else:
                try:
                    data = sock.recv(CHUNK)
                except OSError:
                    data = b""
                if not data:
                    return 0  # the server closed: the guest's connection ends with it
                view = memoryview(data)
                while view:
                    n = os.write(stdout, view)
                    view = view[n:]
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or not args[1].isdigit():
        print("usage: python -m aks_jumpbox.vm.relay HOST PORT", file=sys.stderr)
        return 2
    return relay(args[0], int(args[1]))


if __name__ == "__main__":
    raise SystemExit(main())
