#!/usr/bin/env python3
"""rebinding.py - a transfer through a NAT that rebinds mid-connection (RFC 9000 §9).

Our server (msquic_peer, through the MsQuic API) listens on 127.0.0.1; a client (our own
msquic_peer, or aioquic's client from aioquic_peer.py) talks to it through a UDP relay on
127.0.0.1 that plays a NAT. After a number of client datagrams the relay "rebinds": it forwards
the client's traffic from a new socket (a new source port, and with --new-address a new
source address, 127.0.0.2) and drops what the server still sends to the old one, as a NAT
whose old mapping expired would. The echo of several hundred kilobytes must still complete,
and the server must report the move (msquic_peer prints PEER_ADDRESS_CHANGED lines).

    rebinding.py --peer PATH --certs DIR --client ours|aioquic [--new-address]

Exit 0 on success, 1 on failure, 77 when the case cannot run here (aioquic missing).
Everything is on loopback, every wait is bounded, and every process is stopped at the end.
"""

import argparse
import os
import select
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def start(cmd):
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def stop(process):
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(5)


def read_port(process, deadline):
    while time.time() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        if line.startswith("LISTENING"):
            return int(line.split()[1])
    return None


class Relay:
    """A one-client UDP relay that rebinds its upstream socket after `after` client datagrams."""

    def __init__(self, server_port, after, new_address):
        self.server = ("127.0.0.1", server_port)
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", 0))
        self.up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.up.bind(("127.0.0.1", 0))
        self.old = None
        self.after = after
        self.new_address = new_address
        self.client = None
        self.forwarded = 0
        self.rebound = False
        self.dropped_to_old = 0

    @property
    def port(self):
        return self.front.getsockname()[1]

    def rebind(self):
        self.old = self.up
        self.up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.up.bind(("127.0.0.2" if self.new_address else "127.0.0.1", 0))
        self.rebound = True

    def pump(self, timeout):
        sockets = [self.front, self.up] + ([self.old] if self.old else [])
        ready, _, _ = select.select(sockets, [], [], timeout)
        for s in ready:
            data, source = s.recvfrom(65535)
            if s is self.front:
                self.client = source
                if not self.rebound and self.forwarded >= self.after:
                    self.rebind()
                self.up.sendto(data, self.server)
                self.forwarded += 1
            elif s is self.up and self.client:
                self.front.sendto(data, self.client)
            else:
                self.dropped_to_old += 1  # the old mapping is gone


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--peer", required=True)
    parser.add_argument("--certs", required=True)
    parser.add_argument("--client", choices=["ours", "aioquic"], default="ours")
    parser.add_argument("--new-address", action="store_true")
    parser.add_argument("--bytes", type=int, default=600_000)
    parser.add_argument("--after", type=int, default=40)
    args = parser.parse_args()

    if args.client == "aioquic":
        if subprocess.run([sys.executable, "-c", "import aioquic"], capture_output=True).returncode != 0:
            print("SKIP: aioquic is not installed")
            return 77
    if args.new_address:
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            probe.bind(("127.0.0.2", 0))
        except OSError:
            print("SKIP: 127.0.0.2 cannot be bound here")
            return 77
        finally:
            probe.close()

    server = start([args.peer, "server", "--port", "0", "--cert", os.path.join(args.certs, "server.crt"),
                    "--key", os.path.join(args.certs, "server.key")])
    client = None
    try:
        port = read_port(server, time.time() + 20)
        if port is None:
            print("FAIL: the server did not start")
            return 1
        relay = Relay(port, args.after, args.new_address)
        if args.client == "ours":
            cmd = [args.peer, "client", "--port", str(relay.port), "--insecure", "--mode", "echo",
                   "--bytes", str(args.bytes), "--timeout", "30"]
        else:
            cmd = [sys.executable, os.path.join(HERE, "aioquic_peer.py"), "client", "--port", str(relay.port),
                   "--insecure", "--mode", "echo", "--bytes", str(args.bytes)]
        client = start(cmd)
        deadline = time.time() + 40
        while client.poll() is None and time.time() < deadline:
            relay.pump(0.05)
        stop(client)
        out = client.stdout.read()
        stop(server)
        server_out = server.stdout.read()
        print(out.strip())
        moved = [line for line in server_out.splitlines() if "PEER_ADDRESS_CHANGED" in line]
        print(f"relay: {relay.forwarded} client datagrams forwarded, rebound={relay.rebound}, "
              f"{relay.dropped_to_old} server datagrams to the old mapping dropped")
        print("\n".join(moved) or "no PEER_ADDRESS_CHANGED line from the server")
        ok = client.returncode == 0 and "RESULT ok" in out and relay.rebound and moved
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        if client is not None:
            stop(client)
        stop(server)


if __name__ == "__main__":
    sys.exit(main())
