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

/// A lossy, reordering link between the two managers of a pair, with applications that read
/// everything they are told about. Packets are delivered in random order, dropped (the sender
/// is told they are lost), duplicated, or delivered and still declared lost (spurious loss).
final class LossyLink {
    let pair: StreamsPair
    var rng: TestRNG
    var lossPercent: Int
    var duplicatePercent: Int
    var spuriousLossPercent: Int
    var room: Int
    /// Bytes read by each side's application, per stream.
    var received: [ObjectIdentifier: [UInt64: [UInt8]]] = [:]
    var events: [ObjectIdentifier: [StreamEvent]] = [:]
    struct InFlight { var packet: TestPacket; var from: StreamManager; var to: StreamManager }
    var inFlight: [InFlight] = []

    init(pair: StreamsPair, seed: UInt64, lossPercent: Int = 10, duplicatePercent: Int = 5,
         spuriousLossPercent: Int = 3, room: Int = 300) {
        self.pair = pair
        rng = TestRNG(seed: seed)
        self.lossPercent = lossPercent
        self.duplicatePercent = duplicatePercent
        self.spuriousLossPercent = spuriousLossPercent
        self.room = room
    }

    /// The most receive buffer memory any one stream held, per manager.
    var maxReceiveBuffer: [ObjectIdentifier: Int] = [:]

    func readApps() throws {
        for m in [pair.client, pair.server] {
            let key = ObjectIdentifier(m)
            for s in m.streams.values {
                maxReceiveBuffer[key] = max(maxReceiveBuffer[key] ?? 0, s.receiveBufferBytes)
            }
            for e in m.drainEvents() {
                events[key, default: []].append(e)
                if case .dataAvailable(let id) = e {
                    // Read in random-sized pieces, as an app returning partial consumption.
                    while let (spans, _) = m.readable(id), spans.count > 0 {
                        let n = Int.random(in: 1...spans.count, using: &rng)
                        received[key, default: [:]][id.rawValue, default: []].append(contentsOf: spans.bytes.prefix(n))
                        try m.receiveComplete(id, count: UInt64(n))
                    }
                }
            }
        }
    }

    func received(by m: StreamManager, on id: StreamID) -> [UInt8] {
        received[ObjectIdentifier(m)]?[id.rawValue] ?? []
    }

    func events(of m: StreamManager) -> [StreamEvent] { events[ObjectIdentifier(m)] ?? [] }

    /// Runs until nothing is in flight and neither side has anything to send (or for
    /// `maxSteps` steps, failing if `mustSettle`).
    func run(maxSteps: Int = 200_000, mustSettle: Bool = true) throws {
        var steps = 0
        while steps < maxSteps {
            steps += 1
            try readApps()
            for (a, b) in [(pair.client, pair.server), (pair.server, pair.client)] {
                let burst = Int.random(in: 0...3, using: &rng)
                for _ in 0..<burst {
                    guard let p = pair.packet(from: a, room: room) else { break }
                    inFlight.append(InFlight(packet: p, from: a, to: b))
                }
            }
            if inFlight.isEmpty {
                try readApps()
                if !pair.client.hasPendingFrames && !pair.server.hasPendingFrames { return }
                continue
            }
            let i = Int.random(in: 0..<inFlight.count, using: &rng)
            let f = inFlight.remove(at: i)
            let roll = Int.random(in: 0..<100, using: &rng)
            if roll < lossPercent {
                for r in f.packet.records { f.from.onLost(r) }
            } else {
                try StreamsPair.deliver(f.packet, to: f.to)
                if Int.random(in: 0..<100, using: &rng) < duplicatePercent {
                    try StreamsPair.deliver(f.packet, to: f.to)
                }
                if Int.random(in: 0..<100, using: &rng) < spuriousLossPercent {
                    for r in f.packet.records { f.from.onLost(r) }
                }
                for r in f.packet.records { f.from.onAcked(r) }
            }
        }
        if mustSettle { XCTFail("lossy exchange did not settle") }
    }
}
