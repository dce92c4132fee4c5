import XCTest
@testable import QuicCore
import QuicCrypto
import QuicTLS
import QuicWire

/// Connection ID management rules (RFC 9000 §5.1.1, §5.1.2, §19.15, §19.16) and the frames a
/// client must never send (§19.7, §19.20).
final class ConnectionIDRulesTests: XCTestCase {
    func cid(_ b: UInt8) -> ConnectionID { ConnectionID([UInt8](repeating: b, count: 8))! }
    func token(_ b: UInt8) -> StatelessResetToken { StatelessResetToken([UInt8](repeating: b, count: 16)) }
    func frame(_ seq: UInt64, _ b: UInt8, retirePriorTo: UInt64 = 0, token t: UInt8? = nil) -> NewConnectionIDFrame {
        NewConnectionIDFrame(sequenceNumber: seq, retirePriorTo: retirePriorTo, connectionID: cid(b), statelessResetToken: token(t ?? b))
    }

    /// The peer's handshake CID (sequence 0) and our limit of 3 active CIDs.
    func state() -> ConnectionIDState {
        var s = ConnectionIDState()
        s.remote = [.init(sequence: 0, id: cid(0xa0), token: nil)]
        s.localActiveLimit = 3
        return s
    }

    func assertError(_ code: TransportErrorCode, _ body: () throws(QuicError) -> Void, file: StaticString = #filePath, line: UInt = #line) {
        do {
            try body()
            XCTFail("no error, expected \(code)", file: file, line: line)
        } catch {
            XCTAssertEqual(error.code, code, file: file, line: line)
        }
    }

    func testRepeatedNewConnectionIDIsIgnoredButChangedOneIsProtocolViolation() throws {
        var s = state()
        try s.onNewConnectionID(frame(1, 0xb1), peerUsesZeroLength: false)
        try s.onNewConnectionID(frame(1, 0xb1), peerUsesZeroLength: false)  // retransmission: fine
        XCTAssertEqual(s.remote.count, 2)
        assertError(.protocolViolation) { () throws(QuicError) in try s.onNewConnectionID(frame(1, 0xb2), peerUsesZeroLength: false) }
        assertError(.protocolViolation) { () throws(QuicError) in try s.onNewConnectionID(frame(1, 0xb1, token: 0xcc), peerUsesZeroLength: false) }
        // The same CID under another sequence number.
        assertError(.protocolViolation) { () throws(QuicError) in try s.onNewConnectionID(frame(2, 0xb1), peerUsesZeroLength: false) }
    }

    func testMoreActiveConnectionIDsThanOurLimitIsConnectionIDLimitError() throws {
        var s = state()
        try s.onNewConnectionID(frame(1, 0xb1), peerUsesZeroLength: false)
        try s.onNewConnectionID(frame(2, 0xb2), peerUsesZeroLength: false)
        assertError(.connectionIDLimitError) { () throws(QuicError) in try s.onNewConnectionID(frame(3, 0xb3), peerUsesZeroLength: false) }
        // Retiring older ones in the same frame keeps the count within the limit (§5.1.1).
        var t = state()
        try t.onNewConnectionID(frame(1, 0xb1), peerUsesZeroLength: false)
        try t.onNewConnectionID(frame(2, 0xb2), peerUsesZeroLength: false)
        try t.onNewConnectionID(frame(3, 0xb3, retirePriorTo: 2), peerUsesZeroLength: false)
        XCTAssertEqual(t.remote.map(\.sequence), [2, 3])
        XCTAssertEqual(Set(t.pendingRetirements), [0, 1])
    }

    func testNewConnectionIDToZeroLengthSenderIsProtocolViolation() {
        // §19.15: an endpoint sending with a zero-length DCID rejects NEW_CONNECTION_ID.
        var s = state()
        assertError(.protocolViolation) { () throws(QuicError) in try s.onNewConnectionID(frame(1, 0xb1), peerUsesZeroLength: true) }
    }

    func testRetirePriorToAboveSequenceIsFrameEncodingError() {
        var s = state()
        assertError(.frameEncodingError) { () throws(QuicError) in try s.onNewConnectionID(frame(1, 0xb1, retirePriorTo: 2), peerUsesZeroLength: false) }
    }

    func testRetireConnectionIDRules() throws {
        var s = ConnectionIDState()
        s.addLocal(cid(1), token: token(1), announce: false)
        s.addLocal(cid(2), token: token(2), announce: true)
        s.addLocal(cid(3), token: token(3), announce: true)
        // §19.16: a sequence number we never issued.
        assertError(.protocolViolation) { () throws(QuicError) in _ = try s.onRetireConnectionID(3, packetDCID: cid(1)) }
        // §19.16: the CID the packet itself was sent to.
        assertError(.protocolViolation) { () throws(QuicError) in _ = try s.onRetireConnectionID(1, packetDCID: cid(2)) }
        XCTAssertEqual(try s.onRetireConnectionID(1, packetDCID: cid(1)), cid(2))
        XCTAssertNil(try s.onRetireConnectionID(1, packetDCID: cid(1)))  // already retired: ignored
        XCTAssertFalse(s.isLocal(cid(2)))
    }

    func testRetireConnectionIDToZeroLengthProviderIsProtocolViolation() {
        var s = ConnectionIDState()
        s.addLocal(ConnectionID(), token: token(1), announce: false)
        assertError(.protocolViolation) { () throws(QuicError) in _ = try s.onRetireConnectionID(0, packetDCID: cid(9)) }
    }

    // The same rules end a live connection with the right code, seen from both sides.

    func pair() throws -> (SimNetwork, Connection, Connection) {
        let net = SimConfigs.network()
        let c = try net.connect(SimConfigs.client())
        XCTAssertTrue(net.run { c.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeComplete ?? false) })
        net.run(for: 500_000)
        return (net, c, try XCTUnwrap(net.server.accepted.first))
    }

    func assertServerCloses(with code: TransportErrorCode, frame: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws {
        let (net, client, server) = try pair()
        client.injectedFrames.append(frame)
        XCTAssertTrue(net.run(for: 10_000_000) { server.isClosed && client.isClosed }, file: file, line: line)
        XCTAssertEqual(net.server.events(server).transportClose?.errorCode, code.rawValue, file: file, line: line)
        XCTAssertEqual(net.client.events(client).transportClose?.errorCode, code.rawValue, file: file, line: line)
    }

    func testNewTokenFromClientIsProtocolViolation() throws {
        try assertServerCloses(with: .protocolViolation, frame: [0x07, 0x02, 0xaa, 0xbb])  // RFC 9000 §19.7
    }

    func testRetiringUnissuedSequenceIsProtocolViolation() throws {
        try assertServerCloses(with: .protocolViolation, frame: [0x19, 0x3f])  // RFC 9000 §19.16
    }

    func testNewConnectionIDReusingSequenceIsProtocolViolation() throws {
        // Sequence 1 was already issued by the client with another CID (RFC 9000 §19.15).
        let f: [UInt8] = [0x18, 0x01, 0x00, 0x08] + [UInt8](repeating: 0xee, count: 8) + [UInt8](repeating: 0x11, count: 16)
        try assertServerCloses(with: .protocolViolation, frame: f)
    }

    func testTooManyConnectionIDsIsConnectionIDLimitError() throws {
        // Fresh sequence numbers beyond the server's active_connection_id_limit (RFC 9000 §5.1.1).
        var frames: [UInt8] = []
        for seq: UInt8 in 40..<50 {
            frames += [0x18, seq, 0x00, 0x08] + [UInt8](repeating: seq, count: 8) + [UInt8](repeating: seq, count: 16)
        }
        try assertServerCloses(with: .connectionIDLimitError, frame: frames)
    }
}

extension ConnectionIDRulesTests {
    /// RFC 9000 §5.1.2: a peer that raises Retire Prior To in every NEW_CONNECTION_ID makes us
    /// owe one RETIRE_CONNECTION_ID per frame; past twice our active_connection_id_limit (at
    /// least 16) owed retirements, CONNECTION_ID_LIMIT_ERROR (issue 10: bounded state).
    func testRetirePriorToFloodIsConnectionIDLimitError() throws {
        var frames: [UInt8] = []
        for seq: UInt8 in 40..<62 {
            frames += [0x18, seq, seq, 0x08] + [UInt8](repeating: seq, count: 8) + [UInt8](repeating: seq &+ 100, count: 16)
        }
        // Only the server is checked: it retired every CID the client really owns, so its
        // CONNECTION_CLOSE goes to one of the made-up CIDs of the frames above.
        let (net, client, server) = try pair()
        client.injectedFrames.append(frames)
        XCTAssertTrue(net.run(for: 10_000_000) { server.isClosed })
        XCTAssertEqual(server.closeReason?.errorCode, TransportErrorCode.connectionIDLimitError.rawValue)
        XCTAssertFalse(server.closeReason?.fromPeer ?? true)
    }

    func testRetirePriorToWithinBoundIsAccepted() throws {
        let (net, client, server) = try pair()
        var frames: [UInt8] = []
        for seq: UInt8 in 40..<46 {
            frames += [0x18, seq, seq, 0x08] + [UInt8](repeating: seq, count: 8) + [UInt8](repeating: seq &+ 100, count: 16)
        }
        client.injectedFrames.append(frames)
        net.run(for: 2_000_000)
        XCTAssertFalse(server.isClosed)
        XCTAssertFalse(client.isClosed)
    }
}
