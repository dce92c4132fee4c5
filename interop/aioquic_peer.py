#!/usr/bin/env python3
"""aioquic_peer.py - the other end of the interop tests: a QUIC stack nobody here wrote
(aioquic, https://github.com/aiortc/aioquic) speaking the same tiny echo protocol as
interop/msquic_peer.c.

  aioquic_peer.py server --port 0 --cert F --key F [--alpn A] [--datagram] [--key-update]
      Prints "LISTENING <port>", echoes every bidirectional stream (data, then FIN once the
      peer's FIN arrives) and every DATAGRAM frame, prints one EVENT line per handshake and
      per closed connection, keeps session tickets in memory (resumption and 0-RTT), and
      runs until killed.

  aioquic_peer.py client --port P [--ca F | --insecure] [--mode M] [--bytes N] [--streams K]
      Modes: echo, datagram, keyupdate (echo, request_key_update(), echo again on the new
      keys), resume (echo, then a second connection resuming with the ticket and sending its
      echo as 0-RTT), handshake. --expect-error CODE: the connection must close with that
      error code (e.g. 0x178 no_application_protocol) instead.

Both print "RESULT ok ..." / "RESULT fail ..." and exit 0 / 1. --keylog FILE appends the TLS
secrets (SSLKEYLOGFILE format); --qlog DIR writes one qlog file per connection.
"""

import argparse
import asyncio
import ssl
import sys

from aioquic.asyncio import QuicConnectionProtocol, connect, serve
from aioquic.quic import events
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.packet import QuicProtocolVersion
from aioquic.tls import Epoch

VERSIONS = {"1": QuicProtocolVersion.VERSION_1, "2": QuicProtocolVersion.VERSION_2}


def say(line):
    print(line, flush=True)


def pattern(index, length):
    """The echo payload of stream `index` (the same rule as msquic_peer.c)."""
    return bytes(((k * 7) + (k >> 9) + index * 13 + 1) & 0xFF for k in range(length))


def one_rtt_key_phase(quic):
    crypto = quic._cryptos.get(Epoch.ONE_RTT) if hasattr(quic, "_cryptos") else None
    return getattr(crypto, "key_phase", None) if crypto is not None else None


def make_configuration(args, is_client):
    config = QuicConfiguration(
        is_client=is_client,
        alpn_protocols=args.alpn.split(","),
        idle_timeout=args.idle_timeout,
        max_datagram_frame_size=65536 if args.datagram or args.mode == "datagram" else None,
    )
    if args.cipher:
        from aioquic.tls import CipherSuite

        config.cipher_suites = [CipherSuite[name] for name in args.cipher.split(",")]
    if args.version:
        config.supported_versions = [VERSIONS[v] for v in args.version.split(",")]
    if args.original_version:
        # RFC 9368 §2.3: start in this version, listing --version as compatible versions.
        config.original_version = VERSIONS[args.original_version]
    if args.keylog:
        config.secrets_log_file = open(args.keylog, "a")
    if args.qlog:
        import os

        from aioquic.quic.logger import QuicFileLogger

        os.makedirs(args.qlog, exist_ok=True)
        config.quic_logger = QuicFileLogger(args.qlog)
    if is_client:
        config.server_name = args.server_name
        if args.insecure:
            config.verify_mode = ssl.CERT_NONE
        elif args.ca:
            config.load_verify_locations(args.ca)
    else:
        config.load_cert_chain(args.cert, args.key)
    return config


# ---- server ---------------------------------------------------------------------------


class EchoServerProtocol(QuicConnectionProtocol):
    key_update_after = None  # bytes received before the server requests a key update

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self._received = 0
        self._key_update_requested = False

    def quic_event_received(self, event):
        quic = self._quic
        if isinstance(event, events.HandshakeCompleted):
            say(
                f"EVENT server handshake alpn={event.alpn_protocol} version=0x{quic._version:08x} "
                f"resumed={int(event.session_resumed)} early_data={int(event.early_data_accepted)}"
            )
        elif isinstance(event, events.StreamDataReceived):
            self._received += len(event.data)
            quic.send_stream_data(event.stream_id, event.data, end_stream=event.end_stream)
            if (
                self.key_update_after is not None
                and not self._key_update_requested
                and self._received >= self.key_update_after
            ):
                self._key_update_requested = True
                quic.request_key_update()
                say(f"EVENT server requested a key update after {self._received} bytes")
        elif isinstance(event, events.DatagramFrameReceived):
            quic.send_datagram_frame(event.data)
        elif isinstance(event, events.StreamReset):
            say(f"EVENT server stream {event.stream_id} reset error=0x{event.error_code:x}")
        elif isinstance(event, events.ConnectionTerminated):
            say(
                f"EVENT server terminated error=0x{event.error_code:x} frame_type={event.frame_type} "
                f"reason={event.reason_phrase!r} key_phase={one_rtt_key_phase(quic)}"
            )
        self.transmit()

    def connection_lost(self, exc):
        close = getattr(self._quic, "_close_event", None)
        if close is not None:
            say(
                f"EVENT server closed error=0x{close.error_code:x} reason={close.reason_phrase!r} "
                f"key_phase={one_rtt_key_phase(self._quic)}"
            )
        super().connection_lost(exc)


async def run_server(args):
    config = make_configuration(args, is_client=False)
    tickets = {}
    EchoServerProtocol.key_update_after = args.key_update_after
    server = await serve(
        args.host,
        args.port,
        configuration=config,
        create_protocol=EchoServerProtocol,
        session_ticket_fetcher=tickets.get,
        session_ticket_handler=lambda t: tickets.__setitem__(t.ticket, t),
        retry=args.retry,
    )
    port = server._transport.get_extra_info("sockname")[1]
    say(f"LISTENING {port}")
    await asyncio.Future()


# ---- client ---------------------------------------------------------------------------


class EchoClientProtocol(QuicConnectionProtocol):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.streams = {}  # stream id -> [bytearray, fin future]
        self.datagrams = asyncio.Queue()
        self.handshake = None

    def quic_event_received(self, event):
        if isinstance(event, events.HandshakeCompleted):
            self.handshake = event
        elif isinstance(event, events.StreamDataReceived):
            entry = self.streams.get(event.stream_id)
            if entry is not None:
                entry[0].extend(event.data)
                if event.end_stream and not entry[1].done():
                    entry[1].set_result(True)
        elif isinstance(event, events.StreamReset):
            entry = self.streams.get(event.stream_id)
            if entry is not None and not entry[1].done():
                entry[1].set_exception(ConnectionError(f"stream reset 0x{event.error_code:x}"))
        elif isinstance(event, events.DatagramFrameReceived):
            self.datagrams.put_nowait(event.data)

    async def echo(self, count, length, timeout):
        loop = asyncio.get_running_loop()
        ids = []
        for index in range(count):
            sid = self._quic.get_next_available_stream_id()
            self.streams[sid] = [bytearray(), loop.create_future()]
            self._quic.send_stream_data(sid, pattern(index, length), end_stream=True)
            ids.append((index, sid))
        self.transmit()
        await asyncio.wait_for(asyncio.gather(*(self.streams[sid][1] for _, sid in ids)), timeout)
        for index, sid in ids:
            got = bytes(self.streams[sid][0])
            if got != pattern(index, length):
                raise AssertionError(f"stream {sid}: echo of {len(got)} bytes differs from the {length} sent")

    async def datagram_echo(self, count):
        for index in range(count):
            payload = f"dgram-{index}-".encode() + pattern(index, 180)
            for attempt in range(4):
                self._quic.send_datagram_frame(payload)
                self.transmit()
                try:
                    while True:
                        got = await asyncio.wait_for(self.datagrams.get(), 1.0)
                        if got == payload:
                            break
                    break
                except asyncio.TimeoutError:
                    continue
            else:
                raise AssertionError(f"datagram {index} never echoed")


def close_error(protocol):
    close = getattr(protocol._quic, "_close_event", None)
    return close


async def client_connection(args, config, ticket_store=None, early=False, token_store=None):
    """One connection; returns the protocol after the exchange. token_store: a list that
    collects the tokens of NEW_TOKEN frames (RFC 9000 §8.1.3)."""
    handler = (lambda t: ticket_store.append(t)) if ticket_store is not None else None
    on_token = (lambda t: token_store.append(t)) if token_store is not None else None
    async with connect(
        args.host,
        args.port,
        configuration=config,
        create_protocol=EchoClientProtocol,
        session_ticket_handler=handler,
        token_handler=on_token,
        wait_connected=not early,
    ) as protocol:
        if early:
            # The echo goes out as 0-RTT before the handshake completes (RFC 9001 §4.6.1).
            await protocol.echo(args.streams, args.bytes, args.timeout)
            for _ in range(50):
                if protocol.handshake is not None:
                    break
                await asyncio.sleep(0.1)
        elif args.mode in ("echo", "resume"):
            await protocol.echo(args.streams, args.bytes, args.timeout)
        elif args.mode == "keyupdate":
            await protocol.echo(args.streams, args.bytes, args.timeout)
            before = one_rtt_key_phase(protocol._quic)
            protocol._quic.request_key_update()
            protocol.transmit()
            await protocol.echo(args.streams, args.bytes, args.timeout)
            after = one_rtt_key_phase(protocol._quic)
            say(f"EVENT client key phase {before} -> {after}")
            if before == after:
                raise AssertionError("the key phase did not change")
            # A second update once the first one is confirmed (RFC 9001 §6.5).
            protocol._quic.request_key_update()
            protocol.transmit()
            await protocol.echo(1, 4096, args.timeout)
            say(f"EVENT client key phase after a second update: {one_rtt_key_phase(protocol._quic)}")
        elif args.mode == "cidchange":
            # Move to a connection ID the peer issued (NEW_CONNECTION_ID), retiring the old one
            # (RETIRE_CONNECTION_ID), between two echoes (RFC 9000 §5.1.1, §5.1.2).
            await protocol.echo(args.streams, args.bytes, args.timeout)
            before = protocol._quic.host_cid, protocol._quic._peer_cid.cid
            protocol._quic.change_connection_id()
            protocol.transmit()
            await protocol.echo(args.streams, args.bytes, args.timeout)
            after = protocol._quic._peer_cid.cid
            say(f"EVENT client peer CID {before[1].hex()} -> {after.hex()}")
            if before[1] == after:
                raise AssertionError("no other connection ID of the peer to move to")
        elif args.mode == "datagram":
            if protocol._quic._remote_max_datagram_frame_size is None:
                raise AssertionError("the peer did not send max_datagram_frame_size")
            await protocol.datagram_echo(args.streams)
        elif args.mode == "handshake":
            pass
        if ticket_store is not None:
            for _ in range(30):
                if ticket_store:
                    break
                await asyncio.sleep(0.1)
        if token_store is not None:
            for _ in range(30):
                if token_store:
                    break
                await asyncio.sleep(0.1)
        hs = protocol.handshake
        say(
            f"EVENT client handshake retries={getattr(protocol._quic, '_retry_count', '?')} "
            f"token_sent={len(config.token)} alpn={hs.alpn_protocol if hs else None} "
            f"version=0x{protocol._quic._version:08x} resumed={int(hs.session_resumed) if hs else '?'} "
            f"early_data={int(hs.early_data_accepted) if hs else '?'}"
        )
        protocol.close()
        await protocol.wait_closed()
        return protocol


async def run_client(args):
    config = make_configuration(args, is_client=True)
    if args.expect_error is not None:
        want = int(args.expect_error, 0)
        protocol_seen = []

        class Recording(EchoClientProtocol):
            def __init__(self, *a, **kw):
                super().__init__(*a, **kw)
                protocol_seen.append(self)

        try:
            async with connect(
                args.host, args.port, configuration=config, create_protocol=Recording
            ) as protocol:
                say("RESULT fail the handshake completed although it should fail")
                return 1
        except ConnectionError as error:
            close = close_error(protocol_seen[0]) if protocol_seen else None
            code = close.error_code if close is not None else None
            reason = close.reason_phrase if close is not None else str(error)
            ok = code == want
            say(
                f"RESULT {'ok' if ok else 'fail'} connection closed error="
                f"{hex(code) if code is not None else None} (want {hex(want)}) reason={reason!r}"
            )
            return 0 if ok else 1

    if args.mode == "resume":
        tickets = []
        tokens = [] if args.use_token else None
        await client_connection(args, config, ticket_store=tickets, token_store=tokens)
        if not tickets:
            say("RESULT fail no session ticket received")
            return 1
        ticket = tickets[-1]
        say(
            f"EVENT client ticket valid_until={ticket.not_valid_after} "
            f"max_early_data={ticket.max_early_data_size}"
        )
        config2 = make_configuration(args, is_client=True)
        config2.session_ticket = ticket
        if args.use_token:
            # RFC 9000 §8.1.3: the token of the first connection's NEW_TOKEN in the Initials.
            if not tokens:
                say("RESULT fail no NEW_TOKEN received")
                return 1
            say(f"EVENT client NEW_TOKEN received length={len(tokens[-1])}")
            config2.token = tokens[-1]
        early = ticket.max_early_data_size is not None
        protocol = await client_connection(args, config2, early=early)
        hs = protocol.handshake
        if hs is None or not hs.session_resumed:
            say("RESULT fail the second connection did not resume the session")
            return 1
        if args.want_early_data and not hs.early_data_accepted:
            say("RESULT fail 0-RTT was not accepted")
            return 1
        say(f"RESULT ok resumed (early_data_accepted={int(hs.early_data_accepted)})")
        return 0

    await client_connection(args, config)
    say(f"RESULT ok {args.mode} streams={args.streams} bytes={args.bytes}")
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["server", "client"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--server-name", default="localhost")
    parser.add_argument("--alpn", default="swiftquic-interop")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--ca")
    parser.add_argument("--insecure", action="store_true")
    parser.add_argument("--mode", default="echo", choices=["echo", "datagram", "keyupdate", "resume", "handshake", "cidchange"])
    parser.add_argument("--bytes", type=int, default=1024)
    parser.add_argument("--streams", type=int, default=1)
    parser.add_argument("--version", help="QUIC versions to offer/accept: 1, 2 or 1,2 (first = initial)")
    parser.add_argument("--original-version", help="client: the version of the first Initial (RFC 9368 §2.3), "
                        "--version then lists the compatible versions in preference order")
    parser.add_argument("--cipher", help="TLS cipher suites, e.g. CHACHA20_POLY1305_SHA256 (aioquic names)")
    parser.add_argument("--datagram", action="store_true", help="server: allow DATAGRAM frames")
    parser.add_argument("--key-update-after", type=int, help="server: request a key update after N bytes")
    parser.add_argument("--retry", action="store_true", help="server: send Retry")
    parser.add_argument("--expect-error", help="client: the connection must close with this error code")
    parser.add_argument("--want-early-data", action="store_true")
    parser.add_argument("--use-token", action="store_true",
                        help="client, resume mode: the second connection sends the first one's NEW_TOKEN token")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--idle-timeout", type=float, default=10.0, help="QuicConfiguration.idle_timeout, seconds")
    parser.add_argument("--keylog")
    parser.add_argument("--qlog")
    args = parser.parse_args()
    try:
        if args.role == "server":
            asyncio.run(run_server(args))
            return 0
        return asyncio.run(asyncio.wait_for(run_client(args), args.timeout + 10))
    except KeyboardInterrupt:
        return 0
    except (asyncio.TimeoutError, TimeoutError):
        say("RESULT fail timed out")
        return 1
    except Exception as error:  # the result line names what went wrong
        import traceback

        traceback.print_exc()
        say(f"RESULT fail {type(error).__name__}: {error}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
