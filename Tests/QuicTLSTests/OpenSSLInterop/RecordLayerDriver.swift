import Foundation
import QuicCrypto
import QuicTLS

/// Runs one of our `TLSHandshake`s over TCP with the test-only record layer: handshake
/// bytes for a level go out under that level's write keys, and records coming in are opened
/// with the newest read keys the handshake installed (RFC 9001 §4.1.3's per-level keys map
/// onto TLS's key changes one to one; QUIC's 0-RTT level is not used over TCP).
final class RecordLayerDriver {
    let handshake: TLSHandshake
    let stream: RecordStream
    private var writeKeys: [EncryptionLevel: RecordProtection] = [:]

    private(set) var summary: HandshakeSummary?
    private(set) var peerTransportParameters: [UInt8]?
    /// Serialized ClientSessionTickets the handshake built from NewSessionTickets.
    private(set) var tickets: [[UInt8]] = []
    private(set) var certificateEvents: [PeerCertificateInfo] = []
    /// Application data received so far.
    private(set) var received: [UInt8] = []

    init(configuration: TLSConfiguration, connection: TCPConnection) {
        handshake = TLSHandshake(configuration: configuration)
        stream = RecordStream(connection)
    }

    static var now: UInt64 { UInt64(Date().timeIntervalSince1970 * 1_000_000) }

    /// Drives the handshake until it completes (or throws: our alert, the peer's alert,
    /// a record layer failure or a timeout).
    /// An alert we raise is sent to the peer under the newest write keys, as a TLS stack
    /// would (QUIC sends it as CONNECTION_CLOSE 0x100 + alert instead, RFC 9001 §4.8).
    func runHandshake() throws {
        do {
            if handshake.role == .client {
                try handshake.start(now: Self.now)
                try drain()
            }
            while summary == nil {
                guard let (type, content) = try stream.readRecord() else {
                    throw RecordLayerError("peer closed the connection during the handshake")
                }
                try handle(type, content)
            }
        } catch let alert as TLSAlert where !alert.fromPeer {
            stream.writeProtection = writeKeys[.application] ?? writeKeys[.handshake]
            try? stream.writeFatalAlert(alert.description.rawValue)
            throw alert
        }
    }

    /// Reads records until `condition` holds or the peer closes (returns false then).
    @discardableResult
    func read(until condition: () -> Bool) throws -> Bool {
        while !condition() {
            guard let (type, content) = try stream.readRecord() else { return condition() }
            try handle(type, content)
        }
        return true
    }

    func send(_ text: String) throws {
        guard let keys = writeKeys[.application] else { throw RecordLayerError("no 1-RTT keys") }
        stream.writeProtection = keys
        try stream.writeApplicationData(Array(text.utf8))
    }

    /// Server: issues a NewSessionTicket (MsQuic's ConnectionSendResumptionTicket).
    func sendSessionTicket() throws {
        try handshake.sendSessionTicket(now: Self.now)
        try drain()
    }

    /// close_notify under the 1-RTT keys.
    func close() throws {
        guard let keys = writeKeys[.application] else { throw RecordLayerError("no 1-RTT keys") }
        stream.writeProtection = keys
        try stream.writeCloseNotify()
    }

    var receivedText: String { String(decoding: received, as: UTF8.self) }

    private func handle(_ type: RecordContentType, _ content: [UInt8]) throws {
        switch type {
        case .handshake:
            // Post-handshake messages (NewSessionTicket) arrive under the 1-RTT keys.
            let level: EncryptionLevel = stream.readProtection == nil ? .initial
                : (readingApplicationKeys ? .application : .handshake)
            try handshake.receive(content, at: level, now: Self.now)
            try drain()
        case .alert:
            let description = content.count == 2 ? AlertDescription(rawValue: content[1]) : nil
            throw TLSAlert(description ?? .internalError, fromPeer: true, "peer alert \(content)")
        case .applicationData:
            guard summary != nil else { throw RecordLayerError("application data before the handshake completed") }
            received += content
        case .changeCipherSpec:
            break
        }
    }

    private var readingApplicationKeys = false

    /// Moves every output of the handshake to the wire or into our state.
    private func drain() throws {
        while let output = handshake.nextOutput() {
            switch output {
            case .handshakeData(let level, let bytes):
                stream.writeProtection = writeKeys[level]
                if level != .initial && writeKeys[level] == nil {
                    throw RecordLayerError("handshake data at \(level) without keys")
                }
                try stream.writeHandshake(bytes)
            case .secret(let s):
                guard s.level != .earlyData else { continue } // no 0-RTT over TCP
                let protection = RecordProtection(suite: s.cipherSuite, secret: s.secret)
                switch s.direction {
                case .write:
                    writeKeys[s.level] = protection
                case .read:
                    // The peer switches keys right after the message that produced this
                    // secret, so the next record is under it.
                    stream.readProtection = protection
                    readingApplicationKeys = s.level == .application
                }
            case .peerTransportParameters(let tp):
                peerTransportParameters = tp
            case .peerCertificateReceived(let info):
                certificateEvents.append(info)
                try handshake.completePeerCertificateValidation(accept: true, now: Self.now)
            case .handshakeComplete(let s):
                summary = s
            case .newSessionTicket(let t):
                tickets.append(t)
            }
        }
    }
}
