import XCTest
@testable import QuicWire

final class TransportParametersTests: XCTestCase {
    func decode(_ bytes: [UInt8], _ sender: TransportParameterSender = .server) -> Result<TransportParameters, QuicError> {
        do throws(QuicError) {
            return .success(try TransportParameters.decode(bytes, sender: sender))
        } catch {
            return .failure(error)
        }
    }

    func entry(_ id: UInt64, _ value: [UInt8]) -> [UInt8] {
        try! [UInt8].encoding(capacity: 64 + value.count) { (w: inout WireWriter) throws(BufferTooSmall) in
            try w.writeVarInt(id)
            try w.writeVarInt(UInt64(value.count))
            try w.writeBytes(value)
        }
    }

    func varintBytes(_ v: UInt64) -> [UInt8] {
        try! [UInt8].encoding(capacity: 8) { (w: inout WireWriter) throws(BufferTooSmall) in try w.writeVarInt(v) }
    }

    // The client transport parameters of the RFC 9001 Appendix A.2 ClientHello
    // (extension 0039, 0x32 bytes).
    func testRFC9001ClientHelloParameters() throws {
        let bytes = hex("""
            0408ffffffffffffffff05048000ffff07048000ffff0801100104800075300901100f088394c8f03e51570806048000ffff
            """)
        let p = try decode(bytes, .client).get()
        XCTAssertEqual(p.initialMaxData, 0x3fff_ffff_ffff_ffff & VarInt.max)
        XCTAssertEqual(p.initialMaxStreamDataBidiLocal, 0xffff)
        XCTAssertEqual(p.initialMaxStreamDataBidiRemote, 0xffff)
        XCTAssertEqual(p.initialMaxStreamDataUni, 0xffff)
        XCTAssertEqual(p.initialMaxStreamsBidi, 16)
        XCTAssertEqual(p.initialMaxStreamsUni, 16)
        XCTAssertEqual(p.maxIdleTimeout, 30000)
        XCTAssertEqual(p.initialSourceConnectionID?.bytes, hex("8394c8f03e515708"))
        XCTAssertEqual(p.maxUDPPayloadSize, 65527)  // default
    }

    func testDefaultsAndRoundTrip() throws {
        let empty = try decode([]).get()
        XCTAssertEqual(empty, TransportParameters())
        XCTAssertEqual(empty.ackDelayExponent, 3)
        XCTAssertEqual(empty.maxAckDelay, 25)
        XCTAssertEqual(empty.activeConnectionIDLimit, 2)
        XCTAssertEqual(try TransportParameters().encoded(), [])

        var p = TransportParameters()
        p.originalDestinationConnectionID = ConnectionID([1, 2, 3, 4])
        p.statelessResetToken = StatelessResetToken([UInt8](repeating: 0x11, count: 16))
        p.retrySourceConnectionID = ConnectionID([9])
        p.preferredAddress = PreferredAddress(
            ipv4Address: (127, 0, 0, 1), ipv4Port: 4433, ipv6Address: [UInt8](repeating: 0, count: 15) + [1],
            ipv6Port: 4434, connectionID: ConnectionID([5, 6, 7])!,
            statelessResetToken: StatelessResetToken([UInt8](repeating: 0x22, count: 16))!)
        p.versionInformation = VersionInformation(chosenVersion: .v2, availableVersions: [.v2, .v1])
        p.maxDatagramFrameSize = 65535
        p.greaseQuicBit = true
        p.minAckDelay = 1000
        p.disable1RTTEncryption = true
        p.reliableResetMsQuic = true
        p.resetStreamAt = true
        p.enableTimestamp = 3
        p.cibirEncoding = CibirEncoding(length: 4, offset: 2)
        p.disableActiveMigration = true
        p.maxAckDelay = 30
        let bytes = try p.encoded()
        XCTAssertEqual(try decode(bytes).get(), p)
        // The same set is invalid from a client: server-only parameters (RFC 9000 §18.2).
        XCTAssertEqual(decode(bytes, .client).error?.code, .transportParameterError)
    }

    func testRejections() {
        func code(_ bytes: [UInt8], _ sender: TransportParameterSender = .server) -> TransportErrorCode? {
            decode(bytes, sender).error?.code
        }
        let tpe = TransportErrorCode.transportParameterError
        // Duplicates (RFC 9000 §7.4).
        XCTAssertEqual(code(entry(1, [0x10]) + entry(1, [0x10])), tpe)
        XCTAssertEqual(code(entry(0x2ab2, []) + entry(0x2ab2, [])), tpe)
        // Server-only parameters from a client.
        for id: UInt64 in [0x00, 0x10] { XCTAssertEqual(code(entry(id, [1, 2]), .client), tpe) }
        XCTAssertEqual(code(entry(0x02, [UInt8](repeating: 0, count: 16)), .client), tpe)
        XCTAssertNil(code(entry(0x02, [UInt8](repeating: 0, count: 16)), .server))
        // Value limits.
        XCTAssertEqual(code(entry(0x03, varintBytes(1199))), tpe)
        XCTAssertNil(code(entry(0x03, varintBytes(1200))))
        XCTAssertEqual(code(entry(0x0a, varintBytes(21))), tpe)
        XCTAssertNil(code(entry(0x0a, varintBytes(20))))
        XCTAssertEqual(code(entry(0x0b, varintBytes(1 << 14))), tpe)
        XCTAssertNil(code(entry(0x0b, varintBytes((1 << 14) - 1))))
        XCTAssertEqual(code(entry(0x0e, varintBytes(1))), tpe)
        // max_idle_timeout: any varint is valid (the engine saturates it, issue 10).
        XCTAssertNil(code(entry(0x01, varintBytes((1 << 62) - 1))))
        XCTAssertNil(code(entry(0x01, varintBytes(1 << 61))))
        XCTAssertEqual(code(entry(0x08, varintBytes((1 << 60) + 1))), tpe)
        XCTAssertNil(code(entry(0x08, varintBytes(1 << 60))))
        XCTAssertEqual(code(entry(0x09, varintBytes((1 << 60) + 1))), tpe)
        // Wrong lengths.
        XCTAssertEqual(code(entry(0x02, [UInt8](repeating: 0, count: 15))), tpe)
        XCTAssertEqual(code(entry(0x0f, [UInt8](repeating: 0, count: 21))), tpe)
        XCTAssertEqual(code(entry(0x0c, [0])), tpe)
        XCTAssertEqual(code(entry(0x04, [0x05, 0x00])), tpe)        // value shorter than length
        XCTAssertEqual(code(entry(0x04, [0x40])), tpe)              // truncated varint
        XCTAssertEqual(code([0x04, 0x05, 0x01]), tpe)               // length past the end
        // version_information (RFC 9368 §4).
        XCTAssertEqual(code(entry(0x11, [0, 0, 0, 0, 0, 0, 0, 1])), tpe)
        XCTAssertEqual(code(entry(0x11, [0, 0, 0, 1, 0, 0])), tpe)
        XCTAssertEqual(code(entry(0x11, [])), tpe)
        XCTAssertNil(code(entry(0x11, [0, 0, 0, 1, 0, 0, 0, 1])))
        // min_ack_delay above max_ack_delay (µs vs ms).
        XCTAssertEqual(code(entry(0xff04de1b, varintBytes(25001))), tpe)
        XCTAssertNil(code(entry(0xff04de1b, varintBytes(25000))))
        XCTAssertNil(code(entry(0x0b, varintBytes(100)) + entry(0xff04de1b, varintBytes(90000))))
        // preferred_address with an empty connection ID.
        let pa: [UInt8] = [UInt8](repeating: 0, count: 24) + [0] + [UInt8](repeating: 0, count: 16)
        XCTAssertEqual(code(entry(0x0d, pa)), tpe)
        // Timestamps above 3, CIBIR out of range.
        XCTAssertEqual(code(entry(0x7158, [4])), tpe)
        XCTAssertEqual(code(entry(0x1000, [0, 0])), tpe)
        XCTAssertNil(code(entry(0x1000, [4, 2])))
        // Unknown and reserved (31 * N + 27) parameters are skipped.
        XCTAssertNil(code(entry(31 * 5 + 27, [1, 2, 3]) + entry(0x3f3f, [])))
        XCTAssertTrue(TransportParameterID.isReserved(31 * 5 + 27))
    }

    /// Property: random valid parameter sets round-trip; truncations and random bytes never trap.
    func testRandomRoundTripAndGarbage() throws {
        var g = SeededGenerator(seed: 0x7e5e_7)
        for _ in 0..<3000 {
            var p = TransportParameters()
            let server = g.bool()
            if server {
                if g.bool() { p.originalDestinationConnectionID = ConnectionID(g.bytes(g.int(0...20))) }
                if g.bool() { p.statelessResetToken = StatelessResetToken(g.bytes(16)) }
                if g.bool() { p.retrySourceConnectionID = ConnectionID(g.bytes(g.int(0...20))) }
                if g.bool() {
                    p.preferredAddress = PreferredAddress(
                        ipv4Address: (1, 2, 3, 4), ipv4Port: UInt16(truncatingIfNeeded: g.next()),
                        ipv6Address: g.bytes(16), ipv6Port: 7, connectionID: ConnectionID(g.bytes(g.int(1...20)))!,
                        statelessResetToken: StatelessResetToken(g.bytes(16))!)
                }
            }
            p.maxIdleTimeout = g.varint()
            p.maxUDPPayloadSize = 1200 + g.varint(max: VarInt.max - 1200)
            p.initialMaxData = g.varint()
            p.initialMaxStreamDataBidiLocal = g.varint()
            p.initialMaxStreamDataBidiRemote = g.varint()
            p.initialMaxStreamDataUni = g.varint()
            p.initialMaxStreamsBidi = g.varint(max: 1 << 60)
            p.initialMaxStreamsUni = g.varint(max: 1 << 60)
            p.ackDelayExponent = UInt64(g.int(0...20))
            p.maxAckDelay = g.next() % (1 << 14)
            p.disableActiveMigration = g.bool()
            p.activeConnectionIDLimit = 2 + g.varint(max: VarInt.max - 2)
            if g.bool() { p.initialSourceConnectionID = ConnectionID(g.bytes(g.int(0...20))) }
            if g.bool() {
                p.versionInformation = VersionInformation(
                    chosenVersion: .v1, availableVersions: (0..<g.int(0...4)).map { _ in QuicVersion(UInt32(g.int(1...1000))) })
            }
            if g.bool() { p.maxDatagramFrameSize = g.varint() }
            p.greaseQuicBit = g.bool()
            if g.bool() { p.minAckDelay = g.next() % (p.maxAckDelay * 1000 + 1) }
            p.resetStreamAt = g.bool()
            p.reliableResetMsQuic = g.bool()
            if g.bool() { p.enableTimestamp = UInt64(g.int(0...3)) }
            let bytes = try p.encoded()
            let sender: TransportParameterSender = server ? .server : .client
            XCTAssertEqual(try decode(bytes, sender).get(), p)
            for n in 0..<bytes.count {
                // A prefix either decodes (cut between parameters) or fails with 0x08.
                if case .failure(let e) = decode(Array(bytes[0..<n]), sender) {
                    XCTAssertEqual(e.code, .transportParameterError)
                }
            }
        }
        for _ in 0..<20000 {
            if case .failure(let e) = decode(g.bytes(g.int(0...80)), g.bool() ? .server : .client) {
                XCTAssertEqual(e.code, .transportParameterError)
            }
        }
    }
}
