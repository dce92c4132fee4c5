import XCTest
import QuicCrypto
@testable import QuicTLS

/// Mutation fuzzing of `receive` for both roles: real flights recorded from a handshake
/// with client authentication, then replayed into fresh handshakes with bytes flipped,
/// cut, inserted or length fields rewritten. Nothing may trap; every failure is a TLSAlert;
/// no mutated flight completes a handshake.
final class ReviewFuzzTests: XCTestCase {
    var pki: HandshakePKI { HandshakePKI.shared }

    struct Flights {
        var client: [(EncryptionLevel, [UInt8])] = []
        var server: [(EncryptionLevel, [UInt8])] = []
    }

    func configs() throws -> (TLSConfiguration, TLSConfiguration) {
        var c = TestConfigs.client()
        c.credential = try pki.credential("client-p256", dns: "client")
        var s = TestConfigs.server(try pki.credential("server-p256"))
        s.requestClientCertificate = true
        s.ticketSealer = MemoryTicketStore()
        return (c, s)
    }

    func record() throws -> Flights {
        let (c, s) = try configs()
        let pair = HandshakePair(client: c, server: s)
        var flights = Flights()
        pair.tamper = { fromClient, level, bytes in
            if fromClient { flights.client.append((level, bytes)) } else { flights.server.append((level, bytes)) }
            return bytes
        }
        pair.run()
        pair.assertCompleted()
        _ = try pair.issueTicket(appData: [1, 2, 3])
        XCTAssertEqual(flights.server.map(\.0), [.initial, .handshake, .application])
        XCTAssertEqual(flights.client.map(\.0), [.initial, .handshake])
        return flights
    }

    static func mutate(_ input: [UInt8], using rng: inout some RandomNumberGenerator) -> [UInt8] {
        var b = input
        guard !b.isEmpty else { return [UInt8.random(in: 0...255, using: &rng)] }
        switch Int.random(in: 0..<5, using: &rng) {
        case 0: // flip a few bytes
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                b[Int.random(in: 0..<b.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
            }
        case 1: // cut
            b = Array(b[0..<Int.random(in: 0..<b.count, using: &rng)])
        case 2: // insert random bytes
            let at = Int.random(in: 0...b.count, using: &rng)
            b.insert(contentsOf: (0..<Int.random(in: 1...8, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }, at: at)
        case 3: // rewrite a plausible 1- or 2-byte length field to an extreme value
            let at = Int.random(in: 0..<b.count, using: &rng)
            b[at] = [0x00, 0xff, 0x01, 0x7f].randomElement(using: &rng) ?? 0
            if at + 1 < b.count { b[at + 1] = [0x00, 0xff, 0x01].randomElement(using: &rng) ?? 0 }
        default: // remove a range
            let from = Int.random(in: 0..<b.count, using: &rng)
            let to = Int.random(in: from...min(b.count, from + 16), using: &rng)
            b.removeSubrange(from..<to)
        }
        return b
    }

    /// Feeds `flights` to `handshake`, mutating the one at `target`. Returns the alert, if any.
    static func feed(_ handshake: TLSHandshake, _ flights: [(EncryptionLevel, [UInt8])], target: Int,
                     using rng: inout some RandomNumberGenerator) -> TLSAlert? {
        for (i, (level, bytes)) in flights.enumerated() {
            let data = i == target ? mutate(bytes, using: &rng) : bytes
            do {
                try handshake.receive(data, at: level, now: 1_700_000_000_000_000)
            } catch let alert as TLSAlert {
                return alert
            } catch {
                XCTFail("non-TLSAlert error \(error)")
                return nil
            }
            while handshake.nextOutput() != nil {}
        }
        return nil
    }

    func testMutatedServerFlightsIntoClient() throws {
        let flights = try record()
        let (c, _) = try configs()
        var rng = SystemRandomNumberGenerator()
        var alerts: [AlertDescription: Int] = [:]
        for i in 0..<600 {
            let client = TLSHandshake(configuration: c)
            try client.start(now: 1_700_000_000_000_000)
            while client.nextOutput() != nil {}
            // Our fresh key share does not match the recorded ServerHello, so the handshake
            // can never finish; parsing of every server message is still exercised.
            let target = i % 2 == 0 ? 0 : Int.random(in: 0..<flights.server.count - 1, using: &rng)
            if let alert = Self.feed(client, Array(flights.server.prefix(2)), target: target, using: &rng) {
                alerts[alert.description, default: 0] += 1
                XCTAssertThrowsError(try client.receive([0], at: .initial, now: 0), "a failed handshake stays failed")
            }
            XCTAssertFalse(client.isComplete)
        }
        // Mutations reached the parsers (decode_error) and got past them (decrypt_error at
        // CertificateVerify, whose transcript differs).
        XCTAssertGreaterThan(alerts[.decodeError, default: 0], 0, "\(alerts)")
        XCTAssertGreaterThan(alerts[.decryptError, default: 0], 0, "\(alerts)")
    }

    func testMutatedClientFlightsIntoServer() throws {
        let flights = try record()
        let (_, s) = try configs()
        var rng = SystemRandomNumberGenerator()
        var alerts: [AlertDescription: Int] = [:]
        for i in 0..<600 {
            let server = TLSHandshake(configuration: s)
            let target = i % 2 == 0 ? 0 : 1
            if let alert = Self.feed(server, flights.client, target: target, using: &rng) {
                alerts[alert.description, default: 0] += 1
            }
            // The recorded client flight never matches this server's fresh ServerHello.
            XCTAssertFalse(server.isComplete)
        }
        XCTAssertGreaterThan(alerts[.decodeError, default: 0], 0, "\(alerts)")
        XCTAssertGreaterThan(alerts.count, 2, "\(alerts)")
    }

    func testMutatedTicketIntoCompletedClient() throws {
        let flights = try record()
        let (c, s) = try configs()
        var rng = SystemRandomNumberGenerator()
        // A completed client gets mutated NewSessionTickets: alert or a ticket, never a trap.
        for _ in 0..<200 {
            let pair = HandshakePair(client: c, server: s)
            pair.run()
            pair.assertCompleted()
            let nst = flights.server[2].1
            do {
                try pair.client.receive(Self.mutate(nst, using: &rng), at: .application, now: pair.now)
            } catch {
                XCTAssertNotNil(error as? TLSAlert)
            }
        }
    }

    func testRandomBytesAtEveryLevelAndState() throws {
        let (c, s) = try configs()
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            // Random headers with random bodies at whatever level the machine is at.
            for role in [TLSRole.client, .server] {
                let h = TLSHandshake(configuration: role == .client ? c : s)
                if role == .client { try h.start(now: 0) }
                let type = [1, 2, 4, 8, 11, 13, 15, 20, 24, 254, UInt8.random(in: 0...255, using: &rng)].randomElement(using: &rng) ?? 1
                let len = Int.random(in: 0...300, using: &rng)
                let body = (0..<len).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let declared = Bool.random(using: &rng) ? len : Int.random(in: 0...0xffffff, using: &rng)
                let msg = [type, UInt8(declared >> 16), UInt8((declared >> 8) & 0xff), UInt8(declared & 0xff)] + body
                for level in EncryptionLevel.allCases {
                    _ = try? h.receive(msg, at: level, now: 0)
                }
                XCTAssertFalse(h.isComplete)
            }
        }
    }
}
