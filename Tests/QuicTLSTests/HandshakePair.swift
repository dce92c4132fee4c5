import Foundation
import XCTest
import QuicCrypto
@testable import QuicTLS

/// A ticket "sealer" for tests: keeps states in memory and hands out random identifiers.
final class MemoryTicketStore: SessionTicketSealer, @unchecked Sendable {
    private var states: [[UInt8]: [UInt8]] = [:]
    private let lock = NSLock()

    func seal(_ plaintext: [UInt8]) throws -> [UInt8] {
        lock.lock(); defer { lock.unlock() }
        let id = (0..<16).map { _ in UInt8.random(in: 0...255) }
        states[id] = plaintext
        return id
    }

    func open(_ ticket: [UInt8]) -> [UInt8]? {
        lock.lock(); defer { lock.unlock() }
        return states[ticket]
    }
}

/// A client and a server handshake wired back to back in memory, recording what each
/// side emits. `run` moves handshake bytes until neither side has anything more to say.
final class HandshakePair {
    let client: TLSHandshake
    let server: TLSHandshake
    var now: UInt64 = 1_700_000_000_000_000

    var clientSecrets: [String: TrafficSecret] = [:]
    var serverSecrets: [String: TrafficSecret] = [:]
    var clientSummary: HandshakeSummary?
    var serverSummary: HandshakeSummary?
    var clientTransportParameters: [UInt8]?
    var serverTransportParameters: [UInt8]?
    var clientTickets: [[UInt8]] = []
    var clientCertificateEvents: [PeerCertificateInfo] = []
    var serverCertificateEvents: [PeerCertificateInfo] = []
    var clientError: TLSAlert?
    var serverError: TLSAlert?
    /// Levels at which each side sent data, in order.
    var clientSentLevels: [EncryptionLevel] = []
    var serverSentLevels: [EncryptionLevel] = []
    /// Decision for `.peerCertificateReceived`; nil leaves the handshake paused.
    var clientCertificateDecision: Bool? = true
    var serverCertificateDecision: Bool? = true
    /// Hook to alter bytes in flight: (fromClient, level, bytes) -> bytes.
    var tamper: ((Bool, EncryptionLevel, [UInt8]) -> [UInt8])?

    init(client: TLSConfiguration, server: TLSConfiguration) {
        self.client = TLSHandshake(configuration: client)
        self.server = TLSHandshake(configuration: server)
    }

    static func key(_ s: TrafficSecret) -> String { "\(s.level)-\(s.direction)" }

    /// Runs the handshake; errors are recorded per side, not thrown.
    func run() {
        do { try client.start(now: now) } catch { clientError = error as? TLSAlert; return }
        pump()
    }

    func pump() {
        var progress = true
        while progress && clientError == nil && serverError == nil {
            progress = false
            while let out = client.nextOutput() {
                progress = true
                handle(out, fromClient: true)
                if clientError != nil || serverError != nil { return }
            }
            while let out = server.nextOutput() {
                progress = true
                handle(out, fromClient: false)
                if clientError != nil || serverError != nil { return }
            }
        }
    }

    private func handle(_ out: TLSOutput, fromClient: Bool) {
        switch out {
        case .handshakeData(let level, var bytes):
            if fromClient { clientSentLevels.append(level) } else { serverSentLevels.append(level) }
            if let tamper { bytes = tamper(fromClient, level, bytes) }
            let peer = fromClient ? server : client
            do { try peer.receive(bytes, at: level, now: now) } catch {
                if fromClient { serverError = error as? TLSAlert } else { clientError = error as? TLSAlert }
            }
        case .secret(let s):
            if fromClient { clientSecrets[Self.key(s)] = s } else { serverSecrets[Self.key(s)] = s }
        case .peerTransportParameters(let tp):
            if fromClient { clientTransportParameters = tp } else { serverTransportParameters = tp }
        case .peerCertificateReceived(let info):
            if fromClient { clientCertificateEvents.append(info) } else { serverCertificateEvents.append(info) }
            let decision = fromClient ? clientCertificateDecision : serverCertificateDecision
            if let decision {
                let side = fromClient ? client : server
                do { try side.completePeerCertificateValidation(accept: decision, now: now) } catch {
                    if fromClient { clientError = error as? TLSAlert } else { serverError = error as? TLSAlert }
                }
            }
        case .handshakeComplete(let summary):
            if fromClient { clientSummary = summary } else { serverSummary = summary }
        case .newSessionTicket(let t):
            if fromClient { clientTickets.append(t) }
        }
    }

    /// Asserts both sides completed and each write secret matches the peer's read secret.
    func assertCompleted(file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNil(clientError, "client error \(String(describing: clientError))", file: file, line: line)
        XCTAssertNil(serverError, "server error \(String(describing: serverError))", file: file, line: line)
        XCTAssertNotNil(clientSummary, "client did not complete", file: file, line: line)
        XCTAssertNotNil(serverSummary, "server did not complete", file: file, line: line)
        XCTAssertTrue(client.isComplete && server.isComplete, file: file, line: line)
        for level in [EncryptionLevel.handshake, .application] {
            let cw = clientSecrets["\(level)-write"], cr = clientSecrets["\(level)-read"]
            let sw = serverSecrets["\(level)-write"], sr = serverSecrets["\(level)-read"]
            XCTAssertNotNil(cw, "client \(level) write", file: file, line: line)
            XCTAssertEqual(cw, sr.map { TrafficSecret(level: $0.level, direction: .write, cipherSuite: $0.cipherSuite, secret: $0.secret) },
                           "\(level) client->server secret", file: file, line: line)
            XCTAssertEqual(sw?.secret, cr?.secret, "\(level) server->client secret", file: file, line: line)
            XCTAssertEqual(sw?.secret.count, clientSummary.map { $0.cipherSuite.hash.digestLength }, file: file, line: line)
        }
    }

    /// Server sends a ticket and the client turns it into serialized bytes.
    func issueTicket(appData: [UInt8] = []) throws -> [UInt8] {
        try server.sendSessionTicket(appData: appData, now: now)
        pump()
        guard let t = clientTickets.last else { throw TLSAlert(.internalError, "no ticket") }
        return t
    }
}

enum TestConfigs {
    static let alpn: [[UInt8]] = [Array("h3".utf8)]
    static let clientTP: [UInt8] = [0x01, 0x02, 0x43, 0xe8]
    static let serverTP: [UInt8] = [0x03, 0x02, 0x45, 0xc0, 0x04, 0x04, 0x80, 0x10, 0x00, 0x00]

    static func client(serverName: String? = "localhost") -> TLSConfiguration {
        var c = TLSConfiguration(role: .client, alpnProtocols: alpn, serverName: serverName, transportParameters: clientTP)
        c.skipCertificateValidation = true
        return c
    }

    static func server(_ credential: TLSCredential) -> TLSConfiguration {
        var s = TLSConfiguration(role: .server, alpnProtocols: alpn, credential: credential, transportParameters: serverTP)
        s.skipCertificateValidation = true
        return s
    }
}
