import XCTest
@testable import QuicCore
import QuicTLS
import QuicWire

/// Receive window auto-tuning (FlowControl.swift, MsQuic's rule) and the ideal send buffer size
/// (StreamManager+Send.swift).
final class FlowControlAutoTuneTests: XCTestCase {
    // MARK: ReceiveCredit alone

    func testWindowDoublesWhenAQuarterIsConsumedWithinItsShareOfAnRTT() {
        let start: QuicInstant = 1_000_000
        var c = ReceiveCredit(window: 1000, maxWindow: 8000, now: start)
        XCTAssertTrue(c.onReceived(upTo: 1000))
        // 250 bytes (a quarter) consumed 10 ms after the start with a 100 ms RTT: fast.
        c.onConsumed(250, now: start + .milliseconds(10), smoothedRTT: .milliseconds(100))
        XCTAssertEqual(c.window, 2000)
        XCTAssertTrue(c.updatePending, "the check re-offers credit")
        XCTAssertEqual(c.nextLimit, 250 + 2000)
        XCTAssertEqual(c.didSendUpdate(), 2250)
    }

    func testWindowStaysWhenTheApplicationDrainsSlowly() {
        let start: QuicInstant = 1_000_000
        var c = ReceiveCredit(window: 1000, maxWindow: 8000, now: start)
        XCTAssertTrue(c.onReceived(upTo: 1000))
        // A quarter took 2 s with a 100 ms RTT: slower than window/4 per RTT, no growth.
        c.onConsumed(250, now: start + .seconds(2), smoothedRTT: .milliseconds(100))
        XCTAssertEqual(c.window, 1000)
        XCTAssertEqual(c.lastCheck, start + .seconds(2))
        XCTAssertEqual(c.consumedSinceCheck, 0)
    }

    func testWindowNeverExceedsItsMaximum() {
        var now: QuicInstant = 1_000_000
        var c = ReceiveCredit(window: 1000, maxWindow: 3000, now: now)
        var end: UInt64 = 0
        for _ in 0..<20 {
            end += c.window / 4
            XCTAssertTrue(c.onReceived(upTo: end))
            now = now + .microseconds(1)
            c.onConsumed(c.window / 4, now: now, smoothedRTT: .milliseconds(10))
            _ = c.didSendUpdate()
        }
        XCTAssertEqual(c.window, 3000)
        // A connection credit whose maximum is its window never grows.
        var conn = ReceiveCredit(window: 1000, now: 1_000_000)
        XCTAssertTrue(conn.onReceived(count: 500))
        conn.onConsumed(500, now: 1_000_001, smoothedRTT: .milliseconds(10))
        XCTAssertEqual(conn.window, 1000)
        XCTAssertTrue(conn.updatePending)
    }

    func testExtremeValuesSaturate() {
        var c = ReceiveCredit(window: VarInt.max / 2, maxWindow: VarInt.max, now: 1)
        XCTAssertTrue(c.onReceived(upTo: VarInt.max / 2))
        c.onConsumed(VarInt.max / 2, now: 2, smoothedRTT: .infinite)
        XCTAssertLessThanOrEqual(c.window, VarInt.max)
        XCTAssertLessThanOrEqual(c.nextLimit, VarInt.max)
    }

    // MARK: Ideal send buffer ladder

    func testIdealSendBytesLadder() {
        XCTAssertEqual(StreamManager.nextIdealSendBytes(above: 0), 128 * 1024)
        XCTAssertEqual(StreamManager.nextIdealSendBytes(above: 128 * 1024), 192 * 1024)
        XCTAssertEqual(StreamManager.nextIdealSendBytes(above: 200 * 1024), 288 * 1024)
        XCTAssertEqual(StreamManager.nextIdealSendBytes(above: UInt64.max), StreamManager.maxIdealSendBytes)
    }

    // MARK: On the simulated network

    /// A receiver advertising 64 KiB per stream (MsQuic's StreamRecvWindowDefault) whose
    /// application reads at once: the stream window grows during a 2 MiB upload, bounded by
    /// the connection window (initial_max_data), and the sender is told a larger ideal send
    /// buffer.
    func testStreamWindowGrowsDuringABulkUploadAndTheSenderIsToldToQueueMore() throws {
        var serverConfig = SimConfigs.server()
        serverConfig.transportParameters.initialMaxStreamDataBidiRemote = 64 * 1024
        serverConfig.transportParameters.initialMaxData = 512 * 1024
        let net = SimConfigs.network(seed: 3, server: serverConfig)
        net.link.delay = 5_000
        let client = try net.connect(SimConfigs.client())
        XCTAssertTrue(net.run { client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeComplete ?? false) })
        let server = try XCTUnwrap(net.server.accepted.first)

        let size = 2 * 1024 * 1024
        let id = try client.openStream(bidirectional: true)
        try client.send(stream: id, bytes: [UInt8](repeating: 0x5a, count: size), fin: true)
        let sink = StreamSink()
        var largestWindow: UInt64 = 0
        let ok = net.run(for: 120_000_000) {
            sink.pump(server, events: net.server.events(server))
            if let s = server.streams.streams[id.rawValue] {
                largestWindow = max(largestWindow, s.receiveCredit.window)
            }
            return sink.fin.contains(id)
        }
        XCTAssertTrue(ok, "upload did not finish")
        XCTAssertEqual(sink.data[id]?.count, size)
        XCTAssertGreaterThan(largestWindow, 64 * 1024, "the stream window never grew")
        XCTAssertLessThanOrEqual(largestWindow, 512 * 1024, "the window grew past the connection window")
        // The client heard of a larger ideal send buffer than MsQuic's default 128 KiB.
        let ideals = net.client.events(client).compactMap { e -> UInt64? in
            if case .stream(.idealSendBufferSize(let sid, let bytes)) = e, sid == id { return bytes }
            return nil
        }
        XCTAssertFalse(ideals.isEmpty, "no IDEAL_SEND_BUFFER_SIZE event")
        XCTAssertGreaterThan(ideals.max() ?? 0, StreamManager.defaultIdealSendBytes)
        XCTAssertEqual(client.streams.idealSendBufferSize(id), ideals.last)
    }

    /// An application that does not read: the window stays where it was (data piles up only
    /// to the advertised 64 KiB).
    func testStreamWindowDoesNotGrowWhenTheApplicationDoesNotRead() throws {
        var serverConfig = SimConfigs.server()
        serverConfig.transportParameters.initialMaxStreamDataBidiRemote = 64 * 1024
        let net = SimConfigs.network(seed: 4, server: serverConfig)
        let client = try net.connect(SimConfigs.client())
        XCTAssertTrue(net.run { client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeComplete ?? false) })
        let server = try XCTUnwrap(net.server.accepted.first)
        let id = try client.openStream(bidirectional: true)
        try client.send(stream: id, bytes: [UInt8](repeating: 1, count: 1024 * 1024), fin: true)
        net.run(for: 2_000_000)
        let s = try XCTUnwrap(server.streams.streams[id.rawValue])
        XCTAssertEqual(s.receiveCredit.window, 64 * 1024)
        XCTAssertEqual(s.receiveCredit.received, 64 * 1024)
    }
}
