import XCTest
import QuicCrypto
@testable import QuicTLS

/// Asynchronous ticket validation (MsQuic: RESUMED answered with QUIC_STATUS_PENDING, then
/// ConnectionResumptionTicketValidationComplete): the server handshake stops after the
/// ticket's binder verified, sends nothing, and goes on when the application decides —
/// resumed (with 0-RTT when offered) or full (without 0-RTT, RFC 8446 §4.2.11, §4.2.10).
final class AsyncResumptionTests: XCTestCase {
    let sealer = MemoryTicketStore()
    final class Seen: @unchecked Sendable { var calls: [[UInt8]] = [] }

    private func server(earlyData: Bool = true) throws -> TLSConfiguration {
        var s = TestConfigs.server(try HandshakePKI.shared.credential("server-p256"))
        s.ticketSealer = sealer
        s.enableEarlyData = earlyData
        return s
    }

    /// A client holding a ticket from a first handshake with `server`, offering 0-RTT or not.
    private func resumingClient(_ server: TLSConfiguration, appData: [UInt8], earlyData: Bool) throws -> TLSConfiguration {
        let first = HandshakePair(client: TestConfigs.client(), server: server)
        first.run()
        first.assertCompleted()
        var c = TestConfigs.client()
        c.resumptionTicket = try ClientSessionTicket(serialized: try first.issueTicket(appData: appData))
        c.enableEarlyData = earlyData
        return c
    }

    /// Runs a resuming handshake whose server answers `.pending`; checks the pause and returns
    /// the pair, paused.
    private func pausedPair(earlyData: Bool, seen: Seen, file: StaticString = #filePath,
                            line: UInt = #line) throws -> HandshakePair {
        let appData = Array("ticket-state".utf8)
        var s = try server()
        let client = try resumingClient(s, appData: appData, earlyData: earlyData)
        s.resumptionAcceptance = { data in seen.calls.append(data); return .pending }
        let pair = HandshakePair(client: client, server: s)
        pair.now += 1_000_000
        pair.run()
        XCTAssertNil(pair.serverError, file: file, line: line)
        XCTAssertNil(pair.clientError, file: file, line: line)
        XCTAssertEqual(seen.calls, [appData], "asked once, with the ticket's app data", file: file, line: line)
        XCTAssertTrue(pair.server.isAwaitingResumptionDecision, file: file, line: line)
        // Nothing chosen and nothing sent: no ServerHello, no keys, no 0-RTT read key.
        XCTAssertEqual(pair.serverSentLevels, [], file: file, line: line)
        XCTAssertTrue(pair.serverSecrets.isEmpty, file: file, line: line)
        XCTAssertNil(pair.serverTransportParameters, file: file, line: line)
        XCTAssertNil(pair.clientSummary, file: file, line: line)
        XCTAssertFalse(pair.server.isComplete, file: file, line: line)
        return pair
    }

    private func complete(_ pair: HandshakePair, accept: Bool) throws {
        try pair.server.completeResumptionValidation(accept: accept, now: pair.now)
        pair.pump()
        XCTAssertFalse(pair.server.isAwaitingResumptionDecision)
        pair.assertCompleted()
    }

    func testAcceptAfterPauseResumesWithZeroRTT() throws {
        let seen = Seen()
        let pair = try pausedPair(earlyData: true, seen: seen)
        try complete(pair, accept: true)
        XCTAssertEqual(pair.clientSummary?.resumed, true)
        XCTAssertEqual(pair.serverSummary?.resumed, true)
        XCTAssertEqual(pair.serverSummary?.resumptionAppData, Array("ticket-state".utf8))
        XCTAssertEqual(pair.clientSummary?.earlyDataAccepted, true)
        XCTAssertEqual(pair.serverSummary?.earlyDataAccepted, true)
        // The server reads 0-RTT with the key the client writes it with.
        XCTAssertNotNil(pair.serverSecrets["earlyData-read"])
        XCTAssertEqual(pair.serverSecrets["earlyData-read"]?.secret, pair.clientSecrets["earlyData-write"]?.secret)
        // A PSK handshake: no certificate from the server (RFC 8446 §2.2).
        XCTAssertEqual(pair.clientSummary?.peerCertificateChain, [])
        XCTAssertEqual(seen.calls.count, 1, "not asked again on completion")
    }

    func testRejectAfterPauseGivesAFullHandshakeWithoutZeroRTT() throws {
        let seen = Seen()
        let pair = try pausedPair(earlyData: true, seen: seen)
        try complete(pair, accept: false)
        XCTAssertEqual(pair.clientSummary?.resumed, false)
        XCTAssertEqual(pair.serverSummary?.resumed, false)
        XCTAssertNil(pair.serverSummary?.resumptionAppData)
        XCTAssertEqual(pair.clientSummary?.earlyDataAccepted, false)
        XCTAssertEqual(pair.serverSummary?.earlyDataAccepted, false)
        XCTAssertNil(pair.serverSecrets["earlyData-read"], "0-RTT refused: no read key")
        XCTAssertFalse(pair.clientSummary?.peerCertificateChain.isEmpty ?? true, "authenticated by certificate")
    }

    func testAcceptAfterPauseWithoutZeroRTTOffered() throws {
        let pair = try pausedPair(earlyData: false, seen: Seen())
        try complete(pair, accept: true)
        XCTAssertEqual(pair.clientSummary?.resumed, true)
        XCTAssertEqual(pair.serverSummary?.resumed, true)
        XCTAssertEqual(pair.serverSummary?.earlyDataAccepted, false)
        XCTAssertNil(pair.serverSecrets["earlyData-read"])
    }

    func testRejectAfterPauseWithoutZeroRTTOffered() throws {
        let pair = try pausedPair(earlyData: false, seen: Seen())
        try complete(pair, accept: false)
        XCTAssertEqual(pair.clientSummary?.resumed, false)
        XCTAssertEqual(pair.serverSummary?.resumed, false)
        XCTAssertFalse(pair.clientSummary?.peerCertificateChain.isEmpty ?? true)
    }

    /// RFC 8446 §8.3: the server's view of the ticket age is taken when the ClientHello
    /// arrived; a long validation does not make the client's age look wrong.
    func testTicketAgeIsJudgedWhenTheClientHelloArrived() throws {
        let pair = try pausedPair(earlyData: true, seen: Seen())
        pair.now += 30_000_000      // 30 s of validation, beyond the 10 s allowed skew
        try complete(pair, accept: true)
        XCTAssertEqual(pair.serverSummary?.earlyDataAccepted, true)
    }

    /// Completing when nothing waits is a misuse the handshake survives; so is a second one.
    func testCompletionWithoutAPendingDecisionThrowsAndHarmsNothing() throws {
        let idle = TLSHandshake(configuration: try server())
        XCTAssertThrowsError(try idle.completeResumptionValidation(accept: true, now: 0)) { error in
            XCTAssertEqual((error as? TLSAlert)?.description, .internalError)
        }
        let pair = try pausedPair(earlyData: false, seen: Seen())
        try complete(pair, accept: true)
        XCTAssertThrowsError(try pair.server.completeResumptionValidation(accept: false, now: pair.now))
        XCTAssertTrue(pair.server.isComplete)
        XCTAssertEqual(pair.serverSummary?.resumed, true, "the first answer stands")
    }

    /// While paused, no handshake message is handled: bytes at Initial are only buffered
    /// (bounded) and the decision still applies afterwards.
    func testNothingIsHandledWhilePaused() throws {
        let pair = try pausedPair(earlyData: false, seen: Seen())
        // A stray byte at Initial is buffered, not parsed, while the decision is pending.
        try pair.server.receive([0x01], at: .initial, now: pair.now)
        XCTAssertNil(pair.server.nextOutput())
        XCTAssertTrue(pair.server.isAwaitingResumptionDecision)
        // After the decision the stray byte is left at a level the handshake moved past.
        XCTAssertThrowsError(try pair.server.completeResumptionValidation(accept: true, now: pair.now)) { error in
            XCTAssertEqual((error as? TLSAlert)?.description, .unexpectedMessage)
        }
    }
}
