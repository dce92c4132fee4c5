import XCTest
@testable import QuicWire

/// A frame with its data ranges replaced by the bytes they designate, for comparing frames
/// decoded from different buffers.
struct NormalizedFrame: Equatable {
    var frame: Frame
    var data: [UInt8]
    var ackRanges: [ClosedRange<UInt64>]
}

func normalize(_ f: Frame, _ buffer: [UInt8]) -> NormalizedFrame {
    let empty = 0..<0
    return buffer.withUnsafeBytes { buf in
        switch f {
        case .crypto(var c):
            let d = Array(buffer[c.data]); c.data = empty
            return NormalizedFrame(frame: .crypto(c), data: d, ackRanges: [])
        case .stream(var s):
            let d = Array(buffer[s.data]); s.data = empty
            return NormalizedFrame(frame: .stream(s), data: d, ackRanges: [])
        case .datagram(var s):
            let d = Array(buffer[s.data]); s.data = empty
            return NormalizedFrame(frame: .datagram(s), data: d, ackRanges: [])
        case .newToken(let t):
            return NormalizedFrame(frame: .newToken(token: empty), data: Array(buffer[t]), ackRanges: [])
        case .connectionClose(var c):
            let d = Array(buffer[c.reasonPhrase]); c.reasonPhrase = empty
            return NormalizedFrame(frame: .connectionClose(c), data: d, ackRanges: [])
        case .ack(var a):
            let ranges = Array(a.ranges(in: buf)); a.encodedRanges = empty
            return NormalizedFrame(frame: .ack(a), data: [], ackRanges: ranges)
        default:
            return NormalizedFrame(frame: f, data: [], ackRanges: [])
        }
    }
}

/// Random frames whose data lives in a source buffer.
struct FrameFactory {
    var g: SeededGenerator
    var source: [UInt8] = []

    mutating func data(_ count: Int) -> Range<Int> {
        let start = source.count
        source += g.bytes(count)
        return start..<source.count
    }

    /// A random valid frame; `last` allows frames without a Length (they end the packet).
    mutating func frame(last: Bool) -> Frame {
        while true {
            switch g.int(0...27) {
            case 0: return .padding(count: g.int(1...20))
            case 1: return .ping
            case 2: return .ack(randomAck())
            case 3: return .resetStream(ResetStreamFrame(streamID: g.varint(), applicationErrorCode: g.varint(), finalSize: g.varint()))
            case 4: return .stopSending(StopSendingFrame(streamID: g.varint(), applicationErrorCode: g.varint()))
            case 5:
                let d = data(g.int(0...100))
                return .crypto(CryptoFrame(offset: g.varint(max: VarInt.max - UInt64(d.count)), data: d))
            case 6: return .newToken(token: data(g.int(1...60)))
            case 7, 8:
                let hasLength = !last || g.bool()
                let d = data(g.int(0...100))
                let offset = g.bool() ? 0 : g.varint(max: VarInt.max - UInt64(d.count))
                return .stream(StreamFrame(streamID: g.varint(), offset: offset, data: d, fin: g.bool(), hasLength: hasLength))
            case 9: return .maxData(g.varint())
            case 10: return .maxStreamData(streamID: g.varint(), maximumStreamData: g.varint())
            case 11: return .maxStreams(bidirectional: g.bool(), maximumStreams: g.varint(max: 1 << 60))
            case 12: return .dataBlocked(maximumData: g.varint())
            case 13: return .streamDataBlocked(streamID: g.varint(), maximumStreamData: g.varint())
            case 14: return .streamsBlocked(bidirectional: g.bool(), maximumStreams: g.varint(max: 1 << 60))
            case 15:
                let seq = g.varint()
                return .newConnectionID(NewConnectionIDFrame(
                    sequenceNumber: seq, retirePriorTo: g.varint(max: seq),
                    connectionID: ConnectionID(g.bytes(g.int(1...20)))!, statelessResetToken: StatelessResetToken(g.bytes(16))!))
            case 16: return .retireConnectionID(sequenceNumber: g.varint())
            case 17: return .pathChallenge(g.next())
            case 18: return .pathResponse(g.next())
            case 19:
                let app = g.bool()
                return .connectionClose(ConnectionCloseFrame(
                    isApplicationError: app, errorCode: g.varint(), frameType: app ? 0 : g.varint(), reasonPhrase: data(g.int(0...40))))
            case 20: return .handshakeDone
            case 21:
                return .datagram(DatagramFrame(data: data(g.int(0...100)), hasLength: !last || g.bool()))
            case 22:
                return .ackFrequency(AckFrequencyFrame(sequenceNumber: g.varint(), ackElicitingThreshold: g.varint(),
                                                       requestedMaxAckDelay: g.varint(), reorderingThreshold: g.varint()))
            case 23: return .immediateAck
            case 24, 25:
                let final = g.varint()
                return .resetStreamAt(ResetStreamAtFrame(
                    streamID: g.varint(), applicationErrorCode: g.varint(), finalSize: final, reliableSize: g.varint(max: final),
                    frameType: g.bool() ? FrameType.resetStreamAt : FrameType.reliableResetStreamMsQuic))
            case 26: return .timestamp(g.varint())
            default: continue
            }
        }
    }

    /// A random ACK frame, written with FrameEncoder.writeAck into the source so that its
    /// encoded ranges exist.
    mutating func randomAck() -> AckFrame {
        var ranges: [ClosedRange<UInt64>] = []
        var top = g.varint()
        for _ in 0..<g.int(1...8) {
            let len = Swift.min(g.next() % 50, top)
            ranges.append((top - len)...top)
            guard top - len >= 2 + 1 else { break }
            let gap = g.next() % Swift.min(100, top - len - 2)
            top = top - len - 2 - gap
        }
        let ecn = g.bool() ? ECNCounts(ect0: g.varint(), ect1: g.varint(), ce: g.varint()) : nil
        let bytes = try! [UInt8].encoding(capacity: 400) { (w: inout WireWriter) throws(BufferTooSmall) in
            try FrameEncoder.writeAck(ranges: ranges, ackDelay: g.varint(), ecn: ecn, into: &w)
        }
        // Decode it and rebase its encoded ranges into the source.
        guard case .success(let frames) = decodeAll(bytes), case .ack(var a) = frames.first else {
            fatalError("ACK written by writeAck does not decode")
        }
        let base = source.count
        source += bytes
        a.encodedRanges = (a.encodedRanges.lowerBound + base)..<(a.encodedRanges.upperBound + base)
        return a
    }
}

final class FrameTests: XCTestCase {
    // RFC 9001 A.3: the server Initial payload starts with ACK 02 00 00 00 00 then CRYPTO
    // 06 00 40 5a (90 bytes).
    func testRFC9001ServerInitialFrames() throws {
        let payload = hex("0200000000 0600405a") + [UInt8](repeating: 0x16, count: 90)
        let frames = try decodeAll(payload, kind: .initial).get()
        XCTAssertEqual(frames.count, 2)
        guard case .ack(let ack) = frames[0], case .crypto(let c) = frames[1] else { return XCTFail("\(frames)") }
        XCTAssertEqual(ack.largestAcknowledged, 0)
        XCTAssertEqual(ack.smallestAcknowledged, 0)
        XCTAssertEqual(ack.ackDelay, 0)
        XCTAssertNil(ack.ecn)
        XCTAssertEqual(c.offset, 0)
        XCTAssertEqual(c.data, 9..<99)
    }

    // RFC 9001 A.2: CRYPTO frame of 241 bytes followed by PADDING up to 1162 bytes.
    func testRFC9001ClientInitialFrames() throws {
        var payload = hex("060040f1") + [UInt8](repeating: 1, count: 241)
        payload += [UInt8](repeating: 0, count: 1162 - payload.count)
        let frames = try decodeAll(payload, kind: .initial).get()
        XCTAssertEqual(frames, [.crypto(CryptoFrame(offset: 0, data: 4..<245)), .padding(count: 1162 - 245)])
    }

    func testAckRanges() throws {
        let ranges: [ClosedRange<UInt64>] = [95...100, 80...90, 10...10, 0...5]
        let bytes = try [UInt8].encoding(capacity: 100) { (w: inout WireWriter) throws(BufferTooSmall) in
            try FrameEncoder.writeAck(ranges: ranges, ackDelay: 1000, ecn: ECNCounts(ect0: 1, ect1: 2, ce: 3), into: &w)
        }
        let frames = try decodeAll(bytes).get()
        guard case .ack(let a) = frames.first else { return XCTFail() }
        XCTAssertEqual(bytes.withUnsafeBytes { Array(a.ranges(in: $0)) }, ranges)
        XCTAssertEqual(a.smallestAcknowledged, 0)
        XCTAssertEqual(a.ecn, ECNCounts(ect0: 1, ect1: 2, ce: 3))
        XCTAssertEqual(a.ackDelay, 1000)
        // Adjacent ranges cannot be encoded.
        XCTAssertThrowsError(try [UInt8].encoding(capacity: 100) { (w: inout WireWriter) throws(BufferTooSmall) in
            try FrameEncoder.writeAck(ranges: [5...6, 4...4], ackDelay: 0, into: &w)
        })
    }

    func testStreamTypeBits() throws {
        let source = Array("hello".utf8)
        for type in UInt8(0x08)...0x0f {
            let off = type & 0x04 != 0, len = type & 0x02 != 0, fin = type & 0x01 != 0
            var bytes: [UInt8] = [type, 0x04]
            if off { bytes += [0x41, 0x00] }  // offset 256
            if len { bytes += [0x05] }
            bytes += source
            let frames = try decodeAll(bytes).get()
            XCTAssertEqual(frames.count, 1)
            guard case .stream(let s) = frames[0] else { return XCTFail() }
            XCTAssertEqual(s.streamID, 4)
            XCTAssertEqual(s.offset, off ? 256 : 0)
            XCTAssertEqual(s.fin, fin)
            XCTAssertEqual(s.hasLength, len)
            XCTAssertEqual(Array(bytes[s.data]), source)
        }
        // An empty STREAM frame with FIN and without LEN at the end of a packet.
        XCTAssertEqual(try decodeAll([0x09, 0x00]).get(),
                       [.stream(StreamFrame(streamID: 0, offset: 0, data: 2..<2, fin: true, hasLength: false))])
    }

    func testMalformedFrames() {
        func code(_ bytes: [UInt8], _ kind: PacketKind = .oneRTT) -> TransportErrorCode? {
            decodeAll(bytes, kind: kind).error?.code
        }
        // RFC 9000 §12.4: frame types must be minimally encoded (PING as 2 bytes).
        XCTAssertEqual(code([0x40, 0x01]), .protocolViolation)
        XCTAssertEqual(decodeAll([0x40, 0x01]).error?.frameType, 0x01)
        // Unknown frame type.
        XCTAssertEqual(code([0x40, 0x40]), .frameEncodingError)
        XCTAssertEqual(code([0x22]), .frameEncodingError)
        // Empty payload.
        XCTAssertEqual(code([]), .protocolViolation)
        // Table 3: STREAM not in Initial, ACK not in 0-RTT, HANDSHAKE_DONE not in 0-RTT,
        // CONNECTION_CLOSE 0x1d not in Handshake.
        XCTAssertEqual(code([0x08, 0x00], .initial), .protocolViolation)
        XCTAssertEqual(code([0x02, 0, 0, 0, 0], .zeroRTT), .protocolViolation)
        XCTAssertEqual(code([0x1e], .zeroRTT), .protocolViolation)
        XCTAssertEqual(code([0x1d, 0, 0], .handshake), .protocolViolation)
        XCTAssertNil(code([0x1c, 0, 0, 0], .handshake))
        XCTAssertEqual(code([0x19, 0], .zeroRTT), .protocolViolation)
        XCTAssertEqual(code([0x1b] + [UInt8](repeating: 0, count: 8), .zeroRTT), .protocolViolation)
        XCTAssertNil(code([0x1a] + [UInt8](repeating: 0, count: 8), .zeroRTT))
        XCTAssertEqual(code([0x01], .retry), .protocolViolation)
        // ACK ranges that underflow (§19.3.1).
        XCTAssertEqual(code([0x02, 5, 0, 0, 6]), .frameEncodingError)
        XCTAssertEqual(code([0x02, 5, 0, 1, 2, 2, 0]), .frameEncodingError)     // gap underflow
        XCTAssertNil(code([0x02, 5, 0, 1, 2, 1, 0]))                            // 5...3 and 0...0
        XCTAssertEqual(code([0x02, 10, 0, 1, 2, 1, 6]), .frameEncodingError)    // range underflow
        XCTAssertNil(code([0x02, 10, 0, 1, 2, 1, 5]))
        XCTAssertEqual(code([0x02, 10, 0, 3, 2, 1, 5]), .frameEncodingError)    // count beyond data
        // MAX_STREAMS / STREAMS_BLOCKED above 2^60 (§19.11, §19.14).
        XCTAssertEqual(code([0x12, 0xd0, 0, 0, 0, 0, 0, 0, 1]), .frameEncodingError)
        XCTAssertNil(code([0x12, 0xd0, 0, 0, 0, 0, 0, 0, 0]))
        XCTAssertEqual(code([0x17, 0xd0, 0, 0, 0, 0, 0, 0, 1]), .frameEncodingError)
        // NEW_CONNECTION_ID: length 0 and 21, retire_prior_to > sequence (§19.15).
        let token = [UInt8](repeating: 0xee, count: 16)
        XCTAssertEqual(code([0x18, 1, 0, 0] + token), .frameEncodingError)
        XCTAssertEqual(code([0x18, 1, 0, 21] + [UInt8](repeating: 1, count: 21) + token), .frameEncodingError)
        XCTAssertEqual(code([0x18, 1, 2, 4, 1, 2, 3, 4] + token), .frameEncodingError)
        XCTAssertNil(code([0x18, 2, 2, 4, 1, 2, 3, 4] + token))
        // STREAM / CRYPTO beyond 2^62-1 (§19.8, §19.6).
        let maxOffset: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        XCTAssertEqual(code([0x0e, 0x00] + maxOffset + [0x01, 0xaa]), .frameEncodingError)
        XCTAssertNil(code([0x0e, 0x00] + maxOffset + [0x00]))
        XCTAssertEqual(code([0x06] + maxOffset + [0x01, 0xaa]), .frameEncodingError)
        // STREAM length larger than the packet.
        XCTAssertEqual(code([0x0a, 0x00, 0x05, 1, 2]), .frameEncodingError)
        // Empty NEW_TOKEN (§19.7).
        XCTAssertEqual(code([0x07, 0x00]), .frameEncodingError)
        // PATH_CHALLENGE shorter than 8 bytes.
        XCTAssertEqual(code([0x1a, 1, 2, 3]), .frameEncodingError)
        // RESET_STREAM_AT with Reliable Size above Final Size.
        XCTAssertEqual(code([0x24, 0, 0, 5, 6]), .frameEncodingError)
        XCTAssertEqual(code([0x21, 0, 0, 5, 6]), .frameEncodingError)
        XCTAssertNil(code([0x24, 0, 0, 5, 5]))
        // Extension frames in types they are not allowed in.
        XCTAssertEqual(code([0x40, 0xaf, 0, 0, 0, 0], .zeroRTT), .protocolViolation)
        XCTAssertEqual(code([0x1f], .handshake), .protocolViolation)
        XCTAssertNil(code([0x31, 0x01, 0xaa], .zeroRTT))
        XCTAssertEqual(code([0x30], .initial), .protocolViolation)
    }

    func testExtensionFrameEncodings() throws {
        // ACK_FREQUENCY type 0xaf is the 2-byte varint 0x40af.
        XCTAssertEqual(try decodeAll([0x40, 0xaf, 1, 2, 0x40, 0x64, 3]).get(),
                       [.ackFrequency(AckFrequencyFrame(sequenceNumber: 1, ackElicitingThreshold: 2,
                                                        requestedMaxAckDelay: 100, reorderingThreshold: 3))])
        XCTAssertEqual(try decodeAll([0x1f]).get(), [.immediateAck])
        // TIMESTAMP 0x2f5 = 0x42f5.
        XCTAssertEqual(try decodeAll([0x42, 0xf5, 0x25]).get(), [.timestamp(37)])
        let encoded = try encodeFrames([.ackFrequency(AckFrequencyFrame(
            sequenceNumber: 1, ackElicitingThreshold: 2, requestedMaxAckDelay: 100, reorderingThreshold: 3))], source: [])
        XCTAssertEqual(encoded, [0x40, 0xaf, 1, 2, 0x40, 0x64, 3])
    }

    /// Property: random sequences of valid frames encode and decode to the same frames, and
    /// re-encoding the decoded frames reproduces the bytes.
    func testRandomRoundTrip() throws {
        var factory = FrameFactory(g: SeededGenerator(seed: 0xf4a3_e5))
        for iteration in 0..<3000 {
            factory.source = []
            let count = factory.g.int(1...8)
            var frames: [Frame] = []
            for i in 0..<count {
                var f = factory.frame(last: i == count - 1)
                // Consecutive PADDING runs merge when decoded; keep them apart.
                if case .padding = f, case .padding? = frames.last { f = .ping }
                frames.append(f)
            }
            let source = factory.source
            let bytes = try encodeFrames(frames, source: source)
            let decoded = try decodeAll(bytes).get()
            XCTAssertEqual(decoded.map { normalize($0, bytes) }, frames.map { normalize($0, source) },
                           "iteration \(iteration)")
            XCTAssertEqual(try encodeFrames(decoded, source: bytes), bytes)
            XCTAssertEqual(frames.map(FrameEncoder.encodedLength).reduce(0, +), bytes.count)
        }
    }

    /// Every truncation of valid frame encodings and random byte strings decode to frames or
    /// a typed error, never a trap; truncating inside a frame with fixed fields is an error.
    func testTruncationAndGarbage() throws {
        var factory = FrameFactory(g: SeededGenerator(seed: 0x7a0c))
        for _ in 0..<400 {
            factory.source = []
            let f = factory.frame(last: false)
            let bytes = try encodeFrames([f], source: factory.source)
            for n in 0..<bytes.count {
                let prefix = Array(bytes[0..<n])
                let r = decodeAll(prefix)
                if case .padding = f { continue }
                if case .success(let frames) = r {
                    // Only possible when the prefix is itself a shorter valid frame, which
                    // cannot happen for a frame with a Length or fixed-size fields.
                    XCTFail("truncated \(f) at \(n) decoded as \(frames)")
                }
            }
        }
        var g = SeededGenerator(seed: 0x6a7b)
        var errors = 0
        for _ in 0..<20000 {
            let bytes = g.bytes(g.int(0...64))
            for kind in [PacketKind.initial, .zeroRTT, .handshake, .oneRTT] {
                if case .failure(let e) = decodeAll(bytes, kind: kind) {
                    errors += 1
                    XCTAssertTrue([.frameEncodingError, .protocolViolation].contains(e.code))
                }
            }
        }
        XCTAssertGreaterThan(errors, 0)
    }
}

final class FrameRoleAndResetTests: XCTestCase {
    func testStreamIDs() {
        // RFC 9000 §2.1 Table 1.
        XCTAssertEqual(StreamID(0).initiator, .client)
        XCTAssertTrue(StreamID(0).isBidirectional)
        XCTAssertEqual(StreamID(1).initiator, .server)
        XCTAssertTrue(StreamID(2).isUnidirectional)
        XCTAssertEqual(StreamID(3).initiator, .server)
        XCTAssertEqual(StreamID(index: 5, initiator: .server, bidirectional: false)?.rawValue, 23)
        XCTAssertEqual(StreamID(23).index, 5)
        XCTAssertNil(StreamID(index: 1 << 60, initiator: .client, bidirectional: true))
        XCTAssertTrue(StreamID(2).canSend(.client))
        XCTAssertFalse(StreamID(2).canSend(.server))
        XCTAssertTrue(StreamID(2).canReceive(.server))
        XCTAssertTrue(StreamID(0).canSend(.server))
    }

    func testAckDelayScaling() {
        let a = AckFrame(largestAcknowledged: 0, ackDelay: 100, firstAckRange: 0, additionalRangeCount: 0,
                         encodedRanges: 0..<0, smallestAcknowledged: 0, ecn: nil)
        XCTAssertEqual(a.ackDelayMicroseconds(exponent: 3), 800)
        var big = a
        big.ackDelay = VarInt.max
        XCTAssertEqual(big.ackDelayMicroseconds(exponent: 20), .max)
    }

    func testServerOnlyFrames() {
        func decode(_ bytes: [UInt8], _ sender: EndpointRole) -> QuicError? {
            bytes.withUnsafeBytes { buf in
                var d = FrameDecoder(buf, packetKind: .oneRTT, sender: sender)
                do throws(QuicError) { while try d.next() != nil {}; return nil } catch { return error }
            }
        }
        XCTAssertEqual(decode([0x1e], .client)?.code, .protocolViolation)
        XCTAssertEqual(decode([0x07, 0x01, 0xaa], .client)?.frameType, 0x07)
        XCTAssertNil(decode([0x1e], .server))
        XCTAssertNil(decode([0x07, 0x01, 0xaa], .server))
    }

    func testStatelessReset() throws {
        let token = StatelessResetToken([UInt8](repeating: 0x5a, count: 16))!
        let random: [UInt8] = [0xff, 1, 2, 3, 4, 5, 6]
        var out = [UInt8](repeating: 0, count: 64)
        let n = try out.withUnsafeMutableBytes { b in
            try random.withUnsafeBytes { r in
                var w = WireWriter(b)
                try StatelessReset.write(token: token, unpredictableBytes: r, into: &w)
                return w.position
            }
        }
        XCTAssertEqual(n, 23)
        XCTAssertEqual(out[0], 0x7f)
        let packet = Array(out[0..<n])
        XCTAssertEqual(packet.withUnsafeBytes { StatelessReset.candidateToken(in: $0) }, token)
        XCTAssertNil(Array(packet.prefix(20)).withUnsafeBytes { StatelessReset.candidateToken(in: $0) })
    }
}
