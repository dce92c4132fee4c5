#!/usr/bin/env python3
"""run_interop.py - run one interop case (or all) between swiftquic (interop/msquic_peer.c,
through the MsQuic API) and a QUIC stack nobody here wrote (aioquic; ngtcp2 for handshakes).

  run_interop.py --peer BUILD/msquic_peer [--certs DIR] [--artifacts DIR] CASE...
  run_interop.py --list                      the case names, one a line (CTest registers these)

For each case the server starts on 127.0.0.1 with port 0 and prints "LISTENING <port>"; the
client runs with a bounded time; the server is always stopped (SIGTERM, then SIGKILL).
A case passes when the client prints "RESULT ok" and exits 0 and every check on the server's
output holds. Exit codes: 0 all passed, 1 a case failed, 77 (CTest's SKIP_RETURN_CODE) when a
case cannot run here: aioquic does not import, an ngtcp2 binary is missing, or libswiftquic
answers QUIC_STATUS_NOT_SUPPORTED for ListenerOpen/ConnectionOpen (msquic_peer exits 77).

Artifacts per case (under --artifacts, default ./interop-artifacts/CASE): server.log,
client.log, keylog.txt (SSLKEYLOGFILE written by aioquic: Wireshark decrypts a capture with it)
and qlog/ (aioquic's qlog of every connection).
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
AIOQUIC = [sys.executable, os.path.join(HERE, "aioquic_peer.py")]
SKIP = 77
CLIENT_TIMEOUT = 60
KB, MB = 1024, 1000 * 1000


def case(name, server, client, server_expect=(), client_expect=(), needs="aioquic", note=""):
    return dict(name=name, server=server, client=client, server_expect=list(server_expect),
                client_expect=list(client_expect), needs=needs, note=note)


def build_cases():
    """Each case: (server side, client side); "ours" = msquic_peer, "aio" = aioquic_peer.py.
    Arguments are templates: {certs} is the certificate directory, {port} the server's port."""
    good = ["--cert", "{certs}/server.crt", "--key", "{certs}/server.key"]
    selfsigned = ["--cert", "{certs}/ecdsa-p256.crt", "--key", "{certs}/ecdsa-p256.key"]
    ca = ["--ca", "{certs}/ca.crt"]
    cases = []

    # --- our client -> aioquic server ------------------------------------------------------
    def ours_to_aio(name, server_args, client_args, **kw):
        cases.append(case("interop_msquic_to_aioquic_" + name,
                          ("aio", ["server", "--port", "0"] + server_args),
                          ("ours", ["client", "--port", "{port}"] + client_args), **kw))

    for v in ("1", "2"):
        ours_to_aio(f"v{v}_1k", good + ["--version", "1,2"], ca + ["--version", v, "--bytes", str(KB)],
                    server_expect=[rf"handshake .*version=0x{'00000001' if v == '1' else '6b3343cf'}"])
        ours_to_aio(f"v{v}_1m", good + ["--version", "1,2"], ca + ["--version", v, "--bytes", str(MB)])
    # The 1 MB echo with BBR on our side (QUIC_SETTINGS.CongestionControlAlgorithm = BBR).
    ours_to_aio("bbr_1m", good + ["--version", "1,2"], ca + ["--version", "1", "--bytes", str(MB), "--cc", "bbr"],
                client_expect=[r"client connected .*cc=1", r"client stats .*cc=1"])
    # HyStart++ (RFC 9406, QUIC_SETTINGS.HyStartEnabled) on our sending side.
    ours_to_aio("hystart_1m", good, ca + ["--hystart", "--bytes", str(MB)])
    # Version Negotiation (RFC 9000 §6): the server speaks only v1.
    ours_to_aio("version_negotiation", good + ["--version", "1"], ca + ["--version", "2,1", "--bytes", str(KB)],
                server_expect=[r"handshake .*version=0x00000001"],
                note="we start with v2, the server answers Version Negotiation, we go on in v1")
    # Compatible version negotiation (RFC 9368) on: aioquic's server keeps the client's first
    # version when it is the first the client lists (ours always lists its chosen version
    # first, as MsQuic does); the handshake runs with version_information both ways.
    ours_to_aio("compatible_vn", good + ["--version", "2,1"], ca + ["--version", "1,2", "--vne", "--bytes", str(KB)],
                server_expect=[r"handshake .*version=0x00000001"],
                note="version_information exchanged and checked (RFC 9368 §4); aioquic does not upgrade")
    ours_to_aio("version_negotiation_failure", good + ["--version", "1"],
                ca + ["--version", "2", "--expect-fail", "version"])
    ours_to_aio("streams", good, ca + ["--streams", "8", "--bytes", str(64 * KB)])
    ours_to_aio("datagram", good + ["--datagram"], ca + ["--mode", "datagram", "--streams", "5"])
    ours_to_aio("alpn_mismatch", good, ca + ["--alpn", "not-swiftquic", "--expect-fail", "alpn"],
                server_expect=[r"error=0x178"])
    ours_to_aio("untrusted_cert", selfsigned, ca + ["--expect-fail", "cert"],
                server_expect=[r"(terminated|closed) error=0x1(2a|30)"],
                note="the server must see our bad_certificate/unknown_ca alert (0x12a/0x130)")
    ours_to_aio("key_update_by_peer", good + ["--key-update-after", "100000"], ca + ["--bytes", str(MB)],
                server_expect=[r"requested a key update"], client_expect=[r"keyupdates=[1-9]"])
    ours_to_aio("key_update_by_us", good, ca + ["--bytes", str(MB), "--max-bytes-per-key", "65536"],
                client_expect=[r"keyupdates=[1-9]"])
    ours_to_aio("resume", good, ca + ["--mode", "resume", "--bytes", str(KB)],
                server_expect=[r"resumed=1"], client_expect=[r"connected .*resumed=1"])
    ours_to_aio("zero_rtt", good, ca + ["--mode", "resume", "--zero-rtt", "--bytes", str(KB)],
                server_expect=[r"resumed=1 early_data=1"], client_expect=[r"0-RTT bytes accepted=[1-9]"])
    ours_to_aio("retry", good + ["--retry"], ca + ["--bytes", str(KB)])
    for suite, short in (("CHACHA20_POLY1305_SHA256", "chacha20"), ("AES_256_GCM_SHA384", "aes256")):
        ours_to_aio(short, good + ["--cipher", suite], ca + ["--bytes", str(256 * KB)])

    # --- aioquic client -> our server ------------------------------------------------------
    def aio_to_ours(name, server_args, client_args, **kw):
        cases.append(case("interop_aioquic_to_msquic_" + name,
                          ("ours", ["server", "--port", "0"] + server_args),
                          ("aio", ["client", "--port", "{port}"] + client_args), **kw))

    for v in ("1", "2"):
        hexv = "00000001" if v == "1" else "6b3343cf"
        aio_to_ours(f"v{v}_1k", good, ca + ["--version", v, "--bytes", str(KB)],
                    client_expect=[rf"version=0x{hexv}"], server_expect=[rf"connected .*version=0x{hexv}"])
        aio_to_ours(f"v{v}_1m", good, ca + ["--version", v, "--bytes", str(MB)])
    aio_to_ours("bbr_1m", good + ["--cc", "bbr"], ca + ["--version", "1", "--bytes", str(MB)],
                server_expect=[r"server connected .*cc=1"])
    aio_to_ours("hystart_1m", good + ["--hystart"], ca + ["--bytes", str(MB)])
    # Our server accepts only v1 (QUIC_PARAM_GLOBAL_VERSION_SETTINGS): aioquic starts in v2,
    # gets Version Negotiation (RFC 9000 §6.1) and goes on in v1.
    aio_to_ours("version_negotiation", good + ["--version", "1"], ca + ["--version", "2,1", "--bytes", str(KB)],
                client_expect=[r"version=0x00000001"], server_expect=[r"connected .*version=0x00000001"])
    # Compatible version negotiation (RFC 9368 §2.3): aioquic starts in v1 listing v2 first;
    # our server (v2 preferred, extension on) answers in v2 without a Version Negotiation.
    aio_to_ours("compatible_upgrade_v2", good + ["--version", "2,1", "--vne"],
                ca + ["--original-version", "1", "--version", "2,1", "--bytes", str(KB)],
                client_expect=[r"version=0x6b3343cf"], server_expect=[r"connected .*version=0x6b3343cf"])
    # ... and the other way: aioquic starts in v2, our server prefers v1.
    aio_to_ours("compatible_upgrade_v1", good + ["--version", "1,2", "--vne"],
                ca + ["--original-version", "2", "--version", "1,2", "--bytes", str(KB)],
                client_expect=[r"version=0x00000001"], server_expect=[r"connected .*version=0x00000001"])
    aio_to_ours("streams", good, ca + ["--streams", "8", "--bytes", str(64 * KB)])
    aio_to_ours("datagram", good, ca + ["--mode", "datagram", "--streams", "5"])
    aio_to_ours("alpn_mismatch", good, ca + ["--alpn", "not-swiftquic", "--expect-error", "0x178"])
    aio_to_ours("untrusted_cert", selfsigned, ca + ["--expect-error", "0x12a"],
                server_expect=[r"error=0x12a"],
                note="aioquic rejects the self-signed certificate with bad_certificate (0x12a)")
    aio_to_ours("key_update_by_peer", good, ca + ["--mode", "keyupdate", "--bytes", str(100 * KB)],
                server_expect=[r"keyupdates=[1-9]"])
    aio_to_ours("key_update_by_us", good + ["--max-bytes-per-key", "65536"], ca + ["--bytes", str(MB)],
                server_expect=[r"keyupdates=[1-9]"])
    for suite, short in (("CHACHA20_POLY1305_SHA256", "chacha20"), ("AES_256_GCM_SHA384", "aes256")):
        aio_to_ours(short, good, ca + ["--cipher", suite, "--bytes", str(256 * KB)])
    aio_to_ours("cid_change", good, ca + ["--mode", "cidchange", "--bytes", str(64 * KB)])
    aio_to_ours("resume", good, ca + ["--mode", "resume", "--bytes", str(KB)],
                server_expect=[r"connected .*resumed=1"])
    aio_to_ours("zero_rtt", good, ca + ["--mode", "resume", "--want-early-data", "--bytes", str(KB)],
                server_expect=[r"connected .*resumed=1"])

    # NEW_TOKEN (RFC 9000 §8.1.3): our server requires address validation (RETRY_MEMORY_PERCENT
    # 0: a Retry for every client without a validated address); the first connection gets a
    # Retry and a NEW_TOKEN, the second sends that token in its Initials and gets no Retry.
    aio_to_ours("new_token", good + ["--retry-memory-percent", "0"],
                ca + ["--mode", "resume", "--use-token", "--bytes", str(KB)],
                client_expect=[r"handshake retries=1 token_sent=0 ", r"NEW_TOKEN received length=[1-9]",
                               r"handshake retries=0 token_sent=[1-9]"])
    # The same with our own client (QUIC_STATISTICS_V2.StatelessRetry per connection).
    cases.append(case("interop_msquic_to_msquic_new_token",
                      ("ours", ["server", "--port", "0", "--retry-memory-percent", "0"] + good),
                      ("ours", ["client", "--port", "{port}", "--mode", "resume", "--bytes", str(KB)] + ca),
                      needs="", client_expect=[r"client stats .*retry=1(?s:.*)client stats .*retry=0"],
                      note="the second connection's NEW_TOKEN token replaces the Retry"))
    # --- our client -> our server ----------------------------------------------------------
    # Compatible version negotiation (RFC 9368 §2.3) with both ends ours: the client starts in
    # v1 and lists v2; the server prefers v2 and upgrades the connection (and the reverse).
    for start, prefer, hexv in (("1,2", "2,1", "6b3343cf"), ("2,1", "1,2", "00000001")):
        cases.append(case(f"interop_msquic_to_msquic_compatible_upgrade_{'v2' if hexv == '6b3343cf' else 'v1'}",
                          ("ours", ["server", "--port", "0", "--version", prefer, "--vne"] + good),
                          ("ours", ["client", "--port", "{port}", "--version", start, "--vne",
                                    "--bytes", str(64 * KB)] + ca),
                          needs="",
                          client_expect=[rf"stats version=0x{hexv}"],
                          server_expect=[rf"connected .*version=0x{hexv}"]))
    # Without the extension on the client nothing changes: no version_information, no upgrade.
    cases.append(case("interop_msquic_to_msquic_no_upgrade_without_vne",
                      ("ours", ["server", "--port", "0", "--version", "2,1", "--vne"] + good),
                      ("ours", ["client", "--port", "{port}", "--version", "1,2", "--bytes", str(KB)] + ca),
                      needs="", client_expect=[r"stats version=0x00000001"],
                      server_expect=[r"connected .*version=0x00000001"]))

    # --- ngtcp2 (HTTP/3 only): the handshake completes with ALPN h3 ------------------------
    cases.append(case("interop_msquic_to_ngtcp2_handshake",
                      ("ngtcp2-server", []),
                      ("ours", ["client", "--port", "{port}", "--alpn", "h3", "--mode", "handshake"] + ca),
                      needs="ngtcp2-server"))
    # gnutls serving P-256 only while our client's one key share is X25519: the server must
    # answer with a HelloRetryRequest (RFC 8446 §4.1.4) and the second ClientHello succeed.
    cases.append(case("interop_msquic_to_ngtcp2_hello_retry",
                      ("ngtcp2-server", ["--groups=-GROUP-ALL:+GROUP-SECP256R1"]),
                      ("ours", ["client", "--port", "{port}", "--alpn", "h3", "--mode", "handshake"] + ca),
                      needs="ngtcp2-server",
                      # ngtcp2's log: a second ClientHello follows the HelloRetryRequest in Initial CRYPTO.
                      server_expect=[r"frm rx \d+ Initial CRYPTO\(0x06\) offset=[1-9]"],
                      note="gnutls accepts only secp256r1; our first ClientHello shares X25519 only"))
    cases.append(case("interop_ngtcp2_to_msquic_handshake",
                      ("ours", ["server", "--port", "0", "--alpn", "h3"] + good),
                      ("ngtcp2-client", []), needs="ngtcp2-client",
                      server_expect=[r"connected alpn=h3"],
                      client_expect=[r"QUIC handshake has completed", r"Negotiated ALPN is h3"]))
    # Our server with the version negotiation extension on and v2 preferred: ngtcp2 still connects.
    cases.append(case("interop_ngtcp2_to_msquic_vne",
                      ("ours", ["server", "--port", "0", "--alpn", "h3", "--version", "2,1", "--vne"] + good),
                      ("ngtcp2-client", []), needs="ngtcp2-client",
                      server_expect=[r"connected alpn=h3"],
                      client_expect=[r"QUIC handshake has completed"]))
    # gnutls shares secp521r1 and ffdhe2048 (neither ours) and also lists secp256r1: our server
    # must ask for secp256r1 with a HelloRetryRequest (RFC 8446 §4.1.4).
    cases.append(case("interop_ngtcp2_to_msquic_hello_retry",
                      ("ours", ["server", "--port", "0", "--alpn", "h3"] + good),
                      ("ngtcp2-client", ["--groups=-GROUP-ALL:+GROUP-SECP521R1:+GROUP-FFDHE2048:+GROUP-SECP256R1"]),
                      needs="ngtcp2-client",
                      server_expect=[r"connected alpn=h3"],
                      client_expect=[r"frm tx \d+ Initial CRYPTO\(0x06\) offset=[1-9]",
                                     r"QUIC handshake has completed"]))
    return cases


CASES = build_cases()


# ---- ngtcp2 ---------------------------------------------------------------------------

def ngtcp2_binary(kind):
    """ngtcp2's example programs from Debian (ngtcp2-client/ngtcp2-server): the TLS backend
    is part of the name (gtlsclient, wsslclient, osslclient...)."""
    for prefix in ("gtls", "wssl", "ossl", "bssl", "ptls", "qtls"):
        path = shutil.which(prefix + kind)
        if path:
            return path
    return None


def free_port():
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- running one case -----------------------------------------------------------------

def command(side, args, peer, certs, port, artifacts):
    kind, extra = side
    fill = lambda a: [x.format(certs=certs, port=port) for x in a]
    if kind == "ours":
        return [peer] + fill(extra)
    if kind == "aio":
        cmd = AIOQUIC + fill(extra)
        cmd += ["--keylog", os.path.join(artifacts, "keylog.txt"), "--qlog", os.path.join(artifacts, "qlog")]
        return cmd
    if kind == "ngtcp2-server":
        # gtlsserver [options] ADDR PORT KEY CERT; it prints nothing we can read the port from,
        # so the port is chosen here.
        return [ngtcp2_binary("server")] + fill(extra) + [
            "--qlog-dir=" + os.path.join(artifacts, "qlog"), "127.0.0.1", str(port),
            os.path.join(certs, "server.key"), os.path.join(certs, "server.crt")]
    if kind == "ngtcp2-client":
        # gtlsclient does not verify the server's certificate.
        return [ngtcp2_binary("client")] + fill(extra) + [
            "--exit-on-first-stream-close", "--timeout=5s", "--qlog-dir=" + os.path.join(artifacts, "qlog"),
            "127.0.0.1", str(port), f"https://localhost:{port}/"]
    raise ValueError(kind)


def aioquic_available():
    return subprocess.run([sys.executable, "-c", "import aioquic"], capture_output=True).returncode == 0


def stop(process):
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def run_case(c, peer, certs, artifacts_root):
    name = c["name"]
    artifacts = os.path.join(artifacts_root, name)
    shutil.rmtree(artifacts, ignore_errors=True)
    os.makedirs(os.path.join(artifacts, "qlog"), exist_ok=True)
    print(f"=== {name}" + (f"  ({c['note']})" if c["note"] else ""), flush=True)

    uses = {c["server"][0], c["client"][0]}
    if "aio" in uses and not aioquic_available():
        print("SKIP aioquic cannot be imported (pip install aioquic)")
        return SKIP
    for kind in ("ngtcp2-server", "ngtcp2-client"):
        if kind in uses and ngtcp2_binary(kind.split("-")[1]) is None:
            print(f"SKIP no ngtcp2 {kind.split('-')[1]} binary (apt-get install {kind})")
            return SKIP

    server_log_path = os.path.join(artifacts, "server.log")
    client_log_path = os.path.join(artifacts, "client.log")
    port = free_port() if c["server"][0].startswith("ngtcp2") else 0
    server_cmd = command(c["server"], None, peer, certs, port, artifacts)
    print("server:", " ".join(server_cmd), flush=True)
    with open(server_log_path, "w") as server_log:
        server = subprocess.Popen(server_cmd, stdout=server_log, stderr=subprocess.STDOUT,
                                  start_new_session=True, cwd=artifacts)
    result = 1
    try:
        # The server's port: the "LISTENING <port>" line (ngtcp2: the port we gave it).
        deadline = time.monotonic() + 20
        while port == 0 and time.monotonic() < deadline:
            m = re.search(r"^LISTENING (\d+)", open(server_log_path).read(), re.M)
            if m:
                port = int(m.group(1))
                break
            if server.poll() is not None:
                break
            time.sleep(0.05)
        if c["server"][0].startswith("ngtcp2"):
            time.sleep(0.5)
        if server.poll() is not None:
            out = open(server_log_path).read()
            print(out)
            if server.returncode == SKIP:
                print("SKIP the server could not start:", out.strip().splitlines()[-1] if out.strip() else "")
                return SKIP
            print(f"FAIL the server exited with {server.returncode} before accepting connections")
            return 1
        if port == 0:
            print("FAIL the server printed no LISTENING line within 20 s")
            return 1

        client_cmd = command(c["client"], None, peer, certs, port, artifacts)
        print("client:", " ".join(client_cmd), flush=True)
        try:
            client = subprocess.run(client_cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    timeout=CLIENT_TIMEOUT, cwd=artifacts)
            client_out = client.stdout.decode(errors="replace")
            client_rc = client.returncode
        except subprocess.TimeoutExpired as e:
            client_out = (e.stdout or b"").decode(errors="replace") + f"\n(client killed after {CLIENT_TIMEOUT} s)\n"
            client_rc = None
        open(client_log_path, "w").write(client_out)
        # Let the server print its last events (aioquic reports a close after draining, 3 PTOs).
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            out = open(server_log_path).read()
            # aioquic writes a connection's qlog when it ends (after draining): wait for that.
            drained = (c["server"][0] != "aio"
                       or out.count("EVENT server terminated") >= out.count("EVENT server handshake"))
            if drained and all(re.search(p, out, re.M) for p in c["server_expect"]):
                break
            time.sleep(0.1)
        time.sleep(0.2)
    finally:
        stop(server)
    server_out = open(server_log_path).read()
    print("--- client output\n" + client_out.rstrip())
    print("--- server output\n" + server_out.rstrip())

    if client_rc == SKIP:
        print("SKIP the client could not run (the library answers NOT_SUPPORTED)")
        return SKIP
    failures = []
    ngtcp2_client = c["client"][0] == "ngtcp2-client"
    if client_rc != 0 and not ngtcp2_client:   # it fails on our echo instead of an HTTP/3 reply
        failures.append(f"the client exited with {client_rc}")
    if not ngtcp2_client and not re.search(r"^RESULT ok", client_out, re.M):
        failures.append("the client printed no 'RESULT ok'")
    for pattern in c["client_expect"]:
        if not re.search(pattern, client_out, re.M):
            failures.append(f"client output lacks /{pattern}/")
    for pattern in c["server_expect"]:
        if not re.search(pattern, server_out, re.M):
            failures.append(f"server output lacks /{pattern}/")
    if failures:
        for f in failures:
            print("FAIL", f)
        print(f"artifacts: {artifacts}")
        return 1
    print(f"PASS {name}")
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--peer", help="the built msquic_peer program")
    parser.add_argument("--certs", default=os.environ.get("SWIFTQUIC_TEST_CERTS"))
    parser.add_argument("--artifacts", default="interop-artifacts")
    parser.add_argument("cases", nargs="*")
    args = parser.parse_args()
    if args.list:
        for c in CASES:
            print(c["name"])
        return 0
    if not args.peer:
        parser.error("--peer is required")
    selected = [c for c in CASES if not args.cases or c["name"] in args.cases
                or any(re.search(p, c["name"]) for p in args.cases)]
    if not selected:
        parser.error("no such case")
    certs = os.path.abspath(args.certs) if args.certs else None
    if not certs or not os.path.exists(os.path.join(certs, "server.crt")):
        certs = tempfile.mkdtemp(prefix="swiftquic-interop-certs-")
        subprocess.run(["bash", os.path.join(HERE, "..", "CTests", "gen-certs.sh"), certs],
                       check=True, stdout=subprocess.DEVNULL)
    peer = os.path.abspath(args.peer)
    artifacts = os.path.abspath(args.artifacts)
    results = {c["name"]: run_case(c, peer, certs, artifacts) for c in selected}
    if len(results) > 1:
        print("\n=== summary")
        for name, rc in results.items():
            print(f"{ {0: 'PASS', SKIP: 'SKIP'}.get(rc, 'FAIL')} {name}")
    if any(rc not in (0, SKIP) for rc in results.values()):
        return 1
    if all(rc == SKIP for rc in results.values()):
        return SKIP
    return 0


if __name__ == "__main__":
    sys.exit(main())
