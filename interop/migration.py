#!/usr/bin/env python3
"""migration.py - our client migrates mid-transfer (RFC 9000 §9.2, client active migration).

msquic_peer's client (through the MsQuic API, linked to libswiftquic) echoes a few megabytes
with a server on 127.0.0.1 and, once a third of the echo is back, calls
SetParam(QUIC_PARAM_CONN_LOCAL_ADDRESS) with a new local address (a new port on 127.0.0.1, or
127.0.0.2 with --new-address). The echo must complete, the client must raise
LOCAL_ADDRESS_CHANGED and still be on the new address at the end (the new path validated); our
own server must report PEER_ADDRESS_CHANGED. The server is our msquic_peer or aioquic's
(aioquic_peer.py).

With --blocked the client talks to the server through a UDP relay that plays a firewall: it
forwards only datagrams from the client's first address, so the new path never validates; the
client must return to its old address (a second LOCAL_ADDRESS_CHANGED, RFC 9000 §8.2.4) and the
echo complete from there.

    migration.py --peer PATH --certs DIR --server ours|aioquic [--new-address] [--blocked]

Exit 0 on success, 1 on failure, 77 when the case cannot run here (aioquic missing, 127.0.0.2
not bindable). Everything is on loopback, every wait is bounded, every process is stopped.
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


class Firewall:
    """A UDP relay on 127.0.0.1 that forwards the first client address only (both ways)."""

    def __init__(self, server_port):
        self.down = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.down.bind(("127.0.0.1", 0))
        self.up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.up.connect(("127.0.0.1", server_port))
        self.client = None
        self.blocked = 0

    @property
    def port(self):
        return self.down.getsockname()[1]

    def pump(self, timeout):
        ready, _, _ = select.select([self.down, self.up], [], [], timeout)
        for s in ready:
            if s is self.down:
                data, source = self.down.recvfrom(65535)
                if self.client is None:
                    self.client = source
                if source == self.client:
                    self.up.send(data)
                else:
                    self.blocked += 1
            else:
                data = self.up.recv(65535)
                if self.client is not None:
                    self.down.sendto(data, self.client)

    def close(self):
        self.down.close()
        self.up.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--peer", required=True)
    parser.add_argument("--certs", required=True)
    parser.add_argument("--server", choices=["ours", "aioquic"], default="ours")
    parser.add_argument("--new-address", action="store_true")
    parser.add_argument("--blocked", action="store_true")
    parser.add_argument("--bytes", type=int, default=3_000_000)
    args = parser.parse_args()

    if args.server == "aioquic":
        if subprocess.run([sys.executable, "-c", "import aioquic"], capture_output=True).returncode != 0:
            print("SKIP: aioquic is not installed")
            return 77
    target = "127.0.0.2" if args.new_address else "127.0.0.1"
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.bind((target, 0))
    except OSError:
        print(f"SKIP: {target} cannot be bound here")
        return 77
    finally:
        probe.close()

    cert = os.path.join(args.certs, "server.crt")
    key = os.path.join(args.certs, "server.key")
    if args.server == "ours":
        server_cmd = [args.peer, "server", "--port", "0", "--cert", cert, "--key", key]
    else:
        server_cmd = [sys.executable, os.path.join(HERE, "aioquic_peer.py"), "server", "--port", "0",
                      "--cert", cert, "--key", key]
    server = start(server_cmd)
    client = None
    try:
        port = read_port(server, time.time() + 20)
        if port is None:
            print("FAIL: the server did not start")
            return 1
        firewall = Firewall(port) if args.blocked else None
        cmd = [args.peer, "client", "--port", str(firewall.port if firewall else port), "--insecure", "--mode", "echo",
               "--bytes", str(args.bytes), "--timeout", "40", "--migrate", target]
        if firewall:
            cmd.append("--migrate-blocked")
        client = start(cmd)
        if firewall:
            deadline = time.time() + 60
            while client.poll() is None and time.time() < deadline:
                firewall.pump(0.05)
            stop(client)
            out = client.stdout.read()
            firewall.close()
            print(f"firewall: {firewall.blocked} datagrams from the new path dropped")
        else:
            try:
                out, _ = client.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                stop(client)
                out = client.stdout.read()
        stop(server)
        server_out = server.stdout.read()
        print(out.strip())
        changed = [line for line in out.splitlines() if "LOCAL_ADDRESS_CHANGED" in line]
        migrated = [line for line in out.splitlines() if "migrated from port" in line]
        ok = client.returncode == 0 and "RESULT ok" in out and changed and migrated
        if args.blocked:
            # Through the firewall the server sees one address: the return is the client's.
            ok = ok and len(changed) >= 2 and "returned to port" in out and firewall.blocked > 0
        elif args.server == "ours":
            moved = [line for line in server_out.splitlines() if "PEER_ADDRESS_CHANGED" in line]
            print("\n".join(moved) or "no PEER_ADDRESS_CHANGED line from the server")
            ok = ok and bool(moved)
        else:
            tail = server_out.strip().splitlines()[-5:]
            print("server: " + " | ".join(tail))
        if not ok:
            print("server output (last 40 lines):\n" + "\n".join(server_out.strip().splitlines()[-40:]))
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        if client is not None:
            stop(client)
        stop(server)


if __name__ == "__main__":
    sys.exit(main())
