// The connection-level fuzz target's driver (issue 10): one input is a whole adversarial
// session against one QuicCore connection, the "victim", through its `Endpoint`. The same
// code runs in the libFuzzer binary (Fuzz/FuzzConnection.swift, built by
// `scripts/fuzz.sh connection`) and in `ConnectionFuzzReplayTests`, which replays the committed
// seeds and crash reproducers, so a finding stays a deterministic test once it is fixed.
//
// The harness plays the victim's peer with a second, real QuicCore endpoint, so the handshake
// is a real TLS 1.3 handshake through QuicTLS (test certificate below) and the harness knows
// every key the peer has. What the peer announces and sends is the fuzzer's:
//
// What one input means (bytes, in order; a truncated input just ends early):
//   byte 0, flags:
//     bit 0   victim role: 0 = server (the harness is the client), 1 = client
//     bit 1   victim accepts DATAGRAM frames (RFC 9221)
//     bit 2   the peer announces only the connection ID parameters (RFC 9000 §7.3) plus the
//             fuzzer's pairs; otherwise its full configured set, in which a fuzzer pair
//             replaces the parameter with the same ID
//     bit 3   fuzzer pairs are appended even when the ID is already present (duplicates,
//             RFC 9000 §7.4: TRANSPORT_PARAMETER_ERROR)
//     bit 4   victim keep-alive every 1 s
//     bit 5   victim initiates a key update every 16 packets (RFC 9001 §6)
//     bit 6   the client starts in QUIC v2 (RFC 9369) instead of v1
//     bit 7   victim handshake idle timeout off (else 10 s)
//   byte 1: bits 0-4: number of transport parameter pairs n; bit 5: the server endpoint (victim
//     or peer) requires a Retry (RFC 9000 §8.1.2); bit 6: the victim sends datagrams up to 1452
//     bytes (else 1200); bit 7: the victim offers only TLS_CHACHA20_POLY1305_SHA256
//   n × (varint id, varint value): QUIC varints (RFC 9000 §16). Each becomes the transport
//     parameter `id` whose value is the varint `value` (length computed by the harness), in the
//     peer's ClientHello (victim server) or EncryptedExtensions (victim client). So
//     max_idle_timeout = 2^61 is `01 e0 00 00 00 00 00 00 00`.
//   then operations until the input ends, one opcode byte each (op % 8) with operands:
//     0 DELIVER   deliver every queued datagram, both directions, until quiet (bounded)
//     1 ADVANCE   varint µs: the virtual clock moves forward (each step at most 2^40 µs, the
//                 clock never beyond 2^50 µs: a monotonic clock of a real host), timers fire
//     2 FRAMES    byte level (% 3: Initial, Handshake, 1-RTT), 2 bytes big-endian length
//                 (% 1101), that many bytes of raw frames: sent by the peer in one packet of
//                 that level, protected with the peer's keys and numbered in the peer's packet
//                 number space (skipped when the peer has no keys for that level). A client
//                 peer's Initial is padded to 1200 bytes (RFC 9000 §14.1).
//     3 APP       byte action: bit 7 = act on the peer instead of the victim; action % 8:
//                 0 open a bidi stream and send (action >> 3 & 15) * 100 + 1 bytes,
//                 1 the same on a uni stream with FIN, 2 send a DATAGRAM, 3 PING,
//                 4 application close, 5 key update, 6 reset the last stream, 7 STOP_SENDING
//     4 TIMEOUT   the clock jumps to the earliest timer of either side (same bounds), timers fire
//     5 DROP      byte: drop the oldest queued datagram (bit 0: towards the victim or the peer)
//     6 STEP      byte: deliver only the oldest queued datagram (bit 0: direction)
//     7 REORDER   byte: move the newest queued datagram to the front (bit 0: direction)
//   After the last operation the harness delivers everything and follows the timers (at most
//   64 jumps) so idle timeouts, PTOs and closing periods run to their end.
// The harness checks what a real event loop needs besides "no trap": a connection whose
// timer stays due after `handleTimeout` (a busy loop) and a connection that keeps producing
// datagrams without bound are findings too.

@testable import QuicCore
import QuicCrypto
import QuicTLS
import QuicWire
#if canImport(Glibc)
import Glibc
#endif

enum ConnectionFuzz {
    /// The test certificate (P-256, CN=localhost, 100 years), loaded once per process.
    static let credential: TLSCredential = {
        let cert = """
        -----BEGIN CERTIFICATE-----
        MIIBlTCCATugAwIBAgIUBCI6SvbQnzFLjtotU7UPoce4vekwCgYIKoZIzj0EAwIw
        FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTIwMzE3MzkzNFoYDzIxMjYxMTA5
        MTczOTM0WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
        PQMBBwNCAATzXKrX/qDp39LgFI1b9srs4XzO/bnYdAVrjv9tNMQaS3fxbn3KKggf
        nDF6G3lgnxMHLf8BCX0LUvtGFmWvx1Q5o2kwZzAdBgNVHQ4EFgQUlLEBPirU+YWs
        eem9nl0nWMsbBncwHwYDVR0jBBgwFoAUlLEBPirU+YWseem9nl0nWMsbBncwDwYD
        VR0TAQH/BAUwAwEB/zAUBgNVHREEDTALgglsb2NhbGhvc3QwCgYIKoZIzj0EAwID
        SAAwRQIhAKsYXZTXU/m74TeTomwvgaZfljjaIL8ULg0ntwKsTQyuAiBjsSwjke4v
        tmfUJpdZJjJqvM23TPHYGD7mzquqq08HRQ==
        -----END CERTIFICATE-----

        """
        let key = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgXCGLbrlF1ZJROhE0
        kEr3Hy+ws4a+2upCBWSHYWOr7xihRANCAATzXKrX/qDp39LgFI1b9srs4XzO/bnY
        dAVrjv9tNMQaS3fxbn3KKggfnDF6G3lgnxMHLf8BCX0LUvtGFmWvx1Q5
        -----END PRIVATE KEY-----

        """
        // TLSCredential loads PEM files; write them to private temporary files once.
        func temp(_ text: String) -> String {
            var template = Array("/tmp/swiftquic-fuzz-XXXXXX".utf8CString)
            let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            precondition(fd >= 0, "mkstemp failed")
            let bytes = Array(text.utf8)
            precondition(bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == bytes.count)
            close(fd)
            return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        }
        let certPath = temp(cert), keyPath = temp(key)
        defer { unlink(certPath); unlink(keyPath) }
        return try! TLSCredential.loadPEM(certificateFile: certPath, privateKeyFile: keyPath, password: nil)
    }()

    static let alpn: [[UInt8]] = [Array("fuzz".utf8)]

    /// When set, the victim's role whatever flag bit 0 says (the fuzzer binary sets it from
    /// FUZZ_ROLE=server|client, to spend a run on one role).
    nonisolated(unsafe) static var forcedVictimRole: EndpointRole?

    /// What the victim reported, for the replay tests.
    struct Outcome {
        var handshakeCompleted = false
        var closeReason: ConnectionCloseReason?
        var closed = false
    }

    /// Runs one input (see the top of this file). Returns normally unless a check fails
    /// (a trap, by design: that is what the fuzzer looks for).
    @discardableResult
    static func run(_ input: UnsafeRawBufferPointer) -> Outcome {
        var session = Session(input)
        session.start()
        session.runOperations()
        session.finish()
        let outcome = session.outcome
        session.teardown()
        return outcome
    }

    @discardableResult
    static func run(_ input: [UInt8]) -> Outcome {
        input.withUnsafeBytes { run($0) }
    }
}

/// Reads the input front to back.
struct FuzzInput {
    let bytes: UnsafeRawBufferPointer
    var position = 0
    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }
    var isAtEnd: Bool { position >= bytes.count }
    mutating func byte() -> UInt8? {
        guard position < bytes.count else { return nil }
        defer { position += 1 }
        return bytes[position]
    }
    /// A QUIC varint (RFC 9000 §16).
    mutating func varint() -> UInt64? {
        var r = WireReader(bytes, start: position)
        guard let v = r.readVarInt() else { position = bytes.count; return nil }
        position = r.position
        return v
    }
    mutating func take(_ n: Int) -> [UInt8] {
        let k = min(n, bytes.count - position)
        defer { position += k }
        return Array(bytes[position..<position + k])
    }
}

struct Session {
    var input: FuzzInput
    let flags: UInt8
    let victimIsServer: Bool
    /// Byte 1's knobs (bits 5-7).
    let knobs: UInt8
    var pairs: [(id: UInt64, value: UInt64)] = []
    let clientEndpoint: Endpoint
    let serverEndpoint: Endpoint
    let clientAddress = SocketAddress(ipv4: 10, 0, 0, 1, port: 5000)
    let serverAddress = SocketAddress(ipv4: 10, 0, 0, 2, port: 4433)
    /// Queued datagrams towards the victim and towards the peer.
    var toVictim: [[UInt8]] = []
    var toPeer: [[UInt8]] = []
    /// Every connection either side created (the endpoints forget closed ones).
    var connections: [Connection] = []
    var streams: [ObjectIdentifier: [StreamID]] = [:]
    var outcome = ConnectionFuzz.Outcome()
    /// Virtual clock.
    var now = QuicInstant(microseconds: 1_000_000)
    static let maxStep: UInt64 = 1 << 40
    static let maxClock: UInt64 = 1 << 50

    var victimEndpoint: Endpoint { victimIsServer ? serverEndpoint : clientEndpoint }
    var peerEndpoint: Endpoint { victimIsServer ? clientEndpoint : serverEndpoint }

    init(_ bytes: UnsafeRawBufferPointer) {
        input = FuzzInput(bytes)
        var f = input.byte() ?? 0
        switch ConnectionFuzz.forcedVictimRole {
        case .server?: f &= ~1
        case .client?: f |= 1
        case nil: break
        }
        flags = f
        victimIsServer = flags & 1 == 0
        let byte1 = input.byte() ?? 0
        knobs = byte1 & 0xe0
        let count = Int(byte1 % 32)
        for _ in 0..<count {
            guard let id = input.varint(), let value = input.varint() else { break }
            pairs.append((id, value))
        }
        var serverConfig = Session.connectionConfiguration(role: .server, flags: flags, knobs: knobs, victim: victimIsServer)
        if !victimIsServer { serverConfig.transportParametersEncoder = Session.encoder(flags: flags, pairs: pairs) }
        var serverEndpointConfig = EndpointConfiguration(server: serverConfig)
        serverEndpointConfig.statelessResetKey = Array(repeating: 7, count: 32)
        serverEndpointConfig.requireRetry = knobs & 0x20 != 0
        serverEndpoint = Endpoint(configuration: serverEndpointConfig)
        clientEndpoint = Endpoint(configuration: EndpointConfiguration())
    }

    static func connectionConfiguration(role: TLSRole, flags: UInt8, knobs: UInt8, victim: Bool) -> ConnectionConfiguration {
        var tls: TLSConfiguration
        if role == .server {
            tls = TLSConfiguration(role: .server, alpnProtocols: ConnectionFuzz.alpn, credential: ConnectionFuzz.credential)
        } else {
            tls = TLSConfiguration(role: .client, alpnProtocols: ConnectionFuzz.alpn, serverName: "localhost")
            tls.skipCertificateValidation = true
        }
        var c = ConnectionConfiguration(tls: tls)
        c.versions = role == .client && flags & 0x40 != 0 ? [.v2, .v1] : [.v1, .v2]
        c.datagramReceiveEnabled = victim ? flags & 0x02 != 0 : true
        if victim {
            if flags & 0x10 != 0 { c.keepAliveInterval = .seconds(1) }
            if flags & 0x20 != 0 { c.keyUpdateInterval = 16 }
            if flags & 0x80 != 0 { c.handshakeIdleTimeout = .zero }
            if knobs & 0x40 != 0 { c.maxDatagramSize = 1452 }
            if knobs & 0x80 != 0 { c.tls.cipherSuites = [.chacha20Poly1305Sha256] }
        }
        return c
    }

    /// The peer's transport parameter encoding: the connection ID parameters it must send
    /// (RFC 9000 §7.3), its other configured parameters unless flag bit 2, and the fuzzer's pairs.
    static func encoder(flags: UInt8, pairs: [(id: UInt64, value: UInt64)]) -> (TransportParameters) -> [UInt8] {
        return { ours in
            var base = ours
            if flags & 0x04 != 0 {
                base = TransportParameters()
                base.originalDestinationConnectionID = ours.originalDestinationConnectionID
                base.initialSourceConnectionID = ours.initialSourceConnectionID
                base.retrySourceConnectionID = ours.retrySourceConnectionID
                base.statelessResetToken = ours.statelessResetToken
            }
            // (id, encoded parameter) entries of the base set, in order.
            var entries: [(id: UInt64, bytes: [UInt8])] = []
            let encoded = (try? base.encoded()) ?? []
            encoded.withUnsafeBytes { raw in
                var r = WireReader(raw)
                while !r.isAtEnd {
                    let start = r.position
                    guard let id = r.readVarInt(), let length = r.readVarInt(), r.skip(Int(length)) else { break }
                    entries.append((id, Array(raw[start..<r.position])))
                }
            }
            for (id, value) in pairs {
                let bytes = [UInt8].varints([id, UInt64(VarInt.encodedLength(value)), value])
                if flags & 0x08 == 0, let i = entries.firstIndex(where: { $0.id == id }) {
                    entries[i].bytes = bytes
                } else {
                    entries.append((id, bytes))
                }
            }
            return entries.flatMap(\.bytes)
        }
    }

    // MARK: Network

    mutating func start() {
        var clientConfig = Session.connectionConfiguration(role: .client, flags: flags, knobs: knobs, victim: !victimIsServer)
        if victimIsServer { clientConfig.transportParametersEncoder = Session.encoder(flags: flags, pairs: pairs) }
        guard let c = try? clientEndpoint.connect(configuration: clientConfig, to: serverAddress, now: now) else { return }
        connections.append(c)
        flush()
    }

    func isVictim(_ c: Connection) -> Bool { (c.role == .server) == victimIsServer }

    /// Polls every connection and endpoint for datagrams and events; the application side
    /// reads whatever its streams received.
    mutating func flush() {
        for c in connections {
            var sent = 0
            while let (_, bytes) = c.pollTransmit(now: now) {
                if isVictim(c) { toPeer.append(bytes) } else { toVictim.append(bytes) }
                sent += 1
                // Congestion control (RFC 9002 §7) and the amplification limit bound a burst.
                precondition(sent < 4096, "connection keeps sending at one instant")
            }
            while let e = c.pollEvent() {
                switch e {
                case .peerStreamStarted(let id): streams[ObjectIdentifier(c), default: []].append(id)
                case .connected where isVictim(c): outcome.handshakeCompleted = true
                case .shutdownInitiatedByTransport(let r) where isVictim(c): outcome.closeReason = outcome.closeReason ?? r
                case .shutdownComplete where isVictim(c): outcome.closed = true
                default: break
                }
            }
            for id in streams[ObjectIdentifier(c)] ?? [] { _ = c.read(stream: id) }
        }
        while let (_, bytes) = victimEndpoint.pollTransmit() { toPeer.append(bytes) }
        while let (_, bytes) = peerEndpoint.pollTransmit() { toVictim.append(bytes) }
        if toVictim.count > 4096 { toVictim.removeFirst(toVictim.count - 4096) }
        if toPeer.count > 4096 { toPeer.removeFirst(toPeer.count - 4096) }
    }

    mutating func deliver(towardsVictim: Bool) {
        let endpoint = towardsVictim ? victimEndpoint : peerEndpoint
        guard let bytes = towardsVictim ? (toVictim.isEmpty ? nil : toVictim.removeFirst())
                                        : (toPeer.isEmpty ? nil : toPeer.removeFirst()) else { return }
        let fromServer = towardsVictim != victimIsServer
        let from = fromServer ? serverAddress : clientAddress
        if case .newConnection(let c)? = endpoint.handle(datagram: bytes, from: from, now: now) {
            connections.append(c)
        }
        endpoint.removeClosedConnections()
    }

    mutating func deliverAll() {
        var rounds = 0
        while !(toVictim.isEmpty && toPeer.isEmpty) && rounds < 64 {
            rounds += 1
            while !toVictim.isEmpty { deliver(towardsVictim: true) }
            while !toPeer.isEmpty { deliver(towardsVictim: false) }
            flush()
            fireTimers()
        }
    }

    /// Runs every due timer. A timer still due after `handleTimeout` and `pollTransmit` at the
    /// same instant is a busy loop for a real event loop.
    mutating func fireTimers() {
        for _ in 0..<64 {
            let due = connections.filter { !$0.isClosed && ($0.nextTimeout() ?? .never) <= now }
            if due.isEmpty { return }
            for c in due { c.handleTimeout(now: now) }
            clientEndpoint.removeClosedConnections()
            serverEndpoint.removeClosedConnections()
            flush()
        }
        let stuck = connections.filter { !$0.isClosed && ($0.nextTimeout() ?? .never) <= now }
        precondition(stuck.isEmpty, "timer stuck at \(now): \(stuck.map { "\($0.role) \($0.state) \($0.timerDebug(now: now))" })")
    }

    mutating func advance(by step: UInt64) {
        let us = now.microseconds
        now = QuicInstant(microseconds: min(us + min(step, Session.maxStep), max(us, Session.maxClock)))
        fireTimers()
    }

    // MARK: Operations

    mutating func runOperations() {
        var count = 0
        while let op = input.byte(), count < 4096 {
            count += 1
            switch op % 8 {
            case 0:
                deliverAll()
            case 1:
                advance(by: input.varint() ?? 0)
            case 2:
                let level = Int((input.byte() ?? 0) % 3)
                let hi = Int(input.byte() ?? 0), lo = Int(input.byte() ?? 0)
                let frames = input.take((hi << 8 | lo) % 1101)
                injectFrames(frames, space: PacketNumberSpace(rawValue: level) ?? .application)
            case 3:
                appAction(input.byte() ?? 0)
            case 4:
                let next = connections.filter { !$0.isClosed }.compactMap { $0.nextTimeout() }.min()
                if let next, next > now { advance(by: (next - now).microseconds) } else { fireTimers() }
            case 5:
                let b = input.byte() ?? 0
                if b & 1 == 0 { if !toVictim.isEmpty { toVictim.removeFirst() } } else if !toPeer.isEmpty { toPeer.removeFirst() }
            case 6:
                deliver(towardsVictim: (input.byte() ?? 0) & 1 == 0)
                flush()
                fireTimers()
            default:
                let b = input.byte() ?? 0
                if b & 1 == 0 { if let d = toVictim.popLast() { toVictim.insert(d, at: 0) } }
                else if let d = toPeer.popLast() { toPeer.insert(d, at: 0) }
            }
        }
    }

    mutating func appAction(_ a: UInt8) {
        let onPeer = a & 0x80 != 0
        guard let c = connections.last(where: { isVictim($0) != onPeer && !$0.isClosed }) else { return }
        let key = ObjectIdentifier(c)
        let size = Int(a >> 3 & 15) * 100 + 1
        switch a % 8 {
        case 0, 1:
            guard let id = try? c.openStream(bidirectional: a % 8 == 0) else { return }
            streams[key, default: []].append(id)
            try? c.send(stream: id, bytes: [UInt8](repeating: a, count: size), fin: a % 8 == 1)
        case 2:
            _ = try? c.sendDatagram([UInt8](repeating: a, count: size))
        case 3:
            c.ping()
        case 4:
            c.close(errorCode: UInt64(a >> 3), now: now)
        case 5:
            try? c.initiateKeyUpdate()
        case 6:
            if let id = streams[key]?.last { try? c.resetStream(id, errorCode: UInt64(a >> 3)) }
        default:
            if let id = streams[key]?.last { try? c.stopSending(id, errorCode: UInt64(a >> 3)) }
        }
        flush()
    }

    /// One packet of `space` from the peer carrying `frames` as they are, protected with the
    /// peer's keys (RFC 9001 §5) and numbered in its packet number space; the peer's loss
    /// recovery records it as sent, so the victim's ACK of it is an ACK of a sent packet.
    mutating func injectFrames(_ frames: [UInt8], space: PacketNumberSpace) {
        guard let p = connections.first(where: { !isVictim($0) && $0.state == .open }) else { return }
        let longKeys = space == .application ? nil : p.spaces[space.rawValue].sendKeys
        if space == .application { guard p.oneRTT != nil, !p.spaces[2].discarded else { return } }
        else if longKeys == nil { return }
        let pn = p.spaces[space.rawValue].nextPacketNumber
        let padTo = space == .initial && p.role == .client ? 1200 : 0
        var buffer = [UInt8](repeating: 0, count: 1500)
        let size: Int? = buffer.withUnsafeMutableBytes { raw -> Int? in
            var w = WireWriter(raw)
            let dcid = p.cids.currentRemote
            do {
                let h: WrittenHeader
                if let keys = p.oneRTT, space == .application {
                    h = try PacketHeaderWriter.writeShortHeader(into: &w, dcid: dcid, truncatedPacketNumber: PacketNumber.truncate(pn, length: 4),
                                                                packetNumberLength: 4, keyPhase: keys.keyPhase)
                } else {
                    h = try PacketHeaderWriter.writeLongHeader(
                        into: &w, type: space == .initial ? .initial : .handshake, version: p.version, dcid: dcid,
                        scid: p.cids.local.first?.id ?? ConnectionID(), truncatedPacketNumber: PacketNumber.truncate(pn, length: 4),
                        packetNumberLength: 4)
                }
                try frames.withUnsafeBytes { try w.writeBytes($0) }
                // RFC 9001 §5.4.2: at least 4 bytes of packet number and payload for the sample.
                while w.position - h.packetNumberOffset < 4 || w.position + PacketAEAD.tagLength < padTo { try w.writeUInt8(0) }
                let end = w.position + PacketAEAD.tagLength
                guard end <= raw.count else { return nil }
                let packet = UnsafeMutableRawBufferPointer(rebasing: raw[h.start..<end])
                let pnOffset = h.packetNumberOffset - h.start
                if let keys = longKeys {
                    try PacketHeaderWriter.patchLength(raw, header: h, packetEnd: end)
                    try keys.protect(packet: packet, pnOffset: pnOffset, pnLength: 4, packetNumber: pn)
                } else if let keys = p.oneRTT {
                    try keys.sendAEAD.seal(packet: packet, headerLength: pnOffset + 4, packetNumber: pn)
                    try keys.sendHeaderProtection.apply(packet: packet, pnOffset: pnOffset, pnLength: 4)
                }
                return end
            } catch {
                return nil
            }
        }
        guard let size else { return }
        p.spaces[space.rawValue].nextPacketNumber += 1
        p.recovery.onPacketSent(space, pn: pn, size: size, ackEliciting: false, inFlight: false, now: now,
                                largestAck: nil, token: p.nextSentToken)
        p.nextSentToken += 1
        toVictim.append(Array(buffer[0..<size]))
    }

    // MARK: End of the input

    /// Delivers what is queued and follows the timers until both sides are closed (at most 64 jumps).
    mutating func finish() {
        deliverAll()
        for _ in 0..<64 {
            let live = connections.filter { !$0.isClosed }
            guard let next = live.compactMap({ $0.nextTimeout() }).min() else { break }
            if next > now { advance(by: (next - now).microseconds) } else { fireTimers() }
            deliverAll()
            if now.microseconds >= Session.maxClock { break }
        }
    }

    /// Ends every connection so the endpoints and connections (which reference each other
    /// until a connection closes) are freed.
    mutating func teardown() {
        for c in connections { c.terminate(); while c.pollEvent() != nil {} }
        clientEndpoint.removeClosedConnections()
        serverEndpoint.removeClosedConnections()
        connections.removeAll()
    }
}

extension Array where Element == UInt8 {
    /// The QUIC varint encodings (RFC 9000 §16) of `values`, concatenated.
    static func varints(_ values: [UInt64]) -> [UInt8] {
        var out: [UInt8] = []
        for v in values {
            let length = VarInt.encodedLength(v)
            let prefix: UInt64 = length == 1 ? 0 : length == 2 ? 0x4000 : length == 4 ? 0x8000_0000 : 0xc000_0000_0000_0000
            let x = v | prefix
            for i in (0..<length).reversed() { out.append(UInt8(truncatingIfNeeded: x >> (8 * UInt64(i)))) }
        }
        return out
    }
}
