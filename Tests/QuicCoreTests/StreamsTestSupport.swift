// Helpers for the stream layer tests: a pair of StreamManagers joined by an in-memory "packet"
// path that encodes frames with FrameEncoder and decodes them with FrameDecoder.

import XCTest
@testable import QuicCore
import QuicTLS
import QuicWire

func streamsConfig(_ role: EndpointRole, maxData: UInt64 = 1 << 20, streamWindow: UInt64 = 1 << 16,
                   maxStreams: UInt64 = 100) -> StreamsConfig {
    StreamsConfig(role: role, maxData: maxData, maxStreamDataBidiLocal: streamWindow,
                  maxStreamDataBidiRemote: streamWindow, maxStreamDataUni: streamWindow,
                  maxStreamsBidi: maxStreams, maxStreamsUni: maxStreams)
}

func transportParameters(_ c: StreamsConfig) -> TransportParameters {
    var p = TransportParameters()
    p.initialMaxData = c.maxData
    p.initialMaxStreamDataBidiLocal = c.maxStreamDataBidiLocal
    p.initialMaxStreamDataBidiRemote = c.maxStreamDataBidiRemote
    p.initialMaxStreamDataUni = c.maxStreamDataUni
    p.initialMaxStreamsBidi = c.maxStreamsBidi
    p.initialMaxStreamsUni = c.maxStreamsUni
    return p
}

/// One "packet" written by a manager: its bytes and the records of what it carried.
struct TestPacket {
    var bytes: [UInt8]
    var records: [StreamsSentFrame]
}

/// Two managers that have exchanged transport parameters.
final class StreamsPair {
    let client: StreamManager
    let server: StreamManager

    init(client c: StreamsConfig = streamsConfig(.client), server s: StreamsConfig = streamsConfig(.server)) {
        client = StreamManager(config: c)
        server = StreamManager(config: s)
        client.setPeerTransportParameters(transportParameters(s))
        server.setPeerTransportParameters(transportParameters(c))
        // The streamsAvailable events of the parameters are tested on their own.
        _ = client.drainEvents()
        _ = server.drainEvents()
    }

    /// Writes one packet of at most `room` bytes from `m`, or nil if it has nothing to send.
    func packet(from m: StreamManager, room: Int = 1200) -> TestPacket? {
        var buf = [UInt8](repeating: 0, count: room)
        var records: [StreamsSentFrame] = []
        let n = buf.withUnsafeMutableBytes { b -> Int in
            var w = WireWriter(b)
            m.writeFrames(into: &w, sent: &records)
            return w.position
        }
        if n == 0 { return nil }
        return TestPacket(bytes: Array(buf[0..<n]), records: records)
    }

    /// Decodes `p` and feeds each frame to `m`.
    static func deliver(_ p: TestPacket, to m: StreamManager) throws {
        try p.bytes.withUnsafeBytes { b in
            var d = FrameDecoder(b, packetKind: .oneRTT)
            while let f = try d.next() {
                XCTAssertTrue(try m.handle(f, payload: b), "unexpected frame \(f)")
            }
        }
    }

    /// Runs the exchange until both sides are idle: every packet is delivered and acknowledged.
    func runLossless(room: Int = 1200, maxRounds: Int = 100_000) throws {
        var rounds = 0
        while rounds < maxRounds {
            rounds += 1
            var progressed = false
            for (a, b) in [(client, server), (server, client)] {
                if let p = packet(from: a, room: room) {
                    progressed = true
                    try Self.deliver(p, to: b)
                    for r in p.records { a.onAcked(r) }
                }
            }
            if !progressed { return }
        }
        XCTFail("exchange did not settle")
    }
}

extension StreamManager {
    /// Drains all queued events.
    func drainEvents() -> [StreamEvent] {
        var out: [StreamEvent] = []
        while let e = pollEvent() { out.append(e) }
        return out
    }

    /// Reads and consumes everything readable on `id`.
    func readAll(_ id: StreamID) throws -> [UInt8] {
        guard let (spans, _) = readable(id) else { return [] }
        let bytes = spans.bytes
        try receiveComplete(id, count: UInt64(bytes.count))
        return bytes
    }
}

/// A small deterministic PRNG for property tests (SplitMix64).
struct TestRNG: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func patternBytes(_ count: Int, seed: UInt8 = 0) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
}

func streamID(_ raw: UInt64) -> StreamID { StreamID(raw) }
