#!/usr/bin/env python3
"""Writes clienthello.hex: the CRYPTO payload (a TLS 1.3 ClientHello, ALPN "flood", SNI
localhost) and the Source Connection ID of an aioquic client's first Initial. flood.c wraps
that ClientHello into fresh Initial packets, each with a random Destination Connection ID.
Run once; the output is committed (aioquic is only needed to regenerate it)."""
import sys
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection
from aioquic.quic.crypto import CryptoPair
from aioquic.quic.packet import pull_quic_header
from aioquic.buffer import Buffer

cfg = QuicConfiguration(is_client=True, alpn_protocols=["flood"], server_name="localhost")
conn = QuicConnection(configuration=cfg)
conn.connect(("127.0.0.1", 4433), now=0.0)
datagram = conn.datagrams_to_send(now=0.0)[0][0]
buf = Buffer(data=datagram)
header = pull_quic_header(buf, host_cid_length=8)
pair = CryptoPair()
pair.setup_initial(cid=header.destination_cid, is_client=False, version=header.version)
end = header.packet_length  # the first packet of the datagram
plain_header, payload, pn = pair.decrypt_packet(datagram[:end], buf.tell(), 0)
p = Buffer(data=payload)
chunks = {}
while not p.eof():
    t = p.pull_uint_var()
    if t == 0x00:
        continue
    if t == 0x06:
        off = p.pull_uint_var(); ln = p.pull_uint_var()
        chunks[off] = p.pull_bytes(ln)
    elif t == 0x01:
        continue
    else:
        sys.exit(f"unexpected frame {t:#x}")
ch = b"".join(chunks[k] for k in sorted(chunks))
with open(sys.argv[1] if len(sys.argv) > 1 else "clienthello.hex", "w") as f:
    f.write(header.source_cid.hex() + "\n" + ch.hex() + "\n")
print(f"ClientHello {len(ch)} bytes, SCID {header.source_cid.hex()}")
