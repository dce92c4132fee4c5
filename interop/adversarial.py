#!/usr/bin/env python3
"""adversarial.py - the adversarial-peer battery: swiftquic (interop/msquic_peer.c, through the
MsQuic API) against a peer that sends what an attacker sends (issue 10, item 6).

  adversarial.py --peer BUILD/msquic_peer [--certs DIR] [--artifacts DIR] CASE...
  adversarial.py --list                     the case names, one a line (CTest registers these)

The hostile peer is aioquic driven without asyncio (sans-I/O QuicConnection on a plain UDP
socket): its transport parameters are rewritten as they are serialized, and frames of any
content are written into correctly protected packets with aioquic's packet builder and the
connection's own keys. Datagrams that are not QUIC at all (0, 1, 20 bytes, a 1,199-byte
Initial...) go out of a raw socket.

Server cases (`adversarial_server_*`): msquic_peer runs as the server on 127.0.0.1 with port 0.
Each case
  1. serves one honest client (an echo) and reads the server's VmRSS once its connection is
     gone: the baseline;
  2. runs the attack and checks the RFC's answer: the CONNECTION_CLOSE error code the hostile
     peer receives (RFC 9000 §20.1), or that the input is ignored where the RFC says so (the
     same connection then still echoes);
  3. checks the server process still lives, serves the next honest client, and, once every
     connection it reported (NEW_CONNECTION) has reported SHUTDOWN_COMPLETE, that its VmRSS is
     within RSS_SLACK of the baseline (a generous bound: not a timing, not a leak detector).
Client cases (`adversarial_client_*`): msquic_peer runs as the client against a hostile
aioquic server in this process; the client must end with the RFC's error (or succeed where the
hostile value is legal) and must not die of a signal.

Every wait is bounded; nothing is asserted about how fast anything happens.
A case marked xfail (a known failure whose fix is too large for the battery's branch) prints
"XFAIL <reason>" and exits 77 (CTest: skipped, listed by name in ctest's summary); if it
passes it fails with "XPASS" so that the mark gets removed.
Exit codes: 0 passed, 1 failed, 77 skipped (aioquic missing, the library answers
NOT_SUPPORTED, or xfail).
"""

import argparse
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77
MiB = 1024 * 1024
VARINT_MAX = (1 << 62) - 1
# The server's VmRSS after the attack, once its connections are gone, must be within this of
# its baseline (after one honest connection). Generous: allocator caches and lazily created
# worker state grow a little; a leak per frame or per datagram of an attack grows far more.
RSS_SLACK = 24 * MiB
ALPN = "swiftquic-interop"

# RFC 9000 §20.1 transport error codes.
NO_ERROR = 0x0
INTERNAL_ERROR = 0x1
FLOW_CONTROL_ERROR = 0x3
STREAM_LIMIT_ERROR = 0x4
STREAM_STATE_ERROR = 0x5
FINAL_SIZE_ERROR = 0x6
FRAME_ENCODING_ERROR = 0x7
TRANSPORT_PARAMETER_ERROR = 0x8
CONNECTION_ID_LIMIT_ERROR = 0x9
PROTOCOL_VIOLATION = 0xA
CRYPTO_BUFFER_EXCEEDED = 0xD
ERROR_NAMES = {
    0x0: "NO_ERROR", 0x1: "INTERNAL_ERROR", 0x2: "CONNECTION_REFUSED", 0x3: "FLOW_CONTROL_ERROR",
    0x4: "STREAM_LIMIT_ERROR", 0x5: "STREAM_STATE_ERROR", 0x6: "FINAL_SIZE_ERROR",
    0x7: "FRAME_ENCODING_ERROR", 0x8: "TRANSPORT_PARAMETER_ERROR", 0x9: "CONNECTION_ID_LIMIT_ERROR",
    0xA: "PROTOCOL_VIOLATION", 0xB: "INVALID_TOKEN", 0xC: "APPLICATION_ERROR", 0xD: "CRYPTO_BUFFER_EXCEEDED",
    0xE: "KEY_UPDATE_ERROR", 0xF: "AEAD_LIMIT_REACHED", 0x10: "NO_VIABLE_PATH", 0x11: "VERSION_NEGOTIATION_ERROR",
}


def errname(code):
    if code is None:
        return "none"
    return f"0x{code:x} ({ERROR_NAMES.get(code, 'crypto/other' if code >= 0x100 else '?')})"


class CaseFailure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise CaseFailure(message)


def say(line):
    print(line, flush=True)


def varint(v):
    """RFC 9000 §16 variable-length integer."""
    if v < 0x40:
        return bytes([v])
    if v < 0x4000:
        return (v | 0x4000).to_bytes(2, "big")
    if v < 0x40000000:
        return (v | 0x80000000).to_bytes(4, "big")
    assert v <= VARINT_MAX
    return (v | 0xC000000000000000).to_bytes(8, "big")


# ---- aioquic, used as a hostile peer ------------------------------------------------------

try:
    from aioquic import tls
    from aioquic.buffer import Buffer
    from aioquic.quic import connection as aq_connection
    from aioquic.quic import events
    from aioquic.quic.configuration import QuicConfiguration
    from aioquic.quic.connection import QuicConnection, QuicConnectionId
    from aioquic.quic.packet import QuicPacketType, pull_quic_header
    from aioquic.quic.packet_builder import QuicPacketBuilder

    HAVE_AIOQUIC = True
except ImportError:  # the cases report SKIP
    HAVE_AIOQUIC = False
    QuicConnection = object

_tp_lock = threading.Lock()

# aioquic internals the battery drives (written against aioquic 1.7.2). A release that renamed
# them makes every case SKIP with this list rather than fail inside the battery.
AIOQUIC_INTERNALS = ("_cryptos", "_peer_cid", "_packet_number", "_peer_token", "_spin_bit", "_version",
                     "_host_cids", "_host_cid_seq", "_configuration", "_spaces", "_close_event",
                     "_remote_max_data", "_remote_max_stream_data_bidi_remote", "_remote_max_streams_bidi",
                     "_remote_max_streams_uni", "_remote_active_connection_id_limit",
                     "_remote_max_datagram_frame_size")
AIOQUIC_METHODS = ("_serialize_transport_parameters", "_handle_connection_close_frame",
                   "_handle_path_response_frame", "_handle_new_connection_id_frame",
                   "_handle_retire_connection_id_frame")


def aioquic_incompatibility():
    """None when this aioquic has what the battery uses, else what is missing."""
    if not HAVE_AIOQUIC:
        return "aioquic cannot be imported (pip install aioquic)"
    import aioquic

    conn = QuicConnection(configuration=QuicConfiguration(is_client=True, alpn_protocols=[ALPN]))
    conn.connect(("127.0.0.1", 9), now=time.monotonic())
    missing = [a for a in AIOQUIC_INTERNALS if not hasattr(conn, a)]
    missing += [m for m in AIOQUIC_METHODS if not callable(getattr(QuicConnection, m, None))]
    if not hasattr(aq_connection, "push_quic_transport_parameters"):
        missing.append("connection.push_quic_transport_parameters")
    if missing:
        return f"aioquic {aioquic.__version__} lacks internals the battery drives (written for 1.7.2): {missing}"
    return None


class HostileConnection(QuicConnection):
    """aioquic's connection, with
    - `tp_override`: transport parameters rewritten as they are serialized (RFC 9000 §18.2
      values of any size; a value of None removes the parameter; "_raw": extra (id, bytes)
      parameters, "_tail": raw bytes at the end of the extension);
    - `peer_close`: the CONNECTION_CLOSE the peer sent (error code, frame type, reason);
    - `counts`: frames of interest received (PATH_RESPONSE, NEW_CONNECTION_ID, RETIRE_...)."""

    def __init__(self, *a, tp_override=None, **kw):
        self.tp_override = dict(tp_override or {})
        self.peer_close = None
        self.counts = {"path_response": 0, "new_connection_id": 0, "retire_connection_id": 0}
        self.path_response_datagrams = []  # the size of each datagram that carried a PATH_RESPONSE
        self.datagram_size = 0
        super().__init__(*a, **kw)

    def _serialize_transport_parameters(self):
        if not self.tp_override:
            return super()._serialize_transport_parameters()
        original = aq_connection.push_quic_transport_parameters
        overrides = self.tp_override

        def push(buf, params):
            for name, value in overrides.items():
                if not name.startswith("_"):
                    setattr(params, name, value)
            original(buf, params)
            # "_raw": more (id, value bytes) parameters; "_tail": bytes appended as they are.
            for pid, value in overrides.get("_raw", ()):
                buf.push_uint_var(pid)
                buf.push_uint_var(len(value))
                buf.push_bytes(value)
            buf.push_bytes(overrides.get("_tail", b""))

        with _tp_lock:
            aq_connection.push_quic_transport_parameters = push
            try:
                return super()._serialize_transport_parameters()
            finally:
                aq_connection.push_quic_transport_parameters = original

    def _handle_connection_close_frame(self, context, frame_type, buf):
        start = buf.tell()
        code = buf.pull_uint_var()
        ftype = buf.pull_uint_var() if frame_type == 0x1C else None
        reason_length = buf.pull_uint_var()
        reason = buf.pull_bytes(min(reason_length, 1024)).decode("utf8", "replace")
        if self.peer_close is None:
            self.peer_close = (code, ftype, reason, frame_type)
        buf.seek(start)
        return super()._handle_connection_close_frame(context, frame_type, buf)

    def receive_datagram(self, data, addr, now):
        self.datagram_size = len(data)
        return super().receive_datagram(data, addr, now)

    def _handle_path_response_frame(self, context, frame_type, buf):
        self.counts["path_response"] += 1
        self.path_response_datagrams.append(self.datagram_size)
        return super()._handle_path_response_frame(context, frame_type, buf)

    def _handle_new_connection_id_frame(self, context, frame_type, buf):
        self.counts["new_connection_id"] += 1
        return super()._handle_new_connection_id_frame(context, frame_type, buf)

    def _handle_retire_connection_id_frame(self, context, frame_type, buf):
        self.counts["retire_connection_id"] += 1
        return super()._handle_retire_connection_id_frame(context, frame_type, buf)


def packet_type_for(epoch):
    return {tls.Epoch.INITIAL: QuicPacketType.INITIAL, tls.Epoch.HANDSHAKE: QuicPacketType.HANDSHAKE,
            tls.Epoch.ZERO_RTT: QuicPacketType.ZERO_RTT, tls.Epoch.ONE_RTT: QuicPacketType.ONE_RTT}[epoch]


class Endpoint:
    """One sans-I/O aioquic connection on one UDP socket, pumped by hand."""

    # Ends every pump early (set while a server case runs: the server process died).
    abort = staticmethod(lambda: False)

    def __init__(self, conn, sock, peer_addr):
        self.conn = conn
        self.sock = sock
        self.peer_addr = peer_addr
        self.events = []
        self.stream_data = {}
        self.stream_fin = set()
        self.handshake_done = False
        self.terminated = None
        self.bytes_sent = 0
        self.bytes_received = 0
        self.datagrams_received = 0

    # -- I/O
    def flush(self):
        for data, addr in self.conn.datagrams_to_send(now=time.monotonic()):
            self.send_raw(data, addr)

    def send_raw(self, data, addr=None):
        try:
            self.sock.sendto(data, addr or self.peer_addr)
            self.bytes_sent += len(data)
        except OSError:
            pass  # ENOBUFS under a flood: the datagram is lost, as it could be on a network

    def _receive(self, wait):
        readable, _, _ = select.select([self.sock], [], [], max(0.0, wait))
        while readable:
            try:
                data, addr = self.sock.recvfrom(65536)
            except BlockingIOError:
                break
            self.bytes_received += len(data)
            self.datagrams_received += 1
            if self.peer_addr is None:
                self.peer_addr = addr
            self.conn.receive_datagram(data, addr, now=time.monotonic())
            readable, _, _ = select.select([self.sock], [], [], 0)

    def _events(self):
        while True:
            ev = self.conn.next_event()
            if ev is None:
                return
            self.events.append(ev)
            if isinstance(ev, events.HandshakeCompleted):
                self.handshake_done = True
            elif isinstance(ev, events.StreamDataReceived):
                self.stream_data.setdefault(ev.stream_id, bytearray()).extend(ev.data)
                if ev.end_stream:
                    self.stream_fin.add(ev.stream_id)
                self.on_stream_data(ev)
            elif isinstance(ev, events.ConnectionTerminated):
                self.terminated = ev

    def on_stream_data(self, ev):
        pass

    def pump(self, until=lambda: False, timeout=5.0):
        """Runs the connection until `until()` holds (True) or `timeout` s pass (False)."""
        deadline = time.monotonic() + timeout
        while True:
            self.flush()
            self._events()
            if until():
                return True
            if Endpoint.abort():
                return False
            now = time.monotonic()
            if now >= deadline:
                return False
            wait = deadline - now
            timer = self.conn.get_timer()
            if timer is not None:
                wait = min(wait, timer - now)
            self._receive(min(wait, 0.2))
            timer = self.conn.get_timer()
            if timer is not None and timer <= time.monotonic():
                self.conn.handle_timer(now=time.monotonic())

    @property
    def closed_by_peer(self):
        return self.conn.peer_close

    @property
    def alive(self):
        return self.terminated is None and self.conn.peer_close is None and self.conn._close_event is None

    # -- hostile packets
    def inject(self, frames, epoch=None, max_datagram_size=1200, sock=None, dcid=None):
        """Sends frames [(type, body bytes)] in correctly protected packets of the connection's
        current keys (1-RTT once the handshake completed). aioquic's loss recovery does not
        know these packets; their numbers come from its sequence, so it stays consistent.
        A datagram with a PATH_CHALLENGE is padded to 1,200 bytes inside the packet (aioquic's
        builder). Returns the bytes sent."""
        conn = self.conn
        if epoch is None:
            epoch = tls.Epoch.ONE_RTT
        crypto = conn._cryptos[epoch]
        builder = QuicPacketBuilder(host_cid=conn.host_cid, peer_cid=dcid or conn._peer_cid.cid, version=conn._version,
                                    is_client=conn._is_client, max_datagram_size=max_datagram_size,
                                    packet_number=conn._packet_number, peer_token=conn._peer_token,
                                    spin_bit=conn._spin_bit)
        builder.start_packet(packet_type_for(epoch), crypto)
        for ftype, body in frames:
            needed = len(varint(ftype)) + len(body)
            if builder.remaining_buffer_space < needed:
                builder.start_packet(packet_type_for(epoch), crypto)
                check(builder.remaining_buffer_space >= needed, f"frame of {needed} bytes does not fit a packet")
            buf = builder.start_frame(ftype, capacity=needed - len(varint(ftype)))
            buf.push_bytes(body)
        datagrams, packets = builder.flush()
        conn._packet_number = builder.packet_number
        for d in datagrams:
            if sock is None:
                self.send_raw(d)
            else:  # from another address: a new path (RFC 9000 §9)
                sock.sendto(d, self.peer_addr)
        return sum(len(d) for d in datagrams)

    # -- honest use
    def echo(self, size=1024, timeout=10.0):
        """Sends `size` bytes + FIN on a new bidirectional stream and waits for the echo."""
        sid = self.conn.get_next_available_stream_id()
        payload = bytes((k * 7 + sid) & 0xFF for k in range(size))
        self.conn.send_stream_data(sid, payload, end_stream=True)
        ok = self.pump(lambda: sid in self.stream_fin or not self.alive, timeout)
        got = bytes(self.stream_data.get(sid, b""))
        return ok and got == payload, f"stream {sid}: {len(got)}/{size} bytes echoed, fin={sid in self.stream_fin}"

    def close(self):
        if self.alive:
            self.conn.close(error_code=NO_ERROR, reason_phrase="battery done")
            self.flush()
        self.sock.close()

    def wait_close(self, timeout=5.0):
        """Waits for the peer's CONNECTION_CLOSE; returns (code, frame type, reason) or None."""
        self.pump(lambda: self.conn.peer_close is not None or self.terminated is not None, timeout)
        return self.conn.peer_close


def client_configuration(certs, idle_timeout=10.0):
    config = QuicConfiguration(is_client=True, alpn_protocols=[ALPN], idle_timeout=idle_timeout,
                               max_datagram_frame_size=65536, server_name="localhost")
    config.load_verify_locations(os.path.join(certs, "ca.crt"))
    return config


def new_client(port, certs, tp_override=None, connect=True, timeout=10.0):
    """A client Endpoint towards 127.0.0.1:port; with connect, the handshake is run (bounded)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    conn = HostileConnection(configuration=client_configuration(certs), tp_override=tp_override)
    ep = Endpoint(conn, sock, ("127.0.0.1", port))
    conn.connect(ep.peer_addr, now=time.monotonic())
    if connect:
        ep.pump(lambda: ep.handshake_done or not ep.alive, timeout)
    return ep


def honest_client(port, certs, size=4096, timeout=15.0):
    """An ordinary client: handshake, an echo, a graceful close. Returns (ok, detail)."""
    ep = new_client(port, certs, timeout=timeout)
    try:
        if not ep.handshake_done:
            return False, f"no handshake (peer close {ep.closed_by_peer}, terminated {ep.terminated})"
        ok, detail = ep.echo(size, timeout)
        return ok, detail
    finally:
        ep.close()


# ---- the server under test ----------------------------------------------------------------

class Server:
    def __init__(self, peer, certs, artifacts, extra_args=()):
        self.log_path = os.path.join(artifacts, "server.log")
        self.log_file = open(self.log_path, "w")
        # InitialRttMs 50 (loopback): a connection closed before any RTT sample (e.g. a
        # TRANSPORT_PARAMETER_ERROR on the first Initial) ends its closing period of 3 PTOs
        # (RFC 9000 §10.2) in about half a second instead of 3 s with the default 333 ms.
        cmd = [peer, "server", "--port", "0", "--cert", os.path.join(certs, "server.crt"),
               "--key", os.path.join(certs, "server.key"), "--initial-rtt-ms", "50"] + list(extra_args)
        say("server: " + " ".join(cmd))
        self.proc = subprocess.Popen(cmd, stdout=self.log_file, stderr=subprocess.STDOUT, start_new_session=True,
                                     cwd=artifacts)
        self.port = 0
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.proc.poll() is None:
            m = re.search(r"^LISTENING (\d+)", self.log(), re.M)
            if m:
                self.port = int(m.group(1))
                break
            time.sleep(0.05)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def rss(self):
        """VmRSS of the server process in bytes (None when it is gone)."""
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            return None
        return None

    def connections(self):
        out = self.log()
        return out.count("EVENT server new connection"), out.count("EVENT server shutdown complete")

    def wait_connections_gone(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.alive():
            opened, done = self.connections()
            if opened == done:
                return True
            time.sleep(0.1)
        return False

    def describe_death(self):
        rc = self.proc.returncode
        if rc is None:
            return "alive"
        if rc < 0:
            return f"killed by signal {-rc} ({signal.Signals(-rc).name})"
        return f"exited with {rc}" + (" (128+SIGILL: a Swift runtime trap)" if rc == 132 else "")

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
            except ProcessLookupError:
                pass
        self.log_file.close()


# ---- the cases ----------------------------------------------------------------------------

CASES = {}
XFAILED = set()


def case(name, role="server", xfail=None, xfail_match=None, note="", server_args=()):
    """Registers a case. role "server": fn(ctx) with ctx.server, ctx.port, ctx.certs.
    role "client": fn(ctx) with ctx.peer, ctx.certs (runs the hostile server itself).
    xfail: the reason of a known failure; only a failure whose message matches the regular
    expression xfail_match counts as the expected one (any other failure still fails)."""
    def register(fn):
        CASES[f"adversarial_{role}_{name}"] = dict(fn=fn, role=role, xfail=xfail, xfail_match=xfail_match,
                                                   note=note or (fn.__doc__ or "").strip(),
                                                   server_args=list(server_args))
        return fn
    return register


class Ctx:
    pass


def expect_close(ep, codes, what, timeout=5.0):
    """The peer must close the connection with one of `codes` (RFC 9000 §20.1)."""
    codes = codes if isinstance(codes, (tuple, list, set)) else (codes,)
    got = ep.wait_close(timeout)
    if got is None:
        raise CaseFailure(f"{what}: no CONNECTION_CLOSE within {timeout} s (expected "
                          f"{' or '.join(errname(c) for c in codes)}); connection alive={ep.alive}")
    code, ftype, reason, _ = got
    check(code in codes, f"{what}: CONNECTION_CLOSE {errname(code)} frame_type={ftype} reason={reason!r}; "
                         f"expected {' or '.join(errname(c) for c in codes)}")
    say(f"  ok: {what}: CONNECTION_CLOSE {errname(code)} frame_type={ftype} reason={reason!r}")


def expect_alive_and_echo(ep, what, size=2048):
    """The input was ignored (as the RFC allows or requires): the same connection still echoes."""
    ok, detail = ep.echo(size)
    if ep.closed_by_peer is not None:
        raise CaseFailure(f"{what}: the server closed the connection: {errname(ep.closed_by_peer[0])} "
                          f"{ep.closed_by_peer[2]!r}")
    check(ok, f"{what}: the connection no longer echoes ({detail})")
    say(f"  ok: {what}: ignored, the connection still echoes ({detail})")


def connected(ctx, tp_override=None):
    ep = new_client(ctx.port, ctx.certs, tp_override=tp_override)
    ctx.endpoints.append(ep)
    check(ep.handshake_done, f"the handshake did not complete (peer close {ep.closed_by_peer})")
    return ep


# -- transport parameters of the client (RFC 9000 §18.2, §7.4) ------------------------------

def describe(override):
    """A transport-parameter override for the output (long byte strings shortened)."""
    def short(v):
        if isinstance(v, (bytes, bytearray)) and len(v) > 16:
            return f"<{len(v)} bytes>"
        if isinstance(v, list):
            return [tuple(short(x) for x in item) if isinstance(item, tuple) else short(item) for item in v]
        return v
    return "{" + ", ".join(f"{k}: {short(v)!r}" for k, v in override.items()) + "}"


def tp_legal(name, override, echo=True, note=""):
    """A legal extreme value: the handshake completes, the server does not trap, the
    connection echoes (or, when the value forbids it, stays up)."""
    def run(ctx):
        ep = connected(ctx, override)
        if echo:
            expect_alive_and_echo(ep, f"transport parameters {describe(override)}")
        else:
            ep.pump(timeout=0.5)
            check(ep.closed_by_peer is None, f"the server closed: {ep.closed_by_peer}")
            say(f"  ok: transport parameters {describe(override)}: handshake completed, connection up")
    run.__doc__ = note or f"client transport parameters {describe(override)}: legal, the connection works"
    case(name)(run)


def _resolve(override):
    """Values that need aioquic's classes, built when the case runs (the list works without it)."""
    out = dict(override)
    if out.get("preferred_address") == "PREFERRED":
        from aioquic.quic.packet import QuicPreferredAddress
        out["preferred_address"] = QuicPreferredAddress(ipv4_address=("127.0.0.1", 4433), ipv6_address=None,
                                                        connection_id=b"\x01" * 8, stateless_reset_token=b"\x02" * 16)
    if out.get("preferred_address") == "PREFERRED_ZERO_CID":
        from aioquic.quic.packet import QuicPreferredAddress
        out["preferred_address"] = QuicPreferredAddress(ipv4_address=("127.0.0.1", 4433), ipv6_address=None,
                                                        connection_id=b"", stateless_reset_token=b"\x02" * 16)
    if out.get("version_information") == "CHOSEN_V2":
        from aioquic.quic.packet import QuicVersionInformation
        out["version_information"] = QuicVersionInformation(chosen_version=0x6B3343CF,
                                                            available_versions=[0x00000001, 0x6B3343CF])
    return out


def tp_illegal(name, override, note="", code=TRANSPORT_PARAMETER_ERROR):
    def run(ctx):
        override_now = _resolve(override)
        ep = new_client(ctx.port, ctx.certs, tp_override=override_now, connect=False)
        ctx.endpoints.append(ep)
        expect_close(ep, code, f"transport parameters {describe(override)}")
        check(not ep.handshake_done or ep.closed_by_peer is not None, "the handshake completed")
    run.__doc__ = note or f"client transport parameters {describe(override)}: {errname(code)} (RFC 9000 §7.4, §18.2)"
    case(name)(run)


# RFC 9000 §18.2: max_idle_timeout is a varint in ms; any value is legal (the effective timeout
# is the minimum of both sides').
tp_legal("tp_max_idle_timeout_2p61", {"max_idle_timeout": 1 << 61},
         note="max_idle_timeout = 2^61 ms (the crash of issue 10: overflow in restartIdleTimer)")
tp_legal("tp_max_idle_timeout_max", {"max_idle_timeout": VARINT_MAX})
tp_legal("tp_max_idle_timeout_0", {"max_idle_timeout": 0}, note="max_idle_timeout 0 = no idle timeout from the peer")
tp_legal("tp_flow_control_max", {"initial_max_data": VARINT_MAX, "initial_max_stream_data_bidi_local": VARINT_MAX,
                                  "initial_max_stream_data_bidi_remote": VARINT_MAX,
                                  "initial_max_stream_data_uni": VARINT_MAX})
tp_legal("tp_initial_max_streams_0", {"initial_max_streams_bidi": 0, "initial_max_streams_uni": 0})
# RFC 9000 §4.6: max_streams up to 2^60 is legal.
tp_legal("tp_initial_max_streams_2p60", {"initial_max_streams_bidi": 1 << 60, "initial_max_streams_uni": 1 << 60})
tp_legal("tp_max_udp_payload_size_1200", {"max_udp_payload_size": 1200})
tp_legal("tp_max_udp_payload_size_max", {"max_udp_payload_size": VARINT_MAX},
         note="max_udp_payload_size 2^62-1: above 65527 means no limit (RFC 9000 §18.2)")
tp_legal("tp_ack_delay_exponent_20", {"ack_delay_exponent": 20})
tp_legal("tp_max_ack_delay_16383", {"max_ack_delay": (1 << 14) - 1})
tp_legal("tp_max_datagram_frame_size_max", {"max_datagram_frame_size": VARINT_MAX})
tp_legal("tp_max_datagram_frame_size_0", {"max_datagram_frame_size": 0})


tp_legal("tp_ack_delay_exponent_0", {"ack_delay_exponent": 0})
tp_legal("tp_max_ack_delay_0", {"max_ack_delay": 0})
tp_legal("tp_unknown_parameter_huge_id", {"_raw": [(VARINT_MAX, os.urandom(1000)), (0x1B + 31 * 7, b"")]},
         note="unknown parameters (id 2^62-1 with 1,000 bytes, a reserved id) are ignored (RFC 9000 §18.1)")
tp_illegal("tp_duplicate_parameter", {"_raw": [(0x01, varint(30000))]},
           note="max_idle_timeout twice: TRANSPORT_PARAMETER_ERROR (RFC 9000 §7.4)")
tp_illegal("tp_integer_with_trailing_byte", {"_raw": [(0x03, varint(1500) + b"\x00")]},
           note="max_udp_payload_size whose value has a byte after the varint: TRANSPORT_PARAMETER_ERROR "
                "(RFC 9000 §18: the length must match the value)")
tp_illegal("tp_truncated_parameter", {"_tail": varint(0x03) + varint(50) + b"12345"},
           note="a parameter whose length runs past the extension: TRANSPORT_PARAMETER_ERROR (RFC 9000 §7.4)")
tp_illegal("tp_initial_source_cid_mismatch", {"initial_source_connection_id": b"\x11" * 8},
           note="initial_source_connection_id that is not the client's SCID: TRANSPORT_PARAMETER_ERROR "
                "(RFC 9000 §7.3)")
tp_illegal("tp_initial_source_cid_missing", {"initial_source_connection_id": None},
           note="no initial_source_connection_id: TRANSPORT_PARAMETER_ERROR (RFC 9000 §7.3)")
tp_illegal("tp_client_sends_retry_source_cid", {"retry_source_connection_id": b"\x01" * 8})
tp_illegal("tp_client_sends_preferred_address", {"preferred_address": "PREFERRED"})
# draft-ietf-quic-ack-frequency §3: min_ack_delay (µs) of 2^24 or more, or above max_ack_delay, is
# TRANSPORT_PARAMETER_ERROR.
tp_illegal("tp_min_ack_delay_2p24", {"_raw": [(0xFF04DE1B, varint(1 << 24))]})
tp_illegal("tp_min_ack_delay_above_max_ack_delay", {"max_ack_delay": 25, "_raw": [(0xFF04DE1B, varint(26000))]})
# RFC 9368 §4: a Chosen Version that is not the version of the connection.
tp_illegal("tp_version_information_mismatch", {"version_information": "CHOSEN_V2"}, code=0x11,
           note="version_information whose Chosen Version (v2) is not the connection's (v1): "
                "VERSION_NEGOTIATION_ERROR 0x11 (RFC 9368 §4)")


@case("tp_active_connection_id_limit_max")
def _(ctx):
    """active_connection_id_limit = 2^62-1: legal; the server issues a bounded number of CIDs"""
    ep = connected(ctx, {"active_connection_id_limit": VARINT_MAX})
    expect_alive_and_echo(ep, "active_connection_id_limit 2^62-1")
    ep.pump(timeout=0.5)
    n = ep.conn.counts["new_connection_id"]
    check(n <= 64, f"the server sent {n} NEW_CONNECTION_ID frames")
    say(f"  ok: the server issued {n} connection IDs")


@case("tp_flow_control_0")
def _(ctx):
    """initial_max_data and initial_max_stream_data_* = 0: the server must not send stream data"""
    override = {"initial_max_data": 0, "initial_max_stream_data_bidi_local": 0,
                "initial_max_stream_data_bidi_remote": 0, "initial_max_stream_data_uni": 0}
    ep = connected(ctx, override)
    sid = ep.conn.get_next_available_stream_id()
    ep.conn.send_stream_data(sid, b"x" * 1000, end_stream=True)
    ep.pump(timeout=1.0)
    got = len(ep.stream_data.get(sid, b""))
    check(ep.closed_by_peer is None, f"the server closed: {ep.closed_by_peer}")
    # RFC 9000 §4.1: a sender MUST NOT send data in excess of either limit.
    check(got == 0, f"the server sent {got} bytes of stream data beyond a flow-control limit of 0")
    say("  ok: no stream data sent beyond the peer's limit of 0; the connection stays up")


# RFC 9000 §18.2: "Values below 1200 are invalid" (max_udp_payload_size), "Values above 20 are
# invalid" (ack_delay_exponent), "Values of 2^14 or greater are invalid" (max_ack_delay),
# "The value of the active_connection_id_limit parameter MUST be at least 2"; §4.6: max_streams
# above 2^60 is TRANSPORT_PARAMETER_ERROR. §7.4: an invalid value is TRANSPORT_PARAMETER_ERROR.
tp_illegal("tp_max_udp_payload_size_0", {"max_udp_payload_size": 0})
tp_illegal("tp_max_udp_payload_size_1199", {"max_udp_payload_size": 1199})
tp_illegal("tp_ack_delay_exponent_21", {"ack_delay_exponent": 21})
tp_illegal("tp_ack_delay_exponent_max", {"ack_delay_exponent": VARINT_MAX})
tp_illegal("tp_max_ack_delay_2p14", {"max_ack_delay": 1 << 14})
tp_illegal("tp_max_ack_delay_max", {"max_ack_delay": VARINT_MAX})
tp_illegal("tp_active_connection_id_limit_0", {"active_connection_id_limit": 0})
tp_illegal("tp_active_connection_id_limit_1", {"active_connection_id_limit": 1})
tp_illegal("tp_initial_max_streams_bidi_2p60_plus_1", {"initial_max_streams_bidi": (1 << 60) + 1})
tp_illegal("tp_initial_max_streams_uni_max", {"initial_max_streams_uni": VARINT_MAX})
# RFC 9000 §18.2: a client MUST NOT send original_destination_connection_id, preferred_address,
# retry_source_connection_id or stateless_reset_token; a server MUST treat receipt of any of
# them as TRANSPORT_PARAMETER_ERROR.
tp_illegal("tp_client_sends_stateless_reset_token", {"stateless_reset_token": bytes(range(16))})
tp_illegal("tp_client_sends_original_destination_cid", {"original_destination_connection_id": b"\x01" * 8})


# -- ACK frames (RFC 9000 §19.3, §13.1) -----------------------------------------------------

def ack_frame(largest, delay, first_range, ranges=(), range_count=None):
    body = varint(largest) + varint(delay) + varint(len(ranges) if range_count is None else range_count)
    body += varint(first_range)
    for gap, length in ranges:
        body += varint(gap) + varint(length)
    return (0x02, body)


def frame_case(name, frames, codes, note, setup=None):
    def run(ctx):
        ep = connected(ctx)
        ep.echo(256)  # the server has sent 1-RTT packets; a stream exists
        fr = frames(ep) if callable(frames) else frames
        ep.inject(fr)
        if codes is not None and not isinstance(codes, (tuple, list)):
            expect_close(ep, codes, name)
        elif codes is None:
            expect_alive_and_echo(ep, name)
        elif None in codes:
            # Either outcome is legal: a close with one of the codes, or the input ignored.
            if ep.wait_close(1.0) is None:
                expect_alive_and_echo(ep, name)
            else:
                expect_close(ep, [c for c in codes if c is not None], name)
        else:
            expect_close(ep, codes, name)
    run.__doc__ = note
    case(name)(run)


# §13.1: "An endpoint SHOULD treat receipt of an acknowledgment for a packet it did not send
# as a connection error of type PROTOCOL_VIOLATION, if it is able to detect the condition."
frame_case("ack_unsent_packet", [ack_frame(1 << 30, 0, 0)], PROTOCOL_VIOLATION,
           "ACK of packet 2^30, never sent: PROTOCOL_VIOLATION (RFC 9000 §13.1)")
frame_case("ack_largest_max", [ack_frame(VARINT_MAX, 0, 0)], PROTOCOL_VIOLATION,
           "ACK of packet 2^62-1: PROTOCOL_VIOLATION (RFC 9000 §13.1)")
# §19.3.1: "If any computed packet number is negative, an endpoint MUST generate a connection
# error of type FRAME_ENCODING_ERROR."
frame_case("ack_first_range_negative", [ack_frame(3, 0, 10)], FRAME_ENCODING_ERROR,
           "ACK Largest 3, First ACK Range 10 (smallest -7): FRAME_ENCODING_ERROR (RFC 9000 §19.3.1)")
frame_case("ack_gap_negative", [ack_frame(2, 0, 0, ranges=[(5, 0)])], FRAME_ENCODING_ERROR,
           "ACK Largest 2, Gap 5: negative packet number, FRAME_ENCODING_ERROR (RFC 9000 §19.3.1)")
frame_case("ack_range_length_huge", [ack_frame(2, 0, 0, ranges=[(0, VARINT_MAX)])], FRAME_ENCODING_ERROR,
           "ACK range length 2^62-1: negative packet number, FRAME_ENCODING_ERROR (RFC 9000 §19.3.1)")
# A range count no frame could hold: the frame ends early (§12.4: a frame that does not parse).
frame_case("ack_range_count_huge", [ack_frame(2, 0, 0, range_count=VARINT_MAX)], FRAME_ENCODING_ERROR,
           "ACK Range Count 2^62-1 with no ranges: truncated frame, FRAME_ENCODING_ERROR (RFC 9000 §12.4)")


@case("ack_delay_max")
def _(ctx):
    """ACK of a real packet with ACK Delay 2^62-1 (and exponent 20 announced): legal, the
    delay is only an RTT input (RFC 9002 §5.3 caps it by max_ack_delay); no trap, no close"""
    ep = connected(ctx, {"ack_delay_exponent": 20})
    ep.echo(256)
    largest = ep.conn._spaces[tls.Epoch.ONE_RTT].largest_received_packet
    check(largest >= 0, "no 1-RTT packet received from the server")
    ep.inject([ack_frame(largest, VARINT_MAX, 0)])
    expect_alive_and_echo(ep, "ACK Delay 2^62-1")


# -- stream data and flow control (RFC 9000 §4, §19.8) --------------------------------------

def stream_frame(sid, offset, data, fin=False):
    ftype = 0x08 | 0x04 | 0x02 | (0x01 if fin else 0)  # OFF and LEN bits
    return (ftype, varint(sid) + varint(offset) + varint(len(data)) + data)


frame_case("stream_beyond_stream_flow_control",
           lambda ep: [stream_frame(ep.conn.get_next_available_stream_id(),
                                    ep.conn._remote_max_stream_data_bidi_remote, b"x" * 10)],
           FLOW_CONTROL_ERROR,
           "STREAM data at the server's initial_max_stream_data_bidi_remote: FLOW_CONTROL_ERROR (RFC 9000 §4.1)")


@case("stream_beyond_connection_flow_control", server_args=["--conn-flow-control-window", "65536"])
def _(ctx):
    """STREAM frames each within its stream's limit whose sum exceeds initial_max_data (the
    server's ConnFlowControlWindow set to 64 KB): FLOW_CONTROL_ERROR (RFC 9000 §4.1)"""
    ep = connected(ctx)
    max_data = ep.conn._remote_max_data
    per_stream = ep.conn._remote_max_stream_data_bidi_remote
    max_streams = ep.conn._remote_max_streams_bidi
    check(per_stream > 0, "the server allows no stream data")
    needed = max_data // per_stream + 1
    if needed > max_streams:
        raise CaseFailure(f"cannot exceed max_data={max_data} with {max_streams} streams of {per_stream}")
    frames = []
    for k in range(needed):
        sid = 4 * k
        frames.append(stream_frame(sid, per_stream - 1, b"x"))
    ep.inject(frames)
    expect_close(ep, FLOW_CONTROL_ERROR, f"{needed} streams with data at offset {per_stream - 1}")


# §19.8: "Receipt of a frame that exceeds this limit [2^62-1] MUST be treated as a connection
# error of type FRAME_ENCODING_ERROR or FLOW_CONTROL_ERROR."
frame_case("stream_offset_beyond_2p62",
           lambda ep: [stream_frame(ep.conn.get_next_available_stream_id(), VARINT_MAX, b"xy")],
           (FRAME_ENCODING_ERROR, FLOW_CONTROL_ERROR),
           "STREAM offset 2^62-1 + 2 bytes: FRAME_ENCODING_ERROR or FLOW_CONTROL_ERROR (RFC 9000 §19.8)")
frame_case("stream_offset_max_fin",
           lambda ep: [stream_frame(ep.conn.get_next_available_stream_id(), VARINT_MAX, b"", fin=True)],
           FLOW_CONTROL_ERROR,
           "STREAM FIN with final size 2^62-1, beyond the stream's limit: FLOW_CONTROL_ERROR (RFC 9000 §4.5)")
frame_case("reset_stream_final_size_max",
           lambda ep: [(0x04, varint(ep.conn.get_next_available_stream_id()) + varint(0) + varint(VARINT_MAX))],
           FLOW_CONTROL_ERROR,
           "RESET_STREAM final size 2^62-1 beyond the limit: FLOW_CONTROL_ERROR (RFC 9000 §4.5, §19.4)")
frame_case("crypto_offset_beyond_2p62", [(0x06, varint(VARINT_MAX) + varint(2) + b"xy")],
           (FRAME_ENCODING_ERROR, CRYPTO_BUFFER_EXCEEDED),
           "1-RTT CRYPTO offset 2^62-1 + 2 bytes: FRAME_ENCODING_ERROR or CRYPTO_BUFFER_EXCEEDED (RFC 9000 §19.6)")
# §4.6: a stream ID beyond the limit is STREAM_LIMIT_ERROR.
frame_case("stream_id_beyond_limit",
           lambda ep: [stream_frame(4 * ep.conn._remote_max_streams_bidi, 0, b"x")], STREAM_LIMIT_ERROR,
           "STREAM on the first bidirectional stream beyond initial_max_streams_bidi: STREAM_LIMIT_ERROR (RFC 9000 §4.6)")
frame_case("stream_id_max", [stream_frame(VARINT_MAX - 3, 0, b"x")], STREAM_LIMIT_ERROR,
           "STREAM on stream 2^62-4: STREAM_LIMIT_ERROR (RFC 9000 §4.6)")
# §19.8: a STREAM frame for a locally initiated stream not yet created is STREAM_STATE_ERROR.
frame_case("stream_server_stream_not_opened", [stream_frame(1, 0, b"x")], STREAM_STATE_ERROR,
           "STREAM on server-initiated bidirectional stream 1, never opened: STREAM_STATE_ERROR (RFC 9000 §19.8)")
# §19.11: MAX_STREAMS above 2^60: FRAME_ENCODING_ERROR. §19.14: the same for STREAMS_BLOCKED.
frame_case("max_streams_bidi_above_2p60", [(0x12, varint((1 << 60) + 1))], FRAME_ENCODING_ERROR,
           "MAX_STREAMS (bidi) 2^60+1: FRAME_ENCODING_ERROR (RFC 9000 §19.11)")
frame_case("max_streams_uni_max", [(0x13, varint(VARINT_MAX))], FRAME_ENCODING_ERROR,
           "MAX_STREAMS (uni) 2^62-1: FRAME_ENCODING_ERROR (RFC 9000 §19.11)")
frame_case("max_streams_2p60", [(0x12, varint(1 << 60)), (0x13, varint(1 << 60))], None,
           "MAX_STREAMS 2^60 (the largest legal value): accepted, the connection works")
frame_case("streams_blocked_above_2p60", [(0x16, varint((1 << 60) + 1))], FRAME_ENCODING_ERROR,
           "STREAMS_BLOCKED (bidi) 2^60+1: FRAME_ENCODING_ERROR (RFC 9000 §19.14)")
frame_case("max_data_max", [(0x10, varint(VARINT_MAX))], None,
           "MAX_DATA 2^62-1: accepted (no overflow adding credit), the connection works")
frame_case("max_stream_data_max", [(0x11, varint(0) + varint(VARINT_MAX))], None,
           "MAX_STREAM_DATA 2^62-1 on an open stream: accepted, the connection works")
# §19.20: "A server MUST treat receipt of a HANDSHAKE_DONE frame as a connection error of type
# PROTOCOL_VIOLATION." §19.7: the same for NEW_TOKEN.
frame_case("handshake_done_from_client", [(0x1E, b"")], PROTOCOL_VIOLATION,
           "HANDSHAKE_DONE from a client: PROTOCOL_VIOLATION (RFC 9000 §19.20)")
frame_case("new_token_from_client", [(0x07, varint(4) + b"abcd")], PROTOCOL_VIOLATION,
           "NEW_TOKEN from a client: PROTOCOL_VIOLATION (RFC 9000 §19.7)")
# §12.4: "An endpoint MUST treat the receipt of a frame of unknown type as a connection error
# of type FRAME_ENCODING_ERROR."
frame_case("unknown_frame_type", [(0x3F1234, b"")], FRAME_ENCODING_ERROR,
           "frame type 0x3f1234 (unknown): FRAME_ENCODING_ERROR (RFC 9000 §12.4)")
# ACK frequency is negotiated: our server advertises min_ack_delay as MsQuic does
# (draft-ietf-quic-ack-frequency §3), so a client may send ACK_FREQUENCY and IMMEDIATE_ACK;
# the values it carries are still checked (draft §4): a Request Max Ack Delay of 2^14 ms or
# more, or below our min_ack_delay, is a PROTOCOL_VIOLATION.
frame_case("ack_frequency_delay_huge",
           [(0xAF, varint(0) + varint(VARINT_MAX) + varint(VARINT_MAX) + varint(VARINT_MAX))], PROTOCOL_VIOLATION,
           "ACK_FREQUENCY with every field 2^62-1 (Request Max Ack Delay >= 2^14 ms): PROTOCOL_VIOLATION")
frame_case("ack_frequency_delay_below_min",
           [(0xAF, varint(0) + varint(2) + varint(0) + varint(1))], PROTOCOL_VIOLATION,
           "ACK_FREQUENCY with Request Max Ack Delay 0, below our min_ack_delay: PROTOCOL_VIOLATION")
frame_case("ack_frequency_thresholds_huge",
           [(0xAF, varint(VARINT_MAX) + varint(VARINT_MAX) + varint(25000) + varint(VARINT_MAX))], None,
           "ACK_FREQUENCY with sequence and thresholds 2^62-1, delay 25 ms: legal, applied (capped), the connection works")
frame_case("immediate_ack", [(0x1F, b"")], None,
           "IMMEDIATE_ACK (negotiated through our min_ack_delay): acknowledged, the connection works")
# A frame of an extension the server never advertised (reset_stream_at needs both sides'
# transport parameter; aioquic sends none): PROTOCOL_VIOLATION
# (draft-ietf-quic-reliable-stream-reset §4: receipt without negotiation).
frame_case("reset_stream_at_unnegotiated", [(0x24, varint(0) + varint(0) + varint(VARINT_MAX) + varint(VARINT_MAX))],
           PROTOCOL_VIOLATION, "RESET_STREAM_AT with sizes 2^62-1, never negotiated: PROTOCOL_VIOLATION")
frame_case("datagram_length_huge", [(0x31, varint(VARINT_MAX) + b"xy")], FRAME_ENCODING_ERROR,
           "DATAGRAM Length 2^62-1 in a small packet: FRAME_ENCODING_ERROR (RFC 9000 §12.4, RFC 9221 §4)")


# -- connection IDs (RFC 9000 §5.1, §19.15, §19.16) -----------------------------------------

def new_cid_frame(seq, retire_prior_to, cid, token=None):
    token = token or os.urandom(16)
    return (0x18, varint(seq) + varint(retire_prior_to) + bytes([len(cid)]) + cid + token)


def register_cid(ep, seq=None, length=None):
    """A new CID of ours, known to aioquic (it accepts packets sent to it): (seq, cid, token)."""
    conn = ep.conn
    if seq is None:
        seq = conn._host_cid_seq
        conn._host_cid_seq += 1
    # An explicit seq (2^62-1) leaves aioquic's own sequence alone: the CIDs it issues next
    # are below Retire Prior To, which the peer must retire at once (RFC 9000 §19.15).
    cid = os.urandom(conn._configuration.connection_id_length if length is None else length)
    token = os.urandom(16)
    conn._host_cids.append(QuicConnectionId(cid=cid, sequence_number=seq, stateless_reset_token=token, was_sent=True))
    return seq, cid, token


def issue_cids(ep, count, retire_prior_to=lambda seq: 0):
    """NEW_CONNECTION_ID frames for `count` new CIDs, registered in aioquic so that it still
    accepts packets sent to them."""
    frames = []
    for _ in range(count):
        seq, cid, token = register_cid(ep)
        frames.append(new_cid_frame(seq, retire_prior_to(seq), cid, token))
    return frames


@case("new_connection_id_flood")
def _(ctx):
    """NEW_CONNECTION_ID beyond the server's active_connection_id_limit (nothing retired):
    CONNECTION_ID_LIMIT_ERROR (RFC 9000 §5.1.1)"""
    ep = connected(ctx)
    ep.echo(256)
    limit = ep.conn._remote_active_connection_id_limit
    active = sum(1 for c in ep.conn._host_cids if c.was_sent)
    frames = issue_cids(ep, limit + 8)
    ep.inject(frames)
    expect_close(ep, CONNECTION_ID_LIMIT_ERROR,
                 f"{len(frames)} NEW_CONNECTION_ID with {active} already active, limit {limit}")


@case("new_connection_id_retire_flood")
def _(ctx):
    """2,000 NEW_CONNECTION_ID frames, each retiring all earlier ones (legal): the server
    answers with RETIRE_CONNECTION_ID; its state stays bounded (it may close with
    CONNECTION_ID_LIMIT_ERROR when too many retirements are outstanding, RFC 9000 §5.1.2)"""
    ep = connected(ctx)
    ep.echo(256)
    rss0 = ctx.server.rss()
    for _ in range(40):
        ep.inject(issue_cids(ep, 50, retire_prior_to=lambda seq: seq))
        ep.pump(timeout=0.02)
        if not ep.alive:
            break
    rss1 = ctx.server.rss()
    if ep.closed_by_peer is not None:
        expect_close(ep, CONNECTION_ID_LIMIT_ERROR, "retire_prior_to flood")
    else:
        expect_alive_and_echo(ep, "retire_prior_to flood")
        say(f"  retirements received: {ep.conn.counts['retire_connection_id']} RETIRE_CONNECTION_ID frames")
    check(rss1 is not None, "the server died")
    check(rss1 - rss0 < RSS_SLACK, f"server RSS grew {(rss1 - rss0) / MiB:.1f} MiB in the flood")


frame_case("new_connection_id_retire_prior_to_above_seq",
           lambda ep: [new_cid_frame(ep.conn._host_cid_seq, ep.conn._host_cid_seq + 1, os.urandom(8))],
           FRAME_ENCODING_ERROR,
           "NEW_CONNECTION_ID with Retire Prior To > Sequence Number: FRAME_ENCODING_ERROR (RFC 9000 §19.15)")
frame_case("new_connection_id_length_0",
           lambda ep: [new_cid_frame(ep.conn._host_cid_seq, 0, b"")], (FRAME_ENCODING_ERROR, PROTOCOL_VIOLATION),
           "NEW_CONNECTION_ID of length 0: FRAME_ENCODING_ERROR (RFC 9000 §19.15; "
           "PROTOCOL_VIOLATION also fits: the peer uses non-empty CIDs)")
frame_case("new_connection_id_length_21",
           lambda ep: [new_cid_frame(ep.conn._host_cid_seq, 0, os.urandom(21))], FRAME_ENCODING_ERROR,
           "NEW_CONNECTION_ID of length 21: FRAME_ENCODING_ERROR (RFC 9000 §19.15)")
frame_case("new_connection_id_seq_max",
           lambda ep: [new_cid_frame(VARINT_MAX, VARINT_MAX, *register_cid(ep, VARINT_MAX)[1:])],
           (None, CONNECTION_ID_LIMIT_ERROR, PROTOCOL_VIOLATION),
           "NEW_CONNECTION_ID sequence 2^62-1 retiring all before it: legal; no trap")
# §19.16: "Receipt of a RETIRE_CONNECTION_ID frame containing a sequence number greater than
# any previously sent to the peer MUST be treated as a connection error of type PROTOCOL_VIOLATION."
frame_case("retire_connection_id_unissued", [(0x19, varint(1000))], PROTOCOL_VIOLATION,
           "RETIRE_CONNECTION_ID of sequence 1000, never issued: PROTOCOL_VIOLATION (RFC 9000 §19.16)")
frame_case("retire_connection_id_max", [(0x19, varint(VARINT_MAX))], PROTOCOL_VIOLATION,
           "RETIRE_CONNECTION_ID of sequence 2^62-1: PROTOCOL_VIOLATION (RFC 9000 §19.16)")
# §19.16: retiring the CID the packet is sent to MAY be PROTOCOL_VIOLATION.
frame_case("retire_connection_id_in_use",
           lambda ep: [(0x19, varint(ep.conn._peer_cid.sequence_number))], (None, PROTOCOL_VIOLATION),
           "RETIRE_CONNECTION_ID of the CID the packet is sent to: PROTOCOL_VIOLATION or ignored (RFC 9000 §19.16)")


# -- stream states and final sizes (RFC 9000 §3, §4.5, §19.4-§19.10) -------------------------

# For the server, stream 2 (client-initiated unidirectional) is receive-only and stream 3
# (server-initiated unidirectional) send-only and never opened here.
frame_case("max_stream_data_receive_only", [(0x11, varint(2) + varint(1000))], STREAM_STATE_ERROR,
           "MAX_STREAM_DATA for the server's receive-only stream 2: STREAM_STATE_ERROR (RFC 9000 §19.10)")
frame_case("stop_sending_receive_only", [(0x05, varint(2) + varint(0))], STREAM_STATE_ERROR,
           "STOP_SENDING for the server's receive-only stream 2: STREAM_STATE_ERROR (RFC 9000 §19.5)")
frame_case("reset_stream_send_only", [(0x04, varint(3) + varint(0) + varint(0))], STREAM_STATE_ERROR,
           "RESET_STREAM for the server's send-only stream 3: STREAM_STATE_ERROR (RFC 9000 §19.4)")
frame_case("stream_send_only", [stream_frame(3, 0, b"x")], STREAM_STATE_ERROR,
           "STREAM on the server's send-only stream 3: STREAM_STATE_ERROR (RFC 9000 §19.8)")


def _final_size_frames(second):
    def frames(ep):
        sid = ep.conn.get_next_available_stream_id(is_unidirectional=True)
        return [stream_frame(sid, 0, b"a" * 100, fin=True), second(sid)]
    return frames


# §4.5: "Once a final size for a stream is known, it cannot change. If a RESET_STREAM or STREAM
# frame is received indicating a change in the final size for the stream, an endpoint SHOULD
# respond with an error of type FINAL_SIZE_ERROR"; data at or beyond the final size is the same.
frame_case("final_size_changed", _final_size_frames(lambda sid: stream_frame(sid, 0, b"a" * 50, fin=True)),
           FINAL_SIZE_ERROR, "STREAM FIN at 100, then FIN at 50 on the same stream: FINAL_SIZE_ERROR (RFC 9000 §4.5)")
frame_case("data_beyond_final_size", _final_size_frames(lambda sid: stream_frame(sid, 100, b"b" * 10)),
           FINAL_SIZE_ERROR, "STREAM FIN at 100, then data at 100..110: FINAL_SIZE_ERROR (RFC 9000 §4.5)")
frame_case("reset_below_received", _final_size_frames(lambda sid: (0x04, varint(sid) + varint(0) + varint(10))),
           FINAL_SIZE_ERROR, "STREAM FIN at 100, then RESET_STREAM final size 10: FINAL_SIZE_ERROR (RFC 9000 §4.5)")
frame_case("connection_close_reason_huge", [(0x1C, varint(0) + varint(0) + varint(VARINT_MAX) + b"why")],
           (None, FRAME_ENCODING_ERROR, NO_ERROR),
           "CONNECTION_CLOSE whose reason length is 2^62-1: no trap (the connection may end either way)")
frame_case("blocked_frames_max", [(0x14, varint(VARINT_MAX)), (0x15, varint(0) + varint(VARINT_MAX)),
                                  (0x17, varint(1 << 60))], None,
           "DATA_BLOCKED / STREAM_DATA_BLOCKED 2^62-1, STREAMS_BLOCKED (uni) 2^60: informational, ignored")


# -- frames in the client's Initial packets, before any authentication (RFC 9000 §12.4, §7.5) --

def initial_case(name, frames, codes, note):
    """The client's first Initial (its ClientHello) goes out, then an Initial packet with
    `frames`; the server must close with one of `codes` (sent in its Initial/Handshake packets)."""
    def run(ctx):
        ep = new_client(ctx.port, ctx.certs, connect=False)
        ctx.endpoints.append(ep)
        ep.flush()  # the ClientHello: the server now has a connection for it
        ep.inject(frames, epoch=tls.Epoch.INITIAL)
        expect_close(ep, codes, name)
    run.__doc__ = note
    case(name)(run)


# RFC 9000 §12.4 (Table 3): only PADDING, PING, ACK, CRYPTO and CONNECTION_CLOSE (0x1c) may be in
# an Initial packet; "receipt of a frame in a packet type that is not permitted MUST be treated
# as a connection error of type PROTOCOL_VIOLATION".
initial_case("initial_stream_frame", [stream_frame(0, 0, b"early")], PROTOCOL_VIOLATION,
             "STREAM in an Initial packet: PROTOCOL_VIOLATION (RFC 9000 §12.4)")
initial_case("initial_handshake_done", [(0x1E, b"")], PROTOCOL_VIOLATION,
             "HANDSHAKE_DONE in an Initial packet: PROTOCOL_VIOLATION (RFC 9000 §12.4)")
initial_case("initial_new_connection_id", [new_cid_frame(1, 0, os.urandom(8))], PROTOCOL_VIOLATION,
             "NEW_CONNECTION_ID in an Initial packet: PROTOCOL_VIOLATION (RFC 9000 §12.4)")
initial_case("initial_application_close", [(0x1D, varint(0) + varint(0))], PROTOCOL_VIOLATION,
             "CONNECTION_CLOSE 0x1d (application) in an Initial packet: PROTOCOL_VIOLATION (RFC 9000 §12.4)")
initial_case("initial_ack_unsent", [ack_frame(1000, 0, 0)], PROTOCOL_VIOLATION,
             "Initial ACK of packet 1000, never sent: PROTOCOL_VIOLATION (RFC 9000 §13.1)")
initial_case("initial_ack_negative", [ack_frame(0, 0, 5)], FRAME_ENCODING_ERROR,
             "Initial ACK Largest 0, First ACK Range 5: FRAME_ENCODING_ERROR (RFC 9000 §19.3.1)")
# §7.5: at least 4,096 bytes of out-of-order CRYPTO data are buffered; beyond its buffer an
# endpoint closes with CRYPTO_BUFFER_EXCEEDED. §19.6: past 2^62-1 also FRAME_ENCODING_ERROR.
initial_case("initial_crypto_far_offset", [(0x06, varint(1 << 20) + varint(100) + os.urandom(100))],
             CRYPTO_BUFFER_EXCEEDED,
             "Initial CRYPTO at offset 1 MiB, before any authentication: CRYPTO_BUFFER_EXCEEDED (RFC 9000 §7.5)")
initial_case("initial_crypto_offset_beyond_2p62", [(0x06, varint(VARINT_MAX) + varint(2) + b"xy")],
             (FRAME_ENCODING_ERROR, CRYPTO_BUFFER_EXCEEDED),
             "Initial CRYPTO offset 2^62-1 + 2 bytes: FRAME_ENCODING_ERROR or CRYPTO_BUFFER_EXCEEDED (RFC 9000 §19.6)")
initial_case("initial_unknown_frame", [(0x3F1234, b"")], (FRAME_ENCODING_ERROR, PROTOCOL_VIOLATION),
             "unknown frame type in an Initial packet: FRAME_ENCODING_ERROR (RFC 9000 §12.4)")


@case("initial_crypto_scatter")
def _(ctx):
    """Before any authentication: 30 connections (under the per-address handshake cap), each
    with 30 Initial CRYPTO fragments scattered past its ClientHello (holes everywhere): memory
    bounded, every connection ends"""
    rss0 = ctx.server.rss()
    eps = []
    for _ in range(30):
        ep = new_client(ctx.port, ctx.certs, connect=False)
        eps.append(ep)
        ep.flush()
        ep.inject([(0x06, varint(1500 + 80 * j) + varint(20) + os.urandom(20)) for j in range(30)],
                  epoch=tls.Epoch.INITIAL)
    for ep in eps:
        ep.pump(timeout=0.01)
    rss1 = ctx.server.rss()
    for ep in eps:
        ep.close()
    say(f"  server VmRSS {rss0 / MiB:.1f} -> {rss1 / MiB:.1f} MiB with 30 connections holding fragments")
    check(rss1 - rss0 < RSS_SLACK, f"server VmRSS grew {(rss1 - rss0) / MiB:.1f} MiB")


def pump_to_handshake_keys(ep, timeout=5.0):
    """Sends the ClientHello and reads the server's first flight until aioquic holds Handshake
    keys, without sending anything more: the client's Finished is still unsent, so a Handshake
    packet written now reaches the server while it still reads that space."""
    ep.flush()
    deadline = time.monotonic() + timeout
    crypto = ep.conn._cryptos[tls.Epoch.HANDSHAKE]
    while not crypto.send.is_valid() and time.monotonic() < deadline:
        readable, _, _ = select.select([ep.sock], [], [], 0.05)
        if readable:
            data, addr = ep.sock.recvfrom(65536)
            ep.conn.receive_datagram(data, addr, now=time.monotonic())
        elif ep.conn.get_timer() is not None and ep.conn.get_timer() <= time.monotonic():
            ep.conn.handle_timer(now=time.monotonic())
            ep.flush()
    check(crypto.send.is_valid(), "no Handshake keys from the server's first flight")


def handshake_case(name, frames, codes, note):
    def run(ctx):
        ep = new_client(ctx.port, ctx.certs, connect=False)
        ctx.endpoints.append(ep)
        pump_to_handshake_keys(ep)
        ep.inject(frames, epoch=tls.Epoch.HANDSHAKE)
        expect_close(ep, codes, name)
    run.__doc__ = note
    case(name)(run)


# RFC 9000 §12.4 (Table 3): Handshake packets carry only PADDING, PING, ACK, CRYPTO and
# CONNECTION_CLOSE 0x1c.
handshake_case("handshake_stream_frame", [stream_frame(0, 0, b"early")], PROTOCOL_VIOLATION,
               "STREAM in a Handshake packet: PROTOCOL_VIOLATION (RFC 9000 §12.4)")
handshake_case("handshake_max_data", [(0x10, varint(1 << 20))], PROTOCOL_VIOLATION,
               "MAX_DATA in a Handshake packet: PROTOCOL_VIOLATION (RFC 9000 §12.4)")
handshake_case("handshake_ack_unsent", [ack_frame(1000, 0, 0)], PROTOCOL_VIOLATION,
               "Handshake ACK of packet 1000, never sent: PROTOCOL_VIOLATION (RFC 9000 §13.1)")
handshake_case("handshake_crypto_far_offset", [(0x06, varint(1 << 20) + varint(100) + os.urandom(100))],
               CRYPTO_BUFFER_EXCEEDED,
               "Handshake CRYPTO at offset 1 MiB: CRYPTO_BUFFER_EXCEEDED (RFC 9000 §7.5)")
handshake_case("handshake_crypto_garbage", [(0x06, varint(0) + varint(8) + b"\xfe\x00\x00\x04abcd")],
               tuple(range(0x100, 0x200)),
               "Handshake CRYPTO with a TLS message the server does not expect in place of the client's "
               "Finished: a CRYPTO_ERROR 0x1xx (RFC 9001 §4.8)")


# -- frames in 0-RTT packets (RFC 9000 §12.4, §7.4.1; RFC 9001 §4.6) -------------------------

def zero_rtt_client(ctx):
    """A first connection that gets a session ticket, then a second client (not yet pumped)
    that has sent its ClientHello and holds 0-RTT keys."""
    tickets = []
    sock = raw_socket()
    conn = HostileConnection(configuration=client_configuration(ctx.certs), session_ticket_handler=tickets.append)
    first = Endpoint(conn, sock, ("127.0.0.1", ctx.port))
    ctx.endpoints.append(first)
    conn.connect(first.peer_addr, now=time.monotonic())
    first.pump(lambda: (first.handshake_done and tickets) or not first.alive, 5.0)
    check(tickets, "no session ticket from the server")
    first.close()
    config = client_configuration(ctx.certs)
    config.session_ticket = tickets[-1]
    ep = Endpoint(HostileConnection(configuration=config), raw_socket(), ("127.0.0.1", ctx.port))
    ctx.endpoints.append(ep)
    ep.conn.connect(ep.peer_addr, now=time.monotonic())
    check(ep.conn._cryptos[tls.Epoch.ZERO_RTT].send.is_valid(), "the ticket allows no 0-RTT")
    ep.flush()  # the ClientHello (and aioquic's own 0-RTT, if any)
    return ep


def zero_rtt_case(name, frames, codes, note):
    def run(ctx):
        ep = zero_rtt_client(ctx)
        ep.inject(frames(ep) if callable(frames) else frames, epoch=tls.Epoch.ZERO_RTT)
        expect_close(ep, codes, name)
    run.__doc__ = note
    case(name)(run)


# Table 3 of RFC 9000 §12.4: ACK, CRYPTO, NEW_TOKEN, PATH_RESPONSE and HANDSHAKE_DONE are not
# allowed in 0-RTT packets (§17.2.3).
zero_rtt_case("zero_rtt_ack", [ack_frame(0, 0, 0)], PROTOCOL_VIOLATION,
              "ACK in a 0-RTT packet: PROTOCOL_VIOLATION (RFC 9000 §12.4, §17.2.3)")
zero_rtt_case("zero_rtt_crypto", [(0x06, varint(0) + varint(4) + b"abcd")], PROTOCOL_VIOLATION,
              "CRYPTO in a 0-RTT packet: PROTOCOL_VIOLATION (RFC 9000 §12.4)")
zero_rtt_case("zero_rtt_handshake_done", [(0x1E, b"")], PROTOCOL_VIOLATION,
              "HANDSHAKE_DONE in a 0-RTT packet: PROTOCOL_VIOLATION (RFC 9000 §12.4)")
zero_rtt_case("zero_rtt_new_token", [(0x07, varint(4) + b"abcd")], PROTOCOL_VIOLATION,
              "NEW_TOKEN in a 0-RTT packet: PROTOCOL_VIOLATION (RFC 9000 §12.4)")
# §7.4.1: 0-RTT is bound by the remembered transport parameters.
zero_rtt_case("zero_rtt_beyond_stream_flow_control",
              lambda ep: [stream_frame(0, ep.conn._remote_max_stream_data_bidi_remote, b"x" * 10)],
              FLOW_CONTROL_ERROR,
              "0-RTT STREAM data beyond the remembered initial_max_stream_data_bidi_remote: FLOW_CONTROL_ERROR "
              "(RFC 9000 §4.1, §7.4.1)")
zero_rtt_case("zero_rtt_stream_beyond_limit", lambda ep: [stream_frame(4 * ep.conn._remote_max_streams_bidi, 0, b"x")],
              STREAM_LIMIT_ERROR,
              "0-RTT STREAM beyond the remembered initial_max_streams_bidi: STREAM_LIMIT_ERROR (RFC 9000 §4.6, §7.4.1)")


# -- buffering attacks: memory stays bounded by flow control (RFC 9000 §4, §7.5) -------------

def flood(ctx, ep, batches, what):
    """Sends batches of frames (a generator of frame lists), pumping between them; returns the
    server's peak VmRSS growth over the flood."""
    rss0 = ctx.server.rss()
    peak = rss0
    sent = 0
    for k, frames in enumerate(batches):
        ep.inject(frames)
        sent += len(frames)
        if k % 8 == 0:
            ep.pump(timeout=0.005)
            peak = max(peak, ctx.server.rss() or 0)
            check(ctx.server.alive(), f"the server died: {ctx.server.describe_death()}")
            if not ep.alive:
                break
    ep.pump(timeout=0.3)
    peak = max(peak, ctx.server.rss() or 0)
    say(f"  {what}: {sent} frames; server VmRSS {rss0 / MiB:.1f} -> peak {peak / MiB:.1f} MiB")
    return peak - rss0


@case("stream_fragment_flood")
def _(ctx):
    """1-byte STREAM fragments at every other offset of 16 streams' whole flow-control windows
    (256K fragments, 256 KB of data): reassembly overhead stays bounded (peak VmRSS growth
    under 24 MiB), the connection still works; closing it frees everything"""
    ep = connected(ctx)
    ep.echo(256)
    window = ep.conn._remote_max_stream_data_bidi_remote
    base = ep.conn.get_next_available_stream_id()
    sids = [base + 4 * k for k in range(16)]

    def batches():
        for start in range(1, window, 2 * 120):
            for sid in sids:
                yield [stream_frame(sid, off, b"z") for off in range(start, min(start + 2 * 120, window), 2)]

    growth = flood(ctx, ep, batches(), f"1-byte fragments over {len(sids)} windows of {window} bytes")
    check(growth < RSS_SLACK, f"server VmRSS grew {growth / MiB:.1f} MiB buffering {len(sids) * window // 2} bytes")
    if ep.closed_by_peer is not None:
        # The RFC is silent on a limit of fragments; refusing to hold more is a resource limit,
        # INTERNAL_ERROR (what MsQuic answers when its receive buffer cannot grow).
        expect_close(ep, (INTERNAL_ERROR, PROTOCOL_VIOLATION), "1-byte fragment flood")
    else:
        expect_alive_and_echo(ep, "after the fragment flood")


@case("crypto_fragment_flood")
def _(ctx):
    """1-RTT CRYPTO frames scattered over 64 MB of offsets: the server buffers a bounded amount
    or closes with CRYPTO_BUFFER_EXCEEDED (RFC 9000 §7.5)"""
    ep = connected(ctx)
    ep.echo(256)

    def batches():
        for k in range(200):
            yield [(0x06, varint(1 + (k * 10 + j) * 32768) + varint(64) + os.urandom(64)) for j in range(10)]

    growth = flood(ctx, ep, batches(), "CRYPTO fragments")
    check(growth < RSS_SLACK, f"server VmRSS grew {growth / MiB:.1f} MiB")
    if ep.closed_by_peer is not None:
        expect_close(ep, CRYPTO_BUFFER_EXCEEDED, "CRYPTO fragments far beyond the buffer")
    else:
        expect_alive_and_echo(ep, "after the CRYPTO flood")


@case("datagram_flood")
def _(ctx):
    """3,000 DATAGRAM frames of 1,100 bytes, sent as fast as Python goes, echoed by the server's
    application: its queues stay bounded (peak VmRSS growth under 24 MiB), the connection
    still works"""
    ep = connected(ctx)
    ep.echo(256)
    check(ep.conn._remote_max_datagram_frame_size, "the server does not accept DATAGRAM frames")

    def batches():
        for _ in range(3000):
            yield [(0x31, varint(1100) + os.urandom(1100))]

    growth = flood(ctx, ep, batches(), "DATAGRAM frames")
    echoed = sum(1 for ev in ep.events if isinstance(ev, events.DatagramFrameReceived))
    say(f"  {echoed} datagrams echoed (DATAGRAM is unreliable: any number is legal)")
    check(growth < RSS_SLACK, f"server VmRSS grew {growth / MiB:.1f} MiB")
    expect_alive_and_echo(ep, "after the DATAGRAM flood")


@case("stream_open_flood")
def _(ctx):
    """Every stream the server allows opened with 1 byte and never finished (128
    bidirectional, 16 unidirectional), then one beyond: STREAM_LIMIT_ERROR (RFC 9000 §4.6)"""
    ep = connected(ctx)
    bidi, uni = ep.conn._remote_max_streams_bidi, ep.conn._remote_max_streams_uni
    # Opened through aioquic (it must know the streams the server echoes on).
    for k in range(bidi):
        ep.conn.send_stream_data(4 * k, b"o")
    for k in range(uni):
        ep.conn.send_stream_data(4 * k + 2, b"u")
    ep.pump(timeout=0.5)
    check(ep.closed_by_peer is None, f"the server closed: {ep.closed_by_peer}")
    ep.inject([stream_frame(4 * bidi, 0, b"!")])
    expect_close(ep, STREAM_LIMIT_ERROR, f"{bidi} + {uni} streams opened, then stream {4 * bidi}")


@case("forged_short_headers")
def _(ctx):
    """2,000 short-header packets to the connection's CID with garbage payloads (they fail
    authentication): dropped (RFC 9001 §5.3 / RFC 9000 §12.2), the connection still works"""
    ep = connected(ctx)
    ep.echo(256)
    dcid = ep.conn._peer_cid.cid
    for k in range(2000):
        ep.send_raw(bytes([0x40 | (k & 0x07)]) + dcid + os.urandom(60 + k % 1100))
        if k % 100 == 0:
            ep.pump(timeout=0.005)
    check(ctx.server.alive(), f"the server died: {ctx.server.describe_death()}")
    expect_alive_and_echo(ep, "2,000 forged short-header packets")


@case("initial_random_token")
def _(ctx):
    """A client Initial with a 1,000-byte token the server never issued: the server proceeds as
    if there were no token (RFC 9000 §8.1.3) or answers INVALID_TOKEN; no trap"""
    sock = raw_socket()
    conn = HostileConnection(configuration=client_configuration(ctx.certs))
    conn._peer_token = os.urandom(1000)
    ep = Endpoint(conn, sock, ("127.0.0.1", ctx.port))
    ctx.endpoints.append(ep)
    conn.connect(ep.peer_addr, now=time.monotonic())
    ep.pump(lambda: ep.handshake_done or not ep.alive, 5.0)
    if ep.handshake_done:
        expect_alive_and_echo(ep, "Initial with a random token")
    else:
        expect_close(ep, 0xB, "Initial with a random token")


# -- PATH_CHALLENGE flood (RFC 9000 §8.2.2, §9.3.3) -----------------------------------------

@case("path_challenge_flood")
def _(ctx):
    """60,000 PATH_CHALLENGE frames in 500 datagrams: at most one PATH_RESPONSE per challenge
    (RFC 9000 §8.2.2), the answer bytes bounded by what was sent, server memory bounded, the
    connection still works"""
    ep = connected(ctx)
    ep.echo(256)
    rss0 = ctx.server.rss()
    sent_challenges = 0
    sent0, recv0 = ep.bytes_sent, ep.bytes_received
    peak = rss0
    for k in range(500):
        frames = [(0x1A, os.urandom(8)) for _ in range(120)]
        sent_challenges += len(frames)
        ep.inject(frames)
        if k % 25 == 0:
            ep.pump(timeout=0.01)
            peak = max(peak, ctx.server.rss() or 0)
            if not ep.alive:
                break
    ep.pump(timeout=0.5)
    peak = max(peak, ctx.server.rss() or 0)
    responses = ep.conn.counts["path_response"]
    sent, received = ep.bytes_sent - sent0, ep.bytes_received - recv0
    say(f"  {sent_challenges} challenges in {sent} bytes; {responses} PATH_RESPONSE frames in {received} bytes; "
        f"server RSS {rss0 / MiB:.1f} -> peak {peak / MiB:.1f} MiB")
    check(responses <= sent_challenges, "more PATH_RESPONSE frames than challenges (RFC 9000 §8.2.2)")
    check(received <= 3 * sent + 64 * 1024, f"{received} bytes answered to {sent} bytes of challenges")
    check(peak - rss0 < RSS_SLACK, f"server RSS grew {(peak - rss0) / MiB:.1f} MiB during the flood")
    expect_alive_and_echo(ep, "after the PATH_CHALLENGE flood")


@case("path_response_padded")
def _(ctx):
    """One PATH_CHALLENGE: answered by one PATH_RESPONSE in a datagram of at least 1,200 bytes
    (RFC 9000 §8.2.2: "An endpoint MUST expand datagrams that contain a PATH_RESPONSE frame to at
    least the smallest allowed maximum datagram size of 1200 bytes", the path being validated)"""
    ep = connected(ctx)
    ep.echo(256)
    ep.inject([(0x1A, os.urandom(8))])
    ep.pump(lambda: ep.conn.path_response_datagrams, 2.0)
    sizes = ep.conn.path_response_datagrams
    check(len(sizes) == 1, f"{len(sizes)} PATH_RESPONSE frames for one PATH_CHALLENGE")
    check(sizes[0] >= 1200, f"the PATH_RESPONSE came in a datagram of {sizes[0]} bytes")
    say(f"  ok: PATH_RESPONSE in a datagram of {sizes[0]} bytes")
    expect_alive_and_echo(ep, "after the path challenge")


@case("path_response_on_probed_path")
def _(ctx):
    """A probe (PATH_CHALLENGE only) from a new source port, to a spare connection ID the server
    issued (RFC 9000 §9.5): the PATH_RESPONSE comes back on that path, i.e. to the new port
    ("A PATH_RESPONSE frame MUST be sent on the network path where the PATH_CHALLENGE frame was
    received", RFC 9000 §8.2.2)"""
    ep = connected(ctx)
    ep.echo(256)
    spare = list(ep.conn._peer_cid_available)
    check(spare, "the server issued no spare connection ID")
    s = raw_socket()
    try:
        before = ep.conn.counts["path_response"]
        ep.inject([(0x1A, os.urandom(8))], sock=s, dcid=spare[0].cid)
        got = answers(s, 2.0)
        for g in got:  # aioquic decrypts what came back on the new path
            ep.conn.receive_datagram(g, ep.peer_addr, now=time.monotonic())
        responses = ep.conn.counts["path_response"] - before
    finally:
        s.close()
    say(f"  {len(got)} datagrams on the probed path, {responses} PATH_RESPONSE")
    check(responses >= 1, f"no PATH_RESPONSE on the probed path ({len(got)} datagrams came back there)")
    expect_alive_and_echo(ep, "after the probe")


@case("path_probe_flood_many_ports")
def _(ctx):
    """1-RTT packets carrying only PATH_CHALLENGE (probing frames, RFC 9000 §9.1) from 200 new
    source ports: on each unvalidated path the server sends at most 3x what it received there
    (RFC 9000 §8, §9.3), keeps bounded state, and does not move the connection off its path"""
    ep = connected(ctx)
    ep.echo(256)
    rss0 = ctx.server.rss()
    socks = [raw_socket() for _ in range(200)]
    try:
        sent = {}
        for s in socks:
            sent[s] = ep.inject([(0x1A, os.urandom(8))], sock=s)
        deadline = time.monotonic() + 1.0
        received = {s: 0 for s in socks}
        while time.monotonic() < deadline:
            r, _, _ = select.select(socks, [], [], 0.1)
            for s in r:
                try:
                    received[s] += len(s.recv(65536))
                except BlockingIOError:
                    pass
        rss1 = ctx.server.rss()
    finally:
        for s in socks:
            s.close()
    answered = sum(1 for s in socks if received[s])
    worst = max(received[s] / sent[s] for s in socks)
    say(f"  {len(socks)} new paths probed with {sent[socks[0]]}-byte datagrams; {answered} answered; "
        f"largest answer/probe ratio {worst:.2f}; server VmRSS {rss0 / MiB:.1f} -> {rss1 / MiB:.1f} MiB")
    check(worst <= 3.0, f"the server sent {worst:.2f}x the bytes it received on an unvalidated path")
    check(rss1 - rss0 < RSS_SLACK, f"server VmRSS grew {(rss1 - rss0) / MiB:.1f} MiB")
    expect_alive_and_echo(ep, "probes from 200 ports (the original path)")


# Passes since the listener group steers datagrams by the DCID's first byte (the worker index
# every issued CID carries), so a CID from a new source port reaches its own worker.
@case("stateless_reset_oracle", server_args=["--stateless-reset-key", "5a" * 32])
def _(ctx):
    """With QUIC_PARAM_GLOBAL_STATELESS_RESET_KEY set, packets with a live connection's CID sent
    from 64 new source ports must not be answered by a Stateless Reset carrying that
    connection's token (RFC 9000 §9: drop or validate the path, "Generating a Stateless Reset
    ... would allow third parties ... to cause connections to close"; §21.11)"""
    ep = connected(ctx)
    ep.echo(256)
    token = ep.conn._peer_cid.stateless_reset_token
    check(token, "the server gave no stateless reset token for its CID")
    socks = [raw_socket() for _ in range(64)]
    try:
        for s in socks:
            ep.inject([(0x1A, os.urandom(8))], sock=s)
        # Collect for up to 2 s (or until a reset with the live token shows, which settles it).
        got, resets = [], []
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and not resets:
            readable, _, _ = select.select(socks, [], [], 0.1)
            for s in readable:
                try:
                    g = s.recv(65536)
                except BlockingIOError:
                    continue
                got.append(g)
                if len(g) >= 21 and g[-16:] == token:
                    resets.append(g)
    finally:
        for s in socks:
            s.close()
    say(f"  {len(got)} answers to 64 probes from new ports; {len(resets)} stateless reset(s) with the live "
        f"connection's token")
    check(not resets, f"{len(resets)} stateless resets that would end the live connection were handed to a "
                      f"third party")
    expect_alive_and_echo(ep, "probes from new ports")


frame_case("path_response_unsolicited", [(0x1B, os.urandom(8))], (None, PROTOCOL_VIOLATION),
           "PATH_RESPONSE matching no challenge: ignored or PROTOCOL_VIOLATION (RFC 9000 §19.18)")


# -- datagrams of odd sizes before any connection (RFC 9000 §14.1, §5.2.2, §10.3) -----------

def raw_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.setblocking(False)
    return s


def answers(sock, wait=0.5):
    """Datagrams received on sock within `wait` s (a bound on waiting, not an assertion on time)."""
    got = []
    deadline = time.monotonic() + wait
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return got
        r, _, _ = select.select([sock], [], [], remaining)
        if r:
            try:
                got.append(sock.recv(65536))
            except BlockingIOError:
                pass


def first_initial(ctx, with_connection=False):
    """A valid client Initial datagram (aioquic pads it with zeros after the packet) and the
    length of the QUIC packets in it (and the aioquic connection that wrote it)."""
    conn = QuicConnection(configuration=client_configuration(ctx.certs))
    conn.connect(("127.0.0.1", ctx.port), now=time.monotonic())
    datagrams = conn.datagrams_to_send(now=time.monotonic())
    data = datagrams[0][0]
    header = pull_quic_header(Buffer(data=data), host_cid_length=8)
    if with_connection:
        return data, header.packet_length, conn
    return data, header.packet_length


@case("udp_tiny_datagrams")
def _(ctx):
    """UDP payloads of 0, 1, 20 and 21 bytes (and 20 bytes that look like a short header):
    dropped without an answer (RFC 9000 §10.3: no stateless reset of 21 bytes or more for them)"""
    s = raw_socket()
    for payload in (b"", b"\x00", os.urandom(20), b"\x40" + os.urandom(19), b"\xc0" + os.urandom(19),
                    b"\x41" + os.urandom(20)):
        for _ in range(10):
            s.sendto(payload, ("127.0.0.1", ctx.port))
    got = answers(s)
    s.close()
    check(not got, f"the server answered {len(got)} datagrams (sizes {[len(g) for g in got][:8]})")
    say("  ok: 60 tiny datagrams, no answer")


@case("udp_initial_1199")
def _(ctx):
    """A valid Initial in a 1,199-byte datagram: discarded (RFC 9000 §14.1), no answer, no
    connection"""
    data, end = first_initial(ctx)
    check(end <= 1199, f"the Initial packet fills {end} bytes")
    before = ctx.server.connections()[0]
    s = raw_socket()
    s.sendto(data[:1199], ("127.0.0.1", ctx.port))
    got = answers(s, 1.0)
    s.close()
    check(not got, f"the server answered a 1,199-byte Initial with {len(got)} datagrams")
    check(ctx.server.connections()[0] == before, "the server opened a connection for a 1,199-byte Initial")
    say(f"  ok: Initial of {end} bytes in a 1,199-byte datagram: no answer, no connection")


@case("udp_odd_long_headers")
def _(ctx):
    """Long headers that must be dropped: an unknown version in a datagram below 1,200 bytes
    (RFC 9000 §5.2.2: no Version Negotiation), an Initial with a 21-byte DCID (RFC 9000 §17.2),
    a truncated Initial, an Initial whose Length is 2^62-1; then 64 KB datagrams that may get
    one small answer each (a Version Negotiation, RFC 9000 §6.1, or a stateless reset smaller
    than the trigger, RFC 9000 §10.3.3)"""
    dropped = {
        "unknown version, 103 bytes": b"\xc0" + (0x1A2A3A4A).to_bytes(4, "big") + b"\x08" + os.urandom(8) + b"\x08" +
                                      os.urandom(8) + os.urandom(80),
        "Initial with a 21-byte DCID": b"\xc0" + (1).to_bytes(4, "big") + b"\x15" + os.urandom(21) + b"\x08" +
                                       os.urandom(8) + os.urandom(1180),
        "truncated Initial": b"\xc0" + (1).to_bytes(4, "big") + b"\x08" + os.urandom(8),
        "Initial of Length 2^62-1": b"\xc0" + (1).to_bytes(4, "big") + b"\x08" + os.urandom(8) + b"\x08" +
                                    os.urandom(8) + b"\x00" + varint(VARINT_MAX) + os.urandom(1150),
    }
    for what, payload in dropped.items():
        s = raw_socket()
        s.sendto(payload, ("127.0.0.1", ctx.port))
        got = answers(s, 0.3)
        s.close()
        check(not got, f"{what}: the server answered {len(got)} datagrams (sizes {[len(g) for g in got]})")
        say(f"  ok: {what}: dropped, no answer")
    answered = {
        "64 KB short header, unknown CID": b"\x40" + os.urandom(64999),
        "64 KB long header, unknown version": b"\xc0" + (0x1A2A3A4A).to_bytes(4, "big") + b"\x08" + os.urandom(8) +
                                              b"\x08" + os.urandom(8) + os.urandom(64000),
        "64 KB of random bytes": os.urandom(65000),
    }
    for what, payload in answered.items():
        s = raw_socket()
        s.sendto(payload, ("127.0.0.1", ctx.port))
        got = answers(s, 0.3)
        s.close()
        check(len(got) <= 1 and all(len(g) < 1200 for g in got),
              f"{what}: the server answered {len(got)} datagrams (sizes {[len(g) for g in got]})")
        say(f"  ok: {what}: {len(got)} answer(s) of {[len(g) for g in got]} bytes")


@case("stream_churn")
def _(ctx):
    """2,000 streams opened, echoed and finished, half of them reset by us midway (RESET_STREAM
    + STOP_SENDING): the server keeps granting streams (MAX_STREAMS), every stream's state is
    freed (VmRSS back near the baseline once the connection is gone)"""
    ep = connected(ctx)
    for k in range(2000):
        sid = ep.conn.get_next_available_stream_id()
        if k % 2:
            ep.conn.send_stream_data(sid, b"r" * 300)
            ep.conn.reset_stream(sid, 7)
            ep.conn.stop_stream(sid, 7)
        else:
            ep.conn.send_stream_data(sid, b"c" * 300, end_stream=True)
        if k % 50 == 49:
            # Wait for the server to grant more streams before going past its limit.
            ep.pump(lambda: ep.conn.get_next_available_stream_id() // 4 < ep.conn._remote_max_streams_bidi - 50
                    or not ep.alive, 5.0)
            check(ep.alive, f"the connection ended: {ep.closed_by_peer}")
    ep.pump(timeout=0.5)
    done = sum(1 for sid in ep.stream_fin)
    say(f"  2,000 streams, {done} echoed to the end; server VmRSS {ctx.server.rss() / MiB:.1f} MiB")
    check(ep.closed_by_peer is None, f"the server closed: {ep.closed_by_peer}")
    expect_alive_and_echo(ep, "after 2,000 streams")


@case("amplification_before_validation")
def _(ctx):
    """One client Initial (1,200 bytes) and silence: everything the server sends to that address
    before validating it, retransmissions included, is at most 3x the bytes received
    (RFC 9000 §8.1)"""
    data, _, conn = first_initial(ctx, with_connection=True)
    s = raw_socket()
    s.sendto(data, ("127.0.0.1", ctx.port))
    got = answers(s, 2.0)
    # Now end the half-open connection at once (a CONNECTION_CLOSE in an Initial) instead of
    # leaving it to the handshake idle timeout.
    for g in got:
        conn.receive_datagram(g, ("127.0.0.1", ctx.port), now=time.monotonic())
    conn.close(error_code=NO_ERROR)
    for d, _ in conn.datagrams_to_send(now=time.monotonic()):
        s.sendto(d, ("127.0.0.1", ctx.port))
    s.close()
    total = sum(len(g) for g in got)
    say(f"  1 datagram of {len(data)} bytes in, {len(got)} datagrams of {total} bytes out "
        f"(ratio {total / len(data):.2f})")
    check(got, "the server did not answer a valid Initial")
    check(total <= 3 * len(data), f"the server sent {total} bytes to an unvalidated address that sent {len(data)}")


@case("initial_flood_many_ports")
def _(ctx):
    """300 valid Initials and 300 junk Initials (1,200 bytes), each from its own source port:
    the server lives and serves the next honest client (memory under floods: branch budget)"""
    valid = []
    for _ in range(300):
        conn = QuicConnection(configuration=client_configuration(ctx.certs))
        conn.connect(("127.0.0.1", ctx.port), now=time.monotonic())
        valid.append(conn.datagrams_to_send(now=time.monotonic())[0][0])
    sockets = []
    try:
        for k in range(300):
            for payload in (valid[k], b"\xc3" + (1).to_bytes(4, "big") + b"\x08" + os.urandom(8) + b"\x08" +
                            os.urandom(8) + b"\x00\x44\x9e" + os.urandom(1200 - 27)):
                s = raw_socket()
                sockets.append(s)
                try:
                    s.sendto(payload, ("127.0.0.1", ctx.port))
                except OSError:
                    pass
        time.sleep(0.2)
    finally:
        for s in sockets:
            s.close()
    check(ctx.server.alive(), f"the server died: {ctx.server.describe_death()}")
    say(f"  sent {len(sockets)} Initials from {len(sockets)} source ports")
    ctx.skip_rss = True  # the flood's memory is measured by the budget work (issue 10 item 5)


# -- client role: our client against a hostile aioquic server --------------------------------

class HostileServer:
    """A one-connection aioquic server (sans-I/O) in a thread; it echoes streams, and its
    transport parameters and frames are the attack."""

    def __init__(self, certs, tp_override=None, after_handshake=None, before_flight=None, after_flight=None):
        self.sock = raw_socket()
        self.port = self.sock.getsockname()[1]
        self.config = QuicConfiguration(is_client=False, alpn_protocols=[ALPN], idle_timeout=10.0,
                                        max_datagram_frame_size=65536)
        self.config.load_cert_chain(os.path.join(certs, "server.crt"), os.path.join(certs, "server.key"))
        self.tp_override = tp_override
        self.after_handshake = after_handshake
        # Forged datagrams sent to our client around the server's first flight: functions of the
        # client's first Initial header returning a list of datagrams.
        self.before_flight = before_flight
        self.after_flight = after_flight
        self.ep = None
        self.error = None
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            deadline = time.monotonic() + 30
            while self.ep is None and not self.stop_flag.is_set() and time.monotonic() < deadline:
                r, _, _ = select.select([self.sock], [], [], 0.1)
                if not r:
                    continue
                data, addr = self.sock.recvfrom(65536)
                try:
                    header = pull_quic_header(Buffer(data=data), host_cid_length=8)
                except ValueError:
                    continue
                if header.packet_type != QuicPacketType.INITIAL or len(data) < 1200:
                    continue
                conn = HostileConnection(configuration=self.config, tp_override=self.tp_override,
                                         original_destination_connection_id=header.destination_cid)
                ep = Endpoint(conn, self.sock, addr)
                ep.on_stream_data = lambda ev, ep=ep: ep.conn.send_stream_data(ev.stream_id, ev.data, ev.end_stream)
                conn.receive_datagram(data, addr, now=time.monotonic())
                for forged in (self.before_flight(header) if self.before_flight else []):
                    self.sock.sendto(forged, addr)
                ep.flush()
                for forged in (self.after_flight(header) if self.after_flight else []):
                    self.sock.sendto(forged, addr)
                self.ep = ep
            if self.ep is None:
                return
            ep = self.ep
            injected = self.after_handshake is None
            while time.monotonic() < deadline:
                if self.stop_flag.is_set():
                    # Our client has exited: read what it sent last (its CONNECTION_CLOSE).
                    ep.pump(lambda: ep.conn.peer_close is not None or ep.terminated is not None, 1.0)
                    return
                ep.pump(lambda: self.stop_flag.is_set() or (ep.handshake_done and not injected) or
                        ep.terminated is not None, 0.2)
                if ep.handshake_done and not injected:
                    injected = True
                    self.after_handshake(ep)
                if ep.terminated is not None:
                    return
        except Exception:  # reported by the case
            self.error = traceback.format_exc()

    def stop(self):
        self.stop_flag.set()
        self.thread.join(10)
        self.sock.close()


def run_our_client(ctx, port, mode="echo", timeout=15):
    # "busy": an echo of 1 MB, so that the connection is still sending when the hostile
    # server's frames (written as soon as its handshake completes) arrive.
    size = 1000 * 1000 if mode == "busy" else 4096
    cmd = [ctx.peer, "client", "--port", str(port), "--ca", os.path.join(ctx.certs, "ca.crt"),
           "--mode", "echo" if mode == "busy" else mode, "--bytes", str(size), "--timeout", "10"]
    say("client: " + " ".join(cmd))
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout, cwd=ctx.artifacts)
        out, rc = p.stdout.decode(errors="replace"), p.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = (e.stdout or b"").decode(errors="replace") + "\n(killed: no exit in time)\n", None
    with open(os.path.join(ctx.artifacts, "client.log"), "w") as f:
        f.write(out)
    say("--- our client's output\n" + out.rstrip())
    if rc == SKIP:
        raise SkipCase("the library answers NOT_SUPPORTED")
    check(rc is not None and rc >= 0 and rc not in (132, 134, 139),
          f"our client died: rc={rc}" + (" (SIGILL: a Swift runtime trap)" if rc in (132, -4) else ""))
    return out, rc


class SkipCase(Exception):
    pass


def client_case(name, tp_override=None, after_handshake=None, codes=None, mode="echo", note="",
                before_flight=None, after_flight=None):
    """codes None: the connection must succeed (client prints RESULT ok); otherwise our client
    must close with one of `codes` and the hostile server must receive it."""
    def run(ctx):
        server = HostileServer(ctx.certs, _resolve(tp_override or {}), after_handshake, before_flight, after_flight)
        try:
            out, rc = run_our_client(ctx, server.port, mode)
        finally:
            server.stop()
        check(server.error is None, f"the hostile server failed: {server.error}")
        if codes is None:
            check(rc == 0 and re.search(r"^RESULT ok", out, re.M), "our client did not succeed")
            say("  ok: our client succeeded")
            return
        wanted = codes if isinstance(codes, tuple) else (codes,)
        ep = server.ep
        check(ep is not None, "our client never reached the hostile server")
        got = ep.conn.peer_close
        check(got is not None, f"the hostile server received no CONNECTION_CLOSE (expected {[errname(c) for c in wanted]})")
        check(got[0] in wanted, f"our client closed with {errname(got[0])} reason={got[2]!r}; "
                                f"expected {' or '.join(errname(c) for c in wanted)}")
        say(f"  ok: our client closed with {errname(got[0])} reason={got[2]!r}")
        check(re.search(r"error=0x%x\b" % got[0], out), "our client's output does not report the error code")
    run.__doc__ = note
    case(name, role="client")(run)


client_case("tp_max_idle_timeout_2p61", {"max_idle_timeout": 1 << 61},
            note="server max_idle_timeout 2^61 ms: legal, our client must connect and echo (issue 10's crash)")
client_case("tp_max_idle_timeout_max", {"max_idle_timeout": VARINT_MAX},
            note="server max_idle_timeout 2^62-1: legal, our client must connect and echo")
client_case("tp_flow_control_max", {"initial_max_data": VARINT_MAX, "initial_max_stream_data_bidi_local": VARINT_MAX,
                                    "initial_max_stream_data_bidi_remote": VARINT_MAX,
                                    "initial_max_stream_data_uni": VARINT_MAX,
                                    "initial_max_streams_bidi": 1 << 60, "initial_max_streams_uni": 1 << 60},
            note="server flow control and stream limits at their maximum: legal, echo works")
client_case("tp_max_udp_payload_size_1199", {"max_udp_payload_size": 1199}, codes=TRANSPORT_PARAMETER_ERROR,
            mode="handshake", note="server max_udp_payload_size 1199: TRANSPORT_PARAMETER_ERROR (RFC 9000 §18.2)")
client_case("tp_ack_delay_exponent_21", {"ack_delay_exponent": 21}, codes=TRANSPORT_PARAMETER_ERROR,
            mode="handshake", note="server ack_delay_exponent 21: TRANSPORT_PARAMETER_ERROR (RFC 9000 §18.2)")
client_case("tp_max_ack_delay_2p14", {"max_ack_delay": 1 << 14}, codes=TRANSPORT_PARAMETER_ERROR,
            mode="handshake", note="server max_ack_delay 2^14: TRANSPORT_PARAMETER_ERROR (RFC 9000 §18.2)")
client_case("tp_active_connection_id_limit_1", {"active_connection_id_limit": 1}, codes=TRANSPORT_PARAMETER_ERROR,
            mode="handshake", note="server active_connection_id_limit 1: TRANSPORT_PARAMETER_ERROR (RFC 9000 §18.2)")
client_case("tp_initial_max_streams_above_2p60", {"initial_max_streams_bidi": (1 << 60) + 1},
            codes=TRANSPORT_PARAMETER_ERROR, mode="handshake",
            note="server initial_max_streams_bidi 2^60+1: TRANSPORT_PARAMETER_ERROR (RFC 9000 §4.6)")
# RFC 9000 §7.3: the server's original_destination_connection_id must match, be present, and
# retry_source_connection_id must be absent without a Retry; §18.2: a 16-byte reset token, no
# zero-length CID in preferred_address; RFC 9368 §4: the Chosen Version is the connection's.
client_case("tp_original_destination_cid_mismatch", {"original_destination_connection_id": b"\x00" * 8},
            codes=TRANSPORT_PARAMETER_ERROR, mode="handshake",
            note="server original_destination_connection_id not the client's first DCID: TRANSPORT_PARAMETER_ERROR "
                 "(RFC 9000 §7.3)")
client_case("tp_original_destination_cid_missing", {"original_destination_connection_id": None},
            codes=TRANSPORT_PARAMETER_ERROR, mode="handshake",
            note="no original_destination_connection_id from the server: TRANSPORT_PARAMETER_ERROR (RFC 9000 §7.3)")
client_case("tp_retry_source_cid_without_retry", {"retry_source_connection_id": b"\x01" * 8},
            codes=TRANSPORT_PARAMETER_ERROR, mode="handshake",
            note="retry_source_connection_id without a Retry: TRANSPORT_PARAMETER_ERROR (RFC 9000 §7.3)")
client_case("tp_stateless_reset_token_15_bytes", {"stateless_reset_token": b"\x01" * 15},
            codes=TRANSPORT_PARAMETER_ERROR, mode="handshake",
            note="a 15-byte stateless_reset_token: TRANSPORT_PARAMETER_ERROR (RFC 9000 §18.2)")
client_case("tp_preferred_address_zero_length_cid", {"preferred_address": "PREFERRED_ZERO_CID"},
            codes=TRANSPORT_PARAMETER_ERROR, mode="handshake",
            note="preferred_address with a zero-length CID: TRANSPORT_PARAMETER_ERROR (RFC 9000 §18.2)")
client_case("tp_duplicate_parameter", {"_raw": [(0x01, varint(30000))]}, codes=TRANSPORT_PARAMETER_ERROR,
            mode="handshake", note="the server sends max_idle_timeout twice: TRANSPORT_PARAMETER_ERROR (RFC 9000 §7.4)")
client_case("tp_version_information_mismatch", {"version_information": "CHOSEN_V2"}, codes=0x11, mode="handshake",
            note="server version_information with Chosen Version v2 in a v1 connection: VERSION_NEGOTIATION_ERROR "
                 "(RFC 9368 §4)")
client_case("tp_unknown_parameter_huge_id", {"_raw": [(VARINT_MAX, os.urandom(1000))]},
            note="an unknown parameter (id 2^62-1, 1,000 bytes) from the server: ignored (RFC 9000 §18.1)")
# Forged Version Negotiation and Retry packets, as an off-path attacker who saw the client's
# Initial could send them (RFC 9000 §6.2, §17.2.5.2): our client must ignore them and connect.
def _vn(header, versions):
    from aioquic.quic.packet import encode_quic_version_negotiation
    return encode_quic_version_negotiation(source_cid=header.destination_cid, destination_cid=header.source_cid,
                                           supported_versions=versions)


def _retry(header, token=b"forged-token", tag_ok=True):
    from aioquic.quic.packet import encode_quic_retry
    data = encode_quic_retry(version=header.version, source_cid=os.urandom(8), destination_cid=header.source_cid,
                             original_destination_cid=header.destination_cid, retry_token=token)
    return data if tag_ok else data[:-1] + bytes([data[-1] ^ 0x01])


client_case("vn_listing_current_version", before_flight=lambda h: [_vn(h, [0x1A2A3A4A, 0x00000001])],
            note="a Version Negotiation packet that lists the version in use: discarded (RFC 9000 §6.2), "
                 "our client connects and echoes")
client_case("vn_after_server_initial", after_flight=lambda h: [_vn(h, [0x1A2A3A4A])],
            note="a Version Negotiation packet after the server's Initial: discarded (RFC 9000 §6.2), our "
                 "client connects and echoes")
client_case("retry_bad_integrity_tag", before_flight=lambda h: [_retry(h, tag_ok=False)],
            note="a Retry whose integrity tag does not verify: discarded (RFC 9000 §17.2.5.2, RFC 9001 §5.8)")
client_case("retry_empty_token", before_flight=lambda h: [_retry(h, token=b"")],
            note="a Retry with a zero-length token: discarded (RFC 9000 §17.2.5.2)")
client_case("retry_after_server_initial", after_flight=lambda h: [_retry(h)],
            note="a valid Retry after the server's Initial: discarded (RFC 9000 §17.2.5.2)")
client_case("forged_server_initial_garbage",
            before_flight=lambda h: [b"\xc3" + h.version.to_bytes(4, "big") + bytes([len(h.source_cid)]) + h.source_cid +
                                     b"\x08" + os.urandom(8) + b"\x00" + varint(1100) + os.urandom(1100)] * 5,
            note="5 server Initials that fail authentication ahead of the real one: dropped (RFC 9001 §5.3), "
                 "our client connects and echoes")
client_case("forged_stateless_resets", after_flight=lambda h: [b"\x41" + os.urandom(42) for _ in range(20)],
            note="20 short-header packets that look like stateless resets with unknown tokens: ignored "
                 "(RFC 9000 §10.3.1), our client connects and echoes")
client_case("ack_unsent_packet", after_handshake=lambda ep: ep.inject([ack_frame(1 << 30, 0, 0)]),
            codes=PROTOCOL_VIOLATION, mode="busy",
            note="the server ACKs packet 2^30, never sent: PROTOCOL_VIOLATION (RFC 9000 §13.1)")
client_case("max_streams_above_2p60", after_handshake=lambda ep: ep.inject([(0x12, varint((1 << 60) + 1))]),
            codes=FRAME_ENCODING_ERROR, mode="busy",
            note="the server sends MAX_STREAMS 2^60+1: FRAME_ENCODING_ERROR (RFC 9000 §19.11)")
client_case("new_connection_id_flood", after_handshake=lambda ep: ep.inject(issue_cids(ep, 20)),
            codes=CONNECTION_ID_LIMIT_ERROR, mode="busy",
            note="the server issues 20 CIDs beyond our active_connection_id_limit: CONNECTION_ID_LIMIT_ERROR "
                 "(RFC 9000 §5.1.1)")
client_case("retire_connection_id_unissued", after_handshake=lambda ep: ep.inject([(0x19, varint(1000))]),
            codes=PROTOCOL_VIOLATION, mode="busy",
            note="the server retires our CID 1000, never issued: PROTOCOL_VIOLATION (RFC 9000 §19.16)")

client_case("stream_beyond_flow_control",
            after_handshake=lambda ep: ep.inject([stream_frame(1, ep.conn._remote_max_stream_data_bidi_remote, b"x" * 10)]),
            codes=FLOW_CONTROL_ERROR, mode="busy",
            note="the server sends data on its stream 1 at our initial_max_stream_data_bidi_remote: "
                 "FLOW_CONTROL_ERROR (RFC 9000 §4.1)")
client_case("stream_id_beyond_limit",
            after_handshake=lambda ep: ep.inject([stream_frame(4 * ep.conn._remote_max_streams_bidi + 1, 0, b"x")]),
            codes=STREAM_LIMIT_ERROR, mode="busy",
            note="the server opens a bidirectional stream beyond our initial_max_streams_bidi: STREAM_LIMIT_ERROR "
                 "(RFC 9000 §4.6)")
client_case("stream_offset_beyond_2p62", after_handshake=lambda ep: ep.inject([stream_frame(1, VARINT_MAX, b"xy")]),
            codes=(FRAME_ENCODING_ERROR, FLOW_CONTROL_ERROR), mode="busy",
            note="STREAM offset 2^62-1 + 2 bytes from the server: FRAME_ENCODING_ERROR or FLOW_CONTROL_ERROR "
                 "(RFC 9000 §19.8)")
client_case("stream_on_send_only", after_handshake=lambda ep: ep.inject([stream_frame(2, 0, b"x")]),
            codes=STREAM_STATE_ERROR, mode="busy",
            note="STREAM on our send-only stream 2: STREAM_STATE_ERROR (RFC 9000 §19.8)")
client_case("max_stream_data_on_receive_only", after_handshake=lambda ep: ep.inject([(0x11, varint(3) + varint(10))]),
            codes=STREAM_STATE_ERROR, mode="busy",
            note="MAX_STREAM_DATA on our receive-only stream 3: STREAM_STATE_ERROR (RFC 9000 §19.10)")
# §19.7: "A client MUST treat receipt of a NEW_TOKEN frame with an empty Token field as a
# connection error of type FRAME_ENCODING_ERROR."
client_case("new_token_empty", after_handshake=lambda ep: ep.inject([(0x07, varint(0))]),
            codes=FRAME_ENCODING_ERROR, mode="busy", note="NEW_TOKEN with an empty token: FRAME_ENCODING_ERROR (RFC 9000 §19.7)")
client_case("new_token_length_huge", after_handshake=lambda ep: ep.inject([(0x07, varint(VARINT_MAX) + b"abc")]),
            codes=FRAME_ENCODING_ERROR, mode="busy",
            note="NEW_TOKEN whose length is 2^62-1: FRAME_ENCODING_ERROR (RFC 9000 §12.4)")
client_case("ack_negative_range", after_handshake=lambda ep: ep.inject([ack_frame(3, 0, 10)]),
            codes=FRAME_ENCODING_ERROR, mode="busy",
            note="the server's ACK with a negative smallest packet number: FRAME_ENCODING_ERROR (RFC 9000 §19.3.1)")
# RFC 9001 §6: "Endpoints MUST treat the receipt of a TLS KeyUpdate message as a connection
# error of type 0x010a, equivalent to a fatal TLS alert of unexpected_message".
client_case("tls_key_update_message",
            after_handshake=lambda ep: ep.inject([(0x06, varint(0) + varint(5) + b"\x18\x00\x00\x01\x00")]),
            codes=0x10A, mode="busy",
            note="a TLS KeyUpdate message in 1-RTT CRYPTO: 0x10a unexpected_message (RFC 9001 §6)")
client_case("tls_unknown_post_handshake_message",
            after_handshake=lambda ep: ep.inject([(0x06, varint(0) + varint(8) + b"\xfe\x00\x00\x04abcd")]),
            codes=tuple(range(0x100, 0x200)), mode="busy",
            note="an unknown TLS handshake message in 1-RTT CRYPTO: a CRYPTO_ERROR 0x1xx (RFC 9001 §4.8)")
client_case("crypto_far_offset",
            after_handshake=lambda ep: ep.inject([(0x06, varint(1 << 24) + varint(100) + os.urandom(100))]),
            codes=CRYPTO_BUFFER_EXCEEDED, mode="busy",
            note="1-RTT CRYPTO at offset 16 MiB: CRYPTO_BUFFER_EXCEEDED (RFC 9000 §7.5)")
client_case("handshake_done_twice", after_handshake=lambda ep: ep.inject([(0x1E, b""), (0x1E, b"")]), mode="busy",
            note="HANDSHAKE_DONE repeated: legal, our client connects and echoes")
client_case("path_challenge_flood",
            after_handshake=lambda ep: [ep.inject([(0x1A, os.urandom(8)) for _ in range(120)]) for _ in range(30)],
            mode="busy", note="3,600 PATH_CHALLENGE frames from the server: our client answers within bounds and echoes")

# ---- running a case -----------------------------------------------------------------------

def run_server_case(name, entry, peer, certs, artifacts):
    ctx = Ctx()
    ctx.peer, ctx.certs, ctx.artifacts, ctx.endpoints, ctx.skip_rss = peer, certs, artifacts, [], False
    server = Server(peer, certs, artifacts, entry["server_args"])
    ctx.server = server
    Endpoint.abort = staticmethod(lambda: not server.alive())
    ctx.port = server.port
    try:
        if not server.alive() or server.port == 0:
            out = server.log()
            if server.proc.poll() == SKIP:
                raise SkipCase("the server could not start: " + out.strip().splitlines()[-1])
            raise CaseFailure(f"the server did not start ({server.describe_death()}):\n{out}")
        ok, detail = honest_client(server.port, certs)
        check(ok, f"the warm-up honest client failed: {detail}")
        check(server.wait_connections_gone(), f"the warm-up connection did not end: {server.connections()}")
        baseline = server.rss()
        say(f"baseline: server VmRSS {baseline / MiB:.1f} MiB after one honest connection")

        failure = None
        try:
            entry["fn"](ctx)
        except CaseFailure as e:
            failure = e
        finally:
            for ep in ctx.endpoints:
                ep.close()
        if not server.alive():
            time.sleep(0.2)
            raise CaseFailure(f"the server process died: {server.describe_death()}"
                              + (f" (after: {failure})" if failure else ""))
        if failure:
            raise failure

        ok, detail = honest_client(server.port, certs)
        check(server.alive(), f"the server process died: {server.describe_death()}")
        check(ok, f"the next honest client was not served: {detail}")
        say(f"  ok: the server lives and serves the next honest client ({detail})")

        if not ctx.skip_rss:
            gone = server.wait_connections_gone()
            opened, done = server.connections()
            check(gone, f"the server's connections did not end within 20 s ({opened} opened, {done} ended)")
            rss = server.rss()
            say(f"  server VmRSS {rss / MiB:.1f} MiB after the {opened} connections ended "
                f"(baseline {baseline / MiB:.1f}, bound +{RSS_SLACK // MiB} MiB)")
            check(rss - baseline < RSS_SLACK, f"server VmRSS {rss / MiB:.1f} MiB is not back near its baseline "
                                               f"{baseline / MiB:.1f} MiB")
        check(server.alive(), f"the server process died: {server.describe_death()}")
    finally:
        Endpoint.abort = staticmethod(lambda: False)
        server.stop()
        with open(server.log_path, errors="replace") as f:
            tail = f.read().splitlines()[-40:]
        say("--- server output (last 40 lines)\n" + "\n".join(tail))
        if server.proc.returncode not in (0, None, -signal.SIGTERM):
            say(f"(server ended: {server.describe_death()})")


def run_client_case(name, entry, peer, certs, artifacts):
    ctx = Ctx()
    ctx.peer, ctx.certs, ctx.artifacts, ctx.endpoints = peer, certs, artifacts, []
    entry["fn"](ctx)


def run_case(name, peer, certs, artifacts_root):
    entry = CASES[name]
    artifacts = os.path.join(artifacts_root, name)
    os.makedirs(artifacts, exist_ok=True)
    say(f"=== {name}: {entry['note']}")
    problem = aioquic_incompatibility()
    if problem:
        say(f"SKIP {problem}")
        return SKIP
    try:
        if entry["role"] == "server":
            run_server_case(name, entry, peer, certs, artifacts)
        else:
            run_client_case(name, entry, peer, certs, artifacts)
        failure = None
    except SkipCase as e:
        say(f"SKIP {e}")
        return SKIP
    except CaseFailure as e:
        failure = str(e)
    except Exception:
        failure = "the battery itself failed:\n" + traceback.format_exc()
    if entry["xfail"]:
        if failure and not re.search(entry["xfail_match"] or "", failure):
            say(f"FAIL {name} (marked xfail, but not in the expected way): {failure}")
            return 1
        if failure:
            say(f"FAIL (expected) {failure}")
            say(f"XFAIL {name}: {entry['xfail']}")
            XFAILED.add(name)
            return SKIP
        say(f"XPASS {name}: marked as a known failure ({entry['xfail']}) but passes: remove the mark")
        return 1
    if failure:
        say(f"FAIL {name}: {failure}")
        say(f"artifacts: {artifacts}")
        return 1
    say(f"PASS {name}")
    return 0


# CTest runs the battery as one test per group (one Python process and its aioquic import per
# group, not per case: the suite takes about a third of the time); a case marked xfail is a test
# of its own, so that its skip shows in ctest's summary. Rules in order, the first match wins.
GROUPS = [
    (r"^adversarial_server_tp_", "server_transport_parameters"),
    (r"^adversarial_server_initial_(stream|handshake|new|application|ack|crypto|unknown)", "server_initial_packets"),
    (r"^adversarial_server_handshake_(stream|max|ack|crypto)", "server_handshake_packets"),
    (r"^adversarial_server_zero_rtt_", "server_zero_rtt"),
    (r"^adversarial_server_(new_connection_id|retire_connection_id)", "server_connection_ids"),
    (r"^adversarial_server_path_", "server_paths"),
    (r"^adversarial_server_(forged_short_headers|stream_churn|\w+_flood)$", "server_floods"),
    (r"^adversarial_server_(udp_|initial_flood|initial_random|amplification)", "server_datagrams"),
    (r"^adversarial_server_", "server_frames"),
    (r"^adversarial_client_tp_", "client_transport_parameters"),
    (r"^adversarial_client_", "client_frames"),
]


def group_of(name):
    for pattern, group in GROUPS:
        if re.search(pattern, name):
            return group
    raise ValueError(name)


def ctest_entries():
    """(CTest test name, selector): one per group, one per xfail case."""
    entries = {}
    for name, entry in CASES.items():
        if entry["xfail"]:
            entries[name] = name
        else:
            entries.setdefault("adversarial_" + group_of(name), "--group=" + group_of(name))
    return list(entries.items())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--list", action="store_true", help="every case name")
    parser.add_argument("--list-ctest", action="store_true", help="NAME|SELECTOR lines for CMake")
    parser.add_argument("--group", help="run the cases of one group (see GROUPS)")
    parser.add_argument("--peer", help="the built msquic_peer program")
    parser.add_argument("--certs", default=os.environ.get("SWIFTQUIC_TEST_CERTS"))
    parser.add_argument("--artifacts", default="adversarial-artifacts")
    parser.add_argument("cases", nargs="*")
    args = parser.parse_args()
    if args.list:
        for name in CASES:
            print(name)
        return 0
    if args.list_ctest:
        for name, selector in ctest_entries():
            print(f"{name}|{selector}")
        return 0
    if not args.peer:
        parser.error("--peer is required")
    if args.group:
        # The group's cases; its xfail cases run as tests of their own.
        selected = [n for n in CASES if group_of(n) == args.group and not CASES[n]["xfail"]]
    else:
        selected = [n for n in CASES if not args.cases or n in args.cases or any(re.search(p, n) for p in args.cases)]
    if not selected:
        parser.error("no such case")
    certs = os.path.abspath(args.certs) if args.certs else None
    if not certs or not os.path.exists(os.path.join(certs, "server.crt")):
        certs = tempfile.mkdtemp(prefix="swiftquic-adversarial-certs-")
        subprocess.run(["bash", os.path.join(HERE, "..", "CTests", "gen-certs.sh"), certs], check=True,
                       stdout=subprocess.DEVNULL)
    peer = os.path.abspath(args.peer)
    artifacts = os.path.abspath(args.artifacts)
    results = {}
    for name in selected:
        t0 = time.monotonic()
        results[name] = run_case(name, peer, certs, artifacts)
        say(f"({time.monotonic() - t0:.1f} s)\n")
    if len(results) > 1:
        say("=== summary")
        for name, rc in results.items():
            tag = {0: "PASS", SKIP: "XFAIL" if name in XFAILED else "SKIP"}.get(rc, "FAIL")
            say(f"{tag} {name}")
        say(f"{sum(rc == 0 for rc in results.values())} passed, {sum(rc not in (0, SKIP) for rc in results.values())} "
            f"failed, {len(XFAILED)} xfail, {sum(rc == SKIP for rc in results.values()) - len(XFAILED)} skipped")
    if any(rc not in (0, SKIP) for rc in results.values()):
        return 1
    if all(rc == SKIP for rc in results.values()):
        return SKIP
    return 0


if __name__ == "__main__":
    sys.exit(main())
