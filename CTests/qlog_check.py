#!/usr/bin/env python3
"""qlog through the real runtime (CTest `qlog_files`).

Runs the `loopback` C test (a client and a server of one process over 127.0.0.1) twice:
  1. with QLOGDIR set to a fresh folder: a `<odcid>_client.sqlog` and `<odcid>_server.sqlog`
     appear for the successful connection; every record after an RS (0x1E) parses as JSON;
     the header is what qvis (quiclog/qvis, TextSequenceJSONToQlog + QlogLoaderV2) requires:
     qlog_version "0.3", qlog_format "JSON-SEQ", a trace with vantage_point and common_fields;
     events have a numeric time (non-decreasing), a "category:event" name and a data object,
     packets carry data.header.packet_type / packet_number and data.raw.length (qvis rewrites
     the older header.packet_size / data.packet_type forms with an alert); and the packet
     numbers the server received are among those the client sent (and the other way round).
  2. with QLOGDIR unset, from an empty working folder: no .sqlog file is written.
"""
import json
import os
import subprocess
import sys
import tempfile

RS = b"\x1e"


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def records(path):
    data = open(path, "rb").read()
    if not data.startswith(RS):
        fail(f"{path}: does not start with RS")
    out = []
    for i, chunk in enumerate(data.split(RS)[1:]):
        if not chunk.endswith(b"\n"):
            fail(f"{path}: record {i} not terminated by LF")
        try:
            out.append(json.loads(chunk.decode("utf-8")))
        except Exception as e:  # noqa: BLE001
            fail(f"{path}: record {i} is not JSON ({e}): {chunk[:200]!r}")
    return out


def check_trace(path, role):
    recs = records(path)
    header, events = recs[0], recs[1:]
    if header.get("qlog_version") != "0.3" or header.get("qlog_format") != "JSON-SEQ":
        fail(f"{path}: header {header}")
    trace = header.get("trace")
    if not isinstance(trace, dict):
        fail(f"{path}: no trace in header")
    if trace.get("vantage_point", {}).get("type") != role:
        fail(f"{path}: vantage_point {trace.get('vantage_point')}")
    common = trace.get("common_fields", {})
    odcid = os.path.basename(path).split("_")[0]
    if common.get("ODCID") != odcid or common.get("time_format") != "relative" \
            or not isinstance(common.get("reference_time"), int):
        fail(f"{path}: common_fields {common}")
    last = -1.0
    names = set()
    sent, received = set(), set()
    for e in events:
        t, name, data = e.get("time"), e.get("name"), e.get("data")
        if not isinstance(t, (int, float)) or t < last:
            fail(f"{path}: bad or decreasing time in {e}")
        last = t
        if not isinstance(name, str) or ":" not in name or not isinstance(data, dict):
            fail(f"{path}: malformed event {e}")
        names.add(name)
        if name in ("transport:packet_sent", "transport:packet_received"):
            h = data.get("header", {})
            if "packet_type" in data or "packet_size" in h:
                fail(f"{path}: pre-draft-02 packet fields {e}")
            if name.endswith("received") and h.get("packet_type") in ("retry", "version_negotiation"):
                continue  # no packet number, no frames
            if h.get("packet_type") not in ("initial", "handshake", "0RTT", "1RTT") \
                    or not isinstance(h.get("packet_number"), int) \
                    or not isinstance(data.get("raw", {}).get("length"), int) \
                    or not isinstance(data.get("frames"), list) or not data["frames"]:
                fail(f"{path}: packet event {e}")
            for f in data["frames"]:
                if "frame_type" not in f:
                    fail(f"{path}: frame without frame_type {f}")
            key = (h["packet_type"], h["packet_number"])
            (sent if name.endswith("sent") else received).add(key)
    # Every trace (even a client whose server never answered).
    required = ["connectivity:connection_started", "transport:parameters_set", "transport:packet_sent",
                "connectivity:connection_state_updated", "security:key_updated", "connectivity:connection_closed"]
    if complete(events):
        # A handshake that completed also saw ACKs (RTT samples), ALPN, version and key discards.
        required += ["transport:packet_received", "recovery:metrics_updated", "transport:alpn_information", "transport:version_information",
                     "security:key_discarded"]
    for n in required:
        if n not in names:
            fail(f"{path}: no {n} event")
    return sent, received


def complete(events):
    return any(e.get("name") == "connectivity:connection_state_updated"
               and e.get("data", {}).get("new") == "handshake_complete" for e in events)


def main():
    exe = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="qlog-ctest-") as tmp:
        qdir = os.path.join(tmp, "qlog")
        os.mkdir(qdir)
        run1 = os.path.join(tmp, "run1")
        os.mkdir(run1)
        env = dict(os.environ, QLOGDIR=qdir)
        r = subprocess.run([exe], cwd=run1, env=env, timeout=100)
        if r.returncode == 77:
            sys.exit(77)
        if r.returncode != 0:
            fail(f"loopback with QLOGDIR exited {r.returncode}")
        files = sorted(os.listdir(qdir))
        if not files or not all(f.endswith(".sqlog") for f in files):
            fail(f"unexpected files in QLOGDIR: {files}")
        pairs = 0
        completed = 0
        for f in files:
            if not f.endswith("_client.sqlog"):
                continue
            server = f.replace("_client.sqlog", "_server.sqlog")
            csent, crecv = check_trace(os.path.join(qdir, f), "client")
            if server not in files:
                continue  # a connection the server never accepted (ALPN failure, no listener)
            ssent, srecv = check_trace(os.path.join(qdir, server), "server")
            if complete(records(os.path.join(qdir, server))[1:]):
                completed += 1
            if not srecv or not srecv <= csent or not crecv <= ssent:
                fail(f"{f}: packet numbers received by one side were not sent by the other "
                     f"({sorted(srecv - csent)[:5]} / {sorted(crecv - ssent)[:5]})")
            pairs += 1
        for f in files:
            if f.endswith("_server.sqlog"):
                check_trace(os.path.join(qdir, f), "server")
        if completed < 1:
            fail(f"no client/server pair of traces of a completed handshake: {files}")
        print(f"QLOGDIR set: {len(files)} files, {pairs} client/server pairs checked ({completed} completed)")

        run2 = os.path.join(tmp, "run2")
        os.mkdir(run2)
        env = {k: v for k, v in os.environ.items() if k != "QLOGDIR"}
        before = set(os.listdir(qdir))
        r = subprocess.run([exe], cwd=run2, env=env, timeout=100)
        if r.returncode != 0:
            fail(f"loopback without QLOGDIR exited {r.returncode}")
        written = [os.path.join(d, f) for d, _, fs in os.walk(tmp) for f in fs if f.endswith(".sqlog")
                   and not (d == qdir and f in before)]
        if written:
            fail(f"QLOGDIR unset but qlog files were written: {written}")
        print("QLOGDIR unset: nothing written")
    print("PASS")


if __name__ == "__main__":
    main()
